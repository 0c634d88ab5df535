// The receive table (one row per target opcode), the checks it makes for every row, and the
// recovery policy's decisions as the session follows them.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "fake_target.hpp"
#include "proto/recovery/policy.hpp"
#include "proto/session/receive_table.hpp"

namespace iscsi::session::test {
namespace {

using detail::ReceiveTable;
using detail::StatSnRule;
using detail::TaskRule;

constexpr pdu::Opcode kTargetOpcodes[] = {
    pdu::Opcode::nop_in,          pdu::Opcode::scsi_response, pdu::Opcode::task_mgmt_response,
    pdu::Opcode::text_response,   pdu::Opcode::scsi_data_in,  pdu::Opcode::logout_response,
    pdu::Opcode::r2t,             pdu::Opcode::async_message, pdu::Opcode::reject};

constexpr pdu::Opcode kNeverInFullFeaturePhase[] = {
    pdu::Opcode::nop_out,           pdu::Opcode::scsi_command,  pdu::Opcode::task_mgmt_request,
    pdu::Opcode::login_request,     pdu::Opcode::text_request,  pdu::Opcode::scsi_data_out,
    pdu::Opcode::logout_request,    pdu::Opcode::snack_request, pdu::Opcode::login_response};

TEST(ReceiveTable, EveryTargetOpcodeOfTheFullFeaturePhaseHasItsRow) {
  for (pdu::Opcode op : kTargetOpcodes) {
    const auto* row = ReceiveTable::find(op);
    ASSERT_NE(row, nullptr) << pdu::to_string(op);
    EXPECT_EQ(row->opcode, op);
    EXPECT_NE(row->handle, nullptr) << pdu::to_string(op);
  }
}

TEST(ReceiveTable, InitiatorOpcodesAndLoginResponsesHaveNoRow) {
  for (pdu::Opcode op : kNeverInFullFeaturePhase) {
    EXPECT_EQ(ReceiveTable::find(op), nullptr) << pdu::to_string(op);
  }
}

TEST(ReceiveTable, StatSnAndTaskRulesFollowRfc7143) {
  // R2T carries the next StatSN without taking it (11.8.3); Data-In takes one only with status
  // (11.7.4); an unsolicited NOP-In does not (11.19.3); every other target PDU is a status.
  EXPECT_EQ(ReceiveTable::find(pdu::Opcode::r2t)->stat_sn, StatSnRule::none);
  EXPECT_EQ(ReceiveTable::find(pdu::Opcode::scsi_data_in)->stat_sn, StatSnRule::with_status);
  EXPECT_EQ(ReceiveTable::find(pdu::Opcode::nop_in)->stat_sn, StatSnRule::when_answering);
  for (pdu::Opcode op : {pdu::Opcode::scsi_response, pdu::Opcode::task_mgmt_response,
                         pdu::Opcode::text_response, pdu::Opcode::logout_response,
                         pdu::Opcode::async_message, pdu::Opcode::reject}) {
    EXPECT_EQ(ReceiveTable::find(op)->stat_sn, StatSnRule::advances) << pdu::to_string(op);
  }
  EXPECT_EQ(ReceiveTable::find(pdu::Opcode::async_message)->task, TaskRule::none);
  EXPECT_EQ(ReceiveTable::find(pdu::Opcode::reject)->task, TaskRule::none);
  EXPECT_EQ(ReceiveTable::find(pdu::Opcode::nop_in)->task, TaskRule::when_answering);
  EXPECT_EQ(ReceiveTable::find(pdu::Opcode::r2t)->kind, TaskKind::scsi);
  EXPECT_EQ(ReceiveTable::find(pdu::Opcode::task_mgmt_response)->kind, TaskKind::tmf);
  EXPECT_EQ(ReceiveTable::find(pdu::Opcode::logout_response)->kind, TaskKind::logout);
}

TEST(ReceiveTable, EachRowHasItsOwnNameAndCounter) {
  std::set<std::string> names;
  std::vector<std::uint64_t Stats::*> counters;  // member pointers have no order: compare all
  for (pdu::Opcode op : kTargetOpcodes) {
    const auto* row = ReceiveTable::find(op);
    names.insert(std::string(row->name));
    for (auto other : counters) EXPECT_NE(other, row->counter) << pdu::to_string(op);
    counters.push_back(row->counter);
    EXPECT_EQ(row->counts_data, op == pdu::Opcode::scsi_data_in) << pdu::to_string(op);
  }
  EXPECT_EQ(names.size(), std::size(kTargetOpcodes));
}

TEST(ReceiveTable, EveryRowCountsThePduItTakes) {
  Pair pair;
  pair.target.send_ping(0x55);  // unsolicited NOP-In
  pair.target.send_async(pdu::AsyncEvent::negotiation_request, 0, 0, 5);
  pair.pump();
  EXPECT_EQ(pair.session.stats().noprx_pdus, 1u);
  EXPECT_EQ(pair.session.stats().async_pdus, 1u);
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
}

// Connection allegiance (RFC 7143 5.1) holds for every task, not only SCSI commands.
TEST(ReceiveTable, TaskManagementResponseOnAnotherConnectionIsProto) {
  Pair pair;
  ASSERT_FALSE(pair.session.add_connection(2, SerialNumber{77}, 8192, pair.now));
  TmfRequest req;
  req.function = pdu::TmfFunction::logical_unit_reset;
  auto id = pair.session.submit_tmf(req, pair.now, std::uint16_t{2});
  ASSERT_TRUE(id);
  auto sent = pair.session.pop_pdu(2);
  ASSERT_TRUE(sent);
  pdu::TaskMgmtResponse rsp;
  rsp.itt = std::get<pdu::TaskMgmtRequest>(*sent).itt;
  rsp.stat_sn = SerialNumber{0x100};  // right for connection 1: only allegiance is wrong
  rsp.exp_cmd_sn = SerialNumber{1};
  rsp.max_cmd_sn = SerialNumber{20};
  EXPECT_EQ(pair.session.receive(Pair::kCid, rsp, pair.now),
            make_error_code(Errc::connection_failed));
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::proto);
  EXPECT_NE(pair.session.connection_error_detail(Pair::kCid).find("not allegiant"),
            std::string::npos)
      << pair.session.connection_error_detail(Pair::kCid);
}

TEST(ReceiveTable, StatSnGapNamesThePduAndBothNumbers) {
  Pair pair;
  auto id = pair.session.ping(pair.now);
  ASSERT_TRUE(id);
  auto sent = pair.session.pop_pdu(Pair::kCid);
  ASSERT_TRUE(sent);
  pdu::NopIn rsp;
  rsp.itt = std::get<pdu::NopOut>(*sent).itt;
  rsp.stat_sn = SerialNumber{0x105};
  rsp.exp_cmd_sn = SerialNumber{1};
  rsp.max_cmd_sn = SerialNumber{20};
  EXPECT_EQ(pair.session.receive(Pair::kCid, rsp, pair.now),
            make_error_code(Errc::connection_failed));
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::proto);
  EXPECT_EQ(pair.session.connection_error_detail(Pair::kCid), "NOP-In StatSN 261, expected 256");
}

TEST(RecoveryPolicy, Erl0FailsTheSessionErl1TheConnectionsTasksErl2RecoversTheConnection) {
  EXPECT_EQ(recovery::Policy(0).on_connection_lost(), recovery::OnConnectionLoss::fail_session);
  EXPECT_EQ(recovery::Policy(1).on_connection_lost(),
            recovery::OnConnectionLoss::fail_connection_tasks);
  EXPECT_EQ(recovery::Policy(0).on_data_sn_gap(), recovery::OnPduError::fail_connection);
  EXPECT_EQ(recovery::Policy(0).on_stat_sn_gap(), recovery::OnPduError::fail_connection);
  EXPECT_EQ(recovery::Policy(0).on_digest_error(ConnError::data_dgst),
            recovery::OnPduError::fail_connection);
  EXPECT_EQ(recovery::Policy(2).on_connection_lost(),
            recovery::OnConnectionLoss::recover_connection);
  EXPECT_EQ(recovery::Policy(2).on_reassign_refused(),
            recovery::OnReassignRefused::reinstate_session);
  EXPECT_EQ(recovery::Policy::kHighestImplemented, 2);
}

// The session follows the policy's answer: with ErrorRecoveryLevel 1 a failed connection takes
// only its own tasks, and the session goes on over the other connection.
TEST(RecoveryPolicy, AtErl1AFailedConnectionLeavesTheOtherConnectionsTasks) {
  SessionConfig cfg = make_session_config(FakeTargetConfig{});
  cfg.params.error_recovery_level = 1;
  Session s(cfg, TimePoint{});
  ASSERT_FALSE(s.add_connection(2, SerialNumber{77}, 8192, TimePoint{}));
  ScsiRequest r;
  r.cdb = cdb_bytes(scsi::test_unit_ready());
  auto on1 = s.submit(r, TimePoint{}, std::uint16_t{1});
  auto on2 = s.submit(r, TimePoint{}, std::uint16_t{2});
  ASSERT_TRUE(on1);
  ASSERT_TRUE(on2);
  s.on_transport_error(2, ConnError::tcp_conn_close, TimePoint{});
  EXPECT_EQ(s.state(), SessionState::logged_in);
  EXPECT_EQ(s.connection_state(1), ConnState::logged_in);
  EXPECT_EQ(s.connection_state(2), ConnState::cleanup_wait);
  EXPECT_TRUE(s.itt_of(*on1));
  EXPECT_FALSE(s.itt_of(*on2));
  EXPECT_EQ(s.retry_list(), std::vector<TaskId>{*on2});

  // The same at ERL 0: the whole session fails and both tasks wait for reinstatement.
  cfg.params.error_recovery_level = 0;
  Session s0(cfg, TimePoint{});
  ASSERT_FALSE(s0.add_connection(2, SerialNumber{77}, 8192, TimePoint{}));
  auto a = s0.submit(r, TimePoint{}, std::uint16_t{1});
  auto b = s0.submit(r, TimePoint{}, std::uint16_t{2});
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  s0.on_transport_error(2, ConnError::tcp_conn_close, TimePoint{});
  EXPECT_EQ(s0.state(), SessionState::failed);
  EXPECT_EQ(s0.connection_error(1), ConnError::session_failed);
  EXPECT_EQ(s0.retry_list(), (std::vector<TaskId>{*a, *b}));
}

}  // namespace
}  // namespace iscsi::session::test
