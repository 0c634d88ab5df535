// Decoders for INQUIRY data: the standard data (SPC-4 6.6.2) and the VPD pages a block
// initiator relies on: 0x00 supported pages, 0x80 unit serial number, 0x83 device
// identification (SPC-4 7.8), 0xB0 block limits and 0xB2 logical block provisioning (SBC-4 6.6).
//
// Devices return at most the allocation length the CDB asked for, so short data is normal:
// every decoder decodes what is present, sets `truncated` when the device had more, and
// exposes required_length() so the caller can ask again with a large enough allocation length.
// Only data too short for its fixed header (or a different VPD page than asked for) is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/scsi/errc.hpp"

namespace iscsi::scsi {

// PERIPHERAL QUALIFIER (SPC-4 table 141).
enum class PeripheralQualifier : std::uint8_t {
  connected = 0,      // a device of this type is (or may be) attached to the logical unit
  not_connected = 1,  // capable, but not connected now
  reserved = 2,
  not_supported = 3,  // no logical unit here (e.g. an unmapped LUN)
};
std::string_view to_string(PeripheralQualifier q) noexcept;

// Common PERIPHERAL DEVICE TYPE values (SPC-4 table 142); others are kept as their number.
namespace device_type {
inline constexpr std::uint8_t kDirectAccess = 0x00;
inline constexpr std::uint8_t kSequentialAccess = 0x01;
inline constexpr std::uint8_t kCdDvd = 0x05;
inline constexpr std::uint8_t kOpticalMemory = 0x07;
inline constexpr std::uint8_t kMediumChanger = 0x08;
inline constexpr std::uint8_t kStorageArrayController = 0x0C;
inline constexpr std::uint8_t kEnclosureServices = 0x0D;
inline constexpr std::uint8_t kSimplifiedDirectAccess = 0x0E;
inline constexpr std::uint8_t kHostManagedZoned = 0x14;
inline constexpr std::uint8_t kWellKnownLogicalUnit = 0x1E;
inline constexpr std::uint8_t kUnknown = 0x1F;
}  // namespace device_type
// "DIRECT ACCESS BLOCK DEVICE", "STORAGE ARRAY CONTROLLER", ...
std::string_view device_type_name(std::uint8_t type) noexcept;

struct StandardInquiry {
  PeripheralQualifier qualifier = PeripheralQualifier::connected;
  std::uint8_t device_type = 0;
  bool rmb = false;  // removable medium
  std::uint8_t version = 0;  // 0x05 SPC-3, 0x06 SPC-4, 0x07 SPC-5
  bool normaca = false;
  bool hisup = false;  // hierarchical LUN addressing supported
  std::uint8_t response_data_format = 0;  // 2 for any device since SCSI-3
  std::uint8_t additional_length = 0;
  bool sccs = false;
  bool acc = false;
  std::uint8_t tpgs = 0;  // ALUA: 1 implicit, 2 explicit, 3 both
  bool third_party_copy = false;
  bool protect = false;
  bool encserv = false;
  bool multip = false;
  bool cmdque = false;
  // ASCII fields with trailing spaces and NULs removed; empty when not returned.
  std::string vendor;
  std::string product;
  std::string revision;
  std::vector<std::uint16_t> version_descriptors;  // non-zero descriptors returned
  bool truncated = false;  // the device had more than the allocation length allowed

  std::size_t required_length() const noexcept { return std::size_t{additional_length} + 5; }
};
// Needs at least the 5-byte header (through ADDITIONAL LENGTH).
Result<StandardInquiry> decode_standard_inquiry(ByteSpan data);

// VPD page codes decoded here.
namespace vpd_page {
inline constexpr std::uint8_t kSupportedPages = 0x00;
inline constexpr std::uint8_t kUnitSerialNumber = 0x80;
inline constexpr std::uint8_t kDeviceIdentification = 0x83;
inline constexpr std::uint8_t kBlockLimits = 0xB0;
inline constexpr std::uint8_t kBlockDeviceCharacteristics = 0xB1;
inline constexpr std::uint8_t kLogicalBlockProvisioning = 0xB2;
}  // namespace vpd_page

struct VpdHeader {
  PeripheralQualifier qualifier = PeripheralQualifier::connected;
  std::uint8_t device_type = 0;
  std::uint8_t page_code = 0;
  std::uint16_t page_length = 0;
  std::size_t required_length() const noexcept { return std::size_t{page_length} + 4; }
};
// The 4-byte header common to every VPD page.
Result<VpdHeader> decode_vpd_header(ByteSpan data);

struct SupportedVpdPages {
  VpdHeader header;
  std::vector<std::uint8_t> pages;
  bool truncated = false;
  bool supports(std::uint8_t page_code) const noexcept;
};
Result<SupportedVpdPages> decode_vpd_supported_pages(ByteSpan data);

struct UnitSerialNumber {
  VpdHeader header;
  std::string serial;  // leading and trailing spaces and NULs removed
  bool truncated = false;
};
Result<UnitSerialNumber> decode_vpd_unit_serial_number(ByteSpan data);

// Device Identification designators (SPC-4 7.8.6).
enum class CodeSet : std::uint8_t { binary = 1, ascii = 2, utf8 = 3 };
enum class Association : std::uint8_t { logical_unit = 0, target_port = 1, target_device = 2 };
enum class DesignatorType : std::uint8_t {
  vendor_specific = 0x0,
  t10_vendor_id = 0x1,
  eui64 = 0x2,
  naa = 0x3,
  relative_target_port = 0x4,
  target_port_group = 0x5,
  logical_unit_group = 0x6,
  md5_logical_unit = 0x7,
  scsi_name_string = 0x8,
  protocol_specific_port = 0x9,
  uuid = 0xA,
};
// PROTOCOL IDENTIFIER (SPC-4 table 362); meaningful only when PIV is set.
enum class ProtocolId : std::uint8_t {
  fibre_channel = 0x0,
  parallel_scsi = 0x1,
  ssa = 0x2,
  ieee1394 = 0x3,
  srp = 0x4,
  iscsi = 0x5,
  sas = 0x6,
  adt = 0x7,
  ata = 0x8,
  uas = 0x9,
  sop = 0xA,
  pcie = 0xB,
  none = 0xF,
};
std::string_view to_string(CodeSet c) noexcept;
std::string_view to_string(Association a) noexcept;
std::string_view to_string(DesignatorType t) noexcept;
std::string_view to_string(ProtocolId p) noexcept;

struct Designator {
  ProtocolId protocol_id = ProtocolId::fibre_channel;
  CodeSet code_set = CodeSet::binary;  // raw value kept even when reserved
  bool piv = false;
  Association association = Association::logical_unit;
  DesignatorType type = DesignatorType::vendor_specific;
  std::vector<std::uint8_t> value;

  // Relative target port identifier, target port group or logical unit group number
  // (types 4, 5, 6 with a 4-byte value); nullopt for other designators.
  std::optional<std::uint16_t> number() const noexcept;
  // NAA designators: the NAA field (top nibble: 2, 3, 5 or 6); 0 otherwise.
  std::uint8_t naa_format() const noexcept;
  // Printable form in the style Linux uses for /dev/disk/by-id and sysfs "wwid":
  // "naa.6001405...", "eui.0123...", "t10.IET     VIRTUAL-DISK", the SCSI name string itself,
  // "port 1", "tpg 1", "lug 1"; other binary designators as "0x" + hex.
  std::string text() const;
};

struct DeviceIdentification {
  VpdHeader header;
  std::vector<Designator> designators;  // complete designators only
  bool truncated = false;               // data ended inside the page or inside a designator

  // The first designator of `type` with `association`, if any.
  const Designator* find(DesignatorType type,
                         Association association = Association::logical_unit) const noexcept;
};
Result<DeviceIdentification> decode_vpd_device_identification(ByteSpan data);

// Block Limits (0xB0). Absent fields (a short page from an SBC-2 device, or data cut by the
// allocation length) read as 0, which SBC-4 defines as "no limit reported".
struct BlockLimits {
  VpdHeader header;
  bool wsnz = false;  // WRITE SAME with NUMBER OF BLOCKS = 0 is not supported
  std::uint8_t max_compare_and_write_length = 0;
  std::uint16_t optimal_transfer_length_granularity = 0;
  std::uint32_t max_transfer_length = 0;
  std::uint32_t optimal_transfer_length = 0;
  std::uint32_t max_prefetch_length = 0;
  std::uint32_t max_unmap_lba_count = 0;
  std::uint32_t max_unmap_block_descriptor_count = 0;
  std::uint32_t optimal_unmap_granularity = 0;
  bool ugavalid = false;
  std::uint32_t unmap_granularity_alignment = 0;
  std::uint64_t max_write_same_length = 0;
  std::uint32_t max_atomic_transfer_length = 0;
  std::uint32_t atomic_alignment = 0;
  std::uint32_t atomic_transfer_length_granularity = 0;
  std::uint32_t max_atomic_transfer_length_with_boundary = 0;
  std::uint32_t max_atomic_boundary_size = 0;
  bool truncated = false;
};
Result<BlockLimits> decode_vpd_block_limits(ByteSpan data);

// PROVISIONING TYPE (SBC-4 table 232).
enum class ProvisioningType : std::uint8_t {
  full_or_unknown = 0,
  resource = 1,
  thin = 2,
};
std::string_view to_string(ProvisioningType t) noexcept;

struct LogicalBlockProvisioning {
  VpdHeader header;
  std::uint8_t threshold_exponent = 0;
  bool lbpu = false;     // UNMAP supported
  bool lbpws = false;    // WRITE SAME(16) with UNMAP supported
  bool lbpws10 = false;  // WRITE SAME(10) with UNMAP supported
  std::uint8_t lbprz = 0;  // 0: unmapped blocks read undefined; 1: zeroes; 2: provisioning init
  bool anc_sup = false;  // anchored state supported
  bool dp = false;       // a provisioning group descriptor follows
  std::uint8_t minimum_percentage = 0;
  ProvisioningType provisioning_type = ProvisioningType::full_or_unknown;
  std::uint8_t threshold_percentage = 0;
  bool truncated = false;
};
Result<LogicalBlockProvisioning> decode_vpd_logical_block_provisioning(ByteSpan data);

}  // namespace iscsi::scsi
