// A path's ALUA position and its priority, as multipathd's "alua" prioritizer computes it
// (active/optimized 50, active/non-optimized 10, lba-dependent 5, standby 1, others 0) and its
// "const" prioritizer for LUs without ALUA (1). The PREF bit is shown but, as multipathd does
// without exclusive_pref_bit, does not change the priority.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "proto/scsi/alua.hpp"
#include "proto/scsi/inquiry.hpp"

namespace iscsi::mpath {

struct PathAlua {
  bool supported = false;  // TPGS != 0 in the standard INQUIRY data
  std::uint8_t tpgs = 0;   // 1 implicit, 2 explicit, 3 both
  std::optional<std::uint16_t> relative_port;  // VPD 0x83, target port association, type 4
  std::optional<std::uint16_t> port_group;     // VPD 0x83, target port association, type 5
  scsi::AccessState state = scsi::AccessState::active_optimized;
  bool preferred = false;
  friend bool operator==(const PathAlua&, const PathAlua&) = default;
};

// The path's ALUA facts from INQUIRY and VPD 0x83 (state unknown yet: active/optimized).
PathAlua alua_from(const scsi::StandardInquiry& inquiry, const scsi::DeviceIdentification* vpd83);
// Sets state and preferred from REPORT TARGET PORT GROUPS: the path's group by its target port
// group designator, else the group that lists its relative target port. False when neither
// finds one (the path keeps its old state).
bool apply_rtpg(PathAlua& alua, const scsi::TargetPortGroups& tpgs);

int priority(const PathAlua& alua) noexcept;
// True when I/O may go to the path as far as ALUA is concerned (always without ALUA).
bool alua_usable(const PathAlua& alua) noexcept;
// "tpg 1 port 2 active/optimized pref" or "no ALUA".
std::string describe(const PathAlua& alua);

}  // namespace iscsi::mpath
