// Asymmetric logical unit access (ALUA, SPC-4 5.16): the parameter data of REPORT TARGET PORT
// GROUPS (SPC-4 6.36; the CDB builder is report_target_port_groups() in cdb.hpp) and what the
// ALUA sense codes mean to a multipath layer.
//
// A device with TPGS != 0 in its standard INQUIRY data groups its target ports into target
// port groups; every group has one asymmetric access state for the logical unit. VPD page 0x83
// says which group and relative target port a path reaches (designators of type 5 and 4,
// target port association); REPORT TARGET PORT GROUPS says the state of every group and which
// relative target ports are in it.
//
// Like the other decoders, this one decodes what is present: data cut short by the allocation
// length sets `truncated` and required_length() says how much to ask for. Only data shorter
// than the RETURN DATA LENGTH field, or a descriptor whose port list runs past RETURN DATA
// LENGTH (a device bug, not a short buffer), is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/scsi/errc.hpp"
#include "proto/scsi/sense.hpp"

namespace iscsi::scsi {

// ASYMMETRIC ACCESS STATE (SPC-4 table 173). Reserved values are kept as their number.
enum class AccessState : std::uint8_t {
  active_optimized = 0x0,
  active_non_optimized = 0x1,
  standby = 0x2,
  unavailable = 0x3,
  logical_block_dependent = 0x4,
  offline = 0xE,
  transitioning = 0xF,
};
// "active/optimized", "active/non-optimized", "standby", "unavailable", "lba-dependent",
// "offline", "transitioning", "reserved" (multipathd's words).
std::string_view to_string(AccessState s) noexcept;
// True for the states in which the device server processes READ and WRITE (active/optimized,
// active/non-optimized, logical block dependent; SPC-4 5.16.2.4 - 5.16.2.6).
bool usable_for_io(AccessState s) noexcept;

// STATUS CODE of a target port group descriptor (SPC-4 table 174).
enum class TpgStatusCode : std::uint8_t {
  no_status = 0x00,
  altered_by_set_target_port_groups = 0x01,
  altered_by_implicit_behavior = 0x02,
};
std::string_view to_string(TpgStatusCode c) noexcept;  // "reserved" for other values

// The SUPPORTED STATES bits of a descriptor (byte 1): which states the group may enter.
struct SupportedStates {
  bool transitioning = false;            // T_SUP
  bool offline = false;                  // O_SUP
  bool logical_block_dependent = false;  // LBD_SUP
  bool unavailable = false;              // U_SUP
  bool standby = false;                  // S_SUP
  bool active_non_optimized = false;     // AN_SUP
  bool active_optimized = false;         // AO_SUP
  friend bool operator==(const SupportedStates&, const SupportedStates&) = default;
};

struct TargetPortGroup {
  std::uint16_t id = 0;  // TARGET PORT GROUP
  AccessState state = AccessState::active_optimized;
  bool preferred = false;  // PREF
  SupportedStates supported;
  TpgStatusCode status_code = TpgStatusCode::no_status;  // raw value kept even when reserved
  std::uint8_t vendor_specific = 0;
  std::vector<std::uint16_t> relative_target_ports;  // RELATIVE TARGET PORT IDENTIFIERs
  friend bool operator==(const TargetPortGroup&, const TargetPortGroup&) = default;

  bool contains_port(std::uint16_t relative_target_port) const noexcept;
};

struct TargetPortGroups {
  // Extended header (FORMAT TYPE 001) present: implicit_transition_time is meaningful
  // (seconds; 0 = not reported).
  bool extended = false;
  std::uint8_t implicit_transition_time = 0;
  std::uint32_t return_data_length = 0;  // bytes after the RETURN DATA LENGTH field
  std::vector<TargetPortGroup> groups;   // complete descriptors only
  bool truncated = false;                // the allocation length cut the data short

  std::size_t required_length() const noexcept { return std::size_t{return_data_length} + 4; }
  // The group a relative target port is in, or the group with that id.
  const TargetPortGroup* group_of_port(std::uint16_t relative_target_port) const noexcept;
  const TargetPortGroup* find(std::uint16_t group_id) const noexcept;
};

// Needs the 4-byte RETURN DATA LENGTH. The header form is told apart as Linux does: bits 6..4
// of byte 4 are FORMAT TYPE in an extended header and reserved (zero) in a first descriptor.
Result<TargetPortGroups> decode_report_target_port_groups(ByteSpan data);
// The parameter data a device server would return (fakes and tests); `extended` and
// implicit_transition_time choose the header, return_data_length and truncated are ignored.
ByteVector encode_report_target_port_groups(const TargetPortGroups& tpgs);

// What an ALUA sense code tells a multipath layer (SPC-4 5.16.2, and what Linux's scsi_dh_alua
// does with each).
enum class AluaSense : std::uint8_t {
  none,               // not an ALUA code
  transitioning,      // 04/0A LU not accessible, asymmetric access state transition
  standby,            // 04/0B LU not accessible, target port in standby state
  unavailable,        // 04/0C LU not accessible, target port in unavailable state
  state_changed,      // UNIT ATTENTION 2A/06 asymmetric access state changed
  transition_failed,  // UNIT ATTENTION 2A/07 implicit asymmetric access state transition failed
};
std::string_view to_string(AluaSense s) noexcept;
// 04/0A under NOT READY or UNIT ATTENTION (Linux accepts both), 04/0B and 04/0C under NOT READY,
// 2A/06 and 2A/07 under UNIT ATTENTION; none otherwise.
AluaSense classify_alua_sense(const SenseData& sense) noexcept;
// The command did not run because of the path's access state (04/0A, 04/0B, 04/0C): it may be
// sent again on a path of another group, or on this one once the state changes.
bool not_accessible(AluaSense s) noexcept;
// The states have (or may have) changed: ask REPORT TARGET PORT GROUPS again (2A/06, 2A/07,
// and the not-accessible codes).
bool needs_rtpg(AluaSense s) noexcept;

}  // namespace iscsi::scsi
