// Sense data (SPC-4 4.5): fixed format (response codes 0x70/0x71) and descriptor format
// (0x72/0x73), decoded into one SenseData whatever the format, plus the names of sense keys
// and additional sense codes so that a CHECK CONDITION prints as
//   "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (0x5/0x21/0x00)".
//
// Sense data arrives as whatever the transport carried (iSCSI strips its own 2-byte
// SenseLength first). Devices may send less than 18 bytes; fields the data does not reach are
// absent (ASC/ASCQ read as 0) and `truncated` is set. Only data too short to hold the sense key
// (fixed: 3 bytes, descriptor: 4) or with an unknown response code is an error.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/scsi/errc.hpp"

namespace iscsi::scsi {

enum class SenseKey : std::uint8_t {
  no_sense = 0x0,
  recovered_error = 0x1,
  not_ready = 0x2,
  medium_error = 0x3,
  hardware_error = 0x4,
  illegal_request = 0x5,
  unit_attention = 0x6,
  data_protect = 0x7,
  blank_check = 0x8,
  vendor_specific = 0x9,
  copy_aborted = 0xA,
  aborted_command = 0xB,
  reserved_c = 0xC,  // was EQUAL, obsolete
  volume_overflow = 0xD,
  miscompare = 0xE,
  completed = 0xF,
};
// "NO SENSE", "ILLEGAL REQUEST", ...
std::string_view to_string(SenseKey key) noexcept;

// Name of an ASC/ASCQ pair in T10's words ("LOGICAL UNIT NOT READY, BECOMING READY" style), or
// an empty view when the pair is not in our table. Ranged codes (4D/xx tagged overlapped
// commands, 40/xx diagnostic failure, ...) and vendor-specific values (ASC or ASCQ >= 0x80)
// get generic names.
std::string_view asc_name(std::uint8_t asc, std::uint8_t ascq) noexcept;

enum class SenseFormat : std::uint8_t { fixed, descriptor };

// The 3 bytes of SENSE KEY SPECIFIC; what they mean depends on the sense key (SPC-4 4.5.2.4).
struct SenseKeySpecific {
  std::array<std::uint8_t, 3> bytes{};

  // ILLEGAL REQUEST: which byte (and bit, if bit_pointer_valid) of the CDB (command_data) or
  // of the parameter data was wrong.
  bool command_data() const noexcept;
  bool bit_pointer_valid() const noexcept;
  std::uint8_t bit_pointer() const noexcept;
  std::uint16_t field_pointer() const noexcept;
  // NO SENSE / NOT READY: progress of a format, sanitize, ... as a fraction of 65536.
  std::uint16_t progress() const noexcept;
  // RECOVERED ERROR / MEDIUM ERROR / HARDWARE ERROR: actual retry count.
  std::uint16_t retry_count() const noexcept;
  // UNIT ATTENTION: the unit attention condition queue overflowed.
  bool overflow() const noexcept;
  friend bool operator==(const SenseKeySpecific&, const SenseKeySpecific&) = default;
};

// One descriptor of descriptor-format sense data: type and the bytes after its 2-byte header.
struct SenseDescriptor {
  std::uint8_t type = 0;
  std::vector<std::uint8_t> body;
};

struct SenseData {
  std::uint8_t response_code = 0;  // 0x70..0x73
  SenseFormat format = SenseFormat::fixed;
  bool deferred = false;           // 0x71/0x73: about an earlier command
  SenseKey key = SenseKey::no_sense;
  std::uint8_t asc = 0;
  std::uint8_t ascq = 0;
  // Fixed: bytes 3-6 when VALID is set; descriptor: the information descriptor (type 0x00)
  // when its VALID bit is set. The LBA of a medium error, the residue of an ILI, ...
  std::optional<std::uint64_t> information;
  // Fixed: bytes 8-11; descriptor: the command-specific information descriptor (type 0x01).
  std::optional<std::uint64_t> command_specific;
  // Present only when SKSV is set.
  std::optional<SenseKeySpecific> sense_key_specific;
  std::uint8_t fru_code = 0;
  bool filemark = false;
  bool eom = false;
  bool ili = false;  // fixed byte 2, or the block commands descriptor (type 0x05)
  bool sdat_ovfl = false;
  std::uint8_t additional_length = 0;
  std::vector<SenseDescriptor> descriptors;  // descriptor format: every complete descriptor
  bool truncated = false;  // data ended before the additional length said it would

  std::uint16_t asc_ascq() const noexcept {
    return static_cast<std::uint16_t>((asc << 8) | ascq);
  }
  bool is(SenseKey k, std::uint8_t a, std::uint8_t q) const noexcept {
    return key == k && asc == a && ascq == q;
  }
};

Result<SenseData> decode_sense(ByteSpan data);

// "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (0x5/0x21/0x00)"; deferred errors get a
// "DEFERRED " prefix; unknown pairs print as "ASC 0x99 ASCQ 0x01".
std::string to_string(const SenseData& sense);

// Builders for fakes and tests: minimal 18-byte fixed or 8-byte descriptor sense data, with
// an information field when given.
ByteVector build_fixed_sense(SenseKey key, std::uint8_t asc, std::uint8_t ascq,
                             std::optional<std::uint32_t> information = std::nullopt);
ByteVector build_descriptor_sense(SenseKey key, std::uint8_t asc, std::uint8_t ascq,
                                  std::optional<std::uint64_t> information = std::nullopt);

}  // namespace iscsi::scsi
