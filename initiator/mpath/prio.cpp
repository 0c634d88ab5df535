// ALUA facts of a path and the alua/const prioritizers.
#include "mpath/prio.hpp"

namespace iscsi::mpath {

PathAlua alua_from(const scsi::StandardInquiry& inquiry, const scsi::DeviceIdentification* vpd83) {
  PathAlua a;
  a.tpgs = inquiry.tpgs;
  a.supported = inquiry.tpgs != 0;
  if (vpd83 != nullptr) {
    using scsi::Association;
    using scsi::DesignatorType;
    if (const auto* d = vpd83->find(DesignatorType::relative_target_port, Association::target_port)) {
      a.relative_port = d->number();
    }
    if (const auto* d = vpd83->find(DesignatorType::target_port_group, Association::target_port)) {
      a.port_group = d->number();
    }
  }
  return a;
}

bool apply_rtpg(PathAlua& alua, const scsi::TargetPortGroups& tpgs) {
  const scsi::TargetPortGroup* g = nullptr;
  if (alua.port_group) g = tpgs.find(*alua.port_group);
  if (g == nullptr && alua.relative_port) g = tpgs.group_of_port(*alua.relative_port);
  if (g == nullptr) return false;
  alua.state = g->state;
  alua.preferred = g->preferred;
  if (!alua.port_group) alua.port_group = g->id;
  return true;
}

int priority(const PathAlua& alua) noexcept {
  if (!alua.supported) return 1;
  switch (alua.state) {
    case scsi::AccessState::active_optimized: return 50;
    case scsi::AccessState::active_non_optimized: return 10;
    case scsi::AccessState::logical_block_dependent: return 5;
    case scsi::AccessState::standby: return 1;
    default: return 0;
  }
}

bool alua_usable(const PathAlua& alua) noexcept {
  return !alua.supported || scsi::usable_for_io(alua.state);
}

std::string describe(const PathAlua& alua) {
  if (!alua.supported) return "no ALUA";
  std::string out;
  if (alua.port_group) out += "tpg " + std::to_string(*alua.port_group) + " ";
  if (alua.relative_port) out += "port " + std::to_string(*alua.relative_port) + " ";
  out += std::string(scsi::to_string(alua.state));
  if (alua.preferred) out += " pref";
  return out;
}

}  // namespace iscsi::mpath
