#include <gtest/gtest.h>

#include "proto/common/serial.hpp"

namespace iscsi {
namespace {

using S = SerialNumber;

TEST(SerialNumber, OrdinaryComparisons) {
  EXPECT_LT(S(1), S(2));
  EXPECT_GT(S(2), S(1));
  EXPECT_EQ(S(7), S(7));
  EXPECT_LE(S(7), S(7));
  EXPECT_FALSE(S(7) < S(7));
}

TEST(SerialNumber, WrapAroundFollowsRfc1982) {
  EXPECT_LT(S(0xFFFFFFFFu), S(0));
  EXPECT_LT(S(0xFFFFFFF0u), S(5));
  EXPECT_GT(S(5), S(0xFFFFFFF0u));
  EXPECT_LT(S(0x7FFFFFFFu), S(0x80000000u));
  EXPECT_EQ(S(0xFFFFFFFFu) + 1, S(0));
}

TEST(SerialNumber, ExactlyHalfTheSpaceApartIsUnordered) {
  const S a(0), b(0x80000000u);
  EXPECT_FALSE(a < b);
  EXPECT_FALSE(a > b);
  EXPECT_FALSE(a == b);
  EXPECT_EQ(a <=> b, std::partial_ordering::unordered);
}

TEST(SerialNumber, Distance) {
  EXPECT_EQ(S::distance(S(10), S(15)), 5);
  EXPECT_EQ(S::distance(S(15), S(10)), -5);
  EXPECT_EQ(S::distance(S(0xFFFFFFFEu), S(1)), 3);
}

TEST(SerialNumber, WindowIncludesBothEndsAndWraps) {
  EXPECT_TRUE(S(5).in_window(S(5), S(9)));
  EXPECT_TRUE(S(9).in_window(S(5), S(9)));
  EXPECT_FALSE(S(10).in_window(S(5), S(9)));
  EXPECT_FALSE(S(4).in_window(S(5), S(9)));
  EXPECT_TRUE(S(1).in_window(S(0xFFFFFFFEu), S(3)));
  EXPECT_FALSE(S(4).in_window(S(0xFFFFFFFEu), S(3)));
  // MaxCmdSN = ExpCmdSN - 1 is a closed window (RFC 7143 section 4.2.2.1): nothing fits.
  EXPECT_FALSE(S(5).in_window(S(5), S(4)));
}

TEST(SerialNumber, IncrementOperators) {
  S s(0xFFFFFFFFu);
  EXPECT_EQ(s++, S(0xFFFFFFFFu));
  EXPECT_EQ(s, S(0));
  EXPECT_EQ(++s, S(1));
  s += 10;
  EXPECT_EQ(s.value(), 11u);
}

}  // namespace
}  // namespace iscsi
