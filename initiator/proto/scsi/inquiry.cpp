// INQUIRY and VPD decoders. Each one first cuts the input to the length the data itself
// declares (so trailing bytes of a larger buffer are never read as fields), then reads fields
// through wire.hpp, whose accessors yield 0 past the end of what the device returned.
#include "proto/scsi/inquiry.hpp"

#include <algorithm>

#include "proto/scsi/wire.hpp"

namespace iscsi::scsi {
namespace {

using detail::get;
using detail::get_flag;

// The part of `data` the device declared (`declared` bytes), and whether it returned less.
struct Declared {
  ByteSpan bytes;
  bool truncated;
};
Declared cut(ByteSpan data, std::size_t declared) noexcept {
  if (data.size() >= declared) return {data.first(declared), false};
  return {data, true};
}

std::string_view trim_right(std::string_view s) noexcept {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.remove_suffix(1);
  return s;
}
std::string_view trim(std::string_view s) noexcept {
  s = trim_right(s);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\0')) s.remove_prefix(1);
  return s;
}

// An ASCII field; when the data ends inside it, the part that is present.
std::string text_field(ByteSpan data, detail::Field f) {
  if (f.offset >= data.size()) return {};
  const auto n = std::min(f.size, data.size() - f.offset);
  return std::string(trim_right(as_chars(data.subspan(f.offset, n))));
}

std::string hex(ByteSpan b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (auto c : b) {
    s.push_back(kDigits[c >> 4]);
    s.push_back(kDigits[c & 0xF]);
  }
  return s;
}

// Decodes the header and checks the page is the one the caller asked for.
Result<VpdHeader> vpd_header_of(ByteSpan data, std::uint8_t expected_page) {
  auto h = decode_vpd_header(data);
  if (!h) return h;
  if (h->page_code != expected_page) return Errc::page_code_mismatch;
  return h;
}

}  // namespace

std::string_view to_string(PeripheralQualifier q) noexcept {
  switch (q) {
    case PeripheralQualifier::connected: return "CONNECTED";
    case PeripheralQualifier::not_connected: return "NOT CONNECTED";
    case PeripheralQualifier::reserved: return "RESERVED";
    case PeripheralQualifier::not_supported: return "NOT SUPPORTED";
  }
  return "UNKNOWN";
}

std::string_view device_type_name(std::uint8_t type) noexcept {
  switch (type) {
    case device_type::kDirectAccess: return "DIRECT ACCESS BLOCK DEVICE";
    case device_type::kSequentialAccess: return "SEQUENTIAL ACCESS DEVICE";
    case 0x02: return "PRINTER DEVICE";
    case 0x03: return "PROCESSOR DEVICE";
    case 0x04: return "WRITE-ONCE DEVICE";
    case device_type::kCdDvd: return "CD/DVD DEVICE";
    case device_type::kOpticalMemory: return "OPTICAL MEMORY DEVICE";
    case device_type::kMediumChanger: return "MEDIA CHANGER DEVICE";
    case device_type::kStorageArrayController: return "STORAGE ARRAY CONTROLLER DEVICE";
    case device_type::kEnclosureServices: return "ENCLOSURE SERVICES DEVICE";
    case device_type::kSimplifiedDirectAccess: return "SIMPLIFIED DIRECT ACCESS DEVICE";
    case 0x0F: return "OPTICAL CARD READER/WRITER DEVICE";
    case 0x11: return "OBJECT-BASED STORAGE DEVICE";
    case 0x12: return "AUTOMATION/DRIVE INTERFACE";
    case device_type::kHostManagedZoned: return "HOST MANAGED ZONED BLOCK DEVICE";
    case device_type::kWellKnownLogicalUnit: return "WELL KNOWN LOGICAL UNIT";
    case device_type::kUnknown: return "UNKNOWN OR NO DEVICE TYPE";
    default: return "RESERVED DEVICE TYPE";
  }
}

Result<StandardInquiry> decode_standard_inquiry(ByteSpan data) {
  namespace f = detail::inquiry_data;
  if (data.size() < f::kHeaderLength) return Errc::response_too_short;
  StandardInquiry inq;
  inq.additional_length = static_cast<std::uint8_t>(get(data, f::kAdditionalLength));
  const auto [d, truncated] = cut(data, inq.required_length());
  inq.truncated = truncated;

  inq.qualifier = static_cast<PeripheralQualifier>(get(d, f::kQualifier));
  inq.device_type = get(d, f::kDeviceType);
  inq.rmb = get_flag(d, f::kRmb);
  inq.version = static_cast<std::uint8_t>(get(d, f::kVersion));
  inq.normaca = get_flag(d, f::kNormAca);
  inq.hisup = get_flag(d, f::kHiSup);
  inq.response_data_format = get(d, f::kResponseDataFormat);
  inq.sccs = get_flag(d, f::kSccs);
  inq.acc = get_flag(d, f::kAcc);
  inq.tpgs = get(d, f::kTpgs);
  inq.third_party_copy = get_flag(d, f::kThirdPartyCopy);
  inq.protect = get_flag(d, f::kProtect);
  inq.encserv = get_flag(d, f::kEncServ);
  inq.multip = get_flag(d, f::kMultiP);
  inq.cmdque = get_flag(d, f::kCmdQue);
  inq.vendor = text_field(d, f::kVendor);
  inq.product = text_field(d, f::kProduct);
  inq.revision = text_field(d, f::kRevision);
  for (std::size_t i = 0; i < f::kVersionDescriptorCount; ++i) {
    const detail::Field vd{f::kVersionDescriptors + i * f::kVersionDescriptorLength,
                           f::kVersionDescriptorLength};
    if (!detail::has(d, vd)) break;
    if (const auto v = static_cast<std::uint16_t>(get(d, vd)); v != 0) {
      inq.version_descriptors.push_back(v);
    }
  }
  return inq;
}

Result<VpdHeader> decode_vpd_header(ByteSpan data) {
  namespace f = detail::vpd;
  if (data.size() < f::kHeaderLength) return Errc::response_too_short;
  VpdHeader h;
  h.qualifier = static_cast<PeripheralQualifier>(get(data, f::kQualifier));
  h.device_type = get(data, f::kDeviceType);
  h.page_code = static_cast<std::uint8_t>(get(data, f::kPageCode));
  h.page_length = static_cast<std::uint16_t>(get(data, f::kPageLength));
  return h;
}

bool SupportedVpdPages::supports(std::uint8_t page_code) const noexcept {
  return std::find(pages.begin(), pages.end(), page_code) != pages.end();
}

Result<SupportedVpdPages> decode_vpd_supported_pages(ByteSpan data) {
  auto h = vpd_header_of(data, vpd_page::kSupportedPages);
  if (!h) return h.error();
  SupportedVpdPages out;
  out.header = *h;
  const auto [d, truncated] = cut(data, h->required_length());
  out.truncated = truncated;
  const auto list = d.subspan(detail::vpd::kHeaderLength);
  out.pages.assign(list.begin(), list.end());
  return out;
}

Result<UnitSerialNumber> decode_vpd_unit_serial_number(ByteSpan data) {
  auto h = vpd_header_of(data, vpd_page::kUnitSerialNumber);
  if (!h) return h.error();
  UnitSerialNumber out;
  out.header = *h;
  const auto [d, truncated] = cut(data, h->required_length());
  out.truncated = truncated;
  out.serial = std::string(trim(as_chars(d.subspan(detail::vpd::kHeaderLength))));
  return out;
}

std::string_view to_string(CodeSet c) noexcept {
  switch (c) {
    case CodeSet::binary: return "binary";
    case CodeSet::ascii: return "ASCII";
    case CodeSet::utf8: return "UTF-8";
  }
  return "reserved";
}

std::string_view to_string(Association a) noexcept {
  switch (a) {
    case Association::logical_unit: return "logical unit";
    case Association::target_port: return "target port";
    case Association::target_device: return "target device";
  }
  return "reserved";
}

std::string_view to_string(DesignatorType t) noexcept {
  switch (t) {
    case DesignatorType::vendor_specific: return "vendor specific";
    case DesignatorType::t10_vendor_id: return "T10 vendor ID";
    case DesignatorType::eui64: return "EUI-64";
    case DesignatorType::naa: return "NAA";
    case DesignatorType::relative_target_port: return "relative target port";
    case DesignatorType::target_port_group: return "target port group";
    case DesignatorType::logical_unit_group: return "logical unit group";
    case DesignatorType::md5_logical_unit: return "MD5 logical unit identifier";
    case DesignatorType::scsi_name_string: return "SCSI name string";
    case DesignatorType::protocol_specific_port: return "protocol specific port identifier";
    case DesignatorType::uuid: return "UUID";
  }
  return "reserved";
}

std::string_view to_string(ProtocolId p) noexcept {
  switch (p) {
    case ProtocolId::fibre_channel: return "Fibre Channel";
    case ProtocolId::parallel_scsi: return "parallel SCSI";
    case ProtocolId::ssa: return "SSA";
    case ProtocolId::ieee1394: return "IEEE 1394";
    case ProtocolId::srp: return "SRP";
    case ProtocolId::iscsi: return "iSCSI";
    case ProtocolId::sas: return "SAS";
    case ProtocolId::adt: return "ADT";
    case ProtocolId::ata: return "ATA";
    case ProtocolId::uas: return "UAS";
    case ProtocolId::sop: return "SOP";
    case ProtocolId::pcie: return "PCIe";
    case ProtocolId::none: return "none";
  }
  return "reserved";
}

std::optional<std::uint16_t> Designator::number() const noexcept {
  const bool numbered = type == DesignatorType::relative_target_port ||
                        type == DesignatorType::target_port_group ||
                        type == DesignatorType::logical_unit_group;
  const ByteSpan v(value);
  if (!numbered || !detail::has(v, detail::designator::kPortOrGroupNumber)) return std::nullopt;
  return static_cast<std::uint16_t>(get(v, detail::designator::kPortOrGroupNumber));
}

std::uint8_t Designator::naa_format() const noexcept {
  if (type != DesignatorType::naa) return 0;
  return get(ByteSpan(value), detail::designator::kNaaFormat);
}

std::string Designator::text() const {
  const ByteSpan v(value);
  const bool textual = code_set == CodeSet::ascii || code_set == CodeSet::utf8;
  switch (type) {
    case DesignatorType::naa: return "naa." + hex(v);
    case DesignatorType::eui64: return "eui." + hex(v);
    case DesignatorType::uuid: return "uuid." + hex(v);
    case DesignatorType::t10_vendor_id: return "t10." + std::string(trim_right(as_chars(v)));
    case DesignatorType::relative_target_port:
    case DesignatorType::target_port_group:
    case DesignatorType::logical_unit_group: {
      const auto n = number();
      if (!n) break;
      const char* prefix = type == DesignatorType::relative_target_port ? "port "
                           : type == DesignatorType::target_port_group  ? "tpg "
                                                                        : "lug ";
      return prefix + std::to_string(*n);
    }
    default: break;
  }
  if (textual) return std::string(trim_right(as_chars(v)));
  return "0x" + hex(v);
}

const Designator* DeviceIdentification::find(DesignatorType type,
                                              Association association) const noexcept {
  for (const auto& d : designators) {
    if (d.type == type && d.association == association) return &d;
  }
  return nullptr;
}

Result<DeviceIdentification> decode_vpd_device_identification(ByteSpan data) {
  namespace f = detail::designator;
  auto h = vpd_header_of(data, vpd_page::kDeviceIdentification);
  if (!h) return h.error();
  DeviceIdentification out;
  out.header = *h;
  const auto [d, truncated] = cut(data, h->required_length());
  out.truncated = truncated;

  auto rest = d.subspan(detail::vpd::kHeaderLength);
  while (!rest.empty()) {
    if (rest.size() < f::kHeaderLength) {
      out.truncated = true;
      break;
    }
    const std::size_t total = f::kHeaderLength + get(rest, f::kLength);
    if (rest.size() < total) {
      // Either cut by the allocation length or a designator overrunning its page; both leave
      // an incomplete designator that we must not report as if it were whole.
      out.truncated = true;
      break;
    }
    Designator des;
    des.protocol_id = static_cast<ProtocolId>(get(rest, f::kProtocolIdentifier));
    des.code_set = static_cast<CodeSet>(get(rest, f::kCodeSet));
    des.piv = get_flag(rest, f::kPiv);
    des.association = static_cast<Association>(get(rest, f::kAssociation));
    des.type = static_cast<DesignatorType>(get(rest, f::kType));
    const auto value = rest.subspan(f::kHeaderLength, total - f::kHeaderLength);
    des.value.assign(value.begin(), value.end());
    out.designators.push_back(std::move(des));
    rest = rest.subspan(total);
  }
  return out;
}

Result<BlockLimits> decode_vpd_block_limits(ByteSpan data) {
  namespace f = detail::block_limits;
  auto h = vpd_header_of(data, vpd_page::kBlockLimits);
  if (!h) return h.error();
  BlockLimits out;
  out.header = *h;
  const Declared declared = cut(data, h->required_length());
  const ByteSpan d = declared.bytes;
  out.truncated = declared.truncated;
  auto u32 = [&d](detail::Field fld) { return static_cast<std::uint32_t>(get(d, fld)); };
  out.wsnz = get_flag(d, f::kWsnz);
  out.max_compare_and_write_length = static_cast<std::uint8_t>(get(d, f::kMaxCompareAndWriteLength));
  out.optimal_transfer_length_granularity =
      static_cast<std::uint16_t>(get(d, f::kOptimalTransferLengthGranularity));
  out.max_transfer_length = u32(f::kMaxTransferLength);
  out.optimal_transfer_length = u32(f::kOptimalTransferLength);
  out.max_prefetch_length = u32(f::kMaxPrefetchLength);
  out.max_unmap_lba_count = u32(f::kMaxUnmapLbaCount);
  out.max_unmap_block_descriptor_count = u32(f::kMaxUnmapBlockDescriptorCount);
  out.optimal_unmap_granularity = u32(f::kOptimalUnmapGranularity);
  out.ugavalid = get_flag(d, f::kUgaValid);
  out.unmap_granularity_alignment =
      u32(f::kUnmapGranularityAlignment) & f::kUnmapGranularityAlignmentMask;
  out.max_write_same_length = get(d, f::kMaxWriteSameLength);
  out.max_atomic_transfer_length = u32(f::kMaxAtomicTransferLength);
  out.atomic_alignment = u32(f::kAtomicAlignment);
  out.atomic_transfer_length_granularity = u32(f::kAtomicTransferLengthGranularity);
  out.max_atomic_transfer_length_with_boundary = u32(f::kMaxAtomicTransferLengthWithBoundary);
  out.max_atomic_boundary_size = u32(f::kMaxAtomicBoundarySize);
  return out;
}

std::string_view to_string(ProvisioningType t) noexcept {
  switch (t) {
    case ProvisioningType::full_or_unknown: return "full or not reported";
    case ProvisioningType::resource: return "resource provisioned";
    case ProvisioningType::thin: return "thin provisioned";
  }
  return "reserved";
}

Result<LogicalBlockProvisioning> decode_vpd_logical_block_provisioning(ByteSpan data) {
  namespace f = detail::lbp;
  auto h = vpd_header_of(data, vpd_page::kLogicalBlockProvisioning);
  if (!h) return h.error();
  LogicalBlockProvisioning out;
  out.header = *h;
  const auto [d, truncated] = cut(data, h->required_length());
  out.truncated = truncated;
  out.threshold_exponent = static_cast<std::uint8_t>(get(d, f::kThresholdExponent));
  out.lbpu = get_flag(d, f::kLbpu);
  out.lbpws = get_flag(d, f::kLbpws);
  out.lbpws10 = get_flag(d, f::kLbpws10);
  out.lbprz = get(d, f::kLbprz);
  out.anc_sup = get_flag(d, f::kAncSup);
  out.dp = get_flag(d, f::kDp);
  out.minimum_percentage = get(d, f::kMinimumPercentage);
  out.provisioning_type = static_cast<ProvisioningType>(get(d, f::kProvisioningType));
  out.threshold_percentage = static_cast<std::uint8_t>(get(d, f::kThresholdPercentage));
  return out;
}

}  // namespace iscsi::scsi
