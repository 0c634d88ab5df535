// MODE SENSE(6)/(10) parameter data (SPC-4 7.5.5): the mode parameter header, block
// descriptors (short or, with LONGLBA, long; SBC-4 6.5.2) and an iterator over the mode pages
// that follow (page_0 and sub_page formats, SPC-4 7.5.7).
//
// As with INQUIRY, a device returns at most the allocation length: the header says how much
// there is (required_length()), `truncated` says it was cut, and the page iterator stops
// before a page that is not complete, reporting that through truncated().
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/scsi/errc.hpp"

namespace iscsi::scsi {

struct BlockDescriptor {
  std::uint64_t block_count = 0;  // 0: as many as READ CAPACITY reports
  std::uint32_t block_length = 0;
  friend bool operator==(const BlockDescriptor&, const BlockDescriptor&) = default;
};

struct ModeParameters {
  bool ten = false;                   // from MODE SENSE(10)
  std::uint16_t mode_data_length = 0; // bytes after the MODE DATA LENGTH field
  std::uint8_t medium_type = 0;
  std::uint8_t device_specific = 0;   // raw DEVICE-SPECIFIC PARAMETER
  bool long_lba = false;
  std::uint16_t block_descriptor_length = 0;
  std::vector<BlockDescriptor> block_descriptors;  // the complete ones returned
  ByteSpan pages;     // a view into the decoded input: the mode pages that were returned
  bool truncated = false;

  // Direct-access devices: WP (write protected) and DPOFUA (DPO and FUA supported).
  bool write_protected() const noexcept;
  bool dpofua() const noexcept;
  std::size_t required_length() const noexcept {
    return std::size_t{mode_data_length} + (ten ? 2 : 1);
  }
};
// Need the 4-byte (6) or 8-byte (10) header; bad_block_descriptor_length when the block
// descriptor length is not a multiple of the descriptor size (8, or 16 with LONGLBA).
Result<ModeParameters> decode_mode_sense6(ByteSpan data);
Result<ModeParameters> decode_mode_sense10(ByteSpan data);

struct ModePage {
  std::uint8_t page_code = 0;
  std::uint8_t subpage_code = 0;  // 0 in page_0 format
  bool spf = false;               // sub_page format
  bool ps = false;                // parameters saveable
  std::uint16_t page_length = 0;  // bytes after the page header
  ByteSpan parameters;            // those bytes (a view into the input)
};

// Walks the pages of ModeParameters::pages (or any span of mode pages):
//   ModePageIterator it(params.pages);
//   while (auto page = it.next()) { ... }
//   if (it.truncated()) { ... ask again with required_length() ... }
class ModePageIterator {
 public:
  explicit ModePageIterator(ByteSpan pages) noexcept : rest_(pages) {}
  // The next complete page, or nullopt at the end or before an incomplete page.
  std::optional<ModePage> next() noexcept;
  // True when next() stopped before a page the data ends inside of.
  bool truncated() const noexcept { return truncated_; }

 private:
  ByteSpan rest_;
  bool truncated_ = false;
};

}  // namespace iscsi::scsi
