// Time: ping and TMF timeouts, and the NOP-Out pings an idle connection sends.
#include "proto/session/session.hpp"

#include <string>
#include <utility>
#include <vector>

namespace iscsi::session {

void Session::on_tick(TimePoint now) {
  // Timeouts first: a ping that timed out must not be replaced by a new one.
  const auto expired = tasks_.ids_where([&](const Task& t) {
    return t.deadline && *t.deadline <= now;
  });
  for (TaskId id : expired) {
    Task* tp = tasks_.find(id);
    if (tp == nullptr) continue;
    Task& t = *tp;
    Connection* c = conn(t.cid);
    ++stats_.timeout_err;
    if (t.kind == TaskKind::tmf) {
      Event e;
      e.kind = EventKind::tmf_timeout;
      e.cid = t.cid;
      e.task = id;
      e.detail = "no Task Management Response for " + pdu::to_string(t.tmf.function);
      const std::string why = e.detail + " within its timeout";
      emit(std::move(e));
      // An unanswered TASK REASSIGN of ours: connection recovery is given up for a session
      // reinstatement (the policy's answer to a refused reassignment).
      if (t.internal_reassign) {
        ++stats_.reassign_refused;
        give_up_conn_recovery_ = true;
      }
      complete_simple(t, TaskOutcome::timed_out);
      // As the Linux initiator (iscsi_eh_abort / _device_reset / _target_reset on
      // TMF_TIMEDOUT): a target that does not answer task management cannot be trusted with
      // the tasks it names, so the connection is dropped (ISCSI_ERR_SCSI_EH_SESSION_RST) and
      // the session recovered; at ERL 0 the reinstatement ends every task of the old session
      // at the target, and the outstanding commands are retried on the new one.
      if (c != nullptr && c->sm.state() == ConnState::logged_in) {
        fail_connection(*c, ConnError::scsi_eh_session_rst, why);
      }
    } else if (t.kind == TaskKind::nop) {
      Event e;
      e.kind = EventKind::nop_timeout;
      e.cid = t.cid;
      e.conn_error = ConnError::nop_timedout;
      if (!t.internal_ping) e.task = id;
      emit(std::move(e));
      if (t.internal_ping && c != nullptr) {
        fail_connection(*c, ConnError::nop_timedout, "no NOP-In answered the ping");
      } else {
        complete_simple(t, TaskOutcome::timed_out);
      }
    } else {
      t.deadline.reset();
    }
  }
  on_snack_timers(now);
  if (sm_.state() != SessionState::logged_in || config_.noop_out_interval.count() <= 0) return;
  for (auto& [cid, c] : conns_) {
    if (!c.sm.usable() || c.ping) continue;
    if (now < c.last_rx + config_.noop_out_interval) continue;
    auto added = tasks_.add_with_itt(TaskKind::nop, cid);
    if (!added) continue;
    Task& t = **added;
    t.internal_ping = true;
    t.cmd_sn = cmd_sn_;
    t.sent = true;
    if (config_.noop_out_timeout.count() > 0) t.deadline = now + config_.noop_out_timeout;
    c.ping = t.id;
    pdu::NopOut p;
    p.immediate = true;
    p.itt = t.itt;
    p.ttt = pdu::kReservedTag;
    p.cmd_sn = cmd_sn_;
    queue(c, std::move(p));
  }
}

std::optional<TimePoint> Session::next_deadline() const {
  std::optional<TimePoint> best;
  auto consider = [&](TimePoint t) {
    if (!best || t < *best) best = t;
  };
  tasks_.for_each([&](const Task& t) {
    if (t.deadline) consider(*t.deadline);
    if (t.snack_deadline && (!t.missing_data_in.empty() || !t.missing_r2t.empty())) {
      consider(*t.snack_deadline);
    }
  });
  if (sm_.state() == SessionState::logged_in && config_.noop_out_interval.count() > 0) {
    for (const auto& [cid, c] : conns_) {
      if (c.sm.usable() && !c.ping) consider(c.last_rx + config_.noop_out_interval);
    }
  }
  return best;
}

}  // namespace iscsi::session
