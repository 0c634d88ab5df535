// Connection setup against ScriptedTarget: IPv6 and host-name portals, and a login redirect
// (0x0101) followed to the new portal.
#include <gtest/gtest.h>

#include "net/initiator.hpp"
#include "scripted_target.hpp"

namespace iscsi::net {
namespace {

SessionOptions opts() {
  SessionOptions o;
  o.login_timeout = Seconds{5};
  o.initial_login_retry_max = 0;
  o.noop_out_interval = Seconds{0};
  return o;
}

TEST(NetConnect, Ipv6Portal) {
  test::ScriptedTarget target("::1");
  Initiator ini;
  auto s = ini.login(test::ScriptedTarget::kIqn, Portal::parse("[::1]:" + std::to_string(target.port())),
                     opts());
  EXPECT_EQ(s->state_name(), "LOGGED_IN");
  s->test_unit_ready(0);
  EXPECT_EQ(s->portal().to_string(), "[::1]:" + std::to_string(target.port()));
}

TEST(NetConnect, HostNamePortal) {
  test::ScriptedTarget target("127.0.0.1");
  Initiator ini;
  // "localhost" may resolve to ::1 first: the connect walks every address it resolves to.
  auto s = ini.login(test::ScriptedTarget::kIqn,
                     Portal::parse("localhost:" + std::to_string(target.port())), opts());
  s->test_unit_ready(0);
}

TEST(NetConnect, UnknownHostFailsWithConnectFailed) {
  Initiator ini;
  try {
    ini.login(test::ScriptedTarget::kIqn, Portal::parse("no-such-host.invalid:3260"), opts());
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::connect_failed) << e.what();
  }
}

TEST(NetConnect, FollowsTemporaryRedirect) {
  test::ScriptedTarget real("127.0.0.1");
  test::ScriptedTarget redirector("127.0.0.1", real.port());
  Initiator ini;
  auto s = ini.login(test::ScriptedTarget::kIqn,
                     Portal{"127.0.0.1", redirector.port()}, opts());
  EXPECT_EQ(redirector.redirects_sent(), 1);
  EXPECT_EQ(real.logins(), 1);
  EXPECT_EQ(s->portal().port, real.port());
  bool saw = false;
  for (const auto& e : s->events()) {
    saw = saw || (e.type == EventType::login_failed &&
                  e.detail.find("target moved temporarily (0x0101)") != std::string::npos);
  }
  EXPECT_TRUE(saw);
  s->test_unit_ready(0);
}

}  // namespace
}  // namespace iscsi::net
