// Requests: what the user asks of a session (SCSI commands, task management, pings, text
// negotiation, logout), checked and turned into tasks.
#include "proto/session/session.hpp"

#include <utility>

#include "proto/text/codec.hpp"

namespace iscsi::session {

Result<TaskId> Session::submit(ScsiRequest req, TimePoint /*now*/,
                               std::optional<std::uint16_t> cid) {
  if (auto ec = check_accepting()) return ec;
  if (req.cdb.empty() || req.cdb.size() > 16 + 244) return Errc::invalid_request;
  const bool writes = req.direction == DataDirection::write ||
                      req.direction == DataDirection::bidirectional;
  const bool reads = req.direction == DataDirection::read ||
                     req.direction == DataDirection::bidirectional;
  if (!writes && !req.write_data().empty()) return Errc::invalid_request;
  if (!reads && req.read_length != 0) return Errc::invalid_request;
  if (!req.read_into.empty() && (!reads || req.read_into.size() < req.read_length)) {
    return Errc::invalid_request;
  }
  if (req.write_data().size() > 0xFFFFFFFFu) return Errc::invalid_request;
  auto picked = pick_connection(cid);
  if (!picked) return picked.error();
  auto added = tasks_.add_with_itt(TaskKind::scsi, *picked);
  if (!added) return added.error();
  Task& t = **added;
  t.write_length = static_cast<std::uint32_t>(req.write_data().size());
  t.req = std::move(req);
  const TaskId id = t.id;
  if (waiting_.empty() && window_open() && sm_.state() == SessionState::logged_in) {
    issue(t);  // the usual case: nothing waits before it and the window is open
  } else {
    waiting_.push_back(id);
    issue_waiting();
  }
  return id;
}

Result<TaskId> Session::submit_tmf(TmfRequest req, TimePoint now,
                                   std::optional<std::uint16_t> cid) {
  if (auto ec = check_accepting()) return ec;
  Task* ref = nullptr;
  if (req.function == pdu::TmfFunction::abort_task) {
    if (!req.referenced) return Errc::invalid_request;
    ref = tasks_.find(*req.referenced);
    if (ref == nullptr || ref->kind != TaskKind::scsi) return Errc::unknown_task;
    if (ref->itt == pdu::kReservedTag) return Errc::unknown_task;
    // RFC 7143 7.1.2 (ERL < 2): ABORT TASK goes on the connection the task is allegiant to.
    cid = ref->cid;
  }
  auto picked = pick_connection(cid);
  if (!picked) return picked.error();
  auto added = tasks_.add_with_itt(TaskKind::tmf, *picked);
  if (!added) return added.error();
  Task& t = **added;
  t.tmf = req;
  const TaskId id = t.id;
  if (ref != nullptr) {
    t.ref_itt = ref->itt;
    t.ref_cmd_sn = ref->cmd_sn;
    t.tmf.lun = ref->req.lun;
    if (!ref->sent) {
      // Never sent: nothing to ask the target; abort locally and answer the TMF ourselves.
      Completion rc;
      rc.id = ref->id;
      rc.kind = TaskKind::scsi;
      rc.outcome = TaskOutcome::aborted;
      finish(*ref, std::move(rc));
      Completion tc;
      tc.id = id;
      tc.kind = TaskKind::tmf;
      tc.tmf_response = pdu::TmfResponse::function_complete;
      finish(*tasks_.find(id), std::move(tc));
      return id;
    }
  }
  pdu::TaskMgmtRequest p;
  p.immediate = true;
  p.function = t.tmf.function;
  p.lun = t.tmf.lun;
  p.itt = t.itt;
  p.referenced_task_tag = t.ref_itt.value_or(pdu::kReservedTag);
  p.cmd_sn = cmd_sn_;  // immediate: carries the next CmdSN without taking it
  // RefCmdSN is the aborted task's CmdSN for ABORT TASK; for the task-set functions RFC 7143
  // 11.5.4 asks for the TMF's own CmdSN (tasks up to it are affected).
  p.ref_cmd_sn = t.ref_itt ? t.ref_cmd_sn : cmd_sn_;
  t.cmd_sn = cmd_sn_;
  t.sent = true;
  t.deadline = now + req.timeout;
  queue(*conn(*picked), std::move(p));
  return id;
}

Result<TaskId> Session::ping(TimePoint now, ByteVector data, std::optional<std::uint16_t> cid) {
  if (auto ec = check_accepting()) return ec;
  auto picked = pick_connection(cid);
  if (!picked) return picked.error();
  Connection& c = *conn(*picked);
  if (data.size() > c.max_send_dsl) return Errc::invalid_request;
  auto added = tasks_.add_with_itt(TaskKind::nop, *picked);
  if (!added) return added.error();
  Task& t = **added;
  t.ping_data = data;
  t.cmd_sn = cmd_sn_;
  t.sent = true;
  if (config_.noop_out_timeout.count() > 0) t.deadline = now + config_.noop_out_timeout;
  pdu::NopOut p;
  p.immediate = true;
  p.itt = t.itt;
  p.ttt = pdu::kReservedTag;
  p.cmd_sn = cmd_sn_;
  p.data = std::move(data);
  const TaskId id = t.id;
  queue(c, std::move(p));
  return id;
}

Result<TaskId> Session::send_text(text::KeyValueList keys, TimePoint /*now*/,
                                  std::optional<std::uint16_t> cid) {
  if (auto ec = check_accepting()) return ec;
  auto picked = pick_connection(cid);
  if (!picked) return picked.error();
  Connection& c = *conn(*picked);
  if (c.text_task) return Errc::text_in_progress;
  text::TextOptions opts;
  opts.allow_duplicate_keys = true;
  auto encoded = text::encode(keys, opts);
  if (!encoded) return Errc::invalid_request;
  auto added = tasks_.add_with_itt(TaskKind::text, *picked);
  if (!added) return added.error();
  Task& t = **added;
  t.text_out = std::move(*encoded);
  c.text_task = t.id;
  waiting_.push_back(t.id);
  const TaskId id = t.id;
  issue_waiting();
  return id;
}

Result<TaskId> Session::logout(pdu::LogoutReason reason, TimePoint /*now*/,
                               std::optional<std::uint16_t> cid, std::uint16_t logout_cid) {
  if (auto ec = check_accepting()) return ec;
  auto picked = pick_connection(cid);
  if (!picked) return picked.error();
  if (reason != pdu::LogoutReason::close_session && conn(logout_cid) == nullptr) {
    return Errc::unknown_connection;
  }
  auto added = tasks_.add_with_itt(TaskKind::logout, *picked);
  if (!added) return added.error();
  Task& t = **added;
  t.logout_reason = reason;
  t.logout_cid = reason == pdu::LogoutReason::close_session ? 0 : logout_cid;
  t.cmd_sn = cmd_sn_;
  t.sent = true;
  Connection& c = *conn(*picked);
  pdu::LogoutRequest p;
  // Sent immediate, as open-iscsi does, so a closed window cannot hold it back.
  p.immediate = true;
  p.reason = reason;
  p.itt = t.itt;
  p.cid = t.logout_cid;
  p.cmd_sn = cmd_sn_;
  const TaskId id = t.id;
  if (reason == pdu::LogoutReason::close_session) {
    logout_pending_ = true;
    set_session_state(SessionEvent::logout_started);
    (void)c.sm.on(ConnEvent::logout_sent);
  } else if (logout_cid == c.cid) {
    (void)c.sm.on(ConnEvent::logout_sent);
  }
  queue(c, std::move(p));
  return id;
}

}  // namespace iscsi::session
