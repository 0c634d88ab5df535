// READ CAPACITY decoders.
#include "proto/scsi/capacity.hpp"

#include <algorithm>

#include "proto/scsi/wire.hpp"

namespace iscsi::scsi {

using detail::get;
using detail::get_flag;

Result<ReadCapacity10Data> decode_read_capacity10(ByteSpan data) {
  namespace f = detail::read_capacity10_data;
  if (data.size() < f::kLength) return Errc::response_too_short;
  ReadCapacity10Data out;
  out.last_lba = static_cast<std::uint32_t>(get(data, f::kReturnedLba));
  out.block_length = static_cast<std::uint32_t>(get(data, f::kBlockLength));
  return out;
}

Result<ReadCapacity16Data> decode_read_capacity16(ByteSpan data) {
  namespace f = detail::read_capacity16_data;
  if (data.size() < f::kMinLength) return Errc::response_too_short;
  const ByteSpan d = data.first(std::min(data.size(), f::kLength));
  ReadCapacity16Data out;
  out.truncated = data.size() < f::kLength;
  out.last_lba = get(d, f::kReturnedLba);
  out.block_length = static_cast<std::uint32_t>(get(d, f::kBlockLength));
  out.rc_basis = get(d, f::kRcBasis);
  out.p_type = get(d, f::kPType);
  out.prot_en = get_flag(d, f::kProtEn);
  out.p_i_exponent = get(d, f::kPiExponent);
  out.lbppbe = get(d, f::kLbppbe);
  out.lbpme = get_flag(d, f::kLbpme);
  out.lbprz = get_flag(d, f::kLbprz);
  out.lowest_aligned_lba =
      static_cast<std::uint16_t>(get(d, f::kLowestAlignedLba) & f::kLowestAlignedLbaMask);
  return out;
}

Result<std::uint64_t> ReadCapacity16Data::block_count() const {
  if (last_lba == ~std::uint64_t{0}) return Errc::capacity_overflow;
  return last_lba + 1;
}

Result<std::uint64_t> ReadCapacity16Data::capacity_bytes() const {
  auto blocks = block_count();
  if (!blocks) return blocks;
  std::uint64_t bytes = 0;
  if (__builtin_mul_overflow(*blocks, std::uint64_t{block_length}, &bytes)) {
    return Errc::capacity_overflow;
  }
  return bytes;
}

}  // namespace iscsi::scsi
