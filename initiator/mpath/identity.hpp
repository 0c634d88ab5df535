// Which logical unit a path reaches: its identity from the Device Identification VPD page
// (0x83), logical-unit association only, preferring NAA (IEEE Registered Extended, then
// Registered, Extended, Locally Assigned, as Linux ranks them), then EUI-64, SCSI name string,
// T10 vendor ID; the unit serial number (VPD 0x80) when the page has none of those. Paths are
// grouped when their identities are equal; paths that differ are never grouped, and the error
// says what differed (designator, vendor, product, serial).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/scsi/inquiry.hpp"

namespace iscsi::mpath {

struct LuIdentity {
  enum class Source : std::uint8_t { naa, eui64, scsi_name, t10_vendor_id, unit_serial };
  Source source = Source::naa;
  std::string id;  // "naa.6001405...", "eui.0011...", the name string, "t10....", the serial
  // What else the LU says about itself, for error messages.
  std::string vendor;
  std::string product;
  std::string serial;  // VPD 0x80, empty when the LU has none

  // The multipath "wwid" form: the designator text, or "serial.<serial>".
  std::string wwid() const;
  friend bool operator==(const LuIdentity& a, const LuIdentity& b) noexcept {
    return a.source == b.source && a.id == b.id;
  }
};
std::string_view to_string(LuIdentity::Source s) noexcept;  // "NAA", "EUI-64", ...

// The identity from what a path's LU returned; nullopt when neither page names it (no usable
// designator and no serial number). `vpd83` and `serial` may be absent (page not supported).
std::optional<LuIdentity> identity_from(const scsi::StandardInquiry& inquiry,
                                        const scsi::DeviceIdentification* vpd83,
                                        const std::optional<std::string>& serial);

// nullopt when `a` and `b` are the same LU; otherwise what differed, in words:
//   "naa.6001405aa... (NAA) != naa.6001405bb... (NAA); serial \"x\" != \"y\""
std::optional<std::string> difference(const LuIdentity& a, const LuIdentity& b);

// Paths (by index) grouped by identity, in order of first appearance.
std::vector<std::vector<std::size_t>> group_by_identity(const std::vector<LuIdentity>& ids);

}  // namespace iscsi::mpath
