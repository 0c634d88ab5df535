// REPORT LUNS parameter data (SPC-4 6.33) and the 8-byte SAM LUN (SAM-5 4.7).
//
// A LUN travels as 8 bytes whose first two bytes carry an address method: peripheral device
// addressing (method 00: bus 0 and LUN 0..255) or flat space addressing (method 01: LUN
// 0..16383). Targets such as LIO and tgt report LUNs below 256 with the first form and larger
// ones with the second, so LUN 300 is "41 2c 00 00 00 00 00 00" on the wire. Lun keeps the 8
// bytes as they came; number() turns single-level forms into the LUN a user typed, and
// from_number() builds the form a target expects back.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/scsi/errc.hpp"

namespace iscsi::scsi {

enum class LunAddressMethod : std::uint8_t {
  peripheral = 0,
  flat = 1,
  logical_unit = 2,
  extended = 3,
};

class Lun {
 public:
  using Bytes = std::array<std::uint8_t, 8>;

  constexpr Lun() noexcept = default;
  constexpr explicit Lun(const Bytes& bytes) noexcept : bytes_(bytes) {}

  // Peripheral addressing for 0..255, flat addressing for 256..16383 (what Linux and LIO
  // send); lun_out_of_range above that.
  static Result<Lun> from_number(std::uint32_t lun);

  const Bytes& bytes() const noexcept { return bytes_; }
  LunAddressMethod address_method() const noexcept;
  // The LUN number of a single-level peripheral (bus 0) or flat LUN; unsupported_lun_address
  // for anything else (other bus, logical unit or extended addressing, a second level).
  Result<std::uint16_t> number() const;
  // The integer Linux's scsilun_to_int() makes of these bytes (what `lsscsi` and sysfs show):
  // the first level's two bytes as-is in the low 16 bits, the next levels above them.
  std::uint64_t linux_number() const noexcept;
  // "300" for single-level LUNs, else the 8 bytes in hex ("0xc101000000000000").
  std::string to_string() const;

  friend bool operator==(const Lun&, const Lun&) = default;

 private:
  Bytes bytes_{};
};

struct ReportLunsData {
  std::uint32_t lun_list_length = 0;  // bytes of LUN entries the device has
  std::vector<Lun> luns;              // the entries that were returned whole
  bool truncated = false;             // the allocation length cut the list short

  std::size_t required_length() const noexcept { return std::size_t{lun_list_length} + 8; }
};
// Needs the 8-byte header; bad_lun_list_length when the list length is not a multiple of 8.
Result<ReportLunsData> decode_report_luns(ByteSpan data);
// The parameter data a device server would return for `luns` (used by fakes and tests).
ByteVector encode_report_luns(const std::vector<Lun>& luns);

}  // namespace iscsi::scsi
