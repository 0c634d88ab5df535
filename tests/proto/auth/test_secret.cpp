// Secret: holds its bytes, moves but does not copy, and never prints them.
#include <gtest/gtest.h>

#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "proto/auth/chap.hpp"
#include "proto/auth/secret.hpp"

namespace iscsi::auth {
namespace {

template <class T>
concept Streamable = requires(std::ostream& os, const T& t) { os << t; };

template <class T>
concept HasToString = requires(const T& t) { to_string(t); };

TEST(Secret, CannotBeStreamedOrConvertedToString) {
  static_assert(!Streamable<Secret>);
  static_assert(!HasToString<Secret>);
  static_assert(!std::is_convertible_v<Secret, std::string>);
  static_assert(!std::is_convertible_v<Secret, std::string_view>);
  static_assert(!std::is_copy_constructible_v<Secret>);
  static_assert(!std::is_copy_assignable_v<Secret>);
  static_assert(std::is_nothrow_move_constructible_v<Secret>);
  static_assert(std::is_nothrow_move_assignable_v<Secret>);
  // Not implicitly constructible from text either: a password never becomes a Secret by accident.
  static_assert(!std::is_convertible_v<std::string_view, Secret>);
}

TEST(Secret, PrintsAsMaskInTestOutput) {
  const Secret s(std::string_view("hunter2-hunter2"));
  const std::string printed = ::testing::PrintToString(s);
  EXPECT_EQ(printed, "********");
  EXPECT_EQ(printed.find("hunter2"), std::string::npos);
}

TEST(Secret, CredentialsPrintedByGoogleTestDoNotShowTheSecret) {
  ChapCredentials c{"iqn.2026-11.org.example:host0", Secret(std::string_view("hunter2-hunter2"))};
  const std::string printed = ::testing::PrintToString(c);
  EXPECT_EQ(printed.find("hunter2"), std::string::npos);
}

TEST(Secret, RevealGivesTheBytes) {
  const Secret s(std::string_view("abc"));
  ASSERT_EQ(s.size(), 3u);
  EXPECT_FALSE(s.empty());
  EXPECT_EQ(as_chars(s.reveal()), "abc");
  const std::uint8_t raw[] = {0, 1, 0xff};
  const Secret b{ByteSpan(raw)};
  EXPECT_EQ(b.size(), 3u);
  EXPECT_EQ(b.reveal()[2], 0xff);
}

TEST(Secret, MoveLeavesSourceEmpty) {
  Secret a(std::string_view("abcdef"));
  Secret b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(as_chars(b.reveal()), "abcdef");
  Secret c(std::string_view("other"));
  c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(as_chars(c.reveal()), "abcdef");
}

TEST(Secret, CloneIsExplicitAndIndependent) {
  Secret a(std::string_view("abcdef"));
  Secret b = a.clone();
  EXPECT_TRUE(a.same_as(b));
  EXPECT_NE(a.reveal().data(), b.reveal().data());
  a.clear();
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(as_chars(b.reveal()), "abcdef");
}

TEST(Secret, SameAsComparesContentAndLength) {
  EXPECT_TRUE(Secret(std::string_view("abc")).same_as(Secret(std::string_view("abc"))));
  EXPECT_FALSE(Secret(std::string_view("abc")).same_as(Secret(std::string_view("abd"))));
  EXPECT_FALSE(Secret(std::string_view("abc")).same_as(Secret(std::string_view("abcd"))));
  EXPECT_TRUE(Secret().same_as(Secret()));
}

TEST(Secret, ClearWipesInPlaceBeforeRelease) {
  // clear() is what the destructor runs (OPENSSL_cleanse, then release). The wipe itself is not
  // observable without reading freed memory; what is checked is that nothing stays reachable.
  Secret s(std::string_view("wipe-me"));
  s.clear();
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.reveal().data(), nullptr);
}

}  // namespace
}  // namespace iscsi::auth
