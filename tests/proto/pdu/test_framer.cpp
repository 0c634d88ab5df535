// The streaming framer: every PDU type, back to back, with and without digests, split at every
// byte offset and fed byte by byte; zero-copy views; settings changes between PDUs; end of
// stream.
#include <gtest/gtest.h>

#include <cstring>

#include "proto/pdu/codec_detail.hpp"
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

// Direct placement: every pending Data-In payload is placed into its own destination, the
// rest of its bytes written straight into placement() (as a socket read would) or fed, at odd
// chunk sizes, with and without digests; PDUs after it are framed as usual.
TEST(Framer, PlacedDataInPayloadsLandInTheDestinationWithDigestsChecked) {
  for (const DigestConfig digests : kDigestCombos) {
    for (const bool via_feed : {false, true}) {
      std::vector<Pdu> pdus;
      ByteVector stream;
      for (std::uint32_t i = 0; i < 6; ++i) {
        auto d = test::sample_data_in(40000 - i * 7);  // lengths needing padding too
        d.data_sn = SerialNumber(i);
        d.final_pdu = d.status_present = (i == 5);
        if (!d.status_present) d.underflow = false;
        pdus.emplace_back(d);
        ASSERT_FALSE(encode(pdus.back(), digests, stream));
      }
      Framer framer(config_for(Direction::target_to_initiator, digests));
      std::vector<ByteVector> dests;
      std::vector<Pdu> got;
      std::size_t placed = 0;
      std::size_t pos = 0;
      for (std::size_t step = 1; pos < stream.size(); step = step * 7 % 4099 + 1) {
        const std::size_t n = std::min(step, stream.size() - pos);
        MutableByteSpan into = framer.placement();
        if (!into.empty() && !via_feed) {
          const std::size_t k = std::min(n, into.size());
          std::memcpy(into.data(), stream.data() + pos, k);
          framer.commit_placed(k);
          pos += k;
        } else {
          framer.feed(ByteSpan(stream).subspan(pos, n));
          pos += n;
        }
        while (true) {
          auto next = framer.next_view();
          ASSERT_TRUE(next) << to_string(framer.diagnostic());
          if (!*next) break;
          Pdu p = *(*next)->header;
          detail::attach_data(p, (*next)->data);
          if (!dests.empty() && (*next)->data.data() == dests.back().data()) ++placed;
          got.push_back(std::move(p));
        }
        if (const Pdu* h = framer.pending_header(); h != nullptr && framer.placement().empty()) {
          ASSERT_TRUE(std::holds_alternative<DataIn>(*h));
          dests.emplace_back(framer.pending_data_length());
          framer.place(dests.back());
          EXPECT_EQ(framer.pending_header(), nullptr);
        }
      }
      EXPECT_EQ(got, pdus);
      EXPECT_EQ(placed, pdus.size());
      EXPECT_FALSE(framer.finish());
    }
  }
}

TEST(Framer, PlacedPayloadWithABadDataDigestFails) {
  auto d = test::sample_data_in(40000);
  ByteVector stream = wire(Pdu{d}, {false, true});
  const std::size_t header = kBhsLength;
  Framer framer(config_for(Direction::target_to_initiator, {false, true}));
  framer.feed(ByteSpan(stream).first(header + 100));
  auto next = framer.next_view();
  ASSERT_TRUE(next);
  ASSERT_FALSE(*next);
  ASSERT_NE(framer.pending_header(), nullptr);
  EXPECT_EQ(framer.pending_data_buffered(), 100u);
  ByteVector dest(framer.pending_data_length());
  framer.place(dest);
  stream[header + 30000] ^= 0x40;  // one payload bit flipped on the wire
  framer.feed(ByteSpan(stream).subspan(header + 100));
  EXPECT_TRUE(framer.placement().empty());
  next = framer.next_view();
  ASSERT_FALSE(next);
  EXPECT_EQ(framer.diagnostic().errc, Errc::data_digest);
  EXPECT_TRUE(framer.failed());
  EXPECT_TRUE(framer.placement().empty());
}

TEST(Framer, StreamEndingInsideAPlacementIsTruncated) {
  auto d = test::sample_data_in(40000);
  const ByteVector stream = wire(Pdu{d}, {false, false});
  Framer framer(config_for(Direction::target_to_initiator, {false, false}));
  framer.feed(ByteSpan(stream).first(kBhsLength + 10));
  ASSERT_TRUE(framer.next_view());
  ByteVector dest(framer.pending_data_length());
  framer.place(dest);
  framer.feed(ByteSpan(stream).subspan(kBhsLength + 10, 1000));
  EXPECT_EQ(framer.placement().size(), dest.size() - 1010);
  EXPECT_EQ(framer.finish(), make_error_code(Errc::truncated));
}

// Found by fuzz_framer: without HeaderDigest the header is checked once the BHS is in, before
// its AHS has arrived; nothing may be placed until the AHS is buffered too.
TEST(Framer, NothingIsPlacedBeforeTheAhsIsIn) {
  const auto cmd = test::sample_scsi_command_ahs();
  const ByteVector bytes = wire(cmd);
  Framer framer(config_for(Direction::initiator_to_target, {}));
  framer.feed(ByteSpan(bytes).first(kBhsLength + 4));
  auto view = framer.next_view();
  ASSERT_TRUE(view);
  ASSERT_FALSE(*view);
  EXPECT_EQ(framer.state(), Framer::State::payload);
  EXPECT_EQ(framer.pending_header(), nullptr);
  ByteVector dest(framer.pending_data_length());
  framer.place(dest);  // ignored
  EXPECT_TRUE(framer.placement().empty());
  framer.feed(ByteSpan(bytes).subspan(kBhsLength + 4));
  view = framer.next_view();
  ASSERT_TRUE(view && *view);
  EXPECT_EQ(std::get<ScsiCommand>(*(*view)->header).extended_cdb, cmd.extended_cdb);
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
