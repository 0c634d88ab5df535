// Continuation across PDUs (C bit): the assembler yields the list only at C=0, whatever the cut;
// limits, empty C=1 segments, unterminated text at C=0, sticky errors; the splitter.
#include <gtest/gtest.h>

#include <string>

#include "proto/text/continuation.hpp"
#include "support/grind.hpp"

namespace iscsi::text {
namespace {

using namespace std::string_literals;

ByteVector bytes(std::string_view s) { return ByteVector(s.begin(), s.end()); }

const std::string kText =
    "HeaderDigest=None\0DataDigest=None\0MaxRecvDataSegmentLength=262144\0"
    "TargetAlias=LIO Target\0CHAP_C=0x0123456789abcdef0123456789abcdef\0"s;

TEST(TextAssembler, SingleSegment) {
  TextAssembler a;
  auto r = a.add(as_bytes(kText), false);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->size(), 5u);
  EXPECT_EQ(a.state(), TextAssembler::State::idle);
}

TEST(TextAssembler, YieldsOnlyAtCZero) {
  TextAssembler a;
  auto r1 = a.add(as_bytes("HeaderDigest=No"s), true);
  ASSERT_TRUE(r1);
  EXPECT_FALSE(r1->has_value());
  EXPECT_EQ(a.state(), TextAssembler::State::collecting);
  EXPECT_EQ(a.received(), 15u);
  auto r2 = a.add(as_bytes("ne\0A=1\0"s), false);
  ASSERT_TRUE(r2);
  ASSERT_TRUE(r2->has_value());
  EXPECT_EQ(**r2, (KeyValueList{{"HeaderDigest", "None"}, {"A", "1"}}));
}

// Every way of cutting the text into PDUs (C=1 on all but the last) gives the same list.
TEST(TextAssembler, GrindSegments) {
  const ByteVector text = bytes(kText);
  const auto whole = decode(text);
  ASSERT_TRUE(whole);
  TextAssembler a;  // reused across texts: it returns to idle after each
  test::grind_splits(text, [&](const test::Pieces& pieces) {
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      const bool last = i + 1 == pieces.size();
      auto r = a.add(pieces[i], !last);
      ASSERT_TRUE(r) << r.error().message();
      if (!last) {
        ASSERT_FALSE(r->has_value());
      } else {
        ASSERT_TRUE(r->has_value());
        EXPECT_EQ(**r, *whole);
      }
    }
    EXPECT_EQ(a.state(), TextAssembler::State::idle);
  });
}

TEST(TextAssembler, EmptyFinalSegmentEndsText) {
  TextAssembler a;
  ASSERT_TRUE(a.add(as_bytes("A=1\0"s), true));
  auto r = a.add({}, false);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->size(), 1u);
}

TEST(TextAssembler, EmptyTextIsEmptyList) {
  TextAssembler a;
  auto r = a.add({}, false);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_TRUE((*r)->empty());
}

TEST(TextAssemblerMalformed, KeySplitWithNoEnd) {
  TextAssembler a;
  ASSERT_TRUE(a.add(as_bytes("A=1\0MaxBurst"s), true));
  auto r = a.add(as_bytes("Length=512"s), false);  // C=0 but the pair never ends
  EXPECT_EQ(r.error(), Errc::unterminated_pair);
  EXPECT_EQ(a.state(), TextAssembler::State::failed);
  EXPECT_EQ(a.diagnostic().key, "MaxBurstLength");
}

TEST(TextAssemblerMalformed, EmptyContinuationSegment) {
  TextAssembler a;
  EXPECT_EQ(a.add({}, true).error(), Errc::empty_continuation_segment);
}

TEST(TextAssemblerMalformed, TotalTooLong) {
  TextOptions o;
  o.max_text_length = 64;
  TextAssembler a(o);
  ASSERT_TRUE(a.add(as_bytes(std::string(40, 'A')), true));
  EXPECT_EQ(a.add(as_bytes(std::string(25, 'B')), true).error(), Errc::text_too_long);
}

TEST(TextAssemblerMalformed, DefaultLimitIs64KiB) {
  TextAssembler a;
  std::string chunk = "X-k=" + std::string(200, 'v') + '\0';
  std::string segment;
  while (segment.size() + chunk.size() <= 8192) segment += chunk;
  std::error_code ec;
  for (int i = 0; i < 9 && !ec; ++i) ec = a.add(as_bytes(segment), true).error();
  EXPECT_EQ(ec, Errc::text_too_long);  // 9 x ~8 KiB > 64 KiB
}

TEST(TextAssemblerMalformed, BadKeyFailsAtTheSegmentThatCarriesIt) {
  TextAssembler a;
  ASSERT_TRUE(a.add(as_bytes("A=1\0"s), true));
  EXPECT_EQ(a.add(as_bytes("B C=1\0"s), true).error(), Errc::key_invalid_character);
}

TEST(TextAssemblerMalformed, DuplicateAcrossSegments) {
  TextAssembler a;
  ASSERT_TRUE(a.add(as_bytes("A=1\0"s), true));
  EXPECT_EQ(a.add(as_bytes("A=2\0"s), false).error(), Errc::duplicate_key);
}

TEST(TextAssemblerMalformed, ErrorsAreStickyUntilReset) {
  TextAssembler a;
  EXPECT_EQ(a.add(as_bytes("=1\0"s), false).error(), Errc::key_empty);
  EXPECT_EQ(a.add(as_bytes("A=1\0"s), false).error(), Errc::key_empty);
  EXPECT_EQ(a.error(), Errc::key_empty);
  a.reset();
  EXPECT_EQ(a.state(), TextAssembler::State::idle);
  EXPECT_TRUE(a.add(as_bytes("A=1\0"s), false));
}

TEST(TextAssembler, StateNames) {
  EXPECT_EQ(to_string(TextAssembler::State::idle), "idle");
  EXPECT_EQ(to_string(TextAssembler::State::collecting), "collecting");
  EXPECT_EQ(to_string(TextAssembler::State::failed), "failed");
}

// --- sending side ------------------------------------------------------------------------------

TEST(TextSplit, SetsCOnAllButLast) {
  const ByteVector text = bytes(kText);
  auto segments = split_text(text, 16);
  ASSERT_TRUE(segments);
  ASSERT_EQ(segments->size(), (text.size() + 15) / 16);
  ByteVector joined;
  for (std::size_t i = 0; i < segments->size(); ++i) {
    const TextSegment& s = (*segments)[i];
    EXPECT_LE(s.data.size(), 16u);
    EXPECT_EQ(s.continue_bit, i + 1 < segments->size());
    joined.insert(joined.end(), s.data.begin(), s.data.end());
  }
  EXPECT_EQ(joined, text);
}

TEST(TextSplit, FitsInOneSegment) {
  const ByteVector text = bytes(kText);
  auto segments = split_text(text, 8192);
  ASSERT_TRUE(segments);
  ASSERT_EQ(segments->size(), 1u);
  EXPECT_FALSE((*segments)[0].continue_bit);
}

TEST(TextSplit, ExactMultiple) {
  ByteVector text(1024, 'a');
  auto segments = split_text(text, 512);
  ASSERT_TRUE(segments);
  ASSERT_EQ(segments->size(), 2u);
  EXPECT_TRUE((*segments)[0].continue_bit);
  EXPECT_FALSE((*segments)[1].continue_bit);
}

TEST(TextSplit, EmptyText) {
  auto segments = split_text({}, 512);
  ASSERT_TRUE(segments);
  ASSERT_EQ(segments->size(), 1u);
  EXPECT_TRUE((*segments)[0].data.empty());
  EXPECT_FALSE((*segments)[0].continue_bit);
}

TEST(TextSplit, ZeroSegmentSize) {
  EXPECT_EQ(split_text(as_bytes("A=1\0"s), 0).error(), Errc::segment_size_zero);
}

// Splitter output fed to the assembler: the receiver sees the sender's list, at every size.
TEST(TextSplit, RoundTripThroughAssembler) {
  KeyValueList list;
  for (int i = 0; i < 50; ++i) list.push_back({"X-k" + std::to_string(i), std::string(100, 'v')});
  auto text = encode(list);
  ASSERT_TRUE(text);
  for (std::size_t size : {1u, 7u, 512u, 1000u, 8192u}) {
    auto segments = split_text(*text, size);
    ASSERT_TRUE(segments);
    TextAssembler a;
    std::optional<KeyValueList> got;
    for (const TextSegment& s : *segments) {
      auto r = a.add(s.data, s.continue_bit);
      ASSERT_TRUE(r) << r.error().message();
      if (r->has_value()) got = std::move(**r);
    }
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, list) << size;
  }
}

}  // namespace
}  // namespace iscsi::text
