// A misbehaving target (ScriptedTarget, once, on the next READ(16)) through the whole engine:
// each violation fails the connection with the Linux initiator's ISCSI_ERR_* code, the session
// is reinstated and the read retried, returning the right bytes. The sans-IO classification of
// each case is tested in tests/proto/session; this checks the engine's reaction end to end.
#include <gtest/gtest.h>

#include <string>

#include "net/initiator.hpp"
#include "net_test_helpers.hpp"
#include "scripted_target.hpp"

namespace iscsi::net {
namespace {

using test::event_log;
using test::has_event;
using test::wait_for;

using test::ScriptedTarget;
using Misbehave = ScriptedTarget::Misbehave;

std::optional<EventRecord> first_conn_error(const Session& s) {
  for (const auto& e : s.events()) {
    if (e.type == EventType::conn_error) return e;
  }
  return std::nullopt;
}

// Logs in, has the target misbehave on one READ(16) and returns the session after the read
// (retried after a relogin) came back right.
std::shared_ptr<Session> read_through(Initiator& ini, ScriptedTarget& target, Misbehave m) {
  SessionOptions o = test::quiet_options();
  o.replacement_timeout = Seconds{30};
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, o);
  (void)s->read_capacity(0);
  target.set_misbehave(m);
  EXPECT_EQ(s->read(100, 4, 0), ScriptedTarget::pattern(100, 2048)) << event_log(*s);
  EXPECT_EQ(s->reinstatements(), 1u) << event_log(*s);
  EXPECT_EQ(target.logins(), 2);
  return s;
}

TEST(NetMisbehave, ScriptedTargetWrongStatSnIsProtoAndTheReadIsRetried) {
  ScriptedTarget target;
  Initiator ini;
  auto s = read_through(ini, target, Misbehave::wrong_stat_sn);
  auto ce = first_conn_error(*s);
  ASSERT_TRUE(ce) << event_log(*s);
  EXPECT_EQ(ce->conn_error, ConnError::proto) << ce->detail;
  EXPECT_NE(ce->detail.find("detected conn error (8)"), std::string::npos) << ce->detail;
}

TEST(NetMisbehave, ScriptedTargetUnknownIttIsBadIttAndTheReadIsRetried) {
  ScriptedTarget target;
  Initiator ini;
  auto s = read_through(ini, target, Misbehave::unknown_itt);
  auto ce = first_conn_error(*s);
  ASSERT_TRUE(ce) << event_log(*s);
  EXPECT_EQ(ce->conn_error, ConnError::bad_itt) << ce->detail;
}

TEST(NetMisbehave, ScriptedTargetDataSnGapIsDatasnAndTheReadIsRetried) {
  ScriptedTarget target;
  Initiator ini;
  auto s = read_through(ini, target, Misbehave::datasn_gap);
  auto ce = first_conn_error(*s);
  ASSERT_TRUE(ce) << event_log(*s);
  EXPECT_EQ(ce->conn_error, ConnError::datasn) << ce->detail;
}

TEST(NetMisbehave, ScriptedTargetTruncatedPduThenCloseIsAConnectionLoss) {
  ScriptedTarget target;
  Initiator ini;
  auto s = read_through(ini, target, Misbehave::truncated_pdu);
  auto ce = first_conn_error(*s);
  ASSERT_TRUE(ce) << event_log(*s);
  EXPECT_TRUE(ce->conn_error == ConnError::tcp_conn_close ||
              ce->conn_error == ConnError::conn_failed)
      << ce->detail;
}

TEST(NetMisbehave, ScriptedTargetClosingMidDataInLosesNoBytes) {
  ScriptedTarget target;
  Initiator ini;
  auto s = read_through(ini, target, Misbehave::close_mid_data_in);
  auto ce = first_conn_error(*s);
  ASSERT_TRUE(ce) << event_log(*s);
  EXPECT_TRUE(ce->conn_error == ConnError::tcp_conn_close ||
              ce->conn_error == ConnError::conn_failed)
      << ce->detail;
}

}  // namespace
}  // namespace iscsi::net
