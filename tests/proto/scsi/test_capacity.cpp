// READ CAPACITY(10)/(16) decoders and the capacity arithmetic.
#include <gtest/gtest.h>

#include "proto/scsi/capacity.hpp"
#include "support/hex.hpp"
#include "vectors.hpp"

namespace iscsi::scsi {
namespace {

using test::from_hex;

TEST(ScsiCapacity, TgtReadCapacity10) {
  const auto bytes = from_hex(vectors::kTgtReadCapacity10);
  auto rc = decode_read_capacity10(bytes);
  ASSERT_TRUE(rc);
  EXPECT_EQ(rc->last_lba, 0x1FFFFu);
  EXPECT_EQ(rc->block_length, 512u);
  EXPECT_EQ(rc->block_count(), 131072u);
  EXPECT_EQ(rc->capacity_bytes(), 64u * 1024 * 1024);
  EXPECT_FALSE(rc->needs_read_capacity16());
}

TEST(ScsiCapacity, AllOnesMeansAskReadCapacity16) {
  const auto bytes = from_hex("ff ff ff ff 00 00 10 00");
  auto rc = decode_read_capacity10(bytes);
  ASSERT_TRUE(rc);
  EXPECT_TRUE(rc->needs_read_capacity16());
  EXPECT_EQ(rc->block_count(), 0x100000000u);  // no overflow in 64 bits
  EXPECT_EQ(rc->capacity_bytes(), 0x100000000u * 4096);
}

TEST(ScsiCapacity, ReadCapacity10NeedsEightBytes) {
  const auto bytes = from_hex("00 01 ff ff 00 00 02");
  EXPECT_EQ(decode_read_capacity10(bytes).error(), Errc::response_too_short);
}

TEST(ScsiCapacity, TgtReadCapacity16) {
  const auto bytes = from_hex(vectors::kTgtReadCapacity16);
  auto rc = decode_read_capacity16(bytes);
  ASSERT_TRUE(rc);
  EXPECT_EQ(rc->last_lba, 0x1FFFFu);
  EXPECT_EQ(rc->block_length, 512u);
  EXPECT_FALSE(rc->prot_en);
  EXPECT_EQ(rc->protection_type(), 0);
  EXPECT_EQ(rc->p_i_exponent, 0);
  EXPECT_EQ(rc->lbppbe, 3);
  EXPECT_EQ(rc->logical_blocks_per_physical_block(), 8u);
  EXPECT_EQ(rc->physical_block_length(), 4096u);
  EXPECT_TRUE(rc->lbpme);
  EXPECT_TRUE(rc->lbprz);
  EXPECT_EQ(rc->lowest_aligned_lba, 0);
  EXPECT_FALSE(rc->truncated);
  EXPECT_EQ(*rc->block_count(), 131072u);
  EXPECT_EQ(*rc->capacity_bytes(), 64u * 1024 * 1024);
}

TEST(ScsiCapacity, SixteenByteAllocationDecodesTheSame) {
  const auto full = from_hex(vectors::kTgtReadCapacity16);
  const auto shorter = from_hex(vectors::kTgtReadCapacity16Short);
  auto a = decode_read_capacity16(full);
  auto b = decode_read_capacity16(shorter);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->truncated);
  EXPECT_EQ(a->last_lba, b->last_lba);
  EXPECT_EQ(a->lbppbe, b->lbppbe);
  EXPECT_EQ(a->lbpme, b->lbpme);
  EXPECT_EQ(a->lbprz, b->lbprz);
}

TEST(ScsiCapacity, HandReadCapacity16EveryField) {
  const auto bytes = from_hex(vectors::kHandReadCapacity16);
  auto rc = decode_read_capacity16(bytes);
  ASSERT_TRUE(rc);
  EXPECT_EQ(rc->last_lba, 0x123456789u);
  EXPECT_EQ(rc->block_length, 4096u);
  EXPECT_EQ(rc->rc_basis, 1);
  EXPECT_EQ(rc->p_type, 1);
  EXPECT_TRUE(rc->prot_en);
  EXPECT_EQ(rc->protection_type(), 2);
  EXPECT_EQ(rc->p_i_exponent, 2);
  EXPECT_EQ(rc->lbppbe, 1);
  EXPECT_TRUE(rc->lbpme);
  EXPECT_FALSE(rc->lbprz);
  EXPECT_EQ(rc->lowest_aligned_lba, 0x107);  // LBPME bit not part of the value
  EXPECT_EQ(*rc->capacity_bytes(), 0x12345678Aull * 4096);
}

TEST(ScsiCapacity, ReadCapacity16NeedsLbaAndBlockLength) {
  const auto bytes = from_hex(vectors::kTgtReadCapacity16);
  EXPECT_EQ(decode_read_capacity16(std::span(bytes).first(11)).error(), Errc::response_too_short);
  auto twelve = decode_read_capacity16(std::span(bytes).first(12));
  ASSERT_TRUE(twelve);
  EXPECT_TRUE(twelve->truncated);
  EXPECT_EQ(twelve->lbppbe, 0);  // not returned: reads as "not reported"
}

TEST(ScsiCapacity, OverflowIsAnError) {
  auto all_ones = from_hex("ffffffffffffffff 00000200");
  auto rc = decode_read_capacity16(all_ones);
  ASSERT_TRUE(rc);
  EXPECT_EQ(rc->block_count().error(), Errc::capacity_overflow);
  EXPECT_EQ(rc->capacity_bytes().error(), Errc::capacity_overflow);

  auto huge = from_hex("1000000000000000 00001000");  // 2^60 + 1 blocks of 4 KiB
  rc = decode_read_capacity16(huge);
  ASSERT_TRUE(rc);
  EXPECT_TRUE(rc->block_count());
  EXPECT_EQ(rc->capacity_bytes().error(), Errc::capacity_overflow);
}

}  // namespace
}  // namespace iscsi::scsi
