// Where every SCSI field lives on the wire: CDB layouts (SPC-4, SBC-3/SBC-4) and the layouts of
// the data the device server returns. Each field is named here once, as a byte offset and
// width (Field, big-endian) or a bit position inside one byte (Bits); builders and decoders
// only ever touch bytes through these names and the accessors at the bottom of this file.
//
// The accessors never read or write outside the span they are given: a read past the end
// yields 0, which for SCSI response data is the value the standards use for "not reported".
// Decoders that rely on this say so and flag the result as truncated.
#pragma once

#include <cstddef>
#include <cstdint>

#include "proto/common/bytes.hpp"

namespace iscsi::scsi::detail {

// A big-endian integer field of `size` bytes (1..8) at byte `offset`.
struct Field {
  std::size_t offset;
  std::size_t size;
  constexpr std::size_t end() const noexcept { return offset + size; }
  // Largest value the field can carry.
  constexpr std::uint64_t max() const noexcept {
    return size >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * size)) - 1;
  }
};

// `width` bits starting at bit `shift` (0 = least significant) of the byte at `offset`.
struct Bits {
  std::size_t offset;
  unsigned shift;
  unsigned width;
  constexpr std::uint8_t mask() const noexcept {
    return static_cast<std::uint8_t>(((1u << width) - 1u) << shift);
  }
  constexpr unsigned max() const noexcept { return (1u << width) - 1u; }
};

// ---------------------------------------------------------------------------------------------
// Operation codes and service actions (SPC-4 annex D, SBC-4 table 12).
namespace opcode {
inline constexpr std::uint8_t kTestUnitReady = 0x00;
inline constexpr std::uint8_t kInquiry = 0x12;
inline constexpr std::uint8_t kModeSense6 = 0x1A;
inline constexpr std::uint8_t kReadCapacity10 = 0x25;
inline constexpr std::uint8_t kRead10 = 0x28;
inline constexpr std::uint8_t kWrite10 = 0x2A;
inline constexpr std::uint8_t kSynchronizeCache10 = 0x35;
inline constexpr std::uint8_t kUnmap = 0x42;
inline constexpr std::uint8_t kModeSense10 = 0x5A;
inline constexpr std::uint8_t kRead16 = 0x88;
inline constexpr std::uint8_t kWrite16 = 0x8A;
inline constexpr std::uint8_t kSynchronizeCache16 = 0x91;
inline constexpr std::uint8_t kWriteSame16 = 0x93;
inline constexpr std::uint8_t kServiceActionIn16 = 0x9E;
inline constexpr std::uint8_t kReportLuns = 0xA0;
inline constexpr std::uint8_t kMaintenanceIn = 0xA3;
// SERVICE ACTION IN(16) service action for READ CAPACITY(16).
inline constexpr std::uint8_t kSaReadCapacity16 = 0x10;
// MAINTENANCE IN service action for REPORT TARGET PORT GROUPS (SPC-4 6.36).
inline constexpr std::uint8_t kSaReportTargetPortGroups = 0x0A;
}  // namespace opcode

// ---------------------------------------------------------------------------------------------
// CDBs. Byte 0 is always the operation code; the last byte is CONTROL, which we leave 0
// (no NACA, no linked commands).
namespace cdb {
inline constexpr Field kOpcode{0, 1};
inline constexpr std::size_t kLength6 = 6;
inline constexpr std::size_t kLength10 = 10;
inline constexpr std::size_t kLength12 = 12;
inline constexpr std::size_t kLength16 = 16;
}  // namespace cdb

// INQUIRY (SPC-4 6.6.1).
namespace inquiry_cdb {
inline constexpr Bits kEvpd{1, 0, 1};
inline constexpr Field kPageCode{2, 1};
inline constexpr Field kAllocationLength{3, 2};
}  // namespace inquiry_cdb

// READ CAPACITY(16) = SERVICE ACTION IN(16) (SBC-4 5.20.1). READ CAPACITY(10) has no fields we
// set: its LBA and PMI are obsolete and must be zero.
namespace read_capacity16_cdb {
inline constexpr Bits kServiceAction{1, 0, 5};
inline constexpr Field kAllocationLength{10, 4};
}  // namespace read_capacity16_cdb

// READ(10)/WRITE(10) (SBC-4 5.15, 5.39): byte 1 holds RDPROTECT/WRPROTECT, DPO and FUA.
struct rw10_cdb {  // a struct, so cdb.cpp can pass the layout as a template argument
  static constexpr Bits kProtect{1, 5, 3};
  static constexpr Bits kDpo{1, 4, 1};
  static constexpr Bits kFua{1, 3, 1};
  static constexpr Field kLba{2, 4};
  static constexpr Bits kGroupNumber{6, 0, 6};
  static constexpr Field kTransferLength{7, 2};
};

// READ(16)/WRITE(16) (SBC-4 5.17, 5.41).
struct rw16_cdb {  // a struct, so cdb.cpp can pass the layout as a template argument
  static constexpr Bits kProtect{1, 5, 3};
  static constexpr Bits kDpo{1, 4, 1};
  static constexpr Bits kFua{1, 3, 1};
  static constexpr Field kLba{2, 8};
  static constexpr Field kTransferLength{10, 4};
  static constexpr Bits kGroupNumber{14, 0, 6};
};

// REPORT LUNS (SPC-4 6.33). The allocation length must be at least 16.
namespace report_luns_cdb {
inline constexpr Field kSelectReport{2, 1};
inline constexpr Field kAllocationLength{6, 4};
inline constexpr std::uint32_t kMinAllocationLength = 16;
}  // namespace report_luns_cdb

// REPORT TARGET PORT GROUPS = MAINTENANCE IN (SPC-4 6.36.1). PARAMETER DATA FORMAT 000 asks
// for the length-only header, 001 for the extended header (with the implicit transition time).
namespace rtpg_cdb {
inline constexpr Bits kParameterDataFormat{1, 5, 3};
inline constexpr Bits kServiceAction{1, 0, 5};
inline constexpr Field kAllocationLength{6, 4};
inline constexpr std::uint32_t kMinAllocationLength = 4;  // the RETURN DATA LENGTH field
}  // namespace rtpg_cdb

// SYNCHRONIZE CACHE(10) (SBC-4 5.24).
struct sync_cache10_cdb {  // a struct, so cdb.cpp can pass the layout as a template argument
  static constexpr Bits kImmed{1, 1, 1};
  static constexpr Field kLba{2, 4};
  static constexpr Bits kGroupNumber{6, 0, 6};
  static constexpr Field kNumberOfBlocks{7, 2};
};

// SYNCHRONIZE CACHE(16) (SBC-4 5.25).
struct sync_cache16_cdb {  // a struct, so cdb.cpp can pass the layout as a template argument
  static constexpr Bits kImmed{1, 1, 1};
  static constexpr Field kLba{2, 8};
  static constexpr Field kNumberOfBlocks{10, 4};
  static constexpr Bits kGroupNumber{14, 0, 6};
};

// UNMAP (SBC-4 5.32.1) and its parameter list (5.32.2).
namespace unmap_cdb {
inline constexpr Bits kAnchor{1, 0, 1};
inline constexpr Bits kGroupNumber{6, 0, 6};
inline constexpr Field kParameterListLength{7, 2};
}  // namespace unmap_cdb
namespace unmap_params {
inline constexpr Field kDataLength{0, 2};                // bytes that follow this field
inline constexpr Field kBlockDescriptorDataLength{2, 2};  // bytes of descriptors
inline constexpr std::size_t kHeaderLength = 8;
// One block descriptor, relative to its own start.
inline constexpr Field kDescriptorLba{0, 8};
inline constexpr Field kDescriptorBlocks{8, 4};
inline constexpr std::size_t kDescriptorLength = 16;
}  // namespace unmap_params

// WRITE SAME(16) (SBC-4 5.50).
namespace write_same16_cdb {
inline constexpr Bits kProtect{1, 5, 3};
inline constexpr Bits kAnchor{1, 4, 1};
inline constexpr Bits kUnmap{1, 3, 1};
inline constexpr Bits kNdob{1, 0, 1};
inline constexpr Field kLba{2, 8};
inline constexpr Field kNumberOfBlocks{10, 4};
inline constexpr Bits kGroupNumber{14, 0, 6};
}  // namespace write_same16_cdb

// MODE SENSE(6) (SPC-4 6.11) and MODE SENSE(10) (6.12).
namespace mode_sense_cdb {
inline constexpr Bits kLlbaa{1, 4, 1};  // (10) only
inline constexpr Bits kDbd{1, 3, 1};
inline constexpr Bits kPageControl{2, 6, 2};
inline constexpr Bits kPageCode{2, 0, 6};
inline constexpr Field kSubpageCode{3, 1};
inline constexpr Field kAllocationLength6{4, 1};
inline constexpr Field kAllocationLength10{7, 2};
}  // namespace mode_sense_cdb

// ---------------------------------------------------------------------------------------------
// Standard INQUIRY data (SPC-4 6.6.2).
namespace inquiry_data {
inline constexpr Bits kQualifier{0, 5, 3};
inline constexpr Bits kDeviceType{0, 0, 5};
inline constexpr Bits kRmb{1, 7, 1};
inline constexpr Field kVersion{2, 1};
inline constexpr Bits kNormAca{3, 5, 1};
inline constexpr Bits kHiSup{3, 4, 1};
inline constexpr Bits kResponseDataFormat{3, 0, 4};
inline constexpr Field kAdditionalLength{4, 1};  // bytes after this field
inline constexpr std::size_t kHeaderLength = 5;  // through ADDITIONAL LENGTH
inline constexpr Bits kSccs{5, 7, 1};
inline constexpr Bits kAcc{5, 6, 1};
inline constexpr Bits kTpgs{5, 4, 2};
inline constexpr Bits kThirdPartyCopy{5, 3, 1};
inline constexpr Bits kProtect{5, 0, 1};
inline constexpr Bits kEncServ{6, 6, 1};
inline constexpr Bits kMultiP{6, 4, 1};
inline constexpr Bits kCmdQue{7, 1, 1};
inline constexpr Field kVendor{8, 8};
inline constexpr Field kProduct{16, 16};
inline constexpr Field kRevision{32, 4};
inline constexpr std::size_t kVersionDescriptors = 58;  // eight 2-byte descriptors
inline constexpr std::size_t kVersionDescriptorCount = 8;
inline constexpr std::size_t kVersionDescriptorLength = 2;
}  // namespace inquiry_data

// Every VPD page starts with this header (SPC-4 7.8.1).
namespace vpd {
inline constexpr Bits kQualifier{0, 5, 3};
inline constexpr Bits kDeviceType{0, 0, 5};
inline constexpr Field kPageCode{1, 1};
inline constexpr Field kPageLength{2, 2};  // bytes after this field
inline constexpr std::size_t kHeaderLength = 4;
}  // namespace vpd

// Device Identification VPD page designation descriptor (SPC-4 7.8.6.1), relative to its start.
namespace designator {
inline constexpr Bits kProtocolIdentifier{0, 4, 4};
inline constexpr Bits kCodeSet{0, 0, 4};
inline constexpr Bits kPiv{1, 7, 1};
inline constexpr Bits kAssociation{1, 4, 2};
inline constexpr Bits kType{1, 0, 4};
inline constexpr Field kLength{3, 1};  // bytes of designator after this header
inline constexpr std::size_t kHeaderLength = 4;
// Relative target port, target port group and logical unit group designators carry a 2-byte
// number in bytes 2..3 of their 4-byte value (SPC-4 7.8.6.6 - 7.8.6.8).
inline constexpr Field kPortOrGroupNumber{2, 2};
// NAA designators name their format in the top nibble of the value's first byte (SPC-4 7.8.6.5).
inline constexpr Bits kNaaFormat{0, 4, 4};
}  // namespace designator

// Block Limits VPD page 0xB0 (SBC-4 6.6.4), offsets from the start of the page.
namespace block_limits {
inline constexpr Bits kWsnz{4, 0, 1};
inline constexpr Field kMaxCompareAndWriteLength{5, 1};
inline constexpr Field kOptimalTransferLengthGranularity{6, 2};
inline constexpr Field kMaxTransferLength{8, 4};
inline constexpr Field kOptimalTransferLength{12, 4};
inline constexpr Field kMaxPrefetchLength{16, 4};
inline constexpr Field kMaxUnmapLbaCount{20, 4};
inline constexpr Field kMaxUnmapBlockDescriptorCount{24, 4};
inline constexpr Field kOptimalUnmapGranularity{28, 4};
inline constexpr Bits kUgaValid{32, 7, 1};
inline constexpr Field kUnmapGranularityAlignment{32, 4};  // low 31 bits
inline constexpr std::uint32_t kUnmapGranularityAlignmentMask = 0x7FFFFFFFu;
inline constexpr Field kMaxWriteSameLength{36, 8};
inline constexpr Field kMaxAtomicTransferLength{44, 4};
inline constexpr Field kAtomicAlignment{48, 4};
inline constexpr Field kAtomicTransferLengthGranularity{52, 4};
inline constexpr Field kMaxAtomicTransferLengthWithBoundary{56, 4};
inline constexpr Field kMaxAtomicBoundarySize{60, 4};
}  // namespace block_limits

// Logical Block Provisioning VPD page 0xB2 (SBC-4 6.6.6).
namespace lbp {
inline constexpr Field kThresholdExponent{4, 1};
inline constexpr Bits kLbpu{5, 7, 1};
inline constexpr Bits kLbpws{5, 6, 1};
inline constexpr Bits kLbpws10{5, 5, 1};
inline constexpr Bits kLbprz{5, 2, 3};  // SBC-3 had one bit (bit 2); SBC-4 widened it to 3
inline constexpr Bits kAncSup{5, 1, 1};
inline constexpr Bits kDp{5, 0, 1};
inline constexpr Bits kMinimumPercentage{6, 3, 5};
inline constexpr Bits kProvisioningType{6, 0, 3};
inline constexpr Field kThresholdPercentage{7, 1};
}  // namespace lbp

// READ CAPACITY(10) parameter data (SBC-4 5.19.2).
namespace read_capacity10_data {
inline constexpr Field kReturnedLba{0, 4};
inline constexpr Field kBlockLength{4, 4};
inline constexpr std::size_t kLength = 8;
}  // namespace read_capacity10_data

// READ CAPACITY(16) parameter data (SBC-4 5.20.2).
namespace read_capacity16_data {
inline constexpr Field kReturnedLba{0, 8};
inline constexpr Field kBlockLength{8, 4};
inline constexpr std::size_t kMinLength = 12;  // through LOGICAL BLOCK LENGTH
inline constexpr Bits kRcBasis{12, 4, 2};
inline constexpr Bits kPType{12, 1, 3};
inline constexpr Bits kProtEn{12, 0, 1};
inline constexpr Bits kPiExponent{13, 4, 4};
inline constexpr Bits kLbppbe{13, 0, 4};
inline constexpr Bits kLbpme{14, 7, 1};
inline constexpr Bits kLbprz{14, 6, 1};
inline constexpr Field kLowestAlignedLba{14, 2};  // low 14 bits
inline constexpr std::uint16_t kLowestAlignedLbaMask = 0x3FFF;
inline constexpr std::size_t kLength = 32;
}  // namespace read_capacity16_data

// REPORT LUNS parameter data (SPC-4 6.33).
namespace report_luns_data {
inline constexpr Field kLunListLength{0, 4};  // bytes of LUN entries
inline constexpr std::size_t kHeaderLength = 8;
inline constexpr std::size_t kLunLength = 8;
}  // namespace report_luns_data

// REPORT TARGET PORT GROUPS parameter data (SPC-4 6.36.2 - 6.36.4).
namespace rtpg_data {
inline constexpr Field kReturnDataLength{0, 4};  // bytes after this field
inline constexpr Bits kFormatType{4, 4, 3};       // extended header only: 001
inline constexpr Field kImplicitTransitionTime{5, 1};
inline constexpr std::size_t kLengthOnlyHeaderLength = 4;
inline constexpr std::size_t kExtendedHeaderLength = 8;
inline constexpr std::uint8_t kExtendedFormat = 1;
}  // namespace rtpg_data
// One target port group descriptor, relative to its own start (SPC-4 table 172).
namespace tpg_descriptor {
inline constexpr Bits kPref{0, 7, 1};
inline constexpr Bits kAsymmetricAccessState{0, 0, 4};
inline constexpr Bits kTSup{1, 7, 1};
inline constexpr Bits kOSup{1, 6, 1};
inline constexpr Bits kLbdSup{1, 4, 1};
inline constexpr Bits kUSup{1, 3, 1};
inline constexpr Bits kSSup{1, 2, 1};
inline constexpr Bits kAnSup{1, 1, 1};
inline constexpr Bits kAoSup{1, 0, 1};
inline constexpr Field kTargetPortGroup{2, 2};
inline constexpr Field kStatusCode{5, 1};
inline constexpr Field kVendorSpecific{6, 1};
inline constexpr Field kTargetPortCount{7, 1};
inline constexpr std::size_t kHeaderLength = 8;
// Each target port descriptor that follows (SPC-4 table 175): bytes 0-1 obsolete.
inline constexpr Field kRelativeTargetPortId{2, 2};
inline constexpr std::size_t kPortLength = 4;
}  // namespace tpg_descriptor

// SAM-5 4.7: the first level of an 8-byte LUN.
namespace lun_format {
inline constexpr Bits kAddressMethod{0, 6, 2};
inline constexpr Bits kBusOrHighBits{0, 0, 6};  // peripheral: BUS IDENTIFIER; flat: LUN 13..8
inline constexpr Field kFirstLevel{0, 2};
inline constexpr std::uint16_t kFlatLunMask = 0x3FFF;
inline constexpr Field kSecondToFourthLevel{2, 6};
inline constexpr Field kWhole{0, 8};
inline constexpr std::size_t kLevelLength = 2;  // each of the four levels is two bytes
inline constexpr std::size_t kLevels = 4;
}  // namespace lun_format

// Mode parameter headers (SPC-4 7.5.5) and block descriptors (SBC-4 6.5.2).
namespace mode6 {
inline constexpr Field kModeDataLength{0, 1};  // bytes after this field
inline constexpr Field kMediumType{1, 1};
inline constexpr Field kDeviceSpecific{2, 1};
inline constexpr Field kBlockDescriptorLength{3, 1};
inline constexpr std::size_t kHeaderLength = 4;
}  // namespace mode6
namespace mode10 {
inline constexpr Field kModeDataLength{0, 2};
inline constexpr Field kMediumType{2, 1};
inline constexpr Field kDeviceSpecific{3, 1};
inline constexpr Bits kLongLba{4, 0, 1};
inline constexpr Field kBlockDescriptorLength{6, 2};
inline constexpr std::size_t kHeaderLength = 8;
}  // namespace mode10
namespace device_specific {  // the DEVICE-SPECIFIC PARAMETER byte for direct access (SBC-4)
inline constexpr Bits kWp{0, 7, 1};
inline constexpr Bits kDpoFua{0, 4, 1};
}  // namespace device_specific
namespace short_block_descriptor {
inline constexpr Field kNumberOfBlocks{0, 4};
inline constexpr Field kBlockLength{5, 3};
inline constexpr std::size_t kLength = 8;
}  // namespace short_block_descriptor
namespace long_block_descriptor {
inline constexpr Field kNumberOfBlocks{0, 8};
inline constexpr Field kBlockLength{12, 4};
inline constexpr std::size_t kLength = 16;
}  // namespace long_block_descriptor
namespace mode_page {  // SPC-4 7.5.7: page_0 format (SPF=0) and sub_page format (SPF=1)
inline constexpr Bits kPs{0, 7, 1};
inline constexpr Bits kSpf{0, 6, 1};
inline constexpr Bits kPageCode{0, 0, 6};
inline constexpr Field kPage0Length{1, 1};
inline constexpr std::size_t kPage0HeaderLength = 2;
inline constexpr Field kSubpageCode{1, 1};
inline constexpr Field kSubpageLength{2, 2};
inline constexpr std::size_t kSubpageHeaderLength = 4;
}  // namespace mode_page

// Sense data (SPC-4 4.5).
namespace sense {
inline constexpr Bits kResponseCode{0, 0, 7};
inline constexpr std::uint8_t kFixedCurrent = 0x70;
inline constexpr std::uint8_t kFixedDeferred = 0x71;
inline constexpr std::uint8_t kDescriptorCurrent = 0x72;
inline constexpr std::uint8_t kDescriptorDeferred = 0x73;
inline constexpr std::uint8_t kVendorSpecificFormat = 0x7F;
}  // namespace sense
namespace fixed_sense {  // SPC-4 4.5.3
inline constexpr Bits kValid{0, 7, 1};
inline constexpr Bits kFilemark{2, 7, 1};
inline constexpr Bits kEom{2, 6, 1};
inline constexpr Bits kIli{2, 5, 1};
inline constexpr Bits kSdatOvfl{2, 4, 1};
inline constexpr Bits kSenseKey{2, 0, 4};
inline constexpr Field kInformation{3, 4};
inline constexpr Field kAdditionalLength{7, 1};  // bytes after this field
inline constexpr std::size_t kHeaderLength = 8;
inline constexpr Field kCommandSpecific{8, 4};
inline constexpr Field kAsc{12, 1};
inline constexpr Field kAscq{13, 1};
inline constexpr Field kFruCode{14, 1};
inline constexpr Field kSenseKeySpecific{15, 3};
inline constexpr std::size_t kMinLength = 3;      // through SENSE KEY
inline constexpr std::size_t kStandardLength = 18;
}  // namespace fixed_sense
namespace descriptor_sense {  // SPC-4 4.5.2
inline constexpr Bits kSenseKey{1, 0, 4};
inline constexpr Field kAsc{2, 1};
inline constexpr Field kAscq{3, 1};
inline constexpr Bits kSdatOvfl{4, 7, 1};
inline constexpr Field kAdditionalLength{7, 1};
inline constexpr std::size_t kHeaderLength = 8;
inline constexpr std::size_t kMinLength = 4;  // through ASCQ
// Each descriptor, relative to its own start.
inline constexpr Field kDescriptorType{0, 1};
inline constexpr Field kDescriptorLength{1, 1};  // bytes after this field
inline constexpr std::size_t kDescriptorHeaderLength = 2;
}  // namespace descriptor_sense
namespace sense_descriptor {  // descriptor bodies, relative to the descriptor's start
inline constexpr std::uint8_t kInformationType = 0x00;
inline constexpr std::uint8_t kCommandSpecificType = 0x01;
inline constexpr std::uint8_t kSenseKeySpecificType = 0x02;
inline constexpr std::uint8_t kFruType = 0x03;
inline constexpr std::uint8_t kBlockCommandsType = 0x05;
inline constexpr Bits kInformationValid{2, 7, 1};
inline constexpr Field kInformation{4, 8};
inline constexpr Field kCommandSpecific{4, 8};
inline constexpr Field kSenseKeySpecific{4, 3};
inline constexpr Field kFruCode{3, 1};
inline constexpr Bits kBlockIli{3, 5, 1};
}  // namespace sense_descriptor
namespace sense_key_specific {  // the 3 bytes of SENSE KEY SPECIFIC (SPC-4 4.5.2.4)
inline constexpr Bits kSksv{0, 7, 1};
inline constexpr Bits kCommandData{0, 6, 1};  // field pointer: 1 = CDB, 0 = parameter data
inline constexpr Bits kBpv{0, 3, 1};
inline constexpr Bits kBitPointer{0, 0, 3};
inline constexpr Field kFieldPointer{1, 2};
inline constexpr Field kProgress{1, 2};
inline constexpr Field kRetryCount{1, 2};
inline constexpr Bits kSegmentSd{0, 5, 1};
inline constexpr Bits kOverflow{0, 0, 1};  // UNIT ATTENTION: condition queue overflow
inline constexpr std::size_t kLength = 3;
}  // namespace sense_key_specific

// ---------------------------------------------------------------------------------------------
// Accessors.

constexpr bool has(ByteSpan b, std::size_t offset, std::size_t size) noexcept {
  return offset <= b.size() && size <= b.size() - offset;
}
constexpr bool has(ByteSpan b, Field f) noexcept { return has(b, f.offset, f.size); }

// The field's value, or 0 when the span ends before the field does.
constexpr std::uint64_t get(ByteSpan b, Field f) noexcept {
  if (!has(b, f)) return 0;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < f.size; ++i) v = (v << 8) | b[f.offset + i];
  return v;
}
constexpr std::uint8_t get(ByteSpan b, Bits f) noexcept {
  if (f.offset >= b.size()) return 0;
  return static_cast<std::uint8_t>((b[f.offset] & f.mask()) >> f.shift);
}
constexpr bool get_flag(ByteSpan b, Bits f) noexcept { return get(b, f) != 0; }

constexpr bool fits(Field f, std::uint64_t v) noexcept { return v <= f.max(); }
constexpr bool fits(Bits f, unsigned v) noexcept { return v <= f.max(); }

// Writers assume the caller sized the buffer and range-checked the value (see fits()).
constexpr void put(MutableByteSpan b, Field f, std::uint64_t v) noexcept {
  if (!has(ByteSpan(b), f)) return;
  for (std::size_t i = f.size; i-- > 0;) {
    b[f.offset + i] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
}
constexpr void put(MutableByteSpan b, Bits f, unsigned v) noexcept {
  if (f.offset >= b.size()) return;
  const auto cleared = static_cast<unsigned>(b[f.offset] & ~f.mask());
  b[f.offset] = static_cast<std::uint8_t>(cleared | ((v << f.shift) & f.mask()));
}
constexpr void put_flag(MutableByteSpan b, Bits f, bool on) noexcept { put(b, f, on ? 1u : 0u); }

}  // namespace iscsi::scsi::detail
