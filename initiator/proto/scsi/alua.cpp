// REPORT TARGET PORT GROUPS decoding and encoding, and the ALUA sense classification.
#include "proto/scsi/alua.hpp"

#include <algorithm>

#include "proto/scsi/wire.hpp"

namespace iscsi::scsi {

using detail::get;
using detail::get_flag;
using detail::put;
using detail::put_flag;

namespace {

namespace h = detail::rtpg_data;
namespace d = detail::tpg_descriptor;

SupportedStates supported_from(ByteSpan desc) noexcept {
  SupportedStates s;
  s.transitioning = get_flag(desc, d::kTSup);
  s.offline = get_flag(desc, d::kOSup);
  s.logical_block_dependent = get_flag(desc, d::kLbdSup);
  s.unavailable = get_flag(desc, d::kUSup);
  s.standby = get_flag(desc, d::kSSup);
  s.active_non_optimized = get_flag(desc, d::kAnSup);
  s.active_optimized = get_flag(desc, d::kAoSup);
  return s;
}

void put_supported(MutableByteSpan desc, const SupportedStates& s) noexcept {
  put_flag(desc, d::kTSup, s.transitioning);
  put_flag(desc, d::kOSup, s.offline);
  put_flag(desc, d::kLbdSup, s.logical_block_dependent);
  put_flag(desc, d::kUSup, s.unavailable);
  put_flag(desc, d::kSSup, s.standby);
  put_flag(desc, d::kAnSup, s.active_non_optimized);
  put_flag(desc, d::kAoSup, s.active_optimized);
}

}  // namespace

std::string_view to_string(AccessState s) noexcept {
  switch (s) {
    case AccessState::active_optimized: return "active/optimized";
    case AccessState::active_non_optimized: return "active/non-optimized";
    case AccessState::standby: return "standby";
    case AccessState::unavailable: return "unavailable";
    case AccessState::logical_block_dependent: return "lba-dependent";
    case AccessState::offline: return "offline";
    case AccessState::transitioning: return "transitioning";
  }
  return "reserved";
}

bool usable_for_io(AccessState s) noexcept {
  return s == AccessState::active_optimized || s == AccessState::active_non_optimized ||
         s == AccessState::logical_block_dependent;
}

std::string_view to_string(TpgStatusCode c) noexcept {
  switch (c) {
    case TpgStatusCode::no_status: return "no status";
    case TpgStatusCode::altered_by_set_target_port_groups:
      return "altered by SET TARGET PORT GROUPS";
    case TpgStatusCode::altered_by_implicit_behavior: return "altered by implicit behavior";
  }
  return "reserved";
}

bool TargetPortGroup::contains_port(std::uint16_t relative_target_port) const noexcept {
  return std::find(relative_target_ports.begin(), relative_target_ports.end(),
                   relative_target_port) != relative_target_ports.end();
}

const TargetPortGroup* TargetPortGroups::group_of_port(std::uint16_t port) const noexcept {
  for (const auto& g : groups) {
    if (g.contains_port(port)) return &g;
  }
  return nullptr;
}

const TargetPortGroup* TargetPortGroups::find(std::uint16_t group_id) const noexcept {
  for (const auto& g : groups) {
    if (g.id == group_id) return &g;
  }
  return nullptr;
}

Result<TargetPortGroups> decode_report_target_port_groups(ByteSpan data) {
  if (data.size() < h::kLengthOnlyHeaderLength) return Errc::response_too_short;
  TargetPortGroups out;
  out.return_data_length = static_cast<std::uint32_t>(get(data, h::kReturnDataLength));
  const std::size_t whole = out.required_length();
  out.truncated = data.size() < whole;
  // The descriptors live in [header, end): what the device said it has, or what arrived.
  const ByteSpan body = data.first(std::min(data.size(), whole));
  out.extended = body.size() > h::kFormatType.offset && get(body, h::kFormatType) == h::kExtendedFormat;
  std::size_t at = h::kLengthOnlyHeaderLength;
  if (out.extended) {
    out.implicit_transition_time = static_cast<std::uint8_t>(get(body, h::kImplicitTransitionTime));
    at = h::kExtendedHeaderLength;
  }
  while (at < body.size()) {
    // A descriptor that does not fit the RETURN DATA LENGTH the device declared is a device
    // bug; one that fits it but not the bytes that arrived was cut by the allocation length.
    const ByteSpan desc = body.subspan(at);
    if (desc.size() < d::kHeaderLength) {
      if (at + d::kHeaderLength > whole) return Errc::bad_tpg_descriptor_length;
      break;
    }
    const std::size_t ports = get(desc, d::kTargetPortCount);
    const std::size_t length = d::kHeaderLength + ports * d::kPortLength;
    if (at + length > whole) return Errc::bad_tpg_descriptor_length;
    if (desc.size() < length) break;
    TargetPortGroup g;
    g.preferred = get_flag(desc, d::kPref);
    g.state = static_cast<AccessState>(get(desc, d::kAsymmetricAccessState));
    g.supported = supported_from(desc);
    g.id = static_cast<std::uint16_t>(get(desc, d::kTargetPortGroup));
    g.status_code = static_cast<TpgStatusCode>(get(desc, d::kStatusCode));
    g.vendor_specific = static_cast<std::uint8_t>(get(desc, d::kVendorSpecific));
    g.relative_target_ports.reserve(ports);
    for (std::size_t i = 0; i < ports; ++i) {
      const ByteSpan port = desc.subspan(d::kHeaderLength + i * d::kPortLength, d::kPortLength);
      g.relative_target_ports.push_back(
          static_cast<std::uint16_t>(get(port, d::kRelativeTargetPortId)));
    }
    out.groups.push_back(std::move(g));
    at += length;
  }
  return out;
}

ByteVector encode_report_target_port_groups(const TargetPortGroups& tpgs) {
  const std::size_t header =
      tpgs.extended ? h::kExtendedHeaderLength : h::kLengthOnlyHeaderLength;
  std::size_t total = header;
  for (const auto& g : tpgs.groups) {
    // The port count is one byte: a group with more ports is cut to 255 (none exists).
    total += d::kHeaderLength + std::min<std::size_t>(g.relative_target_ports.size(), 0xFF) *
                                    d::kPortLength;
  }
  ByteVector out(total, 0);
  MutableByteSpan all(out);
  put(all, h::kReturnDataLength, total - h::kLengthOnlyHeaderLength);
  if (tpgs.extended) {
    put(all, h::kFormatType, h::kExtendedFormat);
    put(all, h::kImplicitTransitionTime, tpgs.implicit_transition_time);
  }
  std::size_t at = header;
  for (const auto& g : tpgs.groups) {
    const std::size_t ports = std::min<std::size_t>(g.relative_target_ports.size(), 0xFF);
    MutableByteSpan desc = all.subspan(at, d::kHeaderLength + ports * d::kPortLength);
    put_flag(desc, d::kPref, g.preferred);
    put(desc, d::kAsymmetricAccessState, static_cast<unsigned>(g.state) & 0x0Fu);
    put_supported(desc, g.supported);
    put(desc, d::kTargetPortGroup, g.id);
    put(desc, d::kStatusCode, static_cast<std::uint8_t>(g.status_code));
    put(desc, d::kVendorSpecific, g.vendor_specific);
    put(desc, d::kTargetPortCount, ports);
    for (std::size_t i = 0; i < ports; ++i) {
      put(desc.subspan(d::kHeaderLength + i * d::kPortLength, d::kPortLength),
          d::kRelativeTargetPortId, g.relative_target_ports[i]);
    }
    at += desc.size();
  }
  return out;
}

std::string_view to_string(AluaSense s) noexcept {
  switch (s) {
    case AluaSense::none: return "none";
    case AluaSense::transitioning: return "asymmetric access state transition";
    case AluaSense::standby: return "target port in standby state";
    case AluaSense::unavailable: return "target port in unavailable state";
    case AluaSense::state_changed: return "asymmetric access state changed";
    case AluaSense::transition_failed: return "implicit asymmetric access state transition failed";
  }
  return "unknown";
}

AluaSense classify_alua_sense(const SenseData& sense) noexcept {
  constexpr std::uint8_t kNotAccessible = 0x04;
  constexpr std::uint8_t kParametersChanged = 0x2A;
  const bool not_ready = sense.key == SenseKey::not_ready;
  const bool ua = sense.key == SenseKey::unit_attention;
  if (sense.asc == kNotAccessible) {
    if (sense.ascq == 0x0A && (not_ready || ua)) return AluaSense::transitioning;
    if (sense.ascq == 0x0B && not_ready) return AluaSense::standby;
    if (sense.ascq == 0x0C && not_ready) return AluaSense::unavailable;
  }
  if (sense.asc == kParametersChanged && ua) {
    if (sense.ascq == 0x06) return AluaSense::state_changed;
    if (sense.ascq == 0x07) return AluaSense::transition_failed;
  }
  return AluaSense::none;
}

bool not_accessible(AluaSense s) noexcept {
  return s == AluaSense::transitioning || s == AluaSense::standby || s == AluaSense::unavailable;
}

bool needs_rtpg(AluaSense s) noexcept { return s != AluaSense::none; }

}  // namespace iscsi::scsi
