// Failure and recovery: a failed connection and what the recovery policy makes it take with it
// (proto/recovery/policy.hpp), reinstatement after a new login, and giving up.
#include "proto/session/session.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace iscsi::session {

void Session::fail_connection(Connection& c, ConnError why, std::string detail) {
  if (c.sm.state() == ConnState::cleanup_wait || c.sm.state() == ConnState::free) return;
  (void)c.sm.on(ConnEvent::failed);
  c.error = why;
  c.error_detail = detail;
  c.out.clear();
  c.ping.reset();
  c.text_task.reset();
  if (why == ConnError::hdr_dgst || why == ConnError::data_dgst) ++stats_.digest_err;
  Event e;
  e.kind = EventKind::conn_error;
  e.cid = c.cid;
  e.conn_error = why;
  e.detail = std::move(detail);
  emit(std::move(e));

  // The policy's decision point: what this failure takes with it (RFC 7143 7.1.4). A refused
  // TASK REASSIGN (session_reassign.cpp) makes it session-wide whatever the level.
  const recovery::OnConnectionLoss loss = std::exchange(give_up_conn_recovery_, false)
                                              ? recovery::OnConnectionLoss::fail_session
                                              : policy_.on_connection_lost();
  const bool session_wide = loss == recovery::OnConnectionLoss::fail_session;
  const bool recover = loss == recovery::OnConnectionLoss::recover_connection;
  if (session_wide) conn_recovery_ = false;
  // SCSI tasks wait for reinstatement (resent with new ITTs and CmdSNs); everything else fails.
  // ERL 2: they keep their ITTs and CmdSNs and wait for the connection's reinstatement.
  auto ids = tasks_.ids_where([&](const Task& t) { return session_wide || t.cid == c.cid; });
  if (recover) {
    std::erase_if(ids, [&](TaskId id) {
      Task* t = tasks_.find(id);
      if (t == nullptr || t->kind != TaskKind::scsi) return false;
      if (t->sent) t->awaiting_reassign = true;  // unsent ones stay in waiting_
      return true;
    });
  }
  requeue_for_reinstatement(ids, why);
  std::erase_if(waiting_, [&](TaskId id) {
    const Task* t = tasks_.find(id);
    return t == nullptr || t->itt == pdu::kReservedTag;
  });
  if (session_wide) {
    for (auto& [id, other] : conns_) {
      if (&other == &c) continue;
      if (other.sm.state() == ConnState::cleanup_wait || other.sm.state() == ConnState::free) {
        continue;
      }
      fail_connection(other, ConnError::session_failed, "another connection of the session failed");
    }
  }
  // At ERL > 0 the session survives while another connection is in full feature phase (the
  // failed connection's tasks then wait for connection recovery, which is not implemented).
  bool any_usable = false;
  for (const auto& [id, other] : conns_) any_usable = any_usable || other.sm.usable();
  if (!session_wide && any_usable) return;
  if (recover) conn_recovery_ = true;
  const SessionState s = sm_.state();
  if (s == SessionState::logged_in || s == SessionState::logging_out ||
      s == SessionState::failed || s == SessionState::in_recovery) {
    logout_pending_ = false;
    set_session_state(SessionEvent::conn_failed);
  }
}

void Session::on_receive_error(std::uint16_t cid, const pdu::Diagnostic& diag, TimePoint) {
  Connection* c = conn(cid);
  if (c == nullptr) return;
  const ConnError why = diag.conn_error != ConnError::none ? diag.conn_error : ConnError::proto;
  if (why == ConnError::hdr_dgst || why == ConnError::data_dgst) {
    // The policy's decision point for a damaged PDU (ERL 1 would discard it and recover it).
    switch (policy_.on_digest_error(why)) {
      case recovery::OnPduError::fail_connection: break;
      // A damaged Data-In the framer could step over arrives as receive_damaged_data_in();
      // anything that reaches here has failed the framer for good.
      case recovery::OnPduError::request_again: break;
    }
  }
  fail_connection(*c, why, pdu::to_string(diag));
}

void Session::on_transport_error(std::uint16_t cid, ConnError why, TimePoint) {
  Connection* c = conn(cid);
  if (c == nullptr) return;
  fail_connection(*c, why == ConnError::none ? ConnError::conn_failed : why,
                  std::string(describe(why)));
}

std::error_code Session::begin_recovery() {
  if (sm_.state() != SessionState::failed) return Errc::illegal_transition;
  set_session_state(SessionEvent::recovery_started);
  return {};
}

std::error_code Session::reinstate(SessionConfig config, TimePoint now) {
  const SessionState s = sm_.state();
  if (s != SessionState::failed && s != SessionState::in_recovery &&
      s != SessionState::recovery_failed) {
    return Errc::illegal_transition;
  }
  config_ = std::move(config);
  policy_ = recovery::Policy(config_.params.error_recovery_level);
  conn_cache_.last = nullptr;
  conns_.clear();
  cmd_sn_ = config_.cmd_sn;
  exp_cmd_sn_ = config_.exp_cmd_sn;
  max_cmd_sn_ = config_.max_cmd_sn;
  logout_pending_ = false;
  conn_recovery_ = false;
  give_up_conn_recovery_ = false;
  // The old connection's requests (drop with its Time2Wait, logout, negotiate) are spent: a
  // later failure must not wait a Time2Wait the target gave for an earlier one.
  async_ = {};
  set_session_state(SessionEvent::login_complete);
  if (auto ec = add_connection(config_.cid, config_.exp_stat_sn,
                               config_.params.max_send_data_segment_length, now)) {
    return ec;
  }
  // Old ITTs belong to the old session: a late answer cannot arrive on the new connection.
  tasks_.forget_retired();
  std::deque<TaskId> again;
  again.swap(retry_);
  for (TaskId id : again) {
    Task* tp = tasks_.find(id);
    if (tp == nullptr) continue;
    Task& t = *tp;
    if (tasks_.give_itt(t)) {
      complete_simple(t, TaskOutcome::failed, ConnError::session_failed);
      continue;
    }
    t.cid = config_.cid;
    t.sent = false;
    t.restart_transfer();
    t.read_buf.clear();
    t.awaiting_reassign = false;
    waiting_.push_back(id);
  }
  issue_waiting();
  return {};
}

void Session::requeue_for_reinstatement(const std::vector<TaskId>& ids, ConnError why) {
  for (TaskId id : ids) {
    Task* tp = tasks_.find(id);
    if (tp == nullptr) continue;
    Task& t = *tp;
    if (t.kind == TaskKind::scsi) {
      t.awaiting_reassign = false;
      tasks_.drop_itt(t);
      t.sent = false;
      retry_.push_back(id);
    } else {
      complete_simple(t, TaskOutcome::failed, why);
    }
  }
  std::sort(retry_.begin(), retry_.end());
  retry_.erase(std::unique(retry_.begin(), retry_.end()), retry_.end());
}

void Session::fail_all(ConnError why) {
  complete_each(tasks_.ids_where([](const Task&) { return true; }), TaskOutcome::failed, why);
  retry_.clear();
  waiting_.clear();
  const SessionState s = sm_.state();
  if (s == SessionState::failed || s == SessionState::in_recovery) {
    set_session_state(SessionEvent::recovery_timeout);
  }
}

}  // namespace iscsi::session
