// The framer's half of ERL 1 within-command recovery: with recover_data_in_digest_errors, a
// Data-In whose data digest fails comes out flagged as damaged and the PDUs after it still come
// out; any other digest error still fails the framer, as does everything without the option.
#include <gtest/gtest.h>

#include "proto/pdu/framer.hpp"
#include "proto/pdu/pdu.hpp"

namespace iscsi::pdu {
namespace {

constexpr DigestConfig kBoth{.header = true, .data = true};

DataIn data_in(std::uint32_t data_sn, std::uint8_t fill) {
  DataIn d;
  d.itt = 0x10;
  d.data_sn = SerialNumber{data_sn};
  d.buffer_offset = data_sn * 512;
  d.data.assign(512, fill);
  return d;
}

// Two Data-In PDUs and a SCSI Response; a byte of the first one's data flipped.
ByteVector stream_with_damaged_first(const Pdu& first) {
  ByteVector out = *encode(first, kBoth);
  out[48 + 4 + 100] ^= 0x01;  // BHS + header digest, then into the data segment
  const auto second = *encode(data_in(1, 0xBB), kBoth);
  out.insert(out.end(), second.begin(), second.end());
  ScsiResponse r;
  r.itt = 0x10;
  const auto third = *encode(r, kBoth);
  out.insert(out.end(), third.begin(), third.end());
  return out;
}

Framer framer(bool recover) {
  FramerConfig cfg;
  cfg.receive = Direction::target_to_initiator;
  cfg.digests = kBoth;
  cfg.recover_data_in_digest_errors = recover;
  return Framer(cfg);
}

TEST(FramerErl1, ADamagedDataInIsFlaggedAndTheStreamGoesOn) {
  Framer f = framer(true);
  f.feed(stream_with_damaged_first(data_in(0, 0xAA)));
  auto first = f.next_view();
  ASSERT_TRUE(first);
  ASSERT_TRUE(*first);
  EXPECT_TRUE((*first)->data_damaged);
  EXPECT_EQ(std::get<DataIn>(*(*first)->header).data_sn, SerialNumber{0});
  EXPECT_EQ((*first)->data.size(), 512u);
  EXPECT_EQ(f.damaged_pdus(), 1u);
  EXPECT_EQ(f.damage().conn_error, ConnError::data_dgst);
  EXPECT_NE(f.damage().detail.find("data digest"), std::string::npos) << f.damage().detail;
  auto second = f.next();
  ASSERT_TRUE(second);
  ASSERT_TRUE(*second);
  EXPECT_FALSE(f.last_damaged());
  EXPECT_EQ(std::get<DataIn>(**second).data, ByteVector(512, 0xBB));
  auto third = f.next();
  ASSERT_TRUE(third);
  ASSERT_TRUE(*third);
  EXPECT_TRUE(std::holds_alternative<ScsiResponse>(**third));
  EXPECT_FALSE(f.failed());
}

TEST(FramerErl1, TheOwnedFormLeavesADamagedPayloadOut) {
  Framer f = framer(true);
  f.feed(stream_with_damaged_first(data_in(0, 0xAA)));
  auto first = f.next();
  ASSERT_TRUE(first);
  ASSERT_TRUE(*first);
  EXPECT_TRUE(f.last_damaged());
  EXPECT_EQ(f.last_data_length(), 512u);
  EXPECT_TRUE(std::get<DataIn>(**first).data.empty());
}

TEST(FramerErl1, WithoutTheOptionADataDigestErrorFailsTheFramer) {
  Framer f = framer(false);
  f.feed(stream_with_damaged_first(data_in(0, 0xAA)));
  auto first = f.next_view();
  ASSERT_FALSE(first);
  EXPECT_TRUE(f.failed());
  EXPECT_EQ(f.diagnostic().conn_error, ConnError::data_dgst);
}

TEST(FramerErl1, OnlyADataInIsRecovered) {
  ScsiResponse r;
  r.itt = 0x10;
  r.data = make_sense_data(ByteVector(200, 0x70));
  Framer f = framer(true);
  f.feed(stream_with_damaged_first(r));
  auto first = f.next_view();
  ASSERT_FALSE(first);
  EXPECT_TRUE(f.failed());
  EXPECT_EQ(f.diagnostic().conn_error, ConnError::data_dgst);
}

}  // namespace
}  // namespace iscsi::pdu
