// Login redirects (RFC 7143 11.13.5) through ScriptedTarget, and what later logins of the same
// session do: a temporary redirect (0x0101) answers one login, so a relogin after a connection
// loss asks the configured portal again; a permanent one (0x0102) moves the session for good,
// so relogins go straight to the new portal (open-iscsi updates the node record's portal then).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "net/initiator.hpp"
#include "net_test_helpers.hpp"
#include "scripted_target.hpp"

namespace iscsi::net {
namespace {

using test::event_log;
using test::has_event;
using test::wait_for;

using namespace std::chrono_literals;
using test::ScriptedTarget;

SessionOptions opts() { return test::quiet_options(); }

bool saw_login_failed(const Session& s, const std::string& text) {
  for (const auto& e : s.events()) {
    if (e.type == EventType::login_failed && e.detail.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(NetRedirect, ScriptedTargetTemporaryRedirectAnswersOneLoginOnly) {
  ScriptedTarget real;
  ScriptedTarget redirector("127.0.0.1", real.port());
  Initiator ini;
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", redirector.port()}, opts());
  EXPECT_TRUE(saw_login_failed(*s, "target moved temporarily (0x0101)"));
  EXPECT_EQ(s->portal().port, real.port());
  ASSERT_TRUE(real.drop_connection());
  ASSERT_TRUE(wait_for([&] { return real.logins() == 2; }, 10s));
  // The relogin asked the configured portal first and was redirected again.
  EXPECT_EQ(redirector.redirects_sent(), 2);
  ASSERT_TRUE(wait_for([&] { return s->state() == session::SessionState::logged_in; }, 5s));
  EXPECT_EQ(s->portal().port, real.port());
  EXPECT_EQ(s->reinstatements(), 1u);
  s->test_unit_ready(0);
}

TEST(NetRedirect, ScriptedTargetPermanentRedirectMovesEveryLaterLogin) {
  ScriptedTarget real;
  ScriptedTarget redirector("127.0.0.1", real.port());
  redirector.set_redirect_permanent(true);
  Initiator ini;
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", redirector.port()}, opts());
  EXPECT_TRUE(saw_login_failed(*s, "target moved permanently (0x0102)"));
  EXPECT_EQ(s->portal().port, real.port());
  ASSERT_TRUE(real.drop_connection());
  ASSERT_TRUE(wait_for([&] { return real.logins() == 2; }, 10s));
  EXPECT_EQ(redirector.redirects_sent(), 1);  // the relogin went straight to the new portal
  ASSERT_TRUE(wait_for([&] { return s->state() == session::SessionState::logged_in; }, 5s));
  EXPECT_EQ(s->portal().port, real.port());
  s->test_unit_ready(0);
}

}  // namespace
}  // namespace iscsi::net
