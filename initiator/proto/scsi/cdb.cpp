// CDB builders: every byte is written through the named fields of wire.hpp, and every value
// is checked against the width of the field it goes into before anything is written.
#include "proto/scsi/cdb.hpp"

#include "proto/scsi/wire.hpp"

namespace iscsi::scsi {
namespace {

namespace op = detail::opcode;
using detail::fits;
using detail::put;
using detail::put_flag;

Cdb start(std::uint8_t opcode, std::size_t length, DataDirection direction) noexcept {
  Cdb c;
  c.length = static_cast<std::uint8_t>(length);
  c.direction = direction;
  put(MutableByteSpan(c.bytes), detail::cdb::kOpcode, opcode);
  return c;
}

MutableByteSpan bytes_of(Cdb& c) noexcept { return {c.bytes.data(), c.length}; }

// The last block of [lba, lba + blocks) must be addressable in a field of `lba_field`'s width.
bool range_fits(detail::Field lba_field, std::uint64_t lba, std::uint32_t blocks) noexcept {
  if (!fits(lba_field, lba)) return false;
  if (blocks == 0) return true;
  return lba_field.max() - lba >= std::uint64_t{blocks} - 1;
}

using detail::rw10_cdb;
using detail::rw16_cdb;
using detail::sync_cache10_cdb;
using detail::sync_cache16_cdb;

template <class Layout>
Result<Cdb> read_write(std::uint8_t opcode, std::size_t length, DataDirection direction,
                       std::uint64_t lba, std::uint32_t blocks, const ReadWriteOptions& o) {
  // Only the LBA itself must fit the 10-byte CDB: a READ(10) at 2^32-1 is legal on a larger
  // device; the 16-byte CDB refuses ranges that wrap the 64-bit address space.
  if (length == detail::cdb::kLength16 ? !range_fits(Layout::kLba, lba, blocks)
                                       : !fits(Layout::kLba, lba)) {
    return Errc::lba_out_of_range;
  }
  if (!fits(Layout::kTransferLength, blocks)) return Errc::transfer_length_out_of_range;
  if (!fits(Layout::kProtect, o.protect) || !fits(Layout::kGroupNumber, o.group_number)) {
    return Errc::field_out_of_range;
  }
  Cdb c = start(opcode, length, direction);
  auto b = bytes_of(c);
  put(b, Layout::kProtect, o.protect);
  put_flag(b, Layout::kDpo, o.dpo);
  put_flag(b, Layout::kFua, o.fua);
  put(b, Layout::kLba, lba);
  put(b, Layout::kGroupNumber, o.group_number);
  put(b, Layout::kTransferLength, blocks);
  return c;
}


template <class Layout>
Result<Cdb> sync_cache(std::uint8_t opcode, std::size_t length, std::uint64_t lba,
                       std::uint32_t blocks, const SyncCacheOptions& o) {
  if (!fits(Layout::kLba, lba)) return Errc::lba_out_of_range;
  if (!fits(Layout::kNumberOfBlocks, blocks)) return Errc::transfer_length_out_of_range;
  if (!fits(Layout::kGroupNumber, o.group_number)) return Errc::field_out_of_range;
  Cdb c = start(opcode, length, DataDirection::none);
  auto b = bytes_of(c);
  put_flag(b, Layout::kImmed, o.immed);
  put(b, Layout::kLba, lba);
  put(b, Layout::kGroupNumber, o.group_number);
  put(b, Layout::kNumberOfBlocks, blocks);
  return c;
}

Result<Cdb> mode_sense(bool ten, std::uint16_t allocation_length, const ModeSenseOptions& o) {
  namespace f = detail::mode_sense_cdb;
  if (!fits(f::kPageCode, o.page_code) ||
      !fits(f::kPageControl, static_cast<unsigned>(o.page_control))) {
    return Errc::field_out_of_range;
  }
  if (!ten && o.long_lba_accepted) return Errc::invalid_flag_combination;
  Cdb c = ten ? start(op::kModeSense10, detail::cdb::kLength10, DataDirection::read)
              : start(op::kModeSense6, detail::cdb::kLength6, DataDirection::read);
  auto b = bytes_of(c);
  if (ten) put_flag(b, f::kLlbaa, o.long_lba_accepted);
  put_flag(b, f::kDbd, o.disable_block_descriptors);
  put(b, f::kPageControl, static_cast<unsigned>(o.page_control));
  put(b, f::kPageCode, o.page_code);
  put(b, f::kSubpageCode, o.subpage_code);
  put(b, ten ? f::kAllocationLength10 : f::kAllocationLength6, allocation_length);
  return c;
}

}  // namespace

std::uint8_t Cdb::opcode() const noexcept {
  return static_cast<std::uint8_t>(detail::get(span(), detail::cdb::kOpcode));
}

std::string_view command_name(const Cdb& c) noexcept {
  switch (c.opcode()) {
    case op::kTestUnitReady: return "TEST UNIT READY";
    case op::kInquiry: return "INQUIRY";
    case op::kModeSense6: return "MODE SENSE(6)";
    case op::kReadCapacity10: return "READ CAPACITY(10)";
    case op::kRead10: return "READ(10)";
    case op::kWrite10: return "WRITE(10)";
    case op::kSynchronizeCache10: return "SYNCHRONIZE CACHE(10)";
    case op::kUnmap: return "UNMAP";
    case op::kModeSense10: return "MODE SENSE(10)";
    case op::kRead16: return "READ(16)";
    case op::kWrite16: return "WRITE(16)";
    case op::kSynchronizeCache16: return "SYNCHRONIZE CACHE(16)";
    case op::kWriteSame16: return "WRITE SAME(16)";
    case op::kServiceActionIn16:
      return detail::get(c.span(), detail::read_capacity16_cdb::kServiceAction) ==
                     op::kSaReadCapacity16
                 ? "READ CAPACITY(16)"
                 : "SERVICE ACTION IN(16)";
    case op::kReportLuns: return "REPORT LUNS";
    case op::kMaintenanceIn:
      return detail::get(c.span(), detail::rtpg_cdb::kServiceAction) ==
                     op::kSaReportTargetPortGroups
                 ? "REPORT TARGET PORT GROUPS"
                 : "MAINTENANCE IN";
    default: return "UNKNOWN";
  }
}

Cdb test_unit_ready() noexcept {
  return start(op::kTestUnitReady, detail::cdb::kLength6, DataDirection::none);
}

Cdb inquiry(std::uint16_t allocation_length) noexcept {
  Cdb c = start(op::kInquiry, detail::cdb::kLength6, DataDirection::read);
  put(bytes_of(c), detail::inquiry_cdb::kAllocationLength, allocation_length);
  return c;
}

Cdb inquiry_vpd(std::uint8_t page_code, std::uint16_t allocation_length) noexcept {
  Cdb c = start(op::kInquiry, detail::cdb::kLength6, DataDirection::read);
  auto b = bytes_of(c);
  put_flag(b, detail::inquiry_cdb::kEvpd, true);
  put(b, detail::inquiry_cdb::kPageCode, page_code);
  put(b, detail::inquiry_cdb::kAllocationLength, allocation_length);
  return c;
}

Cdb read_capacity10() noexcept {
  return start(op::kReadCapacity10, detail::cdb::kLength10, DataDirection::read);
}

Cdb read_capacity16(std::uint32_t allocation_length) noexcept {
  Cdb c = start(op::kServiceActionIn16, detail::cdb::kLength16, DataDirection::read);
  auto b = bytes_of(c);
  put(b, detail::read_capacity16_cdb::kServiceAction, op::kSaReadCapacity16);
  put(b, detail::read_capacity16_cdb::kAllocationLength, allocation_length);
  return c;
}

Result<Cdb> read10(std::uint64_t lba, std::uint32_t blocks, ReadWriteOptions opts) {
  return read_write<rw10_cdb>(op::kRead10, detail::cdb::kLength10, DataDirection::read, lba, blocks,
                          opts);
}
Result<Cdb> read16(std::uint64_t lba, std::uint32_t blocks, ReadWriteOptions opts) {
  return read_write<rw16_cdb>(op::kRead16, detail::cdb::kLength16, DataDirection::read, lba, blocks,
                          opts);
}
Result<Cdb> write10(std::uint64_t lba, std::uint32_t blocks, ReadWriteOptions opts) {
  return read_write<rw10_cdb>(op::kWrite10, detail::cdb::kLength10, DataDirection::write, lba,
                          blocks, opts);
}
Result<Cdb> write16(std::uint64_t lba, std::uint32_t blocks, ReadWriteOptions opts) {
  return read_write<rw16_cdb>(op::kWrite16, detail::cdb::kLength16, DataDirection::write, lba,
                          blocks, opts);
}

Result<Cdb> report_luns(std::uint32_t allocation_length, ReportLunsSelect select) {
  if (allocation_length < detail::report_luns_cdb::kMinAllocationLength) {
    return Errc::allocation_length_too_small;
  }
  Cdb c = start(op::kReportLuns, detail::cdb::kLength12, DataDirection::read);
  auto b = bytes_of(c);
  put(b, detail::report_luns_cdb::kSelectReport, static_cast<std::uint8_t>(select));
  put(b, detail::report_luns_cdb::kAllocationLength, allocation_length);
  return c;
}

Result<Cdb> report_target_port_groups(std::uint32_t allocation_length, bool extended) {
  namespace f = detail::rtpg_cdb;
  if (allocation_length < f::kMinAllocationLength) return Errc::allocation_length_too_small;
  Cdb c = start(op::kMaintenanceIn, detail::cdb::kLength12, DataDirection::read);
  auto b = bytes_of(c);
  put(b, f::kServiceAction, op::kSaReportTargetPortGroups);
  put(b, f::kParameterDataFormat, extended ? 1u : 0u);
  put(b, f::kAllocationLength, allocation_length);
  return c;
}

Result<Cdb> synchronize_cache10(std::uint64_t lba, std::uint32_t blocks, SyncCacheOptions opts) {
  return sync_cache<sync_cache10_cdb>(op::kSynchronizeCache10, detail::cdb::kLength10, lba, blocks,
                                      opts);
}
Result<Cdb> synchronize_cache16(std::uint64_t lba, std::uint32_t blocks, SyncCacheOptions opts) {
  return sync_cache<sync_cache16_cdb>(op::kSynchronizeCache16, detail::cdb::kLength16, lba, blocks,
                                      opts);
}

Result<UnmapCommand> unmap(std::span<const UnmapDescriptor> descriptors, UnmapOptions opts) {
  namespace p = detail::unmap_params;
  namespace f = detail::unmap_cdb;
  if (descriptors.size() > kMaxUnmapDescriptors) return Errc::too_many_unmap_descriptors;
  if (!fits(f::kGroupNumber, opts.group_number)) return Errc::field_out_of_range;
  for (const auto& d : descriptors) {
    if (!range_fits(p::kDescriptorLba, d.lba, d.blocks)) return Errc::lba_out_of_range;
  }
  const std::size_t descriptor_bytes = descriptors.size() * p::kDescriptorLength;
  const std::size_t total = p::kHeaderLength + descriptor_bytes;

  UnmapCommand cmd;
  cmd.parameter_list.assign(total, 0);
  MutableByteSpan list(cmd.parameter_list);
  // UNMAP DATA LENGTH counts the bytes after itself; the descriptor length only descriptors.
  put(list, p::kDataLength, total - p::kDataLength.end());
  put(list, p::kBlockDescriptorDataLength, descriptor_bytes);
  for (std::size_t i = 0; i < descriptors.size(); ++i) {
    auto d = list.subspan(p::kHeaderLength + i * p::kDescriptorLength, p::kDescriptorLength);
    put(d, p::kDescriptorLba, descriptors[i].lba);
    put(d, p::kDescriptorBlocks, descriptors[i].blocks);
  }

  cmd.cdb = start(op::kUnmap, detail::cdb::kLength10, DataDirection::write);
  auto b = bytes_of(cmd.cdb);
  put_flag(b, f::kAnchor, opts.anchor);
  put(b, f::kGroupNumber, opts.group_number);
  put(b, f::kParameterListLength, total);
  return cmd;
}

Result<Cdb> write_same16(std::uint64_t lba, std::uint32_t blocks, WriteSameOptions opts) {
  namespace f = detail::write_same16_cdb;
  if (!range_fits(f::kLba, lba, blocks)) return Errc::lba_out_of_range;
  if (!fits(f::kProtect, opts.protect) || !fits(f::kGroupNumber, opts.group_number)) {
    return Errc::field_out_of_range;
  }
  if (opts.anchor && !opts.unmap) return Errc::invalid_flag_combination;
  Cdb c = start(op::kWriteSame16, detail::cdb::kLength16,
                opts.ndob ? DataDirection::none : DataDirection::write);
  auto b = bytes_of(c);
  put(b, f::kProtect, opts.protect);
  put_flag(b, f::kAnchor, opts.anchor);
  put_flag(b, f::kUnmap, opts.unmap);
  put_flag(b, f::kNdob, opts.ndob);
  put(b, f::kLba, lba);
  put(b, f::kNumberOfBlocks, blocks);
  put(b, f::kGroupNumber, opts.group_number);
  return c;
}

Result<Cdb> mode_sense6(std::uint8_t allocation_length, ModeSenseOptions opts) {
  return mode_sense(false, allocation_length, opts);
}
Result<Cdb> mode_sense10(std::uint16_t allocation_length, ModeSenseOptions opts) {
  return mode_sense(true, allocation_length, opts);
}

}  // namespace iscsi::scsi
