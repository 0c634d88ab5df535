// ERL 2 connection recovery (RFC 7143 6.2.2, 7.1.5, 7.2.2, 11.5.1): after the connection of a
// session at ErrorRecoveryLevel 2 failed (session_recovery.cpp kept its tasks), the engine logs
// the same CID in again with the session's TSIH, and here each task the target had taken is
// moved to the new connection with a TASK REASSIGN; what the target never took is sent again
// with its ITT and CmdSN. A refused reassignment gives connection recovery up for a session
// reinstatement (what the policy decides, proto/recovery/policy.hpp).
//
// ExpDataSN, as LIO reads it (iscsi_target_tmr.c iscsit_check_task_reassign_expdatasn): for a
// read the next DataSN wanted (the Data-In from it are sent again), for a write the next R2TSN
// wanted (LIO drops its R2Ts from it on and sends new ones for the data it lacks, starting at
// that R2TSN). LIO also frees, when the old connection closes, the commands whose CmdSN it had
// not reached (iscsit_prepare_cmds_for_realligance): those must be sent again, not reassigned.
#include "proto/session/session.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace iscsi::session {

std::error_code Session::reinstate_connection(std::uint16_t cid, SerialNumber exp_stat_sn,
                                              SerialNumber exp_cmd_sn, SerialNumber max_cmd_sn,
                                              std::uint32_t max_send_dsl, TimePoint now) {
  const SessionState s = sm_.state();
  if (!conn_recovery_ || (s != SessionState::failed && s != SessionState::in_recovery)) {
    return Errc::illegal_transition;
  }
  conn_cache_.last = nullptr;
  conns_.erase(cid);
  set_session_state(SessionEvent::login_complete);
  if (auto ec = add_connection(cid, exp_stat_sn, max_send_dsl, now)) return ec;
  conn_recovery_ = false;
  ++stats_.connection_reinstatements;
  update_window(exp_cmd_sn, max_cmd_sn);
  Connection& c = *conn(cid);
  // In CmdSN order: the commands sent again must reach the target in the order they were
  // numbered, before any command that waited.
  auto ids = tasks_.ids_where([](const Task& t) { return t.awaiting_reassign; });
  std::sort(ids.begin(), ids.end(), [&](TaskId a, TaskId b) {
    return SerialNumber::distance(tasks_.find(a)->cmd_sn, tasks_.find(b)->cmd_sn) > 0;
  });
  for (TaskId id : ids) {
    Task* tp = tasks_.find(id);
    if (tp == nullptr) continue;
    Task& t = *tp;
    t.cid = cid;
    // What was in flight on the old connection is gone with it: data transfer state that the
    // target will re-establish (R2Ts, Data-In from ExpDataSN), and SNACK bookkeeping.
    t.forget_connection_state();
    if (!t.missing_data_in.empty()) {
      // Data-In from the first missing one on are asked for again by the reassignment.
      t.next_data_sn = t.missing_data_in.front().data_sn;
      t.missing_data_in.clear();
    }
    if (SerialNumber::distance(exp_cmd_sn, t.cmd_sn) >= 0) {
      // The target never took it (its ExpCmdSN has not passed it): a retry, same ITT and CmdSN
      // (RFC 7143 6.2.1), from the start.
      t.awaiting_reassign = false;
      t.restart_transfer();
      ++stats_.commands_resent;
      issue_scsi(t, c);
      continue;
    }
    send_reassign(t, c, now);
  }
  issue_waiting();
  return {};
}

void Session::send_reassign(Task& t, Connection& c, TimePoint now) {
  auto added = tasks_.add_with_itt(TaskKind::tmf, c.cid);
  if (!added) {
    // No ITT left: nothing can be reassigned; the session is reinstated instead.
    give_up_conn_recovery_ = true;
    fail_connection(c, ConnError::session_failed, "no ITT for a TASK REASSIGN");
    return;
  }
  Task& m = **added;
  const bool reads = t.req.direction == DataDirection::read ||
                     t.req.direction == DataDirection::bidirectional;
  const bool writes = t.req.direction == DataDirection::write;
  m.internal_reassign = true;
  m.tmf.function = pdu::TmfFunction::task_reassign;
  m.tmf.lun = t.req.lun;
  m.tmf.referenced = t.id;
  m.ref_itt = t.itt;
  m.ref_cmd_sn = t.cmd_sn;
  m.exp_data_sn = reads ? t.next_data_sn.value() : writes ? t.next_r2t_sn.value() : 0;
  m.cmd_sn = cmd_sn_;
  m.sent = true;
  m.deadline = now + m.tmf.timeout;
  pdu::TaskMgmtRequest p;
  p.immediate = true;
  p.function = pdu::TmfFunction::task_reassign;
  p.lun = t.req.lun;
  p.itt = m.itt;
  p.referenced_task_tag = t.itt;
  p.cmd_sn = cmd_sn_;
  p.ref_cmd_sn = t.cmd_sn;
  p.exp_data_sn = SerialNumber{m.exp_data_sn};
  queue(c, std::move(p));
}

void Session::on_reassign_response(Connection& c, Task& tmf, pdu::TmfResponse response) {
  const std::optional<TaskId> ref = tmf.tmf.referenced;
  end_task(tmf);  // internal: no completion
  Task* t = ref ? tasks_.find(*ref) : nullptr;
  if (response == pdu::TmfResponse::function_complete) {
    if (t != nullptr && t->awaiting_reassign) {
      // The task goes on here: the target sends its Data-In from ExpDataSN, new R2Ts from the
      // next R2TSN, or its status.
      t->awaiting_reassign = false;
      ++stats_.tasks_reassigned;
    }
    return;
  }
  ++stats_.reassign_refused;
  switch (policy_.on_reassign_refused()) {
    case recovery::OnReassignRefused::reinstate_session:
      give_up_conn_recovery_ = true;
      fail_connection(c, ConnError::session_failed,
                      "TASK REASSIGN refused: " + pdu::to_string(response) +
                          "; reinstating the session");
      break;
  }
}

void Session::abandon_connection_recovery() {
  if (!conn_recovery_) return;
  conn_recovery_ = false;
  // As ERL 0's fail_connection: SCSI tasks wait for the session's reinstatement (new ITTs and
  // CmdSNs), the session's own TASK REASSIGNs end.
  requeue_for_reinstatement(tasks_.ids_where([](const Task&) { return true; }),
                            ConnError::session_failed);
  waiting_.clear();
}

}  // namespace iscsi::session
