// Value-type parsers of RFC 7143 section 6.1: each accepted form, and each malformation with its
// specific error.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "proto/text/values.hpp"

namespace iscsi::text {
namespace {

TEST(TextValues, Boolean) {
  EXPECT_EQ(*parse_boolean("Yes"), true);
  EXPECT_EQ(*parse_boolean("No"), false);
  for (const char* bad : {"yes", "NO", "", "Yes ", "1", "True"}) {
    EXPECT_EQ(parse_boolean(bad).error(), Errc::not_boolean) << bad;
  }
  EXPECT_EQ(format_boolean(true), "Yes");
  EXPECT_EQ(format_boolean(false), "No");
}

TEST(TextValues, NumericDecimal) {
  EXPECT_EQ(*parse_numeric("0"), 0u);
  EXPECT_EQ(*parse_numeric("262144"), 262144u);
  EXPECT_EQ(*parse_numeric("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(format_numeric(8192), "8192");
}

TEST(TextValues, NumericHex) {
  EXPECT_EQ(*parse_numeric("0x200"), 512u);
  EXPECT_EQ(*parse_numeric("0X200"), 512u);
  EXPECT_EQ(*parse_numeric("0xFFFFFFFFFFFFFFFF"), UINT64_MAX);
  EXPECT_EQ(*parse_numeric("0x0000000000000000001"), 1u);  // leading zeros are harmless
  EXPECT_EQ(*parse_numeric("0xaBc"), 0xabcu);
}

TEST(TextValues, NumericBase64) {
  EXPECT_EQ(*parse_numeric("0bAgA="), 512u);  // bytes 02 00
  EXPECT_EQ(*parse_numeric("0BAQ=="), 1u);
}

TEST(TextValues, NumericErrors) {
  EXPECT_EQ(parse_numeric("").error(), Errc::numeric_empty);
  EXPECT_EQ(parse_numeric("0x").error(), Errc::numeric_empty);
  EXPECT_EQ(parse_numeric("007").error(), Errc::numeric_leading_zero);
  EXPECT_EQ(parse_numeric("12a").error(), Errc::numeric_invalid_digit);
  EXPECT_EQ(parse_numeric("-1").error(), Errc::numeric_invalid_digit);
  EXPECT_EQ(parse_numeric(" 1").error(), Errc::numeric_invalid_digit);
  EXPECT_EQ(parse_numeric("0xg").error(), Errc::numeric_invalid_digit);
  EXPECT_EQ(parse_numeric("0b!!").error(), Errc::numeric_invalid_digit);
  EXPECT_EQ(parse_numeric("0q1").error(), Errc::numeric_invalid_digit);
  EXPECT_EQ(parse_numeric("18446744073709551616").error(), Errc::numeric_overflow);
  EXPECT_EQ(parse_numeric("99999999999999999999").error(), Errc::numeric_overflow);
  EXPECT_EQ(parse_numeric("0x10000000000000000").error(), Errc::numeric_overflow);
  EXPECT_EQ(parse_numeric("0bAQEBAQEBAQEB").error(), Errc::numeric_overflow);  // 9 bytes
}

TEST(TextValues, NumericRange) {
  auto r = parse_numeric_range("2048~65535");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (NumericRange{2048, 65535}));
  EXPECT_EQ(*parse_numeric_range("0x1~0x2"), (NumericRange{1, 2}));
  EXPECT_EQ(parse_numeric_range("2048").error(), Errc::range_missing_tilde);
  EXPECT_EQ(parse_numeric_range("5~5").error(), Errc::range_not_increasing);
  EXPECT_EQ(parse_numeric_range("6~5").error(), Errc::range_not_increasing);
  EXPECT_EQ(parse_numeric_range("~5").error(), Errc::numeric_empty);
  EXPECT_EQ(parse_numeric_range("1~x").error(), Errc::numeric_invalid_digit);
}

TEST(TextValues, BinaryHex) {
  EXPECT_EQ(*parse_binary("0x00ff10"), (ByteVector{0x00, 0xff, 0x10}));
  EXPECT_EQ(*parse_binary("0XABC"), (ByteVector{0x0a, 0xbc}));  // odd: leading zero nibble
  EXPECT_EQ(parse_binary("0x").error(), Errc::binary_empty);
  EXPECT_EQ(parse_binary("0x0g").error(), Errc::binary_invalid_hex);
  EXPECT_EQ(parse_binary("0xg").error(), Errc::binary_invalid_hex);
  EXPECT_EQ(parse_binary("abc").error(), Errc::binary_missing_prefix);
  EXPECT_EQ(parse_binary("").error(), Errc::binary_missing_prefix);
}

TEST(TextValues, BinaryBase64) {
  EXPECT_EQ(*parse_binary("0bTWFu"), (ByteVector{'M', 'a', 'n'}));
  EXPECT_EQ(*parse_binary("0bTWE="), (ByteVector{'M', 'a'}));
  EXPECT_EQ(*parse_binary("0bTQ=="), (ByteVector{'M'}));
  EXPECT_EQ(*parse_binary("0bTWE"), (ByteVector{'M', 'a'}));  // unpadded accepted
  EXPECT_EQ(*parse_binary("0b+/+/"), (ByteVector{0xfb, 0xff, 0xbf}));
  EXPECT_EQ(parse_binary("0b").error(), Errc::binary_empty);
  EXPECT_EQ(parse_binary("0bT").error(), Errc::binary_invalid_base64);      // 6 bits
  EXPECT_EQ(parse_binary("0bTWE").error(), std::error_code{});
  EXPECT_EQ(parse_binary("0bTW=").error(), Errc::binary_invalid_base64);    // bad padding
  EXPECT_EQ(parse_binary("0bTQ===").error(), Errc::binary_invalid_base64);  // 3 pads
  EXPECT_EQ(parse_binary("0bT!Fu").error(), Errc::binary_invalid_base64);
  EXPECT_EQ(parse_binary("0b====").error(), Errc::binary_invalid_base64);
  EXPECT_EQ(parse_binary("0bTW=u").error(), Errc::binary_invalid_base64);   // '=' inside
}

TEST(TextValues, BinaryRoundTrip) {
  for (std::size_t n = 0; n < 40; ++n) {
    ByteVector b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 37 + 11);
    if (n > 0) {
      EXPECT_EQ(*parse_binary(format_hex(b)), b) << n;
      EXPECT_EQ(*parse_binary(format_base64(b)), b) << n;
      EXPECT_EQ(binary_decoded_length(format_hex(b)), n);
      EXPECT_EQ(binary_decoded_length(format_base64(b)), n);
    }
  }
  EXPECT_EQ(format_hex(ByteVector{0xde, 0xad}), "0xdead");
  EXPECT_EQ(format_base64(ByteVector{'M', 'a'}), "0bTWE=");
}

TEST(TextValues, BinaryDecodedLength) {
  EXPECT_EQ(binary_decoded_length("0x123"), 2u);
  EXPECT_EQ(binary_decoded_length("0bTWFu"), 3u);
  EXPECT_FALSE(binary_decoded_length("0x"));
  EXPECT_FALSE(binary_decoded_length("0xz"));
  EXPECT_FALSE(binary_decoded_length("hello"));
}

TEST(TextValues, Lists) {
  auto l = parse_list("CRC32C,None");
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0], "CRC32C");
  EXPECT_EQ((*l)[1], "None");
  EXPECT_EQ(parse_list("None")->size(), 1u);
  EXPECT_EQ(parse_list("").error(), Errc::list_empty);
  EXPECT_EQ(parse_list("a,,b").error(), Errc::list_empty_item);
  EXPECT_EQ(parse_list("a,").error(), Errc::list_empty_item);
  EXPECT_EQ(parse_list(",a").error(), Errc::list_empty_item);
  std::array<std::string_view, 3> items{"CHAP", "SRP", "None"};
  EXPECT_EQ(join_list(items), "CHAP,SRP,None");
  EXPECT_TRUE(list_contains("CHAP,None", "None"));
  EXPECT_FALSE(list_contains("CHAP,None", "Non"));
  EXPECT_FALSE(list_contains("", "None"));
}

TEST(TextValues, TextValue) {
  EXPECT_FALSE(validate_text_value("iqn.2026-11.org.example:t0[1]/x@y_z+w"));
  EXPECT_FALSE(validate_text_value(""));
  EXPECT_EQ(validate_text_value("a b"), Errc::text_value_invalid_character);
  EXPECT_EQ(validate_text_value("a,b"), Errc::text_value_invalid_character);
  EXPECT_EQ(validate_text_value("a=b"), Errc::text_value_invalid_character);
}

TEST(TextValues, IscsiNames) {
  for (const char* ok : {"iqn.2026-11.org.example:host0", "iqn.2003-01.org.linux-iscsi.lio:sn.1",
                         "IQN.1991-05.com.microsoft:win-host", "eui.02004567A425678D",
                         "naa.52004567BA64678D", "naa.62004567BA64678D0123456789ABCDEF",
                         "iqn.2001-04.com.example"}) {
    EXPECT_FALSE(validate_iscsi_name(ok)) << ok;
  }
  for (const char* bad : {"", "iqn.", "iqn.2026-13.org.x", "iqn.26-11.org.x", "iqn.2026-11",
                          "iqn.2026-11.", "iqn.2026-11.org.ex ample", "eui.1234", "eui.0200456A425678DZ",
                          "naa.1234", "foo.bar", "iqn.2026-11:org"}) {
    EXPECT_EQ(validate_iscsi_name(bad), Errc::iscsi_name_invalid) << bad;
  }
  EXPECT_EQ(validate_iscsi_name("iqn.2026-11.org.example:" + std::string(200, 'a')),
            Errc::iscsi_name_too_long);
}

TEST(TextValues, ReservedAnswers) {
  EXPECT_EQ(classify_reserved("NotUnderstood"), Reserved::not_understood);
  EXPECT_EQ(classify_reserved("Irrelevant"), Reserved::irrelevant);
  EXPECT_EQ(classify_reserved("Reject"), Reserved::reject);
  EXPECT_EQ(classify_reserved("None"), Reserved::none);
  EXPECT_EQ(classify_reserved("reject"), Reserved::none);
}

}  // namespace
}  // namespace iscsi::text
