// READ CAPACITY(10) and READ CAPACITY(16) parameter data (SBC-4 5.19.2, 5.20.2) and the
// arithmetic every initiator needs on it: number of blocks, capacity in bytes, and the rule
// that a RETURNED LOGICAL BLOCK ADDRESS of 0xFFFFFFFF from READ CAPACITY(10) means "too big
// for this command, ask READ CAPACITY(16)".
#pragma once

#include <cstdint>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/scsi/errc.hpp"

namespace iscsi::scsi {

struct ReadCapacity10Data {
  std::uint32_t last_lba = 0;  // RETURNED LOGICAL BLOCK ADDRESS
  std::uint32_t block_length = 0;

  // SBC-4 5.19.2: the device has more than 2^32-1 blocks (or won't say); use READ CAPACITY(16).
  bool needs_read_capacity16() const noexcept { return last_lba == 0xFFFFFFFFu; }
  std::uint64_t block_count() const noexcept { return std::uint64_t{last_lba} + 1; }
  // Cannot overflow: (2^32) * (2^32 - 1) < 2^64.
  std::uint64_t capacity_bytes() const noexcept { return block_count() * block_length; }
};
// Needs all 8 bytes.
Result<ReadCapacity10Data> decode_read_capacity10(ByteSpan data);

struct ReadCapacity16Data {
  std::uint64_t last_lba = 0;
  std::uint32_t block_length = 0;
  std::uint8_t rc_basis = 0;
  std::uint8_t p_type = 0;  // protection type - 1, when prot_en
  bool prot_en = false;
  std::uint8_t p_i_exponent = 0;
  std::uint8_t lbppbe = 0;  // logical blocks per physical block exponent
  bool lbpme = false;       // logical block provisioning management enabled (thin)
  bool lbprz = false;       // unmapped blocks read as zeroes
  std::uint16_t lowest_aligned_lba = 0;
  bool truncated = false;  // fewer than 32 bytes: fields past the end read as 0

  // Total blocks (last_lba + 1); capacity_overflow when last_lba is 2^64-1.
  Result<std::uint64_t> block_count() const;
  // Bytes; capacity_overflow when the product does not fit 64 bits.
  Result<std::uint64_t> capacity_bytes() const;
  // 0 when protection is disabled, else protection type 1..3 (P_TYPE + 1).
  std::uint8_t protection_type() const noexcept {
    return prot_en ? static_cast<std::uint8_t>(p_type + 1) : 0;
  }
  std::uint64_t logical_blocks_per_physical_block() const noexcept {
    return std::uint64_t{1} << lbppbe;
  }
  // Physical block size in bytes (block_length << lbppbe); lbppbe is at most 15.
  std::uint64_t physical_block_length() const noexcept {
    return std::uint64_t{block_length} << lbppbe;
  }
};
// Needs the first 12 bytes (LBA and block length); SBC-4 asks devices for 32.
Result<ReadCapacity16Data> decode_read_capacity16(ByteSpan data);

}  // namespace iscsi::scsi
