// Choosing an LU's designator, and comparing two of them.
#include "mpath/identity.hpp"

namespace iscsi::mpath {

namespace {

using scsi::Association;
using scsi::Designator;
using scsi::DesignatorType;

// Lower is better; nullopt for designators that do not name the LU for multipath.
std::optional<int> rank(const Designator& d) {
  if (d.association != Association::logical_unit || d.value.empty()) return std::nullopt;
  switch (d.type) {
    case DesignatorType::naa:
      switch (d.naa_format()) {
        case 6: return 0;  // IEEE Registered Extended
        case 5: return 1;  // IEEE Registered
        case 2: return 2;  // IEEE Extended
        case 3: return 3;  // Locally Assigned
        default: return 4;
      }
    case DesignatorType::eui64: return 10;
    case DesignatorType::scsi_name_string: return 20;
    case DesignatorType::t10_vendor_id: return 30;
    default: return std::nullopt;
  }
}

LuIdentity::Source source_of(DesignatorType t) {
  switch (t) {
    case DesignatorType::naa: return LuIdentity::Source::naa;
    case DesignatorType::eui64: return LuIdentity::Source::eui64;
    case DesignatorType::scsi_name_string: return LuIdentity::Source::scsi_name;
    default: return LuIdentity::Source::t10_vendor_id;
  }
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

std::string_view to_string(LuIdentity::Source s) noexcept {
  switch (s) {
    case LuIdentity::Source::naa: return "NAA";
    case LuIdentity::Source::eui64: return "EUI-64";
    case LuIdentity::Source::scsi_name: return "SCSI name string";
    case LuIdentity::Source::t10_vendor_id: return "T10 vendor ID";
    case LuIdentity::Source::unit_serial: return "unit serial number";
  }
  return "unknown";
}

std::string LuIdentity::wwid() const {
  return source == Source::unit_serial ? "serial." + id : id;
}

std::optional<LuIdentity> identity_from(const scsi::StandardInquiry& inquiry,
                                        const scsi::DeviceIdentification* vpd83,
                                        const std::optional<std::string>& serial) {
  LuIdentity out;
  out.vendor = inquiry.vendor;
  out.product = inquiry.product;
  out.serial = serial.value_or("");
  const Designator* best = nullptr;
  int best_rank = 0;
  if (vpd83 != nullptr) {
    for (const auto& d : vpd83->designators) {
      const auto r = rank(d);
      if (r && (best == nullptr || *r < best_rank)) {
        best = &d;
        best_rank = *r;
      }
    }
  }
  if (best != nullptr) {
    out.source = source_of(best->type);
    out.id = best->text();
    return out;
  }
  if (!out.serial.empty()) {
    out.source = LuIdentity::Source::unit_serial;
    out.id = out.serial;
    return out;
  }
  return std::nullopt;
}

std::optional<std::string> difference(const LuIdentity& a, const LuIdentity& b) {
  if (a == b) return std::nullopt;
  std::string out = a.wwid() + " (" + std::string(to_string(a.source)) + ") != " + b.wwid() +
                    " (" + std::string(to_string(b.source)) + ")";
  if (a.vendor != b.vendor) out += "; vendor " + quoted(a.vendor) + " != " + quoted(b.vendor);
  if (a.product != b.product) out += "; product " + quoted(a.product) + " != " + quoted(b.product);
  if (a.serial != b.serial) out += "; serial " + quoted(a.serial) + " != " + quoted(b.serial);
  return out;
}

std::vector<std::vector<std::size_t>> group_by_identity(const std::vector<LuIdentity>& ids) {
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    bool placed = false;
    for (auto& g : groups) {
      if (ids[g.front()] == ids[i]) {
        g.push_back(i);
        placed = true;
        break;
      }
    }
    if (!placed) groups.push_back({i});
  }
  return groups;
}

}  // namespace iscsi::mpath
