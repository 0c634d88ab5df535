// TMF timeouts (node.session.err_timeo.*) against ScriptedTarget (the scripted, test-only
// target), which leaves a TMF unanswered on request (set_silent_tmfs(), or always for LUN
// kSilentTmfLun): ABORT TASK, ABORT TASK SET and CLEAR TASK SET fail with tmf_timeout after
// abort_timeout, TARGET WARM RESET and TARGET COLD RESET after tgt_reset_timeout, each with a
// tmf_timeout event. The timeout in test is 1 s and every other err_timeo 20 s, so a wrong
// timer shows as a miss of the bound. Then, as the Linux initiator does when a TMF of its error
// handler times out, the connection is dropped with ISCSI_ERR_SCSI_EH_SESSION_RST (21) and the
// session reinstated; a task an ABORT TASK named is retried on the new connection (the
// reinstatement ended it at the target) rather than left hanging.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <string>

#include "net/initiator.hpp"
#include "proto/pdu/pdu.hpp"
#include "net_test_helpers.hpp"
#include "scripted_target.hpp"

namespace iscsi::net {
namespace {

using test::event_log;
using test::kSlack;
using test::wait_for;
using Clock = std::chrono::steady_clock;

using namespace std::chrono_literals;

constexpr auto kTimeout = 1s;
constexpr auto kEarly = 50ms;  // the timer may not fire sooner than this before kTimeout
static_assert(kTimeout + kSlack < 20s, "a TMF timed by another err_timeo (20 s) must miss");

// The err_timeo under test at 1 s, the others at 20 s.
SessionOptions opts(bool abort, bool tgt_reset) {
  SessionOptions o = test::quiet_options();
  o.abort_timeout = abort ? Seconds{1} : Seconds{20};
  o.lu_reset_timeout = Seconds{20};
  o.tgt_reset_timeout = tgt_reset ? Seconds{1} : Seconds{20};
  return o;
}
SessionOptions abort_opts() { return opts(true, false); }
SessionOptions tgt_reset_opts() { return opts(false, true); }

struct TmfWait {
  bool ready = false;
  Clock::duration elapsed{};
  std::optional<Errc> errc;  // empty: the TMF was answered (or failed otherwise)
  std::string what;
};

// Waits up to kTimeout + kSlack for `f`, started at `t0`.
TmfWait wait_tmf(std::future<pdu::TmfResponse>& f, Clock::time_point t0) {
  TmfWait w;
  w.ready = f.wait_for(kTimeout + kSlack) == std::future_status::ready;
  w.elapsed = Clock::now() - t0;
  if (!w.ready) return w;
  try {
    w.what = "answered: " + pdu::to_string(f.get());
  } catch (const NetError& e) {
    w.errc = e.errc();
    w.what = e.what();
  } catch (const std::exception& e) {
    w.what = e.what();
  }
  return w;
}

long long ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

int count_events(const Session& s, EventType t, const std::string& text = {}) {
  int n = 0;
  for (const auto& e : s.events()) {
    n += e.type == t && e.detail.find(text) != std::string::npos;
  }
  return n;
}

// The TMF failed with tmf_timeout in [kTimeout - kEarly, kTimeout + kSlack], the target saw it,
// and one tmf_timeout event names its function.
void expect_timed_out(const TmfWait& w, const Session& s, const test::ScriptedTarget& target,
                      pdu::TmfFunction f) {
  ASSERT_TRUE(w.ready) << "no outcome after " << ms(w.elapsed) << " ms" << event_log(s);
  test::report(std::string("tmf_timeout_") + pdu::to_string(f), w.elapsed);
  EXPECT_GE(w.elapsed, kTimeout - kEarly) << ms(w.elapsed) << " ms";
  EXPECT_LE(w.elapsed, kTimeout + kSlack) << ms(w.elapsed) << " ms";
  ASSERT_TRUE(w.errc.has_value()) << w.what;
  EXPECT_EQ(*w.errc, Errc::tmf_timeout) << w.what;
  const auto seen = target.tmfs_seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], f);
  EXPECT_EQ(count_events(s, EventType::tmf_timeout, pdu::to_string(f)), 1) << event_log(s);
}

// What the engine does after a TMF timeout: drops the connection (one conn error 21), logs in
// again (a second login at the target, one reinstatement) and serves commands.
void expect_connection_dropped_and_recovered(Session& s, const test::ScriptedTarget& target) {
  ASSERT_TRUE(wait_for([&] { return s.reinstatements() == 1 && s.state_name() == "LOGGED_IN"; },
                       10s))
      << event_log(s);
  EXPECT_EQ(count_events(s, EventType::conn_error, "detected conn error (21)"), 1) << event_log(s);
  EXPECT_EQ(count_events(s, EventType::recovery_started), 1) << event_log(s);
  EXPECT_EQ(target.logins(), 2);
  EXPECT_NO_THROW(s.test_unit_ready(0)) << event_log(s);
}

// A READ(16) of kHeldLba, which the scripted target holds unanswered.
ScsiTask start_held(Session& s) {
  ScsiCommand cmd;
  cmd.cdb = {0x88, 0, 0, 0, 0, 0, 0, 0, 0xDE, 0xAD, 0, 0, 0, 1, 0, 0};
  cmd.direction = session::DataDirection::read;
  cmd.read_length = 512;
  return s.start(std::move(cmd));
}

TEST(NetTmfTimeoutScripted, UnansweredAbortTaskFailsAfterAbortTimeoutAndTheConnectionIsDropped) {
  test::ScriptedTarget target;
  Initiator ini;
  auto s = ini.login(test::ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, abort_opts());
  auto task = start_held(*s);
  ASSERT_TRUE(wait_for([&] { return target.held_now() == 1; }, 5s));
  target.set_silent_tmfs(1);
  const auto t0 = Clock::now();
  auto f = s->tmf_async(pdu::TmfFunction::abort_task, 0, task.handle);
  const TmfWait w = wait_tmf(f, t0);
  expect_timed_out(w, *s, target, pdu::TmfFunction::abort_task);
  expect_connection_dropped_and_recovered(*s, target);
  // The task the ABORT TASK named is not lost: it was retried on the new connection (where the
  // target holds it again) and completes when the target answers it.
  ASSERT_TRUE(wait_for([&] { return target.held_now() == 1; }, 5s)) << event_log(*s);
  EXPECT_EQ(task.result.wait_for(0s), std::future_status::timeout);
  target.release_held();
  ASSERT_EQ(task.result.wait_for(5s), std::future_status::ready);
  const session::ScsiResult r = task.result.get();
  EXPECT_EQ(r.status, 0x00);
  EXPECT_EQ(r.data, test::ScriptedTarget::pattern(test::ScriptedTarget::kHeldLba, 512));
}

// A TMF without a referenced task, left unanswered by the target: on LUN kSilentTmfLun (ABORT
// TASK SET, CLEAR TASK SET), or the target's next one (resets, which name no LUN).
void unanswered_tmf_times_out_and_drops_the_connection(pdu::TmfFunction f, SessionOptions o,
                                                       bool silent_lun) {
  test::ScriptedTarget target;
  Initiator ini;
  auto s = ini.login(test::ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, o);
  if (!silent_lun) target.set_silent_tmfs(1);
  const auto t0 = Clock::now();
  auto fut = s->tmf_async(f, silent_lun ? test::ScriptedTarget::kSilentTmfLun : 0);
  expect_timed_out(wait_tmf(fut, t0), *s, target, f);
  expect_connection_dropped_and_recovered(*s, target);
  if (!silent_lun) {
    // The silence was the target's one-shot: the same TMF is answered on the new connection.
    EXPECT_EQ(s->tmf_async(f).get(), pdu::TmfResponse::function_complete);
  }
}

TEST(NetTmfTimeoutScripted, UnansweredAbortTaskSetFailsAfterAbortTimeoutAndTheConnectionIsDropped) {
  unanswered_tmf_times_out_and_drops_the_connection(pdu::TmfFunction::abort_task_set,
                                                    abort_opts(), true);
}

TEST(NetTmfTimeoutScripted, UnansweredClearTaskSetFailsAfterAbortTimeoutAndTheConnectionIsDropped) {
  unanswered_tmf_times_out_and_drops_the_connection(pdu::TmfFunction::clear_task_set,
                                                    abort_opts(), true);
}

TEST(NetTmfTimeoutScripted, UnansweredTargetWarmResetFailsAfterTgtResetTimeoutAndTheConnectionIsDropped) {
  unanswered_tmf_times_out_and_drops_the_connection(pdu::TmfFunction::target_warm_reset,
                                                    tgt_reset_opts(), false);
}

TEST(NetTmfTimeoutScripted, UnansweredTargetColdResetFailsAfterTgtResetTimeoutAndTheConnectionIsDropped) {
  unanswered_tmf_times_out_and_drops_the_connection(pdu::TmfFunction::target_cold_reset,
                                                    tgt_reset_opts(), false);
}

}  // namespace
}  // namespace iscsi::net
