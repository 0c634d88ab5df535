// Connection behaviour that tgtd will not show on demand, through ScriptedTarget: a CmdSN window
// of one holds commands until a response opens it; a target's NOP-In ping is answered with its
// TTT; an immediate NOP-Out goes while the window is closed; a connection loss waits the
// negotiated DefaultTime2Wait before the relogin, and refused relogins back off; a Logout
// Response other than success fails logout() with the code in words.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "net/initiator.hpp"
#include "net_test_helpers.hpp"
#include "scripted_target.hpp"

namespace iscsi::net {
namespace {

using test::event_log;
using test::has_event;
using test::kSlack;
using test::report;
using test::wait_for;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::ScriptedTarget;

SessionOptions opts() { return test::quiet_options(); }

TEST(NetWindow, ScriptedTargetWindowOfOneHoldsCommandsUntilAResponseOpensIt) {
  ScriptedTarget target;
  target.set_window(1);  // MaxCmdSN = ExpCmdSN: one command at a time
  Initiator ini;
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  (void)s->read_capacity(0);
  std::vector<std::future<ByteVector>> reads;
  for (int i = 0; i < 6; ++i) reads.push_back(s->read_async(ScriptedTarget::kHeldLba, 1));
  ASSERT_TRUE(wait_for([&] { return target.held_now() == 1; }, 5s));
  ASSERT_TRUE(test::release_until_done(target, reads, 20s));
  for (auto& r : reads) EXPECT_EQ(r.get(), ScriptedTarget::pattern(ScriptedTarget::kHeldLba, 512));
  EXPECT_EQ(target.max_held(), 1u);  // cmds_max (128) did not bound it: the window did
  EXPECT_EQ(target.held_seen(), 6);
}

TEST(NetWindow, ScriptedTargetClosedWindowStillCarriesAnImmediatePing) {
  ScriptedTarget target;
  target.set_window(1);
  Initiator ini;
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  (void)s->read_capacity(0);
  auto held = s->read_async(ScriptedTarget::kHeldLba, 1);
  ASSERT_TRUE(wait_for([&] { return target.held_now() == 1; }, 5s));
  // The window is closed now (MaxCmdSN was the held command's CmdSN); a NOP-Out goes
  // immediate (RFC 7143 3.2.2.1) all the same.
  auto rtt = s->nop();
  EXPECT_LT(rtt, 5s);
  target.release_held();
  ASSERT_EQ(held.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(held.get(), ScriptedTarget::pattern(ScriptedTarget::kHeldLba, 512));
}

TEST(NetNop, ScriptedTargetPingIsAnsweredWithItsTtt) {
  ScriptedTarget target;
  Initiator ini;
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  ASSERT_TRUE(target.send_ping(0x4242));
  ASSERT_TRUE(wait_for([&] { return !target.ping_answers().empty(); }, 5s));
  const auto answers = target.ping_answers();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].first, 0x4242u);
  EXPECT_EQ(s->state_name(), "LOGGED_IN");
  s->test_unit_ready(0);  // the StatSN the ping did not advance is still right
}

TEST(NetRelogin, ScriptedTargetLossReloginsAfterDefaultTime2Wait) {
  ScriptedTarget target;
  Initiator ini;
  auto o = opts();
  o.iscsi.default_time2wait = 2;
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, o);
  ASSERT_EQ(s->params().default_time2wait, 2u);
  Clock::time_point dropped{};
  ASSERT_TRUE(target.drop_connection(&dropped));
  // Waits past the bound, so that a late relogin fails the bound below with its gap.
  ASSERT_TRUE(wait_for([&] { return target.accept_times().size() == 2; }, 2s + kSlack + 5s))
      << event_log(*s);
  const auto gap = target.accept_times()[1] - dropped;
  report("relogin_after_loss_time2wait_2s", gap);
  EXPECT_GE(gap, 2s);
  EXPECT_LE(gap, 2s + kSlack);
  ASSERT_TRUE(wait_for([&] { return s->reinstatements() == 1; }, 5s));
  s->test_unit_ready(0);
}

TEST(NetRelogin, ScriptedTargetFailedReloginsBackOff) {
  ScriptedTarget target;
  Initiator ini;
  auto o = opts();  // DefaultTime2Wait 0: the first relogin goes at once
  o.replacement_timeout = Seconds{30};
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, o);
  target.set_login_failures(3);  // service unavailable (0x0301), three times
  ASSERT_TRUE(target.drop_connection());
  ASSERT_TRUE(wait_for([&] { return s->reinstatements() == 1; }, 500ms + 1s + 2s + kSlack + 5s));
  const auto a = target.accept_times();
  ASSERT_EQ(a.size(), 5u);  // the login, three refused relogins, the one that worked
  report("relogins_with_backoff_0.5_1_2s", a[4] - a[1]);
  // Waits after each refusal double from 0.5 s (open-iscsi's reopen backoff is similar).
  EXPECT_GE(a[2] - a[1], 500ms);
  EXPECT_GE(a[3] - a[2], 1s);
  EXPECT_GE(a[4] - a[3], 2s);
  EXPECT_LE(a[4] - a[1], 500ms + 1s + 2s + kSlack);
  bool saw = false;
  for (const auto& e : s->events()) {
    saw = saw || (e.type == EventType::login_failed &&
                  e.detail.find("0x0301") != std::string::npos);
  }
  EXPECT_TRUE(saw);
  s->test_unit_ready(0);
}

TEST(NetLogout, ScriptedTargetLogoutFailureIsAnErrorInWords) {
  ScriptedTarget target;
  target.set_logout_response(pdu::LogoutResponseCode::cleanup_failed);
  Initiator ini;
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  try {
    s->logout();
    FAIL() << "a failed logout reported success";
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::logout_failed) << e.what();
    EXPECT_NE(std::string(e.what()).find("cleanup failed"), std::string::npos) << e.what();
  }
  // The session is over all the same: calls fail instead of hanging.
  try {
    s->test_unit_ready(0);
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::session_closed) << e.what();
  }
}

}  // namespace
}  // namespace iscsi::net
