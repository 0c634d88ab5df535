// NOP both ways (with exact simulated time), task management, async messages, reject, logout,
// SendTargets with continuation, residuals and sense, and ERL 0 recovery (retry list).
#include <gtest/gtest.h>

#include "fake_target.hpp"

namespace iscsi::session::test {
namespace {

using namespace std::chrono_literals;

std::size_t count(const std::vector<Event>& evs, EventKind kind) {
  std::size_t n = 0;
  for (const auto& e : evs) n += e.kind == kind ? 1 : 0;
  return n;
}
const Event* find(const std::vector<Event>& evs, EventKind kind) {
  for (const auto& e : evs) {
    if (e.kind == kind) return &e;
  }
  return nullptr;
}

ScsiRequest tur() {
  ScsiRequest r;
  r.cdb = cdb_bytes(scsi::test_unit_ready());
  return r;
}

// --- NOP -------------------------------------------------------------------------------------

TEST(SessionNop, SilentTargetTimesOutAtExactlyIntervalPlusTimeout) {
  const TimePoint t0 = TimePoint{} + 1000s;
  Pair pair(FakeTargetConfig{}, t0);
  pair.target.silent = true;
  // Defaults: noop_out_interval 5 s, noop_out_timeout 5 s.
  ASSERT_EQ(pair.session.next_deadline(), t0 + 5s);
  pair.advance(5s - 1ns);
  EXPECT_FALSE(pair.session.has_pdu(Pair::kCid));
  pair.advance(1ns);
  ASSERT_TRUE(pair.session.has_pdu(Pair::kCid));
  auto ping = pair.session.pop_pdu(Pair::kCid);
  ASSERT_TRUE(ping);
  EXPECT_EQ(std::get<pdu::NopOut>(*ping).ttt, pdu::kReservedTag);
  EXPECT_TRUE(std::get<pdu::NopOut>(*ping).immediate);
  EXPECT_NE(std::get<pdu::NopOut>(*ping).itt, pdu::kReservedTag);
  ASSERT_EQ(pair.session.next_deadline(), t0 + 10s);
  pair.advance(5s - 1ns);
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
  pair.advance(1ns);
  EXPECT_EQ(pair.now, t0 + 10s);
  EXPECT_EQ(pair.session.state(), SessionState::failed);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::nop_timedout);
  auto evs = pair.events();
  EXPECT_EQ(count(evs, EventKind::nop_timeout), 1u);
  ASSERT_NE(find(evs, EventKind::conn_error), nullptr);
  EXPECT_EQ(find(evs, EventKind::conn_error)->conn_error, ConnError::nop_timedout);
  EXPECT_EQ(pair.session.stats().timeout_err, 1u);
  EXPECT_EQ(pair.session.stats().noptx_pdus, 1u);
  EXPECT_TRUE(pair.completions().empty());  // the internal ping completes no user task
}

TEST(SessionNop, AnsweredPingKeepsTheConnectionAndReArms) {
  const TimePoint t0{};
  Pair pair(FakeTargetConfig{}, t0);
  pair.advance(5s);
  pair.pump();  // ping out, NOP-In back at t0+5s
  EXPECT_EQ(pair.session.next_deadline(), t0 + 10s);
  pair.advance(5s);
  pair.pump();
  pair.advance(5s);
  pair.pump();
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
  EXPECT_EQ(pair.session.stats().noptx_pdus, 3u);
  EXPECT_EQ(pair.session.stats().noprx_pdus, 3u);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

TEST(SessionNop, TrafficPostponesThePing) {
  const TimePoint t0{};
  Pair pair(FakeTargetConfig{}, t0);
  pair.advance(4s);
  ASSERT_TRUE(pair.session.submit(tur(), pair.now));
  pair.pump();  // response received at t0+4s
  EXPECT_EQ(pair.session.next_deadline(), t0 + 9s);
}

TEST(SessionNop, ZeroIntervalDisablesPings) {
  FakeTargetConfig cfg;
  Pair pair(cfg);
  auto sc = make_session_config(cfg);
  sc.noop_out_interval = Duration::zero();
  pair.session = Session(sc, pair.now);
  EXPECT_FALSE(pair.session.next_deadline());
  pair.advance(1h);
  EXPECT_FALSE(pair.session.has_pdu(Pair::kCid));
}

TEST(SessionNop, TargetPingIsAnsweredEchoingTtt) {
  Pair pair;
  pair.target.send_ping(0x1234, 0x0001000000000000ull);
  pair.pump();
  ASSERT_EQ(pair.target.nop_replies.size(), 1u);
  EXPECT_EQ(pair.target.nop_replies[0], 0x1234u);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
}

TEST(SessionNop, UserPingTimesOutWithoutFailingTheConnection) {
  Pair pair;
  pair.target.silent = true;
  auto id = pair.session.ping(pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  pair.advance(5s);
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::timed_out);
}

// --- task management -----------------------------------------------------------------------------

struct TmfCase {
  pdu::TmfFunction function;
  std::vector<int> aborted;  // which of the three tasks (0,1 on LUN 0; 2 on LUN 1)
};

class SessionTmf : public ::testing::TestWithParam<TmfCase> {};

TEST_P(SessionTmf, CompletesAndAbortsTheAffectedTasks) {
  const TmfCase& tc = GetParam();
  Pair pair;
  pair.target.hold_commands = true;
  const std::uint64_t lun1 = 0x0001000000000000ull;
  std::vector<TaskId> ids;
  for (int i = 0; i < 3; ++i) {
    ScsiRequest r = read_request(0, 512);
    r.lun = i == 2 ? lun1 : 0;
    auto id = pair.session.submit(r, pair.now);
    ASSERT_TRUE(id);
    ids.push_back(*id);
  }
  pair.pump();
  TmfRequest req;
  req.function = tc.function;
  req.lun = 0;
  if (tc.function == pdu::TmfFunction::abort_task) req.referenced = ids[1];
  auto tmf = pair.session.submit_tmf(req, pair.now);
  ASSERT_TRUE(tmf);
  pair.pump();
  ASSERT_EQ(pair.target.tmfs.size(), 1u);
  const auto& sent = pair.target.tmfs[0];
  EXPECT_TRUE(sent.immediate);
  EXPECT_EQ(sent.function, tc.function);
  if (tc.function == pdu::TmfFunction::abort_task) {
    EXPECT_EQ(sent.referenced_task_tag, pair.target.commands[1].itt);
    EXPECT_EQ(sent.ref_cmd_sn, pair.target.commands[1].cmd_sn);
  } else {
    EXPECT_EQ(sent.referenced_task_tag, pdu::kReservedTag);
  }
  auto done = pair.completions();
  std::vector<int> aborted;
  bool tmf_done = false;
  for (const auto& c : done) {
    if (c.id == *tmf) {
      tmf_done = true;
      EXPECT_EQ(c.tmf_response, pdu::TmfResponse::function_complete);
      continue;
    }
    EXPECT_EQ(c.outcome, TaskOutcome::aborted);
    for (int i = 0; i < 3; ++i) {
      if (ids[static_cast<std::size_t>(i)] == c.id) aborted.push_back(i);
    }
  }
  EXPECT_TRUE(tmf_done);
  std::sort(aborted.begin(), aborted.end());
  EXPECT_EQ(aborted, tc.aborted);
  EXPECT_EQ(pair.session.outstanding(), 3u - tc.aborted.size());
  EXPECT_EQ(pair.session.stats().tmfcmd_pdus, 1u);
  EXPECT_EQ(pair.session.stats().tmfrsp_pdus, 1u);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

INSTANTIATE_TEST_SUITE_P(
    Functions, SessionTmf,
    ::testing::Values(TmfCase{pdu::TmfFunction::abort_task, {1}},
                      TmfCase{pdu::TmfFunction::abort_task_set, {0, 1}},
                      TmfCase{pdu::TmfFunction::clear_task_set, {0, 1}},
                      TmfCase{pdu::TmfFunction::logical_unit_reset, {0, 1}},
                      TmfCase{pdu::TmfFunction::target_warm_reset, {0, 1, 2}},
                      TmfCase{pdu::TmfFunction::target_cold_reset, {0, 1, 2}}));

TEST(SessionTmfMisc, TimeoutIsAnEvent) {
  Pair pair;
  pair.target.hold_tmf = true;
  TmfRequest req;
  req.function = pdu::TmfFunction::logical_unit_reset;
  req.timeout = 30s;
  auto id = pair.session.submit_tmf(req, pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  pair.advance(30s - 1ns);
  EXPECT_TRUE(pair.completions().empty());
  pair.advance(1ns);
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::timed_out);
  auto evs = pair.events();
  ASSERT_NE(find(evs, EventKind::tmf_timeout), nullptr);
  EXPECT_EQ(find(evs, EventKind::tmf_timeout)->task, *id);
  EXPECT_EQ(pair.session.stats().timeout_err, 1u);
}

TEST(SessionTmfMisc, TimeoutDropsTheConnectionAndKeepsTheNamedTaskForRetry) {
  // As the Linux initiator: an unanswered TMF is ISCSI_ERR_SCSI_EH_SESSION_RST (21) on its
  // connection; the task the ABORT TASK named is not lost but retried after reinstatement.
  Pair pair;
  pair.target.hold_commands = true;
  pair.target.hold_tmf = true;
  auto read = pair.session.submit(read_request(0, 1024), pair.now);
  ASSERT_TRUE(read);
  pair.pump();
  TmfRequest req;
  req.function = pdu::TmfFunction::abort_task;
  req.referenced = *read;
  req.timeout = 10s;
  auto tmf = pair.session.submit_tmf(req, pair.now);
  ASSERT_TRUE(tmf);
  pair.pump();
  pair.advance(10s - 1ns);
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
  pair.advance(1ns);
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, *tmf);
  EXPECT_EQ(done[0].outcome, TaskOutcome::timed_out);
  auto evs = pair.events();
  ASSERT_NE(find(evs, EventKind::conn_error), nullptr);
  EXPECT_EQ(find(evs, EventKind::conn_error)->conn_error, ConnError::scsi_eh_session_rst);
  EXPECT_EQ(pair.session.state(), SessionState::failed);
  EXPECT_EQ(pair.session.retry_list(), std::vector<TaskId>{*read});
}

TEST(SessionTmfMisc, TaskDoesNotExistLeavesTasksAlone) {
  Pair pair;
  pair.target.hold_commands = true;
  pair.target.tmf_response = pdu::TmfResponse::task_does_not_exist;
  auto id = pair.session.submit(tur(), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  TmfRequest req;
  req.referenced = *id;
  ASSERT_TRUE(pair.session.submit_tmf(req, pair.now));
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].tmf_response, pdu::TmfResponse::task_does_not_exist);
  EXPECT_EQ(pair.session.outstanding(), 1u);
}

TEST(SessionTmfMisc, AbortOfAnUnsentTaskIsLocal) {
  FakeTargetConfig cfg;
  cfg.window = 0;
  Pair pair(cfg);
  auto id = pair.session.submit(tur(), pair.now);
  ASSERT_TRUE(id);
  TmfRequest req;
  req.referenced = *id;
  ASSERT_TRUE(pair.session.submit_tmf(req, pair.now));
  pair.pump();
  EXPECT_TRUE(pair.target.tmfs.empty());
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::aborted);
  EXPECT_EQ(done[1].tmf_response, pdu::TmfResponse::function_complete);
  // The window opening later sends nothing for the aborted task.
  pair.target.set_window(4);
  pair.target.send_window_update();
  pair.pump();
  EXPECT_TRUE(pair.target.commands.empty());
}

TEST(SessionTmfMisc, AbortUnknownTaskIsRefused) {
  Pair pair;
  TmfRequest req;
  req.referenced = 999;
  EXPECT_EQ(pair.session.submit_tmf(req, pair.now).error(), make_error_code(Errc::unknown_task));
}

// --- async messages ------------------------------------------------------------------------------

TEST(SessionAsync, LogoutRequestRecordsTimeAndAllowsLogout) {
  Pair pair;
  pair.target.send_async(pdu::AsyncEvent::logout_request, 0, 0, 30);
  pair.pump();
  auto evs = pair.events();
  const Event* e = find(evs, EventKind::async_message);
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->async);
  EXPECT_EQ(e->async->async_event, pdu::AsyncEvent::logout_request);
  EXPECT_EQ(pair.session.async_requests().logout_within_s, 30);
  EXPECT_EQ(pair.session.connection_state(Pair::kCid), ConnState::logout_requested);
  ASSERT_TRUE(pair.session.logout(pdu::LogoutReason::close_session, pair.now));
  pair.pump();
  EXPECT_EQ(pair.session.state(), SessionState::free);
}

TEST(SessionAsync, ConnectionAndSessionDropRecordParameters) {
  Pair pair;
  pair.target.send_async(pdu::AsyncEvent::connection_drop, Pair::kCid, 4, 40);
  pair.target.send_async(pdu::AsyncEvent::session_drop, 0, 3, 30);
  pair.target.send_async(pdu::AsyncEvent::negotiation_request, 0, 0, 12);
  pair.target.send_async(pdu::AsyncEvent::task_termination, 0, 0, 0);
  pair.pump();
  const auto& req = pair.session.async_requests();
  ASSERT_TRUE(req.connection_drop);
  EXPECT_EQ(req.connection_drop->parameter1, Pair::kCid);
  EXPECT_EQ(req.connection_drop->parameter2, 4);
  EXPECT_EQ(req.connection_drop->parameter3, 40);
  ASSERT_TRUE(req.session_drop);
  EXPECT_EQ(req.session_drop->parameter2, 3);
  EXPECT_EQ(req.session_drop->parameter3, 30);
  EXPECT_EQ(req.negotiate_within_s, 12);
  EXPECT_EQ(count(pair.events(), EventKind::async_message), 4u);
  EXPECT_EQ(pair.session.stats().async_pdus, 4u);
}

TEST(SessionAsync, ScsiAsyncEventWithCapacityChangedSense) {
  Pair pair;
  ByteVector sense = scsi::build_fixed_sense(scsi::SenseKey::unit_attention, 0x2A, 0x09);
  pair.target.send_async(pdu::AsyncEvent::scsi_async_event, 0, 0, 0,
                         pdu::make_sense_data(sense));
  pair.pump();
  auto evs = pair.events();
  const Event* a = find(evs, EventKind::async_message);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->sense);
  EXPECT_TRUE(a->sense->is(scsi::SenseKey::unit_attention, 0x2A, 0x09));
  const Event* cap = find(evs, EventKind::capacity_changed);
  ASSERT_NE(cap, nullptr);
  EXPECT_EQ(cap->sense->asc, 0x2A);
}

TEST(SessionAsync, CheckConditionSenseIsDecodedAndLunChangeNoticed) {
  Pair pair;
  pair.target.pending_sense = scsi::build_fixed_sense(scsi::SenseKey::unit_attention, 0x3F, 0x0E);
  auto id = pair.session.submit(tur(), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].scsi.status, 0x02);
  ASSERT_TRUE(done[0].scsi.sense);
  EXPECT_EQ(done[0].scsi.sense->key, scsi::SenseKey::unit_attention);
  EXPECT_EQ(done[0].scsi.sense_raw.size(), 18u);
  auto evs = pair.events();
  const Event* e = find(evs, EventKind::luns_changed);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->task, *id);
}

// --- reject --------------------------------------------------------------------------------------

TEST(SessionReject, RejectedCommandFailsItsTask) {
  Pair pair;
  pair.target.hold_commands = true;
  auto id = pair.session.submit(tur(), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  pair.target.send_reject(pdu::RejectReason::invalid_pdu_field, pair.target.last_command_header());
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, *id);
  EXPECT_EQ(done[0].outcome, TaskOutcome::rejected);
  auto evs = pair.events();
  const Event* e = find(evs, EventKind::reject);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->reject_reason, pdu::RejectReason::invalid_pdu_field);
  EXPECT_EQ(e->rejected_opcode, static_cast<std::uint8_t>(pdu::Opcode::scsi_command));
  EXPECT_EQ(e->rejected_itt, pair.target.commands[0].itt);
  EXPECT_EQ(e->task, *id);
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
  EXPECT_EQ(pair.session.stats().rjt_pdus, 1u);
}

TEST(SessionReject, DataDigestRejectLeavesTheTask) {
  Pair pair;
  pair.target.hold_commands = true;
  ASSERT_TRUE(pair.session.submit(tur(), pair.now));
  pair.pump();
  pair.target.send_reject(pdu::RejectReason::data_digest_error, pair.target.last_command_header());
  pair.pump();
  EXPECT_TRUE(pair.completions().empty());
  EXPECT_EQ(count(pair.events(), EventKind::reject), 1u);
}

TEST(SessionReject, ShortRejectIsStillAnEvent) {
  Pair pair;
  pair.target.send_reject(pdu::RejectReason::protocol_error, ByteVector(10));
  pair.pump();
  auto evs = pair.events();
  const Event* e = find(evs, EventKind::reject);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->rejected_itt, pdu::kReservedTag);
}

// --- logout --------------------------------------------------------------------------------------

TEST(SessionLogout, CloseSession) {
  FakeTargetConfig cfg;
  cfg.time2wait = 3;
  cfg.time2retain = 25;
  Pair pair(cfg);
  auto id = pair.session.logout(pdu::LogoutReason::close_session, pair.now);
  ASSERT_TRUE(id);
  EXPECT_EQ(pair.session.state(), SessionState::logging_out);
  EXPECT_EQ(pair.session.submit(tur(), pair.now).error(),
            make_error_code(Errc::logout_in_progress));
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].kind, TaskKind::logout);
  EXPECT_EQ(done[0].logout.response, pdu::LogoutResponseCode::closed_successfully);
  EXPECT_EQ(done[0].logout.time2wait, 3);
  EXPECT_EQ(done[0].logout.time2retain, 25);
  auto evs = pair.events();
  ASSERT_NE(find(evs, EventKind::logout_response), nullptr);
  EXPECT_EQ(pair.session.state(), SessionState::free);
  EXPECT_EQ(pair.session.connection_state(Pair::kCid), ConnState::free);
  EXPECT_EQ(pair.session.stats().logout_pdus, 1u);
  EXPECT_EQ(pair.session.stats().logoutrsp_pdus, 1u);
  EXPECT_FALSE(pair.session.next_deadline());
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

TEST(SessionLogout, RefusedLogoutReturnsToFullFeaturePhase) {
  Pair pair;
  pair.target.tamper = [](pdu::Pdu& p) {
    if (auto* r = std::get_if<pdu::LogoutResponse>(&p)) {
      r->response = pdu::LogoutResponseCode::cleanup_failed;
    }
    return true;
  };
  ASSERT_TRUE(pair.session.logout(pdu::LogoutReason::close_session, pair.now));
  pair.pump();
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
  EXPECT_EQ(pair.session.connection_state(Pair::kCid), ConnState::logged_in);
  EXPECT_TRUE(pair.session.submit(tur(), pair.now));
}

// --- text / SendTargets --------------------------------------------------------------------------

std::vector<text::DiscoveredTarget> many_targets(int n) {
  std::vector<text::DiscoveredTarget> out;
  for (int i = 0; i < n; ++i) {
    text::DiscoveredTarget t;
    t.name = "iqn.2026-11.org.example.storage:target-with-a-long-name-" + std::to_string(i);
    text::TargetAddress a;
    a.host = "192.0.2." + std::to_string(i + 1);
    a.kind = text::HostKind::ipv4;
    a.has_group_tag = true;
    a.portal_group_tag = 1;
    t.addresses.push_back(a);
    out.push_back(t);
  }
  return out;
}

TEST(SessionText, SendTargetsWithContinuation) {
  FakeTargetConfig cfg;
  cfg.targets = many_targets(20);
  cfg.text_chunk = 300;
  Pair pair(cfg);
  auto id = pair.session.send_text({{"SendTargets", "All"}}, pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
  EXPECT_EQ(done[0].text, text::make_send_targets_response(cfg.targets));
  auto parsed = text::parse_send_targets(done[0].text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, cfg.targets);
  EXPECT_GT(pair.session.stats().textrsp_pdus, 5u);
  EXPECT_EQ(pair.session.stats().text_pdus, pair.session.stats().textrsp_pdus);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

TEST(SessionText, LongRequestIsSplitWithTheCBit) {
  FakeTargetConfig cfg;
  cfg.target_mrdsl = 512;
  Pair pair(cfg);
  text::KeyValueList keys;
  for (int i = 0; i < 20; ++i) {
    keys.push_back({"X-org.example.key" + std::to_string(i), std::string(60, 'v')});
  }
  auto id = pair.session.send_text(keys, pair.now);
  ASSERT_TRUE(id);
  EXPECT_EQ(pair.session.send_text(keys, pair.now).error(),
            make_error_code(Errc::text_in_progress));
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  ASSERT_EQ(done[0].text.size(), 20u);
  EXPECT_EQ(done[0].text[0].value, "NotUnderstood");
  EXPECT_GT(pair.session.stats().text_pdus, 3u);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// --- residuals -----------------------------------------------------------------------------------

TEST(SessionResidual, UnderflowWhenTheTargetHasLessData) {
  for (bool collapse : {true, false}) {
    FakeTargetConfig cfg;
    cfg.phase_collapse = collapse;
    Pair pair(cfg);
    ScsiRequest r = read_request(0, 1024);
    r.read_length = 4096;  // we expect more than the CDB asks for
    ASSERT_TRUE(pair.session.submit(r, pair.now));
    pair.pump();
    auto done = pair.completions();
    ASSERT_EQ(done.size(), 1u);
    EXPECT_TRUE(done[0].scsi.underflow);
    EXPECT_FALSE(done[0].scsi.overflow);
    EXPECT_EQ(done[0].scsi.residual_count, 3072u);
    EXPECT_EQ(done[0].scsi.data.size(), 1024u);
  }
}

TEST(SessionResidual, OverflowWhenTheTargetHasMoreData) {
  Pair pair;
  ScsiRequest r = read_request(0, 4096);
  r.read_length = 1024;
  ASSERT_TRUE(pair.session.submit(r, pair.now));
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].scsi.overflow);
  EXPECT_EQ(done[0].scsi.residual_count, 3072u);
  EXPECT_EQ(done[0].scsi.data.size(), 1024u);
}

TEST(SessionRequest, InconsistentRequestsAreRefused) {
  Pair pair;
  ScsiRequest r = tur();
  r.read_length = 10;  // no read direction
  EXPECT_EQ(pair.session.submit(r, pair.now).error(), make_error_code(Errc::invalid_request));
  ScsiRequest empty;
  EXPECT_EQ(pair.session.submit(empty, pair.now).error(), make_error_code(Errc::invalid_request));
  EXPECT_EQ(pair.session.submit(tur(), pair.now, std::uint16_t{9}).error(),
            make_error_code(Errc::unknown_connection));
}

TEST(SessionRequest, OwnedWriteDataAndExtendedCdb) {
  Pair pair;
  ScsiRequest r;
  r.cdb = cdb_bytes(*scsi::write16(0, 1));
  r.direction = DataDirection::write;
  r.write_data_owned = pattern(512, 5);
  r.owns_write_data = true;
  ASSERT_TRUE(pair.session.submit(r, pair.now));
  pair.pump();
  ASSERT_EQ(pair.completions().size(), 1u);
  EXPECT_TRUE(std::equal(pair.target.disk().begin(), pair.target.disk().begin() + 512,
                         pattern(512, 5).begin()));
  ScsiRequest big;
  big.cdb = ByteVector(32, 0);
  big.cdb[0] = 0x7F;  // variable-length CDB
  ASSERT_TRUE(pair.session.submit(big, pair.now));
  pair.pump();
  ASSERT_EQ(pair.target.commands.size(), 2u);
  EXPECT_EQ(pair.target.commands[1].extended_cdb.size(), 16u);
}

// --- ERL 0 recovery ------------------------------------------------------------------------------

TEST(SessionRecovery, RetryListAfterConnectionErrorIsResubmitted) {
  FakeTargetConfig cfg;
  Pair pair(cfg);
  pair.target.hold_commands = true;
  std::vector<TaskId> ids;
  ByteVector data = pattern(8192, 4);
  for (int i = 0; i < 3; ++i) {
    auto id = i == 1 ? pair.session.submit(write_request(16, data), pair.now)
                     : pair.session.submit(read_request(0, 1024), pair.now);
    ASSERT_TRUE(id);
    ids.push_back(*id);
  }
  pair.pump();
  pair.target.silent = true;
  auto ping = pair.session.ping(pair.now);
  ASSERT_TRUE(ping);
  pair.pump();
  pair.session.on_transport_error(Pair::kCid, ConnError::tcp_conn_close, pair.now);
  EXPECT_EQ(pair.session.state(), SessionState::failed);
  EXPECT_EQ(pair.session.retry_list(), ids);
  for (TaskId id : ids) EXPECT_FALSE(pair.session.itt_of(id));
  // The ping is not retried: it fails with the connection's error.
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, *ping);
  EXPECT_EQ(done[0].outcome, TaskOutcome::failed);
  EXPECT_EQ(done[0].error, ConnError::tcp_conn_close);
  EXPECT_FALSE(pair.session.next_deadline());

  // Reinstatement: a new target (same disk contents do not matter here), new window and CmdSN.
  ASSERT_FALSE(pair.session.begin_recovery());
  EXPECT_EQ(pair.session.state(), SessionState::in_recovery);
  FakeTargetConfig cfg2 = cfg;
  cfg2.first_cmd_sn = 500;
  cfg2.first_stat_sn = 9000;
  FakeTarget fresh(cfg2);
  pair.target = std::move(fresh);
  auto sc = make_session_config(cfg2);
  ASSERT_FALSE(pair.session.reinstate(sc, pair.now));
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
  pair.pump();
  ASSERT_EQ(pair.target.commands.size(), 3u);
  EXPECT_EQ(pair.target.commands[0].cmd_sn, SerialNumber{500});
  EXPECT_EQ(pair.target.commands[2].cmd_sn, SerialNumber{502});
  done = pair.completions();
  ASSERT_EQ(done.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(done[i].id, ids[i]);
    EXPECT_EQ(done[i].outcome, TaskOutcome::completed);
  }
  EXPECT_TRUE(std::equal(data.begin(), data.end(), pair.target.disk().begin() + 16 * 512));
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

TEST(SessionRecovery, FailAllAfterReplacementTimeout) {
  Pair pair;
  pair.target.hold_commands = true;
  ASSERT_TRUE(pair.session.submit(tur(), pair.now));
  ASSERT_TRUE(pair.session.submit(tur(), pair.now));
  pair.pump();
  pair.session.on_transport_error(Pair::kCid, ConnError::conn_failed, pair.now);
  EXPECT_EQ(pair.session.retry_list().size(), 2u);
  pair.session.fail_all(ConnError::session_failed);
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 2u);
  for (const auto& c : done) {
    EXPECT_EQ(c.outcome, TaskOutcome::failed);
    EXPECT_EQ(c.error, ConnError::session_failed);
  }
  EXPECT_EQ(pair.session.state(), SessionState::recovery_failed);
  EXPECT_TRUE(pair.session.retry_list().empty());
  EXPECT_EQ(pair.session.reinstate(pair.session.config(), pair.now), std::error_code{});
}

TEST(SessionRecovery, ReinstateWhileLoggedInIsIllegal) {
  Pair pair;
  EXPECT_EQ(pair.session.reinstate(pair.session.config(), pair.now),
            make_error_code(Errc::illegal_transition));
  EXPECT_EQ(pair.session.begin_recovery(), make_error_code(Errc::illegal_transition));
}

// --- multiple connections --------------------------------------------------------------------------

TEST(SessionMultiConnection, AllegianceAndPerConnectionStatSn) {
  Pair pair;
  ASSERT_FALSE(pair.session.add_connection(2, SerialNumber{77}, 8192, pair.now));
  EXPECT_EQ(pair.session.add_connection(2, SerialNumber{1}, 8192, pair.now),
            make_error_code(Errc::duplicate_connection));
  auto id = pair.session.submit(tur(), pair.now, std::uint16_t{2});
  ASSERT_TRUE(id);
  EXPECT_FALSE(pair.session.has_pdu(Pair::kCid));
  auto cmd = pair.session.pop_pdu(2);
  ASSERT_TRUE(cmd);
  EXPECT_EQ(std::get<pdu::ScsiCommand>(*cmd).exp_stat_sn, SerialNumber{77});
  pdu::ScsiResponse r;
  r.itt = std::get<pdu::ScsiCommand>(*cmd).itt;
  r.stat_sn = SerialNumber{77};
  r.exp_cmd_sn = SerialNumber{2};
  r.max_cmd_sn = SerialNumber{20};
  // On the wrong connection: a protocol error; on its own: fine. Try its own first.
  ASSERT_FALSE(pair.session.receive(2, r, pair.now));
  EXPECT_EQ(pair.session.exp_stat_sn(2), SerialNumber{78});
  EXPECT_EQ(pair.session.exp_stat_sn(Pair::kCid), SerialNumber{0x100});
  EXPECT_EQ(pair.completions().size(), 1u);
  // A connection failure at ERL 0 takes the whole session down.
  pair.session.on_transport_error(2, ConnError::tcp_conn_close, pair.now);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::session_failed);
  EXPECT_EQ(pair.session.state(), SessionState::failed);
}

}  // namespace
}  // namespace iscsi::session::test

namespace iscsi::session::test {
namespace {

TEST(SessionTmfScope, TasksSentAfterTheTmfAreNotAborted) {
  Pair pair;
  pair.target.hold_commands = true;
  ScsiRequest r;
  r.cdb = cdb_bytes(scsi::test_unit_ready());
  auto before = pair.session.submit(r, pair.now);
  ASSERT_TRUE(before);
  pair.pump();
  TmfRequest req;
  req.function = pdu::TmfFunction::logical_unit_reset;
  auto tmf = pair.session.submit_tmf(req, pair.now);
  ASSERT_TRUE(tmf);
  auto after = pair.session.submit(r, pair.now);  // queued behind the TMF
  ASSERT_TRUE(after);
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].id, *before);
  EXPECT_EQ(done[0].outcome, TaskOutcome::aborted);
  EXPECT_EQ(done[1].id, *tmf);
  EXPECT_TRUE(pair.session.itt_of(*after));
  EXPECT_EQ(pair.session.outstanding(), 1u);
}

}  // namespace
}  // namespace iscsi::session::test

namespace iscsi::session::test {
namespace {

pdu::ScsiResponse good_response(std::uint32_t itt, std::uint32_t stat_sn) {
  pdu::ScsiResponse r;
  r.itt = itt;
  r.stat_sn = SerialNumber{stat_sn};
  r.exp_cmd_sn = SerialNumber{1};
  r.max_cmd_sn = SerialNumber{30};
  return r;
}

TEST(SessionMultiConnectionMore, ResponseOnTheWrongConnectionIsProto) {
  Pair pair;
  ASSERT_FALSE(pair.session.add_connection(2, SerialNumber{77}, 8192, pair.now));
  ScsiRequest r;
  r.cdb = cdb_bytes(scsi::test_unit_ready());
  auto id = pair.session.submit(r, pair.now, std::uint16_t{2});
  ASSERT_TRUE(id);
  auto cmd = pair.session.pop_pdu(2);
  ASSERT_TRUE(cmd);
  const auto itt = std::get<pdu::ScsiCommand>(*cmd).itt;
  EXPECT_EQ(pair.session.receive(Pair::kCid, good_response(itt, 0x100), pair.now),
            make_error_code(Errc::connection_failed));
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::proto);
}

TEST(SessionMultiConnectionMore, LogoutClosesAnotherConnection) {
  Pair pair;
  ASSERT_FALSE(pair.session.add_connection(2, SerialNumber{77}, 8192, pair.now));
  ScsiRequest r;
  r.cdb = cdb_bytes(scsi::test_unit_ready());
  auto on2 = pair.session.submit(r, pair.now, std::uint16_t{2});
  ASSERT_TRUE(on2);
  auto lo = pair.session.logout(pdu::LogoutReason::close_connection, pair.now, Pair::kCid, 2);
  ASSERT_TRUE(lo);
  auto p = pair.session.pop_pdu(Pair::kCid);
  ASSERT_TRUE(p);
  const auto& req = std::get<pdu::LogoutRequest>(*p);
  EXPECT_EQ(req.reason, pdu::LogoutReason::close_connection);
  EXPECT_EQ(req.cid, 2);
  pdu::LogoutResponse resp;
  resp.itt = req.itt;
  resp.stat_sn = SerialNumber{0x100};
  resp.exp_cmd_sn = SerialNumber{1};
  resp.max_cmd_sn = SerialNumber{30};
  ASSERT_FALSE(pair.session.receive(Pair::kCid, resp, pair.now));
  EXPECT_EQ(pair.session.connection_state(2), ConnState::free);
  EXPECT_EQ(pair.session.connection_state(Pair::kCid), ConnState::logged_in);
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].id, *lo);
  EXPECT_EQ(done[1].id, *on2);
  EXPECT_EQ(done[1].outcome, TaskOutcome::failed);
  EXPECT_FALSE(pair.session.has_pdu(2));
  // The CID can be used again for a new connection.
  EXPECT_FALSE(pair.session.add_connection(2, SerialNumber{5}, 8192, pair.now));
}

// The command path: a SCSI Command with no AHS and no immediate data is encoded from its task
// when it is sent (pop_scsi_command); it is the PDU pop_pdu() would have returned, and any other
// PDU at the front of the queue is left for pop_pdu(), so the order holds.
TEST(SessionSend, PopScsiCommandGivesWhatPopPduWould) {
  Pair a;
  Pair b;
  for (Pair* p : {&a, &b}) {
    ASSERT_TRUE(p->session.submit(read_request(8, 4096), p->now));
    ASSERT_TRUE(p->session.submit(read_request(16, 4096), p->now));
  }
  for (int i = 0; i < 2; ++i) {
    pdu::ScsiCommand direct;
    ASSERT_TRUE(a.session.pop_scsi_command(Pair::kCid, direct));
    auto popped = b.session.pop_pdu(Pair::kCid);
    ASSERT_TRUE(popped);
    ASSERT_TRUE(std::holds_alternative<pdu::ScsiCommand>(*popped));
    EXPECT_EQ(direct, std::get<pdu::ScsiCommand>(*popped));
  }
  pdu::ScsiCommand none;
  EXPECT_FALSE(a.session.pop_scsi_command(Pair::kCid, none));
  EXPECT_EQ(a.session.stats().scsicmd_pdus, b.session.stats().scsicmd_pdus);

  // Immediate data: a PDU of its own, taken by pop_pdu() only; the read behind it waits.
  Pair w;
  const ByteVector data(512, 0xAB);
  ASSERT_TRUE(w.session.submit(write_request(0, data), w.now));
  ASSERT_TRUE(w.session.submit(read_request(8, 512), w.now));
  pdu::ScsiCommand cmd;
  EXPECT_FALSE(w.session.pop_scsi_command(Pair::kCid, cmd));
  auto write = w.session.pop_pdu(Pair::kCid);
  ASSERT_TRUE(write);
  EXPECT_EQ(pdu::data_of(*write).size(), 512u);
  ASSERT_TRUE(w.session.pop_scsi_command(Pair::kCid, cmd));
  EXPECT_TRUE(cmd.read);
  EXPECT_TRUE(cmd.data.empty());
}

}  // namespace
}  // namespace iscsi::session::test
