// REPORT LUNS decoding and SAM LUN encoding, both ways.
#include <gtest/gtest.h>

#include "proto/scsi/report_luns.hpp"
#include "support/hex.hpp"
#include "vectors.hpp"

namespace iscsi::scsi {
namespace {

using test::from_hex;

Lun lun_of(std::string_view hex) {
  const auto b = from_hex(hex);
  Lun::Bytes a{};
  std::copy(b.begin(), b.end(), a.begin());
  return Lun(a);
}

TEST(ScsiReportLuns, TgtListWithAFlatLun) {
  const auto bytes = from_hex(vectors::kTgtReportLuns);
  auto r = decode_report_luns(bytes);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lun_list_length, 32u);
  EXPECT_FALSE(r->truncated);
  ASSERT_EQ(r->luns.size(), 4u);
  EXPECT_EQ(*r->luns[0].number(), 0);
  EXPECT_EQ(*r->luns[1].number(), 1);
  EXPECT_EQ(*r->luns[2].number(), 2);
  EXPECT_EQ(r->luns[3].address_method(), LunAddressMethod::flat);
  EXPECT_EQ(*r->luns[3].number(), 300);
  // What libiscsi's iscsi-ls printed for it, and what Linux would call it.
  EXPECT_EQ(r->luns[3].linux_number(), 16684u);
  EXPECT_EQ(r->luns[3].to_string(), "300");
}

TEST(ScsiReportLuns, ShortAllocationLength) {
  const auto bytes = from_hex(vectors::kTgtReportLunsShort);
  auto r = decode_report_luns(bytes);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->luns.size(), 1u);
  EXPECT_EQ(r->required_length(), 32u);
}

TEST(ScsiReportLuns, PartialEntryIsDropped) {
  const auto bytes = from_hex(vectors::kTgtReportLuns);
  auto r = decode_report_luns(std::span(bytes).first(8 + 8 + 5));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->luns.size(), 1u);
}

TEST(ScsiReportLuns, Errors) {
  EXPECT_EQ(decode_report_luns(from_hex("00 00 00 08 00 00 00")).error(),
            Errc::response_too_short);
  EXPECT_EQ(decode_report_luns(from_hex("00 00 00 0c 00 00 00 00 00 01 00 00 00 00 00 00")).error(),
            Errc::bad_lun_list_length);
  auto empty = decode_report_luns(from_hex("00 00 00 00 00 00 00 00"));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->luns.empty());
  EXPECT_FALSE(empty->truncated);
}

TEST(ScsiLun, EncodingFollowsSam) {
  EXPECT_EQ(Lun::from_number(0)->bytes(), lun_of("00 00 00 00 00 00 00 00").bytes());
  EXPECT_EQ(Lun::from_number(5)->bytes(), lun_of("00 05 00 00 00 00 00 00").bytes());
  EXPECT_EQ(Lun::from_number(255)->bytes(), lun_of("00 ff 00 00 00 00 00 00").bytes());
  EXPECT_EQ(Lun::from_number(256)->bytes(), lun_of("41 00 00 00 00 00 00 00").bytes());
  EXPECT_EQ(Lun::from_number(300)->bytes(), lun_of("41 2c 00 00 00 00 00 00").bytes());
  EXPECT_EQ(Lun::from_number(16383)->bytes(), lun_of("7f ff 00 00 00 00 00 00").bytes());
  EXPECT_EQ(Lun::from_number(16384).error(), Errc::lun_out_of_range);
}

TEST(ScsiLun, NumberRoundTripsOverTheWholeRange) {
  for (std::uint32_t n = 0; n <= 16383; ++n) {
    auto lun = Lun::from_number(n);
    ASSERT_TRUE(lun) << n;
    EXPECT_EQ(lun->address_method(), n < 256 ? LunAddressMethod::peripheral : LunAddressMethod::flat);
    auto back = lun->number();
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, n);
  }
}

TEST(ScsiLun, FlatZeroIsStillLunZero) {
  EXPECT_EQ(*lun_of("40 00 00 00 00 00 00 00").number(), 0);
  EXPECT_EQ(*lun_of("40 07 00 00 00 00 00 00").number(), 7);
}

TEST(ScsiLun, OtherFormsAreKeptButHaveNoNumber) {
  const Lun well_known = lun_of("c1 01 00 00 00 00 00 00");  // REPORT LUNS well-known LUN
  EXPECT_EQ(well_known.address_method(), LunAddressMethod::extended);
  EXPECT_EQ(well_known.number().error(), Errc::unsupported_lun_address);
  EXPECT_EQ(well_known.to_string(), "0xc101000000000000");

  EXPECT_EQ(lun_of("01 05 00 00 00 00 00 00").number().error(), Errc::unsupported_lun_address);
  EXPECT_EQ(lun_of("81 05 00 00 00 00 00 00").address_method(), LunAddressMethod::logical_unit);

  const Lun two_level = lun_of("00 01 00 02 00 00 00 00");
  EXPECT_EQ(two_level.number().error(), Errc::unsupported_lun_address);
  EXPECT_EQ(two_level.linux_number(), 0x20001u);
}

TEST(ScsiLun, ReportLunsRoundTrip) {
  std::vector<Lun> luns;
  for (std::uint32_t n : {0u, 1u, 255u, 256u, 300u, 16383u}) luns.push_back(*Lun::from_number(n));
  luns.push_back(lun_of("c1 01 00 00 00 00 00 00"));
  const auto bytes = encode_report_luns(luns);
  EXPECT_EQ(bytes.size(), 8 + 8 * luns.size());
  auto r = decode_report_luns(bytes);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(r->luns, luns);

  // And the captured tgt data re-encodes to the same bytes.
  const auto tgt = from_hex(vectors::kTgtReportLuns);
  EXPECT_EQ(encode_report_luns(decode_report_luns(tgt)->luns), tgt);
}

}  // namespace
}  // namespace iscsi::scsi
