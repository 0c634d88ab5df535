// MODE SENSE decoders and the mode page iterator.
#include "proto/scsi/mode_sense.hpp"

#include <algorithm>

#include "proto/scsi/wire.hpp"

namespace iscsi::scsi {

using detail::get;
using detail::get_flag;

namespace {

// What differs between the (6) and (10) headers.
struct HeaderLayout {
  detail::Field mode_data_length;
  detail::Field medium_type;
  detail::Field device_specific;
  detail::Field block_descriptor_length;
  std::size_t header_length;
  bool ten;
};

Result<ModeParameters> decode(ByteSpan data, const HeaderLayout& h) {
  if (data.size() < h.header_length) return Errc::response_too_short;
  ModeParameters out;
  out.ten = h.ten;
  out.mode_data_length = static_cast<std::uint16_t>(get(data, h.mode_data_length));
  out.medium_type = static_cast<std::uint8_t>(get(data, h.medium_type));
  out.device_specific = static_cast<std::uint8_t>(get(data, h.device_specific));
  out.long_lba = h.ten && get_flag(data, detail::mode10::kLongLba);
  out.block_descriptor_length = static_cast<std::uint16_t>(get(data, h.block_descriptor_length));

  const std::size_t descriptor_size = out.long_lba ? detail::long_block_descriptor::kLength
                                                   : detail::short_block_descriptor::kLength;
  if (out.block_descriptor_length % descriptor_size != 0) {
    return Errc::bad_block_descriptor_length;
  }

  // Only what the header declares is mode data; a mode data length too small to cover the
  // header itself leaves nothing after it.
  const std::size_t declared = std::max(out.required_length(), h.header_length);
  out.truncated = data.size() < declared;
  const ByteSpan d = data.first(std::min(data.size(), declared));
  const ByteSpan after_header = d.subspan(h.header_length);

  const std::size_t descriptor_bytes =
      std::min<std::size_t>(out.block_descriptor_length, after_header.size());
  const ByteSpan descriptors = after_header.first(descriptor_bytes);
  for (std::size_t at = 0; at + descriptor_size <= descriptors.size(); at += descriptor_size) {
    const ByteSpan one = descriptors.subspan(at, descriptor_size);
    BlockDescriptor bd;
    if (out.long_lba) {
      bd.block_count = get(one, detail::long_block_descriptor::kNumberOfBlocks);
      bd.block_length =
          static_cast<std::uint32_t>(get(one, detail::long_block_descriptor::kBlockLength));
    } else {
      bd.block_count = get(one, detail::short_block_descriptor::kNumberOfBlocks);
      bd.block_length =
          static_cast<std::uint32_t>(get(one, detail::short_block_descriptor::kBlockLength));
    }
    out.block_descriptors.push_back(bd);
  }
  // When the block descriptors run past the declared mode data, there are no pages.
  out.pages = after_header.subspan(descriptor_bytes);
  return out;
}

}  // namespace

bool ModeParameters::write_protected() const noexcept {
  const std::uint8_t b[] = {device_specific};
  return get_flag(ByteSpan(b), detail::device_specific::kWp);
}

bool ModeParameters::dpofua() const noexcept {
  const std::uint8_t b[] = {device_specific};
  return get_flag(ByteSpan(b), detail::device_specific::kDpoFua);
}

Result<ModeParameters> decode_mode_sense6(ByteSpan data) {
  namespace f = detail::mode6;
  return decode(data, {f::kModeDataLength, f::kMediumType, f::kDeviceSpecific,
                       f::kBlockDescriptorLength, f::kHeaderLength, false});
}

Result<ModeParameters> decode_mode_sense10(ByteSpan data) {
  namespace f = detail::mode10;
  return decode(data, {f::kModeDataLength, f::kMediumType, f::kDeviceSpecific,
                       f::kBlockDescriptorLength, f::kHeaderLength, true});
}

std::optional<ModePage> ModePageIterator::next() noexcept {
  namespace f = detail::mode_page;
  if (rest_.empty() || truncated_) return std::nullopt;
  ModePage page;
  page.ps = get_flag(rest_, f::kPs);
  page.spf = get_flag(rest_, f::kSpf);
  page.page_code = get(rest_, f::kPageCode);
  const std::size_t header = page.spf ? f::kSubpageHeaderLength : f::kPage0HeaderLength;
  if (rest_.size() < header) {
    truncated_ = true;
    return std::nullopt;
  }
  if (page.spf) {
    page.subpage_code = static_cast<std::uint8_t>(get(rest_, f::kSubpageCode));
    page.page_length = static_cast<std::uint16_t>(get(rest_, f::kSubpageLength));
  } else {
    page.page_length = static_cast<std::uint16_t>(get(rest_, f::kPage0Length));
  }
  if (rest_.size() - header < page.page_length) {
    truncated_ = true;
    return std::nullopt;
  }
  page.parameters = rest_.subspan(header, page.page_length);
  rest_ = rest_.subspan(header + page.page_length);
  return page;
}

}  // namespace iscsi::scsi
