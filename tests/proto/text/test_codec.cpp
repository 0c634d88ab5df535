// The key=value codec: round trips, grind (streaming decoder fed every split), and one test per
// malformation with its specific error and diagnostic.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "proto/text/codec.hpp"
#include "support/grind.hpp"

namespace iscsi::text {
namespace {

using namespace std::string_literals;

ByteVector bytes(std::string_view s) { return ByteVector(s.begin(), s.end()); }

// A typical LIO login response (operational stage).
const std::string kLoginResponse =
    "TargetPortalGroupTag=1\0"
    "HeaderDigest=None\0"
    "DataDigest=None\0"
    "DefaultTime2Wait=2\0"
    "DefaultTime2Retain=0\0"
    "IFMarker=No\0"
    "OFMarker=No\0"
    "ErrorRecoveryLevel=0\0"
    "InitialR2T=Yes\0"
    "ImmediateData=Yes\0"
    "MaxBurstLength=262144\0"
    "FirstBurstLength=65536\0"
    "MaxOutstandingR2T=1\0"
    "DataPDUInOrder=Yes\0"
    "DataSequenceInOrder=Yes\0"
    "MaxRecvDataSegmentLength=262144\0"
    "TargetAlias=LIO Target\0"s;

Result<KeyValueList> decode_str(const std::string& s, const TextOptions& o = {},
                                TextDiagnostic* d = nullptr) {
  return decode(as_bytes(s), o, d);
}

TEST(TextCodec, DecodesTypicalLoginResponse) {
  auto list = decode_str(kLoginResponse);
  ASSERT_TRUE(list) << list.error().message();
  ASSERT_EQ(list->size(), 17u);
  EXPECT_EQ((*list)[0], (KeyValue{"TargetPortalGroupTag", "1"}));
  EXPECT_EQ((*list)[16], (KeyValue{"TargetAlias", "LIO Target"}));
  EXPECT_EQ(find_value(*list, "MaxBurstLength"), "262144");
  EXPECT_EQ(find(*list, "NoSuchKey"), nullptr);
}

TEST(TextCodec, EmptyTextIsEmptyList) {
  auto list = decode(ByteSpan{});
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
}

TEST(TextCodec, ValueIsEverythingAfterTheFirstEquals) {
  auto list = decode_str("X-com.example.k=a=b=c\0"s);
  ASSERT_TRUE(list);
  EXPECT_EQ((*list)[0].value, "a=b=c");
}

TEST(TextCodec, EmptyValueIsAllowed) {
  auto list = decode_str("SendTargets=\0"s);
  ASSERT_TRUE(list);
  EXPECT_EQ((*list)[0], (KeyValue{"SendTargets", ""}));
}

TEST(TextCodec, RoundTrip) {
  KeyValueList in = {{"InitiatorName", "iqn.2026-11.org.example:host0"},
                     {"SessionType", "Normal"},
                     {"X#NodeArchitecture", "iscsi-lab,0.1"},
                     {"iSCSIProtocolLevel", "2"},
                     {"CHAP_C", "0x" + std::string(2048, 'a')},
                     {"TargetAlias", "caf\xc3\xa9 disk"},
                     {"SendTargets", ""}};
  auto encoded = encode(in);
  ASSERT_TRUE(encoded) << encoded.error().message();
  EXPECT_EQ(encoded->size(), encoded_size(in));
  auto out = decode(*encoded);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(*out, in);
}

TEST(TextCodec, EncodeProducesNulTerminatedPairs) {
  auto encoded = encode({{"A", "1"}, {"B", ""}});
  ASSERT_TRUE(encoded);
  EXPECT_EQ(*encoded, bytes("A=1\0B=\0"s));
}

// The streaming decoder gives the same pairs whatever way the text is cut.
TEST(TextCodec, GrindStreamingDecoder) {
  const ByteVector text = bytes(kLoginResponse);
  const auto whole = decode(text);
  ASSERT_TRUE(whole);
  test::grind_splits(text, [&](const test::Pieces& pieces) {
    Decoder decoder;
    ByteVector pending;
    for (ByteSpan piece : pieces) {
      pending.insert(pending.end(), piece.begin(), piece.end());
      auto used = decoder.put(pending);
      ASSERT_TRUE(used) << used.error().message();
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(*used));
    }
    auto list = decoder.finish(pending);
    ASSERT_TRUE(list) << list.error().message();
    EXPECT_EQ(*list, *whole);
  });
}

// The same malformed text fails with the same error however it is cut.
TEST(TextCodec, GrindMalformedGivesSameError) {
  for (const std::string& bad : {"A=1\0b c=2\0"s, "A=1\0=2\0"s, "A=1\0B\0"s, "A=1\0B=2"s,
                                 "A=1\0\0B=2\0"s, "A=1\0A=2\0"s}) {
    const ByteVector text = bytes(bad);
    const auto whole = decode(text);
    ASSERT_FALSE(whole);
    test::grind_splits(text, [&](const test::Pieces& pieces) {
      Decoder decoder;
      ByteVector pending;
      std::error_code ec;
      for (ByteSpan piece : pieces) {
        pending.insert(pending.end(), piece.begin(), piece.end());
        auto used = decoder.put(pending);
        if (!used) {
          ec = used.error();
          break;
        }
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(*used));
      }
      if (!ec) ec = decoder.finish(pending).error();
      EXPECT_EQ(ec, whole.error()) << "input " << ::testing::PrintToString(bad);
    });
  }
}

// --- one test per malformation -------------------------------------------------------------

TEST(TextCodecMalformed, EmptyKey) {
  TextDiagnostic d;
  auto r = decode_str("A=1\0=2\0"s, {}, &d);
  EXPECT_EQ(r.error(), Errc::key_empty);
  EXPECT_EQ(d.offset, 4u);
  EXPECT_EQ(d.pair_index, 1u);
}

TEST(TextCodecMalformed, MissingEquals) {
  TextDiagnostic d;
  auto r = decode_str("HeaderDigest=None\0DataDigest\0"s, {}, &d);
  EXPECT_EQ(r.error(), Errc::missing_equals);
  EXPECT_EQ(d.key, "DataDigest");
  EXPECT_EQ(d.pair_index, 1u);
}

TEST(TextCodecMalformed, KeyTooLong) {
  std::string key(64, 'K');
  EXPECT_EQ(decode_str(key + "=1\0"s).error(), Errc::key_too_long);
  std::string ok(63, 'K');
  EXPECT_TRUE(decode_str(ok + "=1\0"s));
}

TEST(TextCodecMalformed, KeyInvalidCharacter) {
  EXPECT_EQ(decode_str("Header Digest=None\0"s).error(), Errc::key_invalid_character);
  EXPECT_EQ(decode_str("Key/1=2\0"s).error(), Errc::key_invalid_character);
  EXPECT_EQ(decode_str("A#B=2\0"s).error(), Errc::key_invalid_character);  // # only in "X#"
}

TEST(TextCodecMalformed, KeyAllowsTheRfcCharacters) {
  auto r = decode_str("X-com.example.a+b@c_d-9=1\0X#NodeArchitecture=x\0"s);
  EXPECT_TRUE(r) << r.error().message();
}

TEST(TextCodecMalformed, KeyMustStartWithLetter) {
  EXPECT_EQ(decode_str("1Key=2\0"s).error(), Errc::key_must_start_with_letter);
  EXPECT_EQ(decode_str(".Key=2\0"s).error(), Errc::key_must_start_with_letter);
}

TEST(TextCodecMalformed, UnterminatedPair) {
  TextDiagnostic d;
  auto r = decode_str("A=1\0MaxBurstLength=262144"s, {}, &d);
  EXPECT_EQ(r.error(), Errc::unterminated_pair);
  EXPECT_EQ(d.key, "MaxBurstLength");
  EXPECT_EQ(d.offset, 4u);
}

TEST(TextCodecMalformed, UnterminatedPairWithoutEquals) {
  EXPECT_EQ(decode_str("A=1\0Max"s).error(), Errc::unterminated_pair);
}

TEST(TextCodecMalformed, DuplicateKey) {
  TextDiagnostic d;
  auto r = decode_str("A=1\0B=2\0A=3\0"s, {}, &d);
  EXPECT_EQ(r.error(), Errc::duplicate_key);
  EXPECT_EQ(d.key, "A");
  EXPECT_EQ(d.pair_index, 2u);
  EXPECT_EQ(d.offset, 8u);
}

TEST(TextCodecMalformed, DuplicateKeyInALongList) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "K" + std::to_string(i) + "=v" + '\0';
  text += "K17=again"s + '\0';
  TextDiagnostic d;
  EXPECT_EQ(decode_str(text, {}, &d).error(), Errc::duplicate_key);
  EXPECT_EQ(d.key, "K17");
  EXPECT_EQ(d.pair_index, 40u);
}

TEST(TextCodecMalformed, DuplicatesAllowedWhenAsked) {
  TextOptions o;
  o.allow_duplicate_keys = true;
  EXPECT_TRUE(decode_str("TargetName=a\0TargetName=b\0"s, o));
}

TEST(TextCodecMalformed, ValueTooLong) {
  EXPECT_EQ(decode_str("TargetAlias=" + std::string(256, 'a') + '\0').error(),
            Errc::value_too_long);
  EXPECT_TRUE(decode_str("TargetAlias=" + std::string(255, 'a') + '\0'));
}

TEST(TextCodecMalformed, ListItemsAreMeasuredOneByOne) {
  // 255 + ',' + 255: each item is within the limit.
  EXPECT_TRUE(decode_str("X-k=" + std::string(255, 'a') + "," + std::string(255, 'b') + '\0'));
  EXPECT_EQ(decode_str("X-k=a," + std::string(256, 'b') + '\0').error(), Errc::value_too_long);
}

TEST(TextCodecMalformed, BinaryValueMeasuredDecoded) {
  // 1024 bytes as hex: 2050 characters, accepted.
  EXPECT_TRUE(decode_str("CHAP_C=0x" + std::string(2048, 'f') + '\0'));
  // 1025 bytes: too long.
  EXPECT_EQ(decode_str("CHAP_C=0x" + std::string(2050, 'f') + '\0').error(),
            Errc::binary_value_too_long);
  // base64: 1024 bytes = 1368 digits with "==" padding... 1026 bytes = 1368 digits exactly.
  EXPECT_EQ(decode_str("CHAP_C=0b" + std::string(1368, 'A') + '\0').error(),
            Errc::binary_value_too_long);
  EXPECT_TRUE(decode_str("CHAP_C=0b" + std::string(1364, 'A') + '\0'));  // 1023 bytes
  // A long value that only looks binary is measured as text.
  EXPECT_EQ(decode_str("X-k=0x" + std::string(300, 'g') + '\0').error(), Errc::value_too_long);
}

TEST(TextCodecMalformed, InvalidUtf8) {
  EXPECT_EQ(decode_str("TargetAlias=\xff\0"s).error(), Errc::value_invalid_utf8);
  EXPECT_EQ(decode_str("TargetAlias=\xc3\0"s).error(), Errc::value_invalid_utf8);      // cut
  EXPECT_EQ(decode_str("TargetAlias=\xc0\xaf\0"s).error(), Errc::value_invalid_utf8);  // overlong
  EXPECT_EQ(decode_str("TargetAlias=\xed\xa0\x80\0"s).error(), Errc::value_invalid_utf8);
  TextOptions o;
  o.require_utf8 = false;
  EXPECT_TRUE(decode_str("TargetAlias=\xff\0"s, o));
}

TEST(TextCodecMalformed, TextTooLong) {
  TextOptions o;
  o.max_text_length = 16;
  EXPECT_EQ(decode_str("A=1234567890\0B=123\0"s, o).error(), Errc::text_too_long);
  EXPECT_TRUE(decode_str("A=1234567890\0B=\0"s, o));  // exactly 16 bytes
}

TEST(TextCodecMalformed, TrailingNulsTolerated) {
  auto r = decode_str("A=1\0\0\0\0"s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 1u);
}

TEST(TextCodecMalformed, TrailingNulsRejectedWhenStrict) {
  TextOptions o;
  o.allow_trailing_nuls = false;
  EXPECT_EQ(decode_str("A=1\0\0"s, o).error(), Errc::key_empty);
}

TEST(TextCodecMalformed, EmptyPairBetweenPairs) {
  TextDiagnostic d;
  EXPECT_EQ(decode_str("A=1\0\0B=2\0"s, {}, &d).error(), Errc::key_empty);
  EXPECT_EQ(d.offset, 4u);
}

TEST(TextCodecMalformed, NulOnly) {
  TextOptions strict;
  strict.allow_trailing_nuls = false;
  EXPECT_EQ(decode_str("\0"s, strict).error(), Errc::key_empty);
  EXPECT_TRUE(decode_str("\0"s));
}

TEST(TextCodecMalformed, DecoderErrorsAreSticky) {
  Decoder decoder;
  auto first = decoder.put(as_bytes("1=2\0"s));
  ASSERT_FALSE(first);
  EXPECT_EQ(decoder.put(as_bytes("A=1\0"s)).error(), Errc::key_must_start_with_letter);
  EXPECT_EQ(decoder.finish().error(), Errc::key_must_start_with_letter);
  decoder.reset();
  EXPECT_TRUE(decoder.put(as_bytes("A=1\0"s)));
}

TEST(TextCodecMalformed, PartialKeyErrorsReportedEarly) {
  Decoder decoder;
  // No NUL yet, but the key already has a space: certain to be wrong.
  EXPECT_EQ(decoder.put(as_bytes("Bad Key"s)).error(), Errc::key_invalid_character);
}

// --- encoder validation ------------------------------------------------------------------------

TEST(TextEncode, RejectsNulInValue) {
  TextDiagnostic d;
  EXPECT_EQ(encode({{"A", "1"}, {"B", "x\0y"s}}, {}, &d).error(), Errc::value_contains_nul);
  EXPECT_EQ(d.pair_index, 1u);
  EXPECT_EQ(d.key, "B");
}

TEST(TextEncode, RejectsBadKeys) {
  EXPECT_EQ(encode({{"", "1"}}).error(), Errc::key_empty);
  EXPECT_EQ(encode({{"A=B", "1"}}).error(), Errc::key_invalid_character);
  EXPECT_EQ(encode({{std::string(64, 'A'), "1"}}).error(), Errc::key_too_long);
}

TEST(TextEncode, RejectsDuplicatesUnlessAllowed) {
  KeyValueList list = {{"TargetName", "a"}, {"TargetName", "b"}};
  EXPECT_EQ(encode(list).error(), Errc::duplicate_key);
  TextOptions o;
  o.allow_duplicate_keys = true;
  EXPECT_TRUE(encode(list, o));
}

TEST(TextEncode, RejectsTooLongText) {
  TextOptions o;
  o.max_text_length = 8;
  EXPECT_EQ(encode({{"A", "1234567"}}, o).error(), Errc::text_too_long);
}

TEST(TextEncode, AppendsToExistingBuffer) {
  ByteVector out = bytes("X");
  ASSERT_FALSE(encode_to({{"A", "1"}}, out));
  EXPECT_EQ(out, bytes("XA=1\0"s));
}

TEST(KeyValueHelpers, FindSetContains) {
  KeyValueList list;
  set(list, "A", "1");
  set(list, "B", "2");
  set(list, "A", "3");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(find_value(list, "A"), "3");
  EXPECT_TRUE(contains(list, "B"));
  EXPECT_FALSE(contains(list, "C"));
  EXPECT_FALSE(find_value(list, "C"));
}

TEST(TextErrors, CategoryAndMessages) {
  std::error_code ec = Errc::duplicate_key;
  EXPECT_STREQ(ec.category().name(), "iscsi.text");
  EXPECT_EQ(ec.message(), "the same key appears twice in one text");
  for (int i = 1; i <= static_cast<int>(Errc::unexpected_key); ++i) {
    EXPECT_NE(describe(static_cast<Errc>(i)), "unknown text error") << i;
  }
}

}  // namespace
}  // namespace iscsi::text
