// The session and connection state machines: every legal transition, illegal ones sticky, and
// open-iscsi's state names.
#include <gtest/gtest.h>

#include "proto/session/connection_state.hpp"
#include "proto/session/errc.hpp"
#include "proto/session/session_state.hpp"

namespace iscsi::session {
namespace {

TEST(SessionStateMachine, NamesFollowOpenIscsi) {
  EXPECT_EQ(to_string(SessionState::logged_in), "LOGGED_IN");
  EXPECT_EQ(to_string(SessionState::failed), "FAILED");
  EXPECT_EQ(to_string(SessionState::free), "FREE");
  EXPECT_EQ(to_string(SessionState::in_recovery), "IN_RECOVERY");
  EXPECT_EQ(to_string(SessionState::recovery_failed), "RECOVERY_FAILED");
  EXPECT_EQ(to_string(SessionState::logging_out), "LOGGING_OUT");
  EXPECT_EQ(to_string(SessionState::terminate), "TERMINATE");
  EXPECT_EQ(to_string(ConnState::cleanup_wait), "CLEANUP_WAIT");
  EXPECT_EQ(to_string(ConnState::logout_requested), "LOGOUT_REQUESTED");
}

TEST(SessionStateMachine, LoginFailRecoverLogout) {
  SessionStateMachine m;
  EXPECT_EQ(m.state(), SessionState::free);
  EXPECT_FALSE(m.on(SessionEvent::login_complete));
  EXPECT_EQ(m.state(), SessionState::logged_in);
  EXPECT_FALSE(m.on(SessionEvent::conn_failed));
  EXPECT_EQ(m.state(), SessionState::failed);
  EXPECT_FALSE(m.on(SessionEvent::recovery_started));
  EXPECT_EQ(m.state(), SessionState::in_recovery);
  EXPECT_FALSE(m.on(SessionEvent::login_complete));
  EXPECT_FALSE(m.on(SessionEvent::logout_started));
  EXPECT_EQ(m.state(), SessionState::logging_out);
  EXPECT_FALSE(m.on(SessionEvent::logout_failed));
  EXPECT_EQ(m.state(), SessionState::logged_in);
  EXPECT_FALSE(m.on(SessionEvent::logout_started));
  EXPECT_FALSE(m.on(SessionEvent::logout_complete));
  EXPECT_EQ(m.state(), SessionState::free);
  EXPECT_FALSE(m.errored());
}

TEST(SessionStateMachine, RecoveryTimeoutThenRelogin) {
  SessionStateMachine m;
  ASSERT_FALSE(m.on(SessionEvent::login_complete));
  ASSERT_FALSE(m.on(SessionEvent::conn_failed));
  ASSERT_FALSE(m.on(SessionEvent::recovery_timeout));
  EXPECT_EQ(m.state(), SessionState::recovery_failed);
  ASSERT_FALSE(m.on(SessionEvent::login_complete));
  EXPECT_EQ(m.state(), SessionState::logged_in);
}

TEST(SessionStateMachine, IllegalEventIsStickyError) {
  SessionStateMachine m;
  EXPECT_EQ(m.on(SessionEvent::conn_failed), make_error_code(Errc::illegal_transition));
  EXPECT_TRUE(m.errored());
  EXPECT_EQ(m.state(), SessionState::free);
  // Even a legal event now fails.
  EXPECT_EQ(m.on(SessionEvent::login_complete), make_error_code(Errc::illegal_transition));
  EXPECT_EQ(m.state(), SessionState::free);
}

TEST(SessionStateMachine, TableRejectsEveryUnlistedPair) {
  // Spot checks across the table.
  SessionState out{};
  EXPECT_FALSE(next_session_state(SessionState::free, SessionEvent::logout_started, out));
  EXPECT_FALSE(next_session_state(SessionState::logged_in, SessionEvent::login_complete, out));
  EXPECT_FALSE(next_session_state(SessionState::logged_in, SessionEvent::recovery_timeout, out));
  EXPECT_FALSE(next_session_state(SessionState::terminate, SessionEvent::login_complete, out));
  EXPECT_FALSE(next_session_state(SessionState::free, SessionEvent::terminate, out));
  EXPECT_TRUE(next_session_state(SessionState::failed, SessionEvent::terminate, out));
  EXPECT_EQ(out, SessionState::terminate);
}

TEST(ConnStateMachine, LogoutAndFailurePaths) {
  ConnStateMachine c;
  EXPECT_FALSE(c.usable());
  ASSERT_FALSE(c.on(ConnEvent::logged_in));
  EXPECT_TRUE(c.usable());
  ASSERT_FALSE(c.on(ConnEvent::logout_requested));
  EXPECT_TRUE(c.usable());
  ASSERT_FALSE(c.on(ConnEvent::logout_sent));
  EXPECT_EQ(c.state(), ConnState::in_logout);
  EXPECT_FALSE(c.usable());
  ASSERT_FALSE(c.on(ConnEvent::logout_refused));
  EXPECT_EQ(c.state(), ConnState::logged_in);
  ASSERT_FALSE(c.on(ConnEvent::failed));
  EXPECT_EQ(c.state(), ConnState::cleanup_wait);
  ASSERT_FALSE(c.on(ConnEvent::cleaned_up));
  EXPECT_EQ(c.state(), ConnState::free);
}

TEST(ConnStateMachine, IllegalEventIsStickyError) {
  ConnStateMachine c;
  EXPECT_EQ(c.on(ConnEvent::logout_response), make_error_code(Errc::illegal_transition));
  EXPECT_EQ(c.on(ConnEvent::logged_in), make_error_code(Errc::illegal_transition));
  EXPECT_EQ(c.state(), ConnState::free);
}

TEST(SessionErrc, CategoryAndWords) {
  const std::error_code ec = Errc::connection_failed;
  EXPECT_STREQ(ec.category().name(), "iscsi.session");
  EXPECT_FALSE(ec.message().empty());
  EXPECT_EQ(to_string(Errc::unknown_task), "unknown_task");
}

}  // namespace
}  // namespace iscsi::session
