// One LU, over one logged-in net::Session or a multipath device (mpath::Device: several
// sessions to the same LU, a path picked per command, a failed command sent again on another
// path), as a block device an NBD server can serve: what
// the LU is (size, block length, write protection, UNMAP/WRITE SAME support, transfer limits,
// found once at open) and byte-addressed I/O mapped to SCSI commands:
//   read  -> READ(16)                   write -> WRITE(16) (FUA when asked and DPOFUA is set)
//   flush -> SYNCHRONIZE CACHE(10)      trim  -> UNMAP (whole blocks inside the range)
//   zero  -> WRITE SAME(16) of a zeroed block, with UNMAP when allowed and the LU has LBPWS
// Requests need not be block-aligned: a partial block at either end of a write or zero is
// read, patched and written back under a process-wide lock (so two such patches of one block
// cannot lose each other's bytes); reads go through a bounce buffer. Every failure is thrown
// as an IoError (errno + sentence). Thread-safe: every call is one or more blocking
// Session (or Device) calls, which post to the engine's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "mpath/device.hpp"
#include "nbd/io_error.hpp"
#include "net/initiator.hpp"
#include "proto/common/bytes.hpp"

namespace iscsi::nbd {

struct LunFacts {
  net::Capacity capacity;
  bool write_protected = false;       // MODE SENSE: WP bit of the device-specific parameter
  bool mode_sense_ok = false;         // false: the LU refused MODE SENSE(6); WP assumed clear
  bool dpofua = false;                // MODE SENSE: FUA in WRITE(16) honoured
  bool unmap = false;                 // Logical Block Provisioning VPD: LBPU
  bool write_same_unmap = false;      // Logical Block Provisioning VPD: LBPWS
  bool unmapped_read_zero = false;    // LBPRZ = 1
  std::uint32_t max_transfer_blocks = 0;   // Block Limits; 0: none reported
  std::uint32_t optimal_transfer_blocks = 0;
  std::uint32_t max_unmap_blocks = 0;
  std::uint64_t max_write_same_blocks = 0;
  std::string summary() const;  // one line for nbdkit_debug
};

// Where LunExport's commands go. A session's LUN, or a multipath device (whose submit puts
// each path's own LUN number in the command).
class LuPath {
 public:
  virtual ~LuPath() = default;
  virtual session::ScsiResult scsi(net::ScsiCommand cmd) = 0;  // cmd.lun: lun()
  virtual net::Capacity read_capacity() = 0;
  virtual ByteVector inquiry_vpd(std::uint8_t page) = 0;  // throws on a status other than GOOD
  virtual std::uint16_t lun() const noexcept = 0;
};

std::unique_ptr<LuPath> session_lu(std::shared_ptr<net::Session> session, std::uint16_t lun);
std::unique_ptr<LuPath> multipath_lu(std::shared_ptr<mpath::Device> device);

class LunExport {
 public:
  // Probes the LU (READ CAPACITY, MODE SENSE, VPD 0x00/0xB0/0xB2). Throws IoError.
  explicit LunExport(std::unique_ptr<LuPath> lu);
  LunExport(std::shared_ptr<net::Session> session, std::uint16_t lun)
      : LunExport(session_lu(std::move(session), lun)) {}

  const LunFacts& facts() const noexcept { return facts_; }
  std::uint64_t size() const noexcept { return facts_.capacity.bytes(); }
  std::uint32_t block_length() const noexcept { return facts_.capacity.block_length; }
  // False once WRITE SAME(16) was refused as unsupported (zero then reports EOPNOTSUPP and
  // nbdkit writes zeroes itself).
  bool write_same_supported() const noexcept { return write_same_ok_.load(); }

  void pread(MutableByteSpan buf, std::uint64_t offset);
  void pwrite(ByteSpan buf, std::uint64_t offset, bool fua);
  void flush();
  void trim(std::uint32_t count, std::uint64_t offset);
  // fast: the client asked for NBD_CMD_FLAG_FAST_ZERO; fail with EOPNOTSUPP rather than write.
  void zero(std::uint32_t count, std::uint64_t offset, bool may_trim, bool fua, bool fast);

 private:
  session::ScsiResult run(net::ScsiCommand cmd, const std::string& what);
  void read_blocks(std::uint64_t lba, MutableByteSpan buf);
  void write_blocks(std::uint64_t lba, ByteSpan buf, bool fua);
  // Read-modify-write of one block: `data` lands at `in_block` bytes into block `lba`
  // (data == empty span with zero_len: zeroes instead).
  void patch_block(std::uint64_t lba, std::uint32_t in_block, ByteSpan data, std::uint32_t zeros,
                   bool fua);
  void write_same_zero(std::uint64_t lba, std::uint64_t blocks, bool unmap, bool fua);
  std::uint32_t chunk_blocks() const noexcept;

  std::unique_ptr<LuPath> lu_;
  std::uint16_t lun_;
  LunFacts facts_;
  std::atomic<bool> write_same_ok_{true};
};

}  // namespace iscsi::nbd
