// Async Messages from a target (RFC 7143 11.9), which tgtd does not send on demand, through
// ScriptedTarget: a logout request makes the initiator log out and log in again; a SCSI async
// event with REPORTED LUNS DATA HAS CHANGED is recorded and starts a rescan.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "net/initiator.hpp"
#include "proto/pdu/pdu.hpp"
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

SessionOptions opts() { return test::quiet_options(); }

TEST(NetAsync, LogoutRequestLogsOutAndLogsInAgain) {
  test::ScriptedTarget target;
  Initiator ini;
  auto s = ini.login(test::ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  ASSERT_EQ(target.logins(), 1);
  pdu::AsyncMessage m;
  m.async_event = pdu::AsyncEvent::logout_request;
  m.parameter3 = 5;  // logout within 5 s
  ASSERT_TRUE(target.send_async(m));
  ASSERT_TRUE(wait_for([&] { return target.logins() == 2; }, 10s))
      << "logins " << target.logins() << ", logouts " << target.logouts() << event_log(*s);
  EXPECT_EQ(target.logouts(), 1);
  ASSERT_TRUE(wait_for([&] { return s->state() == session::SessionState::logged_in; }, 5s));
  EXPECT_TRUE(has_event(*s, EventType::async_event));
  s->test_unit_ready(0);
}

TEST(NetAsync, ScsiAsyncEventLunsChangedTriggersRescan) {
  test::ScriptedTarget target;
  Initiator ini;
  auto s = ini.login(test::ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  auto first = s->rescan();
  ASSERT_EQ(first.luns.size(), 1u);
  const int seen = target.report_luns_seen();
  target.set_luns({0, 1});
  pdu::AsyncMessage m;
  m.async_event = pdu::AsyncEvent::scsi_async_event;
  // Fixed-format sense: UNIT ATTENTION, REPORTED LUNS DATA HAS CHANGED (3F/0E).
  ByteVector sense(18, 0);
  sense[0] = 0x70;
  sense[2] = 0x06;
  sense[7] = 10;
  sense[12] = 0x3F;
  sense[13] = 0x0E;
  m.data = pdu::make_sense_data(sense);
  ASSERT_TRUE(target.send_async(m));
  ASSERT_TRUE(wait_for([&] { return has_event(*s, EventType::luns_changed); }, 5s));
  ASSERT_TRUE(wait_for([&] { return target.report_luns_seen() > seen; }, 5s));
  // The engine's rescan ran: the next one reports nothing new.
  ASSERT_TRUE(wait_for(
      [&] {
        int rescans = 0;
        for (const auto& e : s->events()) rescans += e.type == EventType::rescan;
        return rescans >= 2;
      },
      5s));
  auto again = s->rescan();
  EXPECT_EQ(again.luns.size(), 2u);
  EXPECT_TRUE(again.added.empty());
  bool engine_saw_added = false;
  for (const auto& e : s->events()) {
    engine_saw_added = engine_saw_added || (e.type == EventType::rescan &&
                                            e.detail.find("1 added") != std::string::npos);
  }
  EXPECT_TRUE(engine_saw_added);
}

TEST(NetAsync, CapacityChangedEventRescansAndReportsTheResize) {
  test::ScriptedTarget target;
  Initiator ini;
  auto s = ini.login(test::ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  EXPECT_EQ(s->rescan().luns.at(0).capacity.blocks, 2048u);
  target.set_blocks(4096);
  pdu::AsyncMessage m;
  m.async_event = pdu::AsyncEvent::scsi_async_event;
  ByteVector sense(18, 0);  // UNIT ATTENTION, CAPACITY DATA HAS CHANGED (2A/09)
  sense[0] = 0x70;
  sense[2] = 0x06;
  sense[7] = 10;
  sense[12] = 0x2A;
  sense[13] = 0x09;
  m.data = pdu::make_sense_data(sense);
  ASSERT_TRUE(target.send_async(m));
  ASSERT_TRUE(wait_for(
      [&] {
        for (const auto& e : s->events()) {
          if (e.type == EventType::rescan && e.detail.find("1 resized") != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      5s));
  EXPECT_TRUE(has_event(*s, EventType::capacity_changed));
  EXPECT_EQ(s->read_capacity(0).blocks, 4096u);
}

}  // namespace
}  // namespace iscsi::net

namespace iscsi::net {
namespace {

TEST(NetTmf, AbortTaskEndsAnOutstandingCommand) {
  test::ScriptedTarget target;
  Initiator ini;
  auto s = ini.login(test::ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  (void)s->read_capacity(0);  // block length for the READ(16) below
  ScsiCommand cmd;
  cmd.lun = 0;
  cmd.cdb = {0x88, 0, 0, 0, 0, 0, 0, 0, 0xDE, 0xAD, 0, 0, 0, 1, 0, 0};
  cmd.direction = session::DataDirection::read;
  cmd.read_length = 512;
  auto task = s->start(std::move(cmd));
  ASSERT_TRUE(wait_for([&] { return target.held_now() == 1; }, 5s)) << event_log(*s);
  EXPECT_EQ(task.result.wait_for(0s), std::future_status::timeout);  // the target holds it
  EXPECT_EQ(s->abort_task(task.handle, 0), pdu::TmfResponse::function_complete);
  ASSERT_EQ(task.result.wait_for(5s), std::future_status::ready);
  try {
    task.result.get();
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::task_aborted) << e.what();
  }
  s->test_unit_ready(0);
}

TEST(NetTmf, UnansweredLunResetTimesOutAfterLuResetTimeout) {
  test::ScriptedTarget target;
  Initiator ini;
  auto o = opts();
  o.lu_reset_timeout = Seconds{1};
  auto s = ini.login(test::ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, o);
  const auto t0 = std::chrono::steady_clock::now();
  auto f = s->tmf_async(pdu::TmfFunction::logical_unit_reset, test::ScriptedTarget::kSilentTmfLun);
  ASSERT_EQ(f.wait_for(o.lu_reset_timeout + kSlack), std::future_status::ready);
  const auto took = std::chrono::steady_clock::now() - t0;
  report("lu_reset_timeout", took);
  EXPECT_GE(took, o.lu_reset_timeout);
  try {
    f.get();
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::tmf_timeout) << e.what();
  }
  bool saw = false;
  for (const auto& e : s->events()) saw = saw || e.type == EventType::tmf_timeout;
  EXPECT_TRUE(saw);
}

}  // namespace
}  // namespace iscsi::net

namespace iscsi::net {
namespace {

TEST(NetReject, RejectedCommandFailsWithWordsAndTheSessionGoesOn) {
  test::ScriptedTarget target;
  Initiator ini;
  auto s = ini.login(test::ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  ScsiCommand cmd;
  cmd.cdb = {test::ScriptedTarget::kRejectedOpcode, 0, 0, 0, 0, 0};
  try {
    (void)s->scsi(cmd);
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::task_rejected) << e.what();
  }
  EXPECT_TRUE(has_event(*s, EventType::reject));
  EXPECT_EQ(s->stats().rjt_pdus, 1u);
  s->test_unit_ready(0);
  EXPECT_EQ(s->state_name(), "LOGGED_IN");
}

}  // namespace
}  // namespace iscsi::net
