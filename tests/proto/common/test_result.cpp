#include <gtest/gtest.h>

#include <string>

#include "proto/common/error.hpp"
#include "proto/common/result.hpp"

namespace demo {
enum class Errc { ok = 0, too_short = 1, bad_field = 2 };
inline const char* category_name(Errc) noexcept { return "iscsi.demo"; }
inline std::string_view describe(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::too_short: return "input too short";
    case Errc::bad_field: return "bad field";
  }
  return "unknown";
}
using iscsi::make_error_code;
}  // namespace demo
ISCSI_DECLARE_ERROR_ENUM(demo::Errc)

namespace iscsi {
namespace {

Result<int> parse(bool good) {
  if (!good) return demo::Errc::too_short;
  return 42;
}

TEST(Result, CarriesValueOrError) {
  auto ok = parse(true);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 42);
  EXPECT_FALSE(ok.error());

  auto bad = parse(false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), demo::Errc::too_short);
  EXPECT_NE(bad.error(), demo::Errc::bad_field);
}

TEST(Result, ErrorCodesNameTheAreaAndSayWhatWasWrong) {
  std::error_code ec = demo::Errc::bad_field;
  EXPECT_STREQ(ec.category().name(), "iscsi.demo");
  EXPECT_EQ(ec.message(), "bad field");
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace iscsi
