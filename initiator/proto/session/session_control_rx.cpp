// The other target PDUs: NOP-In, Task Management, Text and Logout Responses, Async Messages
// and Rejects (RFC 7143 11.6, 11.11, 11.15, 11.18, 11.9, 11.17, 11.19).
#include "proto/session/session.hpp"

#include <string>
#include <utility>
#include <vector>

#include "proto/text/codec.hpp"
#include "proto/text/sendtargets.hpp"

namespace iscsi::session {

namespace {

// A Text answer larger than this fails the task (RFC 7143 6.1 leaves the bound to us).
constexpr std::size_t kMaxTextAnswer = 1024 * 1024;

}  // namespace

ConnError Session::on_nop_in(Connection& c, const pdu::NopIn& p, Received& rx) {
  if (p.itt != pdu::kReservedTag) {
    // The answer to our ping: StatSN advances (RFC 7143 11.19.3).
    if (p.ttt != pdu::kReservedTag) {
      rx.detail = "NOP-In answering a ping must carry TTT 0xffffffff";
      return ConnError::proto;
    }
    Task* t = rx.task;  // the receive table checked its StatSN and looked it up
    Completion done;
    done.id = t->id;
    done.kind = TaskKind::nop;
    done.ping_data = p.data;
    finish(*t, std::move(done));
    return ConnError::none;
  }
  // Unsolicited NOP-In: StatSN is not advanced. A valid TTT asks for an answer.
  if (p.ttt != pdu::kReservedTag) {
    pdu::NopOut reply;
    reply.immediate = true;
    reply.lun = p.lun;
    reply.itt = pdu::kReservedTag;
    reply.ttt = p.ttt;
    reply.cmd_sn = cmd_sn_;
    queue(c, std::move(reply));
  }
  return ConnError::none;
}

void Session::abort_tasks_for(const Task& tmf) {
  using F = pdu::TmfFunction;
  const auto victims = tasks_.ids_where([&](const Task& t) {
    if (t.kind != TaskKind::scsi) return false;
    // The target acts on the tasks it received before the TMF (CmdSN below the TMF's); tasks
    // still waiting for the window end here too (as in Linux's fail_scsi_tasks), while tasks
    // sent after the TMF are not affected.
    if (t.sent && SerialNumber::distance(t.cmd_sn, tmf.cmd_sn) <= 0) return false;
    switch (tmf.tmf.function) {
      case F::abort_task: return tmf.tmf.referenced == t.id;
      case F::abort_task_set:
      case F::clear_task_set:
      case F::logical_unit_reset: return t.req.lun == tmf.tmf.lun;
      case F::target_warm_reset:
      case F::target_cold_reset: return true;
      default: return false;
    }
  });
  complete_each(victims, TaskOutcome::aborted, ConnError::none);
}

ConnError Session::on_tmf_response(Connection& c, const pdu::TaskMgmtResponse& p, Received& rx) {
  Task* t = rx.task;
  if (t->internal_reassign) {  // ERL 2 (session_reassign.cpp)
    on_reassign_response(c, *t, p.response);
    return ConnError::none;
  }
  if (p.response == pdu::TmfResponse::function_complete) abort_tasks_for(*t);
  Completion done;
  done.id = t->id;
  done.kind = TaskKind::tmf;
  done.tmf_response = p.response;
  finish(*t, std::move(done));
  return ConnError::none;
}

ConnError Session::on_text_response(Connection& /*c*/, const pdu::TextResponse& p, Received& rx) {
  Task* t = rx.task;
  if (p.final_pdu && p.cont) {
    rx.detail = "Text Response with both F and C set";
    return ConnError::proto;
  }
  if (t->text_in.size() + p.data.size() > kMaxTextAnswer) {
    complete_simple(*t, TaskOutcome::failed, ConnError::datalen);
    return ConnError::none;
  }
  t->text_in.insert(t->text_in.end(), p.data.begin(), p.data.end());
  if (t->text_sent < t->text_out.size()) {
    // Mid-request: the target acknowledged a C=1 piece; send the next one.
    t->text_ttt = p.ttt;
    waiting_.push_back(t->id);
    return ConnError::none;
  }
  if (!p.final_pdu) {
    // More answer to come: an empty request with the target's TTT fetches it.
    if (p.ttt == pdu::kReservedTag) {
      rx.detail = "Text Response with F=0 and the reserved TTT";
      return ConnError::proto;
    }
    t->text_ttt = p.ttt;
    t->text_continue_empty = true;
    waiting_.push_back(t->id);
    return ConnError::none;
  }
  auto list = text::decode(t->text_in, text::send_targets_text_options());
  Completion done;
  done.id = t->id;
  done.kind = TaskKind::text;
  if (list) {
    done.text = std::move(*list);
  } else {
    done.outcome = TaskOutcome::failed;
    done.error = ConnError::proto;
  }
  finish(*t, std::move(done));
  return ConnError::none;
}

ConnError Session::on_logout_response(Connection& c, const pdu::LogoutResponse& p, Received& rx) {
  Task* t = rx.task;
  const pdu::LogoutReason reason = t->logout_reason;
  const std::uint16_t target_cid = t->logout_cid;
  const bool ok = p.response == pdu::LogoutResponseCode::closed_successfully;
  Completion done;
  done.id = t->id;
  done.kind = TaskKind::logout;
  done.logout = p;
  finish(*t, std::move(done));
  Event e;
  e.kind = EventKind::logout_response;
  e.cid = c.cid;
  e.logout = p;
  emit(std::move(e));
  if (reason == pdu::LogoutReason::close_session) {
    logout_pending_ = false;
    if (ok) {
      // Every connection of the session is gone; what is left fails.
      complete_each(tasks_.ids_where([](const Task&) { return true; }), TaskOutcome::failed,
                    ConnError::session_failed);
      waiting_.clear();
      for (auto& [id, cn] : conns_) {
        if (cn.sm.state() != ConnState::in_logout) (void)cn.sm.on(ConnEvent::logout_sent);
        (void)cn.sm.on(ConnEvent::logout_response);
        cn.out.clear();
      }
      set_session_state(SessionEvent::logout_complete);
    } else {
      if (c.sm.state() == ConnState::in_logout) (void)c.sm.on(ConnEvent::logout_refused);
      set_session_state(SessionEvent::logout_failed);
    }
  } else if (Connection* closed = conn(target_cid)) {
    if (!ok) {
      if (closed->sm.state() == ConnState::in_logout) (void)closed->sm.on(ConnEvent::logout_refused);
    } else {
      // The connection is gone (possibly one other than the one the Logout went on): its tasks
      // end with it, since there is no connection recovery to move them (ERL < 2).
      if (closed->sm.state() != ConnState::in_logout) (void)closed->sm.on(ConnEvent::logout_sent);
      (void)closed->sm.on(ConnEvent::logout_response);
      closed->out.clear();
      closed->ping.reset();
      closed->text_task.reset();
      complete_each(tasks_.ids_where([&](const Task& task) { return task.cid == target_cid; }),
                    TaskOutcome::failed, ConnError::conn_failed);
    }
  }
  return ConnError::none;
}

ConnError Session::on_async(Connection& c, const pdu::AsyncMessage& p, Received& /*rx*/) {
  Event e;
  e.kind = EventKind::async_message;
  e.cid = c.cid;
  e.async = p;
  std::optional<scsi::SenseData> sense;
  switch (p.async_event) {
    case pdu::AsyncEvent::scsi_async_event: {
      auto split = pdu::split_sense_data(p.data);
      if (split && !split->sense.empty()) {
        if (auto s = scsi::decode_sense(split->sense)) sense = *s;
      }
      break;
    }
    case pdu::AsyncEvent::logout_request:
      async_.logout_within_s = p.parameter3;
      if (c.sm.state() == ConnState::logged_in) (void)c.sm.on(ConnEvent::logout_requested);
      break;
    case pdu::AsyncEvent::connection_drop:
      async_.connection_drop = p;
      break;
    case pdu::AsyncEvent::session_drop:
      async_.session_drop = p;
      break;
    case pdu::AsyncEvent::negotiation_request:
      async_.negotiate_within_s = p.parameter3;
      break;
    default:
      break;
  }
  e.sense = sense;
  emit(std::move(e));
  if (sense) note_sense(*sense, c.cid, std::nullopt);
  return ConnError::none;
}

ConnError Session::on_reject(Connection& c, const pdu::Reject& p, Received& /*rx*/) {
  Event e;
  e.kind = EventKind::reject;
  e.cid = c.cid;
  e.reject_reason = p.reason;
  if (p.data.size() >= pdu::kBhsLength) {
    e.rejected_opcode = static_cast<std::uint8_t>(p.data[0] & 0x3Fu);
    auto header = pdu::decode_bhs(ByteSpan(p.data).first(pdu::kBhsLength));
    if (header) {
      e.rejected_opcode = static_cast<std::uint8_t>(pdu::opcode_of(*header));
      e.rejected_itt = pdu::itt_of(*header);
    }
  } else {
    e.detail = "Reject without the rejected header";
  }
  // A rejected command PDU ends its task (the target will not answer it). A rejected Data-Out
  // (data digest error at ERL 0) leaves the task to the target's SCSI Response.
  if (e.rejected_itt != pdu::kReservedTag && p.reason != pdu::RejectReason::data_digest_error) {
    if (Task* tp = tasks_.by_itt(e.rejected_itt)) {
      Task& t = *tp;
      const auto op = static_cast<pdu::Opcode>(e.rejected_opcode);
      const bool command_pdu =
          (t.kind == TaskKind::scsi && op == pdu::Opcode::scsi_command) ||
          (t.kind == TaskKind::tmf && op == pdu::Opcode::task_mgmt_request) ||
          (t.kind == TaskKind::nop && op == pdu::Opcode::nop_out) ||
          (t.kind == TaskKind::text && op == pdu::Opcode::text_request) ||
          (t.kind == TaskKind::logout && op == pdu::Opcode::logout_request);
      if (command_pdu && t.sent && t.internal_reassign) {
        // Our TASK REASSIGN rejected (LIO: Bookmark invalid for an ExpDataSN it cannot
        // honour): refused, as any answer but "Function complete".
        emit(std::move(e));
        on_reassign_response(c, t, pdu::TmfResponse::function_rejected);
        return ConnError::none;
      }
      if (command_pdu && t.sent) {
        e.task = t.id;
        if (t.kind == TaskKind::logout) {
          logout_pending_ = false;
          if (c.sm.state() == ConnState::in_logout) (void)c.sm.on(ConnEvent::logout_refused);
          if (sm_.state() == SessionState::logging_out) {
            set_session_state(SessionEvent::logout_failed);
          }
        }
        complete_simple(t, TaskOutcome::rejected);
      }
    }
  }
  emit(std::move(e));
  return ConnError::none;
}

}  // namespace iscsi::session
