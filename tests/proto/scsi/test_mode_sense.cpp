// MODE SENSE(6)/(10) headers, block descriptors and the mode page iterator.
#include <gtest/gtest.h>

#include <vector>

#include "proto/scsi/mode_sense.hpp"
#include "support/hex.hpp"
#include "vectors.hpp"

namespace iscsi::scsi {
namespace {

using test::from_hex;

struct PageId {
  std::uint8_t code;
  std::uint8_t subpage;
  std::uint16_t length;
  bool operator==(const PageId&) const = default;
};

std::vector<PageId> page_ids(ByteSpan pages, bool* truncated = nullptr) {
  std::vector<PageId> ids;
  ModePageIterator it(pages);
  while (auto p = it.next()) ids.push_back({p->page_code, p->subpage_code, p->page_length});
  if (truncated) *truncated = it.truncated();
  return ids;
}

TEST(ScsiModeSense, TgtModeSense6AllPages) {
  const auto bytes = from_hex(vectors::kTgtModeSense6);
  ASSERT_EQ(bytes.size(), 106u);
  auto m = decode_mode_sense6(bytes);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->ten);
  EXPECT_EQ(m->mode_data_length, 0x69);
  EXPECT_EQ(m->required_length(), 106u);
  EXPECT_EQ(m->medium_type, 0);
  EXPECT_EQ(m->device_specific, 0x10);
  EXPECT_FALSE(m->write_protected());
  EXPECT_TRUE(m->dpofua());
  EXPECT_EQ(m->block_descriptor_length, 8);
  ASSERT_EQ(m->block_descriptors.size(), 1u);
  EXPECT_EQ(m->block_descriptors[0], (BlockDescriptor{0, 512}));
  EXPECT_FALSE(m->truncated);

  bool truncated = true;
  const auto ids = page_ids(m->pages, &truncated);
  EXPECT_FALSE(truncated);
  EXPECT_EQ(ids, (std::vector<PageId>{
                     {0x00, 0, 0}, {0x02, 0, 14}, {0x08, 0, 18}, {0x0A, 0, 10}, {0x0A, 1, 28},
                     {0x1C, 0, 10}}));

  // The caching page: WCE is bit 2 of its first parameter byte (SBC-4 6.5.5).
  ModePageIterator it(m->pages);
  std::optional<ModePage> caching;
  while (auto p = it.next()) {
    if (p->page_code == 0x08) caching = p;
  }
  ASSERT_TRUE(caching);
  EXPECT_FALSE(caching->spf);
  EXPECT_FALSE(caching->ps);
  ASSERT_EQ(caching->parameters.size(), 18u);
  EXPECT_EQ(caching->parameters[0] & 0x04, 0x04);
}

TEST(ScsiModeSense, SubpageFormatPage) {
  const auto bytes = from_hex(vectors::kTgtModeSense6);
  auto m = decode_mode_sense6(bytes);
  ASSERT_TRUE(m);
  ModePageIterator it(m->pages);
  std::optional<ModePage> ext;
  while (auto p = it.next()) {
    if (p->spf) ext = p;
  }
  ASSERT_TRUE(ext);
  EXPECT_EQ(ext->page_code, 0x0A);
  EXPECT_EQ(ext->subpage_code, 0x01);
  EXPECT_EQ(ext->page_length, 0x1C);
  EXPECT_EQ(ext->parameters.size(), 0x1Cu);
}

TEST(ScsiModeSense, TruncatedModeSense6) {
  const auto bytes = from_hex(vectors::kTgtModeSense6);
  auto m = decode_mode_sense6(std::span(bytes).first(20));
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->truncated);
  EXPECT_EQ(m->required_length(), 106u);
  EXPECT_EQ(m->block_descriptors.size(), 1u);
  bool truncated = false;
  EXPECT_EQ(page_ids(m->pages, &truncated), (std::vector<PageId>{{0x00, 0, 0}}));
  EXPECT_TRUE(truncated);  // page 0x02 needs 16 bytes, 6 are there

  // Cut inside the block descriptor: no descriptor, no pages.
  auto inside = decode_mode_sense6(std::span(bytes).first(9));
  ASSERT_TRUE(inside);
  EXPECT_TRUE(inside->block_descriptors.empty());
  EXPECT_TRUE(inside->pages.empty());
}

TEST(ScsiModeSense, ModeSense10WithLongLba) {
  const auto bytes = from_hex(vectors::kHandModeSense10);
  ASSERT_EQ(bytes.size(), 44u);
  auto m = decode_mode_sense10(bytes);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->ten);
  EXPECT_EQ(m->mode_data_length, 42);
  EXPECT_EQ(m->required_length(), 44u);
  EXPECT_TRUE(m->write_protected());
  EXPECT_FALSE(m->dpofua());
  EXPECT_TRUE(m->long_lba);
  ASSERT_EQ(m->block_descriptors.size(), 1u);
  EXPECT_EQ(m->block_descriptors[0], (BlockDescriptor{0x100000000, 4096}));
  ModePageIterator it(m->pages);
  auto caching = it.next();
  ASSERT_TRUE(caching);
  EXPECT_EQ(caching->page_code, 0x08);
  EXPECT_TRUE(caching->ps);
  EXPECT_FALSE(it.next());
  EXPECT_FALSE(it.truncated());
}

TEST(ScsiModeSense, HeaderOnly) {
  auto m6 = decode_mode_sense6(from_hex("03 00 80 00"));
  ASSERT_TRUE(m6);
  EXPECT_TRUE(m6->write_protected());
  EXPECT_TRUE(m6->block_descriptors.empty());
  EXPECT_TRUE(m6->pages.empty());
  auto m10 = decode_mode_sense10(from_hex("00 06 00 00 00 00 00 00"));
  ASSERT_TRUE(m10);
  EXPECT_FALSE(m10->truncated);
}

TEST(ScsiModeSense, BytesPastModeDataLengthAreNotPages) {
  auto bytes = from_hex("03 00 00 00");
  bytes.resize(40, 0x08);  // junk that would parse as pages
  auto m = decode_mode_sense6(bytes);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->pages.empty());
}

TEST(ScsiModeSense, Errors) {
  EXPECT_EQ(decode_mode_sense6(from_hex("03 00 00")).error(), Errc::response_too_short);
  EXPECT_EQ(decode_mode_sense10(from_hex("00 06 00 00 00 00 00")).error(), Errc::response_too_short);
  EXPECT_EQ(decode_mode_sense6(from_hex("0b 00 00 05 00 00 00 00 00 00 00 00")).error(),
            Errc::bad_block_descriptor_length);
  // With LONGLBA the descriptors are 16 bytes: a length of 8 is wrong.
  EXPECT_EQ(decode_mode_sense10(from_hex("00 0e 00 00 01 00 00 08 00 00 00 00 00 00 00 00")).error(),
            Errc::bad_block_descriptor_length);
}

TEST(ScsiModePageIterator, StopsAtAnIncompleteHeaderOrBody) {
  const auto sub_header_cut = from_hex("4a 01 00");  // sub_page header needs 4 bytes
  ModePageIterator a(sub_header_cut);
  EXPECT_FALSE(a.next());
  EXPECT_TRUE(a.truncated());

  const auto body_cut = from_hex("08 12 04 00");
  ModePageIterator b(body_cut);
  EXPECT_FALSE(b.next());
  EXPECT_TRUE(b.truncated());
  EXPECT_FALSE(b.next());  // stays stopped

  ModePageIterator empty(ByteSpan{});
  EXPECT_FALSE(empty.next());
  EXPECT_FALSE(empty.truncated());
}

}  // namespace
}  // namespace iscsi::scsi
