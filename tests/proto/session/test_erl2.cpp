// ERL 2 connection recovery in the session core (RFC 7143 6.2.2, 7.2.2, 11.5.1): the session's
// one connection breaks mid-transfer, the same CID logs in again with the session's TSIH, and
// each task the target had taken is moved to the new connection with a TASK REASSIGN whose
// ExpDataSN says where the transfer resumes (a read's next DataSN, a write's next R2TSN, as LIO
// reads it); commands the target never took are sent again with their ITT and CmdSN; a refused
// reassignment falls back to session reinstatement. The target is the in-memory fake, which
// reassigns as LIO 6.1 does (iscsi_target_tmr.c).
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "fake_target.hpp"

namespace iscsi::session::test {
namespace {

FakeTargetConfig erl2() {
  FakeTargetConfig cfg;
  cfg.error_recovery_level = 2;
  return cfg;
}

// Loses every Data-In of a read from `from` on, the first time each is sent: the connection
// died while they were on the way.
std::function<bool(pdu::Pdu&)> lose_data_in_from(std::uint32_t from) {
  auto seen = std::make_shared<std::set<std::uint32_t>>();
  return [from, seen](pdu::Pdu& p) {
    const auto* d = std::get_if<pdu::DataIn>(&p);
    if (d == nullptr || d->data_sn.value() < from) return true;
    return !seen->insert(d->data_sn.value()).second;
  };
}

const pdu::TaskMgmtRequest* reassign(const Pair& pair) {
  for (const auto& m : pair.target.tmfs) {
    if (m.function == pdu::TmfFunction::task_reassign) return &m;
  }
  return nullptr;
}

// A 32 KiB read in four Data-In; the last two (one with the status) are lost with the
// connection. After the reinstatement the TASK REASSIGN asks for the Data-In from DataSN 2, the
// target sends them again, and the read completes byte-exact, with no session reinstatement.
TEST(SessionErl2, AReadIsReassignedAndResumesFromTheNextDataSn) {
  Pair pair(erl2());
  const ByteVector disk = pattern(32768, 21);
  std::copy(disk.begin(), disk.end(), pair.target.disk().begin());
  pair.target.tamper = lose_data_in_from(2);
  auto id = pair.session.submit(read_request(0, 32768), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  EXPECT_TRUE(pair.completions().empty());
  const auto itt = pair.session.itt_of(*id);
  ASSERT_TRUE(itt);

  pair.cut();
  EXPECT_EQ(pair.session.state(), SessionState::failed);
  EXPECT_TRUE(pair.session.awaiting_connection_recovery());
  EXPECT_TRUE(pair.session.retry_list().empty());      // not an ERL 0 retry
  EXPECT_EQ(pair.session.itt_of(*id), itt);            // it keeps its ITT
  EXPECT_TRUE(pair.completions().empty());

  ASSERT_FALSE(pair.reconnect());
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
  pair.pump();
  const auto* m = reassign(pair);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->referenced_task_tag, *itt);
  EXPECT_EQ(m->exp_data_sn, SerialNumber{2});
  EXPECT_TRUE(m->immediate);
  EXPECT_EQ(pair.target.data_in_resent, 2u);
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
  EXPECT_EQ(done[0].scsi.status, 0);
  EXPECT_EQ(done[0].scsi.data, disk);
  EXPECT_EQ(pair.session.stats().connection_reinstatements, 1u);
  EXPECT_EQ(pair.session.stats().tasks_reassigned, 1u);
  EXPECT_EQ(pair.session.stats().reassign_refused, 0u);
  EXPECT_EQ(pair.target.commands.size(), 1u);  // the READ was not sent again
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// A 32 KiB write in R2Ts of 8 KiB (MaxOutstandingR2T 1, as LIO settles it at ERL > 0), Data-Out
// of 4 KiB: the connection dies after the first R2T's data and half of the second's. The TASK
// REASSIGN names R2TSN 2 as the next wanted; the target sends new R2Ts for the 20 KiB it lacks
// (from the middle of the second R2T), the initiator answers them and every byte is on disk.
TEST(SessionErl2, AWriteInMidR2tIsReassignedAndTheNewR2tsAreAnswered) {
  FakeTargetConfig cfg = erl2();
  cfg.immediate_data = false;
  cfg.initial_r2t = true;
  cfg.max_burst_length = 8192;
  cfg.target_mrdsl = 4096;
  Pair pair(cfg);
  auto data_outs = std::make_shared<unsigned>(0);
  auto armed = std::make_shared<bool>(true);
  pair.target.intake = [data_outs, armed](const pdu::Pdu& p) {
    if (!*armed) return true;
    if (std::holds_alternative<pdu::DataOut>(p)) ++*data_outs;
    return *data_outs <= 3;  // the 4th Data-Out and all after it die with the connection
  };
  const ByteVector data = pattern(32768, 22);
  auto id = pair.session.submit(write_request(40, data), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  EXPECT_TRUE(pair.completions().empty());
  EXPECT_EQ(pair.target.r2ts_sent, 2u);

  pair.cut();
  *armed = false;
  ASSERT_FALSE(pair.reconnect());
  pair.pump();
  const auto* m = reassign(pair);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->exp_data_sn, SerialNumber{2});
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
  EXPECT_EQ(done[0].scsi.status, 0);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), pair.target.disk().begin() + 40 * 512));
  EXPECT_EQ(pair.target.r2ts_sent, 5u);  // two before, three new ones: 12..20, 20..28, 28..32 KiB
  EXPECT_EQ(pair.session.stats().tasks_reassigned, 1u);
  EXPECT_EQ(pair.session.stats().connection_reinstatements, 1u);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// Commands the target never received (queued when the connection broke) are not reassigned:
// they go again with their ITT and CmdSN, and a command that had waited follows them.
TEST(SessionErl2, CommandsTheTargetNeverTookAreSentAgainWithTheirCmdSn) {
  Pair pair(erl2());
  auto a = pair.session.submit(read_request(0, 4096), pair.now);
  auto b = pair.session.submit(read_request(8, 4096), pair.now);
  ASSERT_TRUE(a && b);
  const auto itt_a = pair.session.itt_of(*a);
  pair.cut();  // before anything reached the target
  ASSERT_FALSE(pair.reconnect());
  pair.pump();
  EXPECT_EQ(reassign(pair), nullptr);
  ASSERT_EQ(pair.target.commands.size(), 2u);
  EXPECT_EQ(pair.target.commands[0].itt, *itt_a);
  EXPECT_EQ(pair.target.commands[0].cmd_sn, SerialNumber{1});
  EXPECT_EQ(pair.target.commands[1].cmd_sn, SerialNumber{2});
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 2u);
  for (const auto& c : done) EXPECT_EQ(c.outcome, TaskOutcome::completed);
  EXPECT_EQ(pair.session.stats().commands_resent, 2u);
  EXPECT_EQ(pair.session.stats().tasks_reassigned, 0u);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// The target refuses the reassignment ('Task allegiance reassignment not supported'): the
// session gives connection recovery up, its task waits for a session reinstatement as at ERL 0
// (a new ITT and CmdSN), and completes there.
TEST(SessionErl2, ARefusedReassignFallsBackToSessionReinstatement) {
  Pair pair(erl2());
  const ByteVector disk = pattern(32768, 23);
  std::copy(disk.begin(), disk.end(), pair.target.disk().begin());
  pair.target.tamper = lose_data_in_from(2);
  pair.target.reassign_response = pdu::TmfResponse::task_allegiance_reassignment_not_supported;
  auto id = pair.session.submit(read_request(0, 32768), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  pair.cut();
  ASSERT_FALSE(pair.reconnect());
  pair.pump();
  ASSERT_NE(reassign(pair), nullptr);
  EXPECT_EQ(pair.session.state(), SessionState::failed);
  EXPECT_FALSE(pair.session.awaiting_connection_recovery());
  EXPECT_EQ(pair.session.retry_list(), std::vector<TaskId>{*id});
  EXPECT_EQ(pair.session.stats().reassign_refused, 1u);
  EXPECT_EQ(pair.session.stats().tasks_reassigned, 0u);
  EXPECT_TRUE(pair.completions().empty());  // the internal TMF completes nobody

  // Session reinstatement: a new session on the same disk, new window and CmdSN.
  ASSERT_FALSE(pair.session.begin_recovery());
  FakeTargetConfig cfg2 = erl2();
  cfg2.first_cmd_sn = 500;
  cfg2.first_stat_sn = 9000;
  FakeTarget fresh(cfg2);
  fresh.disk() = pair.target.disk();
  pair.target = std::move(fresh);
  pair.reset_transport();
  ASSERT_FALSE(pair.session.reinstate(make_session_config(cfg2), pair.now));
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
  EXPECT_EQ(done[0].scsi.data, disk);
  ASSERT_EQ(pair.target.commands.size(), 1u);
  EXPECT_EQ(pair.target.commands[0].cmd_sn, SerialNumber{500});
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// At ERL 1 a lost connection is no connection recovery: the task waits for a session
// reinstatement as before.
TEST(SessionErl2, AtErl1ALostConnectionStillWaitsForSessionReinstatement) {
  FakeTargetConfig cfg = erl2();
  cfg.error_recovery_level = 1;
  Pair pair(cfg);
  pair.target.tamper = lose_data_in_from(2);
  auto id = pair.session.submit(read_request(0, 32768), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  pair.cut();
  EXPECT_FALSE(pair.session.awaiting_connection_recovery());
  EXPECT_EQ(pair.session.retry_list(), std::vector<TaskId>{*id});
}

}  // namespace
}  // namespace iscsi::session::test
