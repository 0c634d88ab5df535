// CDB builders for the commands a block initiator issues (SPC-4, SBC-4). Each returns a Cdb:
// up to 16 bytes inline plus its length and data direction, so the transport can copy it into
// a SCSI Command PDU without allocating. Builders whose arguments can exceed a field return
// Result<Cdb> and refuse with a specific Errc instead of truncating a value.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/scsi/errc.hpp"

namespace iscsi::scsi {

enum class DataDirection : std::uint8_t { none, read, write };

struct Cdb {
  static constexpr std::size_t kMaxLength = 16;
  std::array<std::uint8_t, kMaxLength> bytes{};
  std::uint8_t length = 0;
  DataDirection direction = DataDirection::none;

  ByteSpan span() const noexcept { return {bytes.data(), length}; }
  std::uint8_t opcode() const noexcept;
  friend bool operator==(const Cdb&, const Cdb&) = default;
};

// Name of a CDB's command ("READ(16)", "READ CAPACITY(16)", ...) or "UNKNOWN" for opcodes
// this area does not build.
std::string_view command_name(const Cdb& cdb) noexcept;

// RDPROTECT/WRPROTECT (0..7), DPO, FUA and GROUP NUMBER (0..63) of READ/WRITE(10/16).
struct ReadWriteOptions {
  bool fua = false;
  bool dpo = false;
  std::uint8_t protect = 0;
  std::uint8_t group_number = 0;
};

Cdb test_unit_ready() noexcept;

// Standard INQUIRY data (EVPD = 0). SPC-4 recommends an allocation length of at least 36.
Cdb inquiry(std::uint16_t allocation_length) noexcept;
// A VPD page (EVPD = 1).
Cdb inquiry_vpd(std::uint8_t page_code, std::uint16_t allocation_length) noexcept;

Cdb read_capacity10() noexcept;
// SERVICE ACTION IN(16) / READ CAPACITY(16); the parameter data is 32 bytes.
Cdb read_capacity16(std::uint32_t allocation_length = 32) noexcept;

// READ(10)/WRITE(10) address LBAs up to 2^32-1 and move up to 65535 blocks; READ(16)/WRITE(16)
// take a 64-bit LBA and 32-bit count, and refuse a range that would run past LBA 2^64-1.
// A transfer length of 0 is legal (nothing is transferred).
Result<Cdb> read10(std::uint64_t lba, std::uint32_t blocks, ReadWriteOptions opts = {});
Result<Cdb> read16(std::uint64_t lba, std::uint32_t blocks, ReadWriteOptions opts = {});
Result<Cdb> write10(std::uint64_t lba, std::uint32_t blocks, ReadWriteOptions opts = {});
Result<Cdb> write16(std::uint64_t lba, std::uint32_t blocks, ReadWriteOptions opts = {});

// SELECT REPORT values of REPORT LUNS (SPC-4 table 284).
enum class ReportLunsSelect : std::uint8_t {
  all = 0x00,                     // all logical units except well-known ones
  well_known = 0x01,
  all_accessible = 0x02,          // including well-known
  administrative = 0x10,
  subsidiary = 0x11,
  subsidiary_of_administrative = 0x12,
};
// The allocation length must be at least 16 (SPC-4 6.33).
Result<Cdb> report_luns(std::uint32_t allocation_length,
                        ReportLunsSelect select = ReportLunsSelect::all);

// REPORT TARGET PORT GROUPS (MAINTENANCE IN, service action 0x0A; SPC-4 6.36). `extended`
// asks for the extended header (PARAMETER DATA FORMAT 001: format type and implicit transition
// time); devices that only know the length-only header ignore the field or refuse it with
// ILLEGAL REQUEST, INVALID FIELD IN CDB (ask again without). The decoder is in alua.hpp.
// The allocation length must be at least 4.
Result<Cdb> report_target_port_groups(std::uint32_t allocation_length, bool extended = true);

// SYNCHRONIZE CACHE; lba = 0 and blocks = 0 mean "the whole medium".
struct SyncCacheOptions {
  bool immed = false;
  std::uint8_t group_number = 0;
};
Result<Cdb> synchronize_cache10(std::uint64_t lba = 0, std::uint32_t blocks = 0,
                                SyncCacheOptions opts = {});
Result<Cdb> synchronize_cache16(std::uint64_t lba = 0, std::uint32_t blocks = 0,
                                SyncCacheOptions opts = {});

// UNMAP: the CDB and its parameter list (Data-Out) built from {lba, blocks} extents. An empty
// list is legal and unmaps nothing. At most 4095 descriptors fit the 16-bit list length; split
// larger sets (and honour the device's Block Limits VPD maxima) before calling.
struct UnmapDescriptor {
  std::uint64_t lba = 0;
  std::uint32_t blocks = 0;
  friend bool operator==(const UnmapDescriptor&, const UnmapDescriptor&) = default;
};
struct UnmapOptions {
  bool anchor = false;
  std::uint8_t group_number = 0;
};
struct UnmapCommand {
  Cdb cdb;
  ByteVector parameter_list;
};
inline constexpr std::size_t kMaxUnmapDescriptors = (0xFFFF - 8) / 16;
Result<UnmapCommand> unmap(std::span<const UnmapDescriptor> descriptors, UnmapOptions opts = {});

// WRITE SAME(16). With ndob (no Data-Out buffer) the device writes zeroes and no data follows;
// otherwise one logical block of data follows. anchor requires unmap (SBC-4 5.50).
struct WriteSameOptions {
  bool unmap = false;
  bool anchor = false;
  bool ndob = false;
  std::uint8_t protect = 0;
  std::uint8_t group_number = 0;
};
Result<Cdb> write_same16(std::uint64_t lba, std::uint32_t blocks, WriteSameOptions opts = {});

// PC field of MODE SENSE (SPC-4 table 157).
enum class PageControl : std::uint8_t { current = 0, changeable = 1, defaults = 2, saved = 3 };
inline constexpr std::uint8_t kAllModePages = 0x3F;
struct ModeSenseOptions {
  std::uint8_t page_code = kAllModePages;  // 0..63
  std::uint8_t subpage_code = 0;           // 0xFF: all subpages
  PageControl page_control = PageControl::current;
  bool disable_block_descriptors = false;  // DBD
  bool long_lba_accepted = false;          // LLBAA, MODE SENSE(10) only
};
Result<Cdb> mode_sense6(std::uint8_t allocation_length, ModeSenseOptions opts = {});
Result<Cdb> mode_sense10(std::uint16_t allocation_length, ModeSenseOptions opts = {});

}  // namespace iscsi::scsi
