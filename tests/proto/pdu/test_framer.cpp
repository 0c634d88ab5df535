// The streaming framer: every PDU type, back to back, with and without digests, split at every
// byte offset and fed byte by byte; zero-copy views; settings changes between PDUs; end of
// stream.
#include <gtest/gtest.h>

#include <cstring>

#include "proto/pdu/framer.hpp"
#include "samples.hpp"
#include "support/grind.hpp"

namespace iscsi::pdu {
namespace {

using test::wire;

constexpr DigestConfig kDigestCombos[] = {{false, false}, {true, false}, {false, true}, {true, true}};

FramerConfig config_for(Direction receive, DigestConfig digests) {
  FramerConfig c;
  c.receive = receive;
  c.digests = digests;
  c.max_recv_data_segment_length = 65536;
  c.decode.strict_reserved = true;
  return c;
}

// Feeds the pieces one at a time, draining after each, and returns every PDU.
std::vector<Pdu> run(Framer& framer, const iscsi::test::Pieces& pieces) {
  std::vector<Pdu> out;
  for (ByteSpan piece : pieces) {
    framer.feed(piece);
    while (true) {
      auto next = framer.next();
      EXPECT_TRUE(next) << to_string(framer.diagnostic());
      if (!next || !*next) break;
      out.push_back(std::move(**next));
    }
  }
  return out;
}

class FramerGrind : public ::testing::TestWithParam<std::tuple<Direction, int>> {};

TEST_P(FramerGrind, EveryTypeBackToBackAtEverySplit) {
  const auto [direction, combo] = GetParam();
  const DigestConfig digests = kDigestCombos[combo];
  const std::vector<Pdu> pdus = test::samples_from(direction);
  ByteVector stream;
  for (const Pdu& p : pdus) ASSERT_FALSE(encode(p, digests, stream));

  iscsi::test::grind_splits(stream, [&](const iscsi::test::Pieces& pieces) {
    Framer framer(config_for(direction, digests));
    const std::vector<Pdu> got = run(framer, pieces);
    ASSERT_EQ(got.size(), pdus.size()) << pieces.size() << " pieces";
    for (std::size_t i = 0; i < pdus.size(); ++i) EXPECT_EQ(got[i], pdus[i]) << i;
    EXPECT_EQ(framer.buffered(), 0u);
    EXPECT_EQ(framer.stream_offset(), stream.size());
    EXPECT_FALSE(framer.finish());
  });
}

std::string grind_name(const ::testing::TestParamInfo<std::tuple<Direction, int>>& param) {
  static const char* const kDigestNames[] = {"NoDigests", "HeaderDigest", "DataDigest",
                                             "BothDigests"};
  const bool itot = std::get<0>(param.param) == Direction::initiator_to_target;
  return std::string(itot ? "ItoT_" : "TtoI_") + kDigestNames[std::get<1>(param.param)];
}

INSTANTIATE_TEST_SUITE_P(AllDirectionsAndDigests, FramerGrind,
                         ::testing::Combine(::testing::Values(Direction::initiator_to_target,
                                                              Direction::target_to_initiator),
                                            ::testing::Values(0, 1, 2, 3)),
                         grind_name);

TEST(Framer, EachTypeAloneAtEverySplit) {
  for (const DigestConfig digests : kDigestCombos) {
    for (const Pdu& p : test::all_samples()) {
      const Direction d = direction_of(opcode_of(p));
      const ByteVector bytes = wire(p, digests);
      iscsi::test::grind_splits(bytes, [&](const iscsi::test::Pieces& pieces) {
        Framer framer(config_for(d, digests));
        const auto got = run(framer, pieces);
        ASSERT_EQ(got.size(), 1u) << to_string(p);
        EXPECT_EQ(got[0], p);
      });
    }
  }
}

TEST(Framer, ViewsPointIntoTheBufferWithoutCopying) {
  const DataIn din = test::sample_data_in(8192);
  const ByteVector bytes = wire(din, {true, true});
  Framer framer(config_for(Direction::target_to_initiator, {true, true}));
  auto buf = framer.prepare(bytes.size());
  ASSERT_GE(buf.size(), bytes.size());
  std::memcpy(buf.data(), bytes.data(), bytes.size());
  framer.commit(bytes.size());
  auto view = framer.next_view();
  ASSERT_TRUE(view);
  ASSERT_TRUE(*view);
  EXPECT_EQ((*view)->data.data(), buf.data() + 48 + 4) << "data is a view into the buffer";
  EXPECT_EQ((*view)->data.size(), 8192u);
  EXPECT_TRUE(std::equal(din.data.begin(), din.data.end(), (*view)->data.begin()));
  EXPECT_EQ((*view)->wire_length, bytes.size());
  EXPECT_EQ((*view)->bhs.size(), 48u);
  EXPECT_TRUE(std::get<DataIn>(*(*view)->header).data.empty());
  EXPECT_EQ(std::get<DataIn>(*(*view)->header).data_sn, din.data_sn);
}

TEST(Framer, ViewCarriesTheAhsArea) {
  const auto cmd = test::sample_scsi_command_ahs();
  Framer framer(config_for(Direction::initiator_to_target, {}));
  framer.feed(wire(cmd));
  auto view = framer.next_view();
  ASSERT_TRUE(view && *view);
  EXPECT_EQ((*view)->ahs.size(), 28u);
  EXPECT_EQ(std::get<ScsiCommand>(*(*view)->header).extended_cdb, cmd.extended_cdb);
}

TEST(Framer, DigestsSwitchOnBetweenPdusAsAfterLogin) {
  // The final Login Response arrives without digests; the next PDU already has them. The
  // caller switches after next() returns the Login Response, before asking for more.
  const auto login = test::sample_login_response();
  const auto nop = test::sample_nop_in();
  ByteVector stream = wire(login);
  ASSERT_FALSE(encode(nop, {true, true}, stream));
  Framer framer(config_for(Direction::target_to_initiator, {}));
  framer.feed(stream);  // both at once
  auto first = framer.next();
  ASSERT_TRUE(first && *first);
  EXPECT_EQ(**first, Pdu(login));
  framer.set_digests({true, true});
  auto second = framer.next();
  ASSERT_TRUE(second && *second) << to_string(framer.diagnostic());
  EXPECT_EQ(**second, Pdu(nop));
}

TEST(Framer, ChangingDigestsWhileAPduIsPendingRechecksItsHeader) {
  auto nop = test::sample_nop_in();
  nop.data = test::pattern(8);
  const ByteVector bytes = wire(nop, {true, false});
  Framer framer(config_for(Direction::target_to_initiator, {}));
  framer.feed(ByteSpan(bytes).first(48));
  auto none = framer.next();  // header checked without digest, state payload
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_EQ(framer.state(), Framer::State::payload);
  framer.set_digests({true, false});
  EXPECT_EQ(framer.state(), Framer::State::header);
  framer.feed(ByteSpan(bytes).subspan(48));
  auto got = framer.next();
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, Pdu(nop));
}

TEST(Framer, BytesWantedTracksWhatIsMissing) {
  const auto din = test::sample_data_in(100);
  const ByteVector bytes = wire(din, {true, true});  // 48 + 4 + 100 + 4
  Framer framer(config_for(Direction::target_to_initiator, {true, true}));
  EXPECT_EQ(framer.bytes_wanted(), 48u);
  framer.feed(ByteSpan(bytes).first(10));
  EXPECT_EQ(framer.bytes_wanted(), 38u);
  framer.feed(ByteSpan(bytes).subspan(10, 38));
  EXPECT_EQ(framer.bytes_wanted(), 4u) << "header digest";
  framer.feed(ByteSpan(bytes).subspan(48, 4));
  auto none = framer.next();
  ASSERT_TRUE(none && !*none);
  EXPECT_EQ(framer.bytes_wanted(), 104u);
  framer.feed(ByteSpan(bytes).subspan(52));
  EXPECT_EQ(framer.bytes_wanted(), 0u);
  auto got = framer.next();
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(framer.bytes_wanted(), 48u);
}

TEST(Framer, LargeDataInStreamInOddChunks) {
  std::vector<Pdu> pdus;
  ByteVector stream;
  for (std::uint32_t i = 0; i < 8; ++i) {
    auto d = test::sample_data_in(65536 - i * 13);
    d.data_sn = SerialNumber(i);
    d.final_pdu = d.status_present = (i == 7);
    if (!d.status_present) d.underflow = false;
    pdus.emplace_back(d);
    ASSERT_FALSE(encode(pdus.back(), {true, true}, stream));
  }
  Framer framer(config_for(Direction::target_to_initiator, {true, true}));
  std::vector<Pdu> got;
  for (std::size_t pos = 0, step = 1; pos < stream.size(); pos += step, step = step * 3 % 9973 + 1) {
    framer.feed(ByteSpan(stream).subspan(pos, std::min(step, stream.size() - pos)));
    while (true) {
      auto next = framer.next();
      ASSERT_TRUE(next) << to_string(framer.diagnostic());
      if (!*next) break;
      got.push_back(std::move(**next));
    }
  }
  EXPECT_EQ(got, pdus);
}

TEST(Framer, LoginPdusUseTheLoginLimitOthersTheNegotiatedOne) {
  FramerConfig c = config_for(Direction::target_to_initiator, {});
  c.max_recv_data_segment_length = 262144;
  c.login_max_data_segment_length = 8192;
  auto login = test::sample_login_response();
  login.data.assign(8192, 'a');
  auto din = test::sample_data_in(262144);
  ByteVector stream = wire(login);
  ASSERT_FALSE(encode(din, {}, stream));
  Framer framer(c);
  framer.feed(stream);
  auto a = framer.next();
  ASSERT_TRUE(a && *a);
  auto b = framer.next();
  ASSERT_TRUE(b && *b) << to_string(framer.diagnostic());
  EXPECT_EQ(**b, Pdu(din));
}

TEST(Framer, CleanEndOfStreamBetweenPdus) {
  Framer framer(config_for(Direction::target_to_initiator, {}));
  EXPECT_FALSE(framer.finish());
  framer.feed(wire(test::sample_nop_in()));
  auto got = framer.next();
  ASSERT_TRUE(got && *got);
  EXPECT_FALSE(framer.finish());
  EXPECT_FALSE(framer.failed());
}

TEST(Framer, StateNames) {
  EXPECT_EQ(to_string(Framer::State::header), "header");
  EXPECT_EQ(to_string(Framer::State::payload), "payload");
  EXPECT_EQ(to_string(Framer::State::failed), "failed");
}

}  // namespace
}  // namespace iscsi::pdu
