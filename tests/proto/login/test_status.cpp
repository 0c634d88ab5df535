// Login status classes and details: every RFC 7143 code has its name and prints in words.
#include <gtest/gtest.h>

#include "proto/login/status.hpp"

namespace iscsi::login {
namespace {

struct Named {
  std::uint16_t code;
  const char* text;
};

TEST(LoginStatus, EveryDefinedCodePrintsInWords) {
  const Named all[] = {
      {0x0000, "success (0x0000)"},
      {0x0101, "target moved temporarily (0x0101)"},
      {0x0102, "target moved permanently (0x0102)"},
      {0x0200, "initiator error (0x0200)"},
      {0x0201, "authentication failure (0x0201)"},
      {0x0202, "authorization failure (0x0202)"},
      {0x0203, "not found (0x0203)"},
      {0x0204, "target removed (0x0204)"},
      {0x0205, "unsupported version (0x0205)"},
      {0x0206, "too many connections (0x0206)"},
      {0x0207, "missing parameter (0x0207)"},
      {0x0208, "can't include in session (0x0208)"},
      {0x0209, "session type not supported (0x0209)"},
      {0x020a, "session does not exist (0x020a)"},
      {0x020b, "invalid during login (0x020b)"},
      {0x0300, "target error (0x0300)"},
      {0x0301, "service unavailable (0x0301)"},
      {0x0302, "out of resources (0x0302)"},
  };
  for (const Named& n : all) {
    const LoginStatus s = LoginStatus::from_code(n.code);
    EXPECT_EQ(to_string(s), n.text);
    ASSERT_TRUE(s.known()) << n.text;
    EXPECT_EQ(static_cast<std::uint16_t>(*s.known()), n.code);
    EXPECT_EQ(s.code(), n.code);
  }
  EXPECT_EQ(to_string(LoginStatusCode::authentication_failure), "authentication failure (0x0201)");
}

TEST(LoginStatus, UndefinedDetailsPrintWithTheirClass) {
  EXPECT_EQ(to_string(LoginStatus::from_code(0x02ff)), "unknown initiator error (0x02ff)");
  EXPECT_EQ(to_string(LoginStatus::from_code(0x0303)), "unknown target error (0x0303)");
  EXPECT_EQ(to_string(LoginStatus::from_code(0x0103)), "unknown redirection (0x0103)");
  EXPECT_EQ(to_string(LoginStatus::from_code(0x0700)), "unknown status class (0x0700)");
  EXPECT_FALSE(LoginStatus::from_code(0x020c).known());
}

TEST(LoginStatus, TemporaryAndPermanent) {
  EXPECT_TRUE(LoginStatus::from(LoginStatusCode::service_unavailable).is_temporary_failure());
  EXPECT_TRUE(LoginStatus::from(LoginStatusCode::out_of_resources).is_temporary_failure());
  EXPECT_TRUE(LoginStatus::from(LoginStatusCode::target_error).is_temporary_failure());
  EXPECT_FALSE(LoginStatus::from(LoginStatusCode::authentication_failure).is_temporary_failure());
  EXPECT_FALSE(LoginStatus::from(LoginStatusCode::not_found).is_temporary_failure());
  EXPECT_FALSE(LoginStatus::from(LoginStatusCode::target_moved_temporarily).is_permanent_redirect());
  EXPECT_TRUE(LoginStatus::from(LoginStatusCode::target_moved_permanently).is_permanent_redirect());
  EXPECT_TRUE(LoginStatus::from(LoginStatusCode::success).is_success());
  EXPECT_TRUE(LoginStatus::from(LoginStatusCode::target_moved_permanently).is_redirect());
}

TEST(LoginStatus, FromResponse) {
  pdu::LoginResponse rsp;
  rsp.status_class = pdu::LoginStatusClass::initiator_error;
  rsp.status_detail = 0x06;
  EXPECT_EQ(LoginStatus::of(rsp), LoginStatus::from(LoginStatusCode::too_many_connections));
}

TEST(LoginStatus, ClassNames) {
  EXPECT_EQ(class_name(pdu::LoginStatusClass::success), "success");
  EXPECT_EQ(class_name(pdu::LoginStatusClass::redirection), "redirection");
  EXPECT_EQ(class_name(pdu::LoginStatusClass::initiator_error), "initiator error");
  EXPECT_EQ(class_name(pdu::LoginStatusClass::target_error), "target error");
}

}  // namespace
}  // namespace iscsi::login
