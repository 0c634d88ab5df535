// CHAP building blocks: algorithm numbers and names, open-iscsi's chap_algs setting, the
// response digest against known answers computed independently (Python hashlib), and the hex /
// base64 / number encodings of CHAP values.
#include <gtest/gtest.h>

#include <string>

#include "proto/auth/chap.hpp"
#include "support/hex.hpp"

namespace iscsi::auth {
namespace {

using test::from_hex;

TEST(ChapAlgorithm, NumbersMatchLioAndOpenIscsi) {
  // LIO iscsi_target_auth.h CHAP_DIGEST_*, open-iscsi ISCSI_AUTH_CHAP_ALG_*.
  EXPECT_EQ(chap_a_value(ChapAlgorithm::md5), 5u);
  EXPECT_EQ(chap_a_value(ChapAlgorithm::sha1), 6u);
  EXPECT_EQ(chap_a_value(ChapAlgorithm::sha256), 7u);
  EXPECT_EQ(chap_a_value(ChapAlgorithm::sha3_256), 8u);
  EXPECT_EQ(algorithm_from_chap_a(7), ChapAlgorithm::sha256);
  EXPECT_FALSE(algorithm_from_chap_a(4));
  EXPECT_FALSE(algorithm_from_chap_a(9));
  EXPECT_FALSE(algorithm_from_chap_a(0x105));  // not truncated to a byte
}

TEST(ChapAlgorithm, NamesAndDigestSizes) {
  EXPECT_EQ(to_string(ChapAlgorithm::md5), "MD5");
  EXPECT_EQ(to_string(ChapAlgorithm::sha1), "SHA1");
  EXPECT_EQ(to_string(ChapAlgorithm::sha256), "SHA256");
  EXPECT_EQ(to_string(ChapAlgorithm::sha3_256), "SHA3-256");
  EXPECT_EQ(digest_size(ChapAlgorithm::md5), 16u);
  EXPECT_EQ(digest_size(ChapAlgorithm::sha1), 20u);
  EXPECT_EQ(digest_size(ChapAlgorithm::sha256), 32u);
  EXPECT_EQ(digest_size(ChapAlgorithm::sha3_256), 32u);
}

TEST(ChapAlgs, ParsesOpenIscsiSetting) {
  auto list = parse_chap_algs("SHA3-256,SHA256,SHA1,MD5");
  ASSERT_TRUE(list) << list.error().message();
  EXPECT_EQ(*list, (ChapAlgorithmList{ChapAlgorithm::sha3_256, ChapAlgorithm::sha256,
                                      ChapAlgorithm::sha1, ChapAlgorithm::md5}));
  EXPECT_EQ(format_chap_a_list(*list), "8,7,6,5");
  EXPECT_EQ(*list, default_chap_algorithms());
}

TEST(ChapAlgs, ToleratesCaseAndBlanks) {
  auto list = parse_chap_algs(" sha256 , md5");
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, (ChapAlgorithmList{ChapAlgorithm::sha256, ChapAlgorithm::md5}));
  auto single = parse_chap_algs("MD5");
  ASSERT_TRUE(single);
  EXPECT_EQ(format_chap_a_list(*single), "5");
}

TEST(ChapAlgs, RefusesEmpty) {
  EXPECT_EQ(parse_chap_algs("").error(), Errc::empty_algorithm_list);
  EXPECT_EQ(parse_chap_algs("  ").error(), Errc::empty_algorithm_list);
}

TEST(ChapAlgs, RefusesUnknownNames) {
  EXPECT_EQ(parse_chap_algs("SHA512").error(), Errc::unknown_algorithm_name);
  EXPECT_EQ(parse_chap_algs("SHA256,").error(), Errc::unknown_algorithm_name);
  EXPECT_EQ(parse_chap_algs("SHA-256").error(), Errc::unknown_algorithm_name);
  EXPECT_EQ(parse_chap_algs("5").error(), Errc::unknown_algorithm_name);
}

TEST(ChapAlgs, RefusesDuplicates) {
  EXPECT_EQ(parse_chap_algs("MD5,SHA1,md5").error(), Errc::duplicate_algorithm);
}

// Expected values from /usr/bin/python3:
//   hashlib.new(h, bytes([id]) + secret + challenge).hexdigest()
struct Kat {
  ChapAlgorithm algorithm;
  std::uint8_t id;
  const char* secret;
  const char* challenge_hex;
  const char* response_hex;
};

constexpr const char* kChallenge32 =
    "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f";
constexpr const char* kChallengeFF = "ffffffffffffffffffffffffffffffff";

const Kat kKats[] = {
    {ChapAlgorithm::md5, 0x5a, "abcdefghijkl", kChallenge32, "61289f57fb0d5e92d6cadbe344d4759a"},
    {ChapAlgorithm::sha1, 0x5a, "abcdefghijkl", kChallenge32,
     "1fb7dc7425a5c52fde80df2df22aff029287c1ec"},
    {ChapAlgorithm::sha256, 0x5a, "abcdefghijkl", kChallenge32,
     "334e495474d6f16024d8ac990280a5b2f9a722399643301ebc4eecf52089eaa0"},
    {ChapAlgorithm::sha3_256, 0x5a, "abcdefghijkl", kChallenge32,
     "57d107dd815921823854a2d9e70c54266f335ead51f4f0ab23b06281412b2e67"},
    {ChapAlgorithm::md5, 0, "s3cr3t-initiator", kChallengeFF, "5fb7da0200f6a799de97fa0bde26dab1"},
    {ChapAlgorithm::sha1, 0, "s3cr3t-initiator", kChallengeFF,
     "608a9cf2058025013165a74e89111a175d255faa"},
    {ChapAlgorithm::sha256, 0, "s3cr3t-initiator", kChallengeFF,
     "c640f68407a33ada44f791663868b8f8bc7663109063f409b0b5fbefff1e81da"},
    {ChapAlgorithm::sha3_256, 0, "s3cr3t-initiator", kChallengeFF,
     "411c6c010d85de9a1ce661929dde46bfe4cdd01781c167ef3017a9d81981ec83"},
};

TEST(ChapResponse, KnownAnswersForEveryAlgorithm) {
  for (const Kat& kat : kKats) {
    SCOPED_TRACE(std::string(to_string(kat.algorithm)) + " id " + std::to_string(kat.id));
    auto r = chap_response(kat.algorithm, kat.id, Secret(std::string_view(kat.secret)),
                           from_hex(kat.challenge_hex));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, from_hex(kat.response_hex));
    EXPECT_EQ(r->size(), digest_size(kat.algorithm));
  }
}

TEST(ChapResponse, IdentifierSecretAndChallengeAllMatter) {
  const auto challenge = from_hex(kChallenge32);
  const Secret secret(std::string_view("abcdefghijkl"));
  auto base = chap_response(ChapAlgorithm::sha256, 1, secret, challenge);
  auto other_id = chap_response(ChapAlgorithm::sha256, 2, secret, challenge);
  auto other_secret =
      chap_response(ChapAlgorithm::sha256, 1, Secret(std::string_view("abcdefghijkm")), challenge);
  auto other_challenge = chap_response(ChapAlgorithm::sha256, 1, secret, from_hex(kChallengeFF));
  ASSERT_TRUE(base && other_id && other_secret && other_challenge);
  EXPECT_NE(*base, *other_id);
  EXPECT_NE(*base, *other_secret);
  EXPECT_NE(*base, *other_challenge);
}

TEST(BinaryValue, DecodesHexEitherCase) {
  auto v = decode_binary_value("0x00aBcD");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, from_hex("00abcd"));
  auto upper = decode_binary_value("0X0102");
  ASSERT_TRUE(upper);
  EXPECT_EQ(*upper, from_hex("0102"));
}

TEST(BinaryValue, OddHexDigitCountHasImpliedLeadingZero) {
  // RFC 7143 6.1: n hex digits encode (n+1)/2 bytes.
  auto v = decode_binary_value("0xabc");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, from_hex("0abc"));
}

TEST(BinaryValue, DecodesBase64) {
  auto v = decode_binary_value("0bEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8=");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, from_hex(kChallenge32));
  auto one = decode_binary_value("0BAQ==");
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, from_hex("01"));
  auto two = decode_binary_value("0bAQI=");
  ASSERT_TRUE(two);
  EXPECT_EQ(*two, from_hex("0102"));
  auto text = decode_binary_value("0baGVsbG8gd29ybGQhIQ==");
  ASSERT_TRUE(text);
  EXPECT_EQ(as_chars(*text), "hello world!!");
}

TEST(BinaryValue, EncodesHexAndBase64AndRoundTrips) {
  const auto bytes = from_hex(kChallenge32);
  EXPECT_EQ(encode_hex_value(bytes), std::string("0x") + kChallenge32);
  EXPECT_EQ(encode_base64_value(bytes), "0bEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8=");
  for (std::size_t n = 0; n < 40; ++n) {
    ByteVector v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 37 + n);
    if (n > 0) {
      auto from_hex_value = decode_binary_value(encode_hex_value(v));
      ASSERT_TRUE(from_hex_value);
      EXPECT_EQ(*from_hex_value, v);
      auto from_b64 = decode_binary_value(encode_base64_value(v));
      ASSERT_TRUE(from_b64) << encode_base64_value(v);
      EXPECT_EQ(*from_b64, v);
    }
  }
}

TEST(BinaryValue, RefusesMalformed) {
  for (const char* bad : {"", "0", "0x", "0b", "1234", "abcd", "0xzz", "0x12 ", "0x-1",
                          "0bAQ=", "0bA===", "0bAQ==AQI=", "0bAB=C", "0b@@@@", "0z12"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(decode_binary_value(bad).error(), Errc::malformed_binary_value);
  }
}

TEST(Number, DecimalAndHex) {
  EXPECT_EQ(parse_number("0").value, 0u);
  EXPECT_EQ(parse_number("255").value, 255u);
  EXPECT_EQ(parse_number("0x1f").value, 31u);
  EXPECT_EQ(parse_number("007").kind, ParsedNumber::Kind::malformed);  // RFC 7143 6.1: no leading zeros
  EXPECT_EQ(parse_number("0X1F").value, 31u);
  EXPECT_EQ(parse_number("18446744073709551615").kind, ParsedNumber::Kind::ok);
  EXPECT_EQ(parse_number("18446744073709551616").kind, ParsedNumber::Kind::too_large);
  EXPECT_EQ(parse_number("0x10000000000000000").kind, ParsedNumber::Kind::too_large);
  for (const char* bad : {"", "-1", "+1", "1a", "0x", "0xg", " 1", "1,2"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(parse_number(bad).kind, ParsedNumber::Kind::malformed);
  }
}

TEST(AuthErrc, NamesTheAreaAndDescribesEveryCode) {
  std::error_code ec = Errc::challenge_reflected;
  EXPECT_STREQ(ec.category().name(), "iscsi.auth");
  EXPECT_NE(ec.message().find("reflection"), std::string::npos);
  for (int v = 1; v <= static_cast<int>(Errc::out_of_order); ++v) {
    EXPECT_NE(describe(static_cast<Errc>(v)), "unknown auth error") << v;
  }
}

}  // namespace
}  // namespace iscsi::auth
