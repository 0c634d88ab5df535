// The full feature phase pump: the session's PDUs written, its completions handed to their
// callers, its events logged and acted on (recovery, rescan), and its timer armed.
#include "net/engine.hpp"

#include <algorithm>
#include <utility>

#include "net/engine_internal.hpp"
#include "proto/scsi/report_luns.hpp"

namespace iscsi::net::detail {

namespace {

// The parameters of the Async Messages that carry some, as open-iscsi logs them.
std::string async_parameters(const pdu::AsyncMessage& m) {
  const auto p = [](std::uint16_t v) { return std::to_string(v); };
  switch (m.async_event) {
    case pdu::AsyncEvent::logout_request: return " (within " + p(m.parameter3) + " s)";
    case pdu::AsyncEvent::connection_drop:
      return " (CID " + p(m.parameter1) + ", reconnect min " + p(m.parameter2) + " s max " +
             p(m.parameter3) + " s)";
    case pdu::AsyncEvent::session_drop:
      return " (reconnect min " + p(m.parameter2) + " s max " + p(m.parameter3) + " s)";
    case pdu::AsyncEvent::negotiation_request: return " (within " + p(m.parameter3) + " s)";
    default: return "";
  }
}

}  // namespace

void Core::pump() {
  if (!sess_) return;
  in_pump_ = true;
  published_ = false;
  pdu::ScsiCommand cmd;      // every SCSI Command the session encodes from its task, in turn
  for (int round = 0; round < 100000; ++round) {
    bool progress = false;
    if (conn_ && !conn_->dead) {
      // Asked first: an empty queue is the common end, and the pops cost more to say so.
      while (sess_->has_pdu(cid_)) {
        if (sess_->pop_scsi_command(cid_, cmd)) {
          send_command(conn_, cmd);
        } else if (auto p = sess_->pop_pdu(cid_)) {
          send_pdu(conn_, std::move(*p));
        } else {
          break;
        }
        progress = true;
      }
      flush(conn_);
    }
    // Events first: a caller whose future just became ready finds the event (NOP timeout,
    // TMF timeout, conn error) that explains it already in the log.
    while (sess_->has_event()) {
      const auto ev = sess_->pop_event();
      handle_event(*ev);
      progress = true;
    }
    bool stats_fresh = false;
    // Each completion is handled where the session wrote it, and its slot handed back after.
    while (session::Completion* comp = sess_->take_completion()) {
      if (!stats_fresh) {
        // A caller woken by its completion may read stats() at once (a Reject counted in
        // rjt_pdus): refresh the counters first, not only at the end of the pump.
        std::lock_guard lock(mu_);
        snap_.stats = sess_->stats();
        snap_.stats.login_pdus = login_pdus_;
        stats_fresh = true;
        published_ = true;
      }
      dispatch(*comp);
      sess_->recycle(*comp);
      progress = true;
    }
    if (!queued_.empty() && phase_ == Phase::full_feature &&
        sess_->state() == session::SessionState::logged_in &&
        (opts_.cmds_max == 0 || scsi_in_session_ < opts_.cmds_max)) {
      Pending p = std::move(queued_.front());
      queued_.pop_front();
      try_submit_now(std::move(p));
      progress = true;
    }
    if (!progress) break;
  }
  in_pump_ = false;
  if (conn_ && conn_->placed && sess_->placement_orphaned()) {
    // The task whose Data-In is being received ended anyway (cannot happen while the connection
    // is fine): its buffer is the caller's again, so the receive into it must not go on.
    rt_->log(conn_prefix() + "a task ended while its Data-In was being received; closing");
    close_conn();
    sess_->on_transport_error(cid_, ConnError::conn_failed, SteadyClock::now());
    pump();
    return;
  }
  const auto st = sess_->state();
  if (phase_ == Phase::full_feature || phase_ == Phase::logging_out) {
    if (st == session::SessionState::failed) {
      session_failed();
    } else if (st == session::SessionState::free && phase_ == Phase::logging_out) {
      // logged out: handled in dispatch()
    }
  }
  arm_tick();
  // Published already for the completions of this pump: again only if the state moved (the
  // commands their callbacks started are counted at the next pump; a lock less per command).
  if (!published_ || sess_->state() != published_state_) update_snapshot(false);
}

void Core::arm_tick() {
  if (!sess_ || (phase_ != Phase::full_feature && phase_ != Phase::logging_out)) {
    if (armed_deadline_) tick_timer_.cancel();
    armed_deadline_.reset();
    return;
  }
  const auto next = sess_->next_deadline();
  // Only ever move the timer earlier. The NOP-Out deadline moves later with every PDU received,
  // and re-arming costs a timerfd_settime plus a cancelled wait each time (a sixth of the io
  // thread at QD32). A timer that fires before the real deadline just ticks (nothing is due
  // yet, on_tick does nothing) and is re-armed here by the pump that follows.
  if (!next || (armed_deadline_ && *armed_deadline_ <= *next)) return;
  armed_deadline_ = next;
  tick_timer_.expires_at(*next);  // a wait still pending ends with operation_aborted
  tick_timer_.async_wait([self = shared_from_this(), at = *next](boost::system::error_code ec) {
    if (ec || self->armed_deadline_ != at) return;
    self->armed_deadline_.reset();
    if (!self->sess_ || (self->phase_ != Phase::full_feature && self->phase_ != Phase::logging_out)) {
      return;
    }
    self->sess_->on_tick(SteadyClock::now());
    self->pump();
  });
}

void Core::transport_error(const std::shared_ptr<Conn>& c, ConnError why) {
  if (c != conn_) return;
  if (phase_ == Phase::connecting || phase_ == Phase::logging_in) {
    login_attempt_failed(Errc::connect_failed,
                         "connection closed during login (" +
                             std::string(kernel_name(why)) + ")",
                         true);
    return;
  }
  if (phase_ == Phase::logging_out && logout_task_) {
    // The target may close right after the Logout Response; treat a close as the end.
  }
  if (sess_ && (phase_ == Phase::full_feature || phase_ == Phase::logging_out)) {
    sess_->on_transport_error(cid_, why, SteadyClock::now());
    pump();
  }
}

std::exception_ptr Core::failure_for(const session::Completion& comp) const {
  switch (comp.outcome) {
    case session::TaskOutcome::completed: return nullptr;
    case session::TaskOutcome::aborted:
      return make_error(Errc::task_aborted, "task aborted by task management");
    case session::TaskOutcome::rejected:
      return make_error(Errc::task_rejected, "the target rejected the command");
    case session::TaskOutcome::timed_out:
      return make_error(comp.kind == session::TaskKind::nop ? Errc::nop_timeout : Errc::tmf_timeout,
                        std::string(session::to_string(comp.kind)) + " timed out");
    case session::TaskOutcome::failed:
      if (repl_expired_) {
        return make_error(Errc::replacement_timeout,
                          "replacement_timeout expired (" + secs(opts_.replacement_timeout) + ")");
      }
      if (terminal_) return make_error(terminal_code_, terminal_detail_);
      return make_error(Errc::task_failed, "task failed: " +
                                               std::string(kernel_name(comp.error)) + " (" +
                                               std::string(describe(comp.error)) + ")");
  }
  return nullptr;
}

void Core::dispatch(session::Completion& comp) {
  if (logout_task_ && comp.id == *logout_task_) {
    logout_task_.reset();
    logout_timer_.cancel();
    const bool ok = comp.outcome == session::TaskOutcome::completed &&
                    comp.logout.response == pdu::LogoutResponseCode::closed_successfully;
    record(EventType::logout, ok ? "logged out" : "logout failed: " + pdu::to_string(comp.logout.response));
    if (async_logout_) {
      // The target asked for it: log in again (tasks, if any, were completed before).
      async_logout_ = false;
      close_conn(Close::graceful);
      phase_ = Phase::waiting_relogin;
      if (sess_->state() == session::SessionState::logged_in) {
        sess_->on_transport_error(cid_, ConnError::conn_failed, SteadyClock::now());
      }
      schedule_relogin(milliseconds(0));
      return;
    }
    terminal_ = true;
    terminal_code_ = Errc::session_closed;
    terminal_detail_ = "session logged out";
    close_conn(Close::graceful);
    phase_ = Phase::closed;
    fail_everything(Errc::session_closed, "session logged out");
    if (auto done = std::exchange(logout_done_, nullptr)) {
      done(ok ? nullptr
              : make_error(Errc::logout_failed, pdu::to_string(comp.logout.response)));
    }
    return;
  }
  const std::optional<Handler> taken = handlers_.take(comp.id);
  if (!taken) return;
  const Handler& h = *taken;
  if (h.scsi_command) --scsi_in_session_;
  if (auto err = failure_for(comp)) {
    h.fail(err);
  } else {
    h.complete(comp);
  }
}

void Core::handle_event(const session::Event& ev) {
  using session::EventKind;
  switch (ev.kind) {
    case EventKind::conn_error: {
      const std::string line = "detected conn error (" +
                               std::to_string(static_cast<int>(ev.conn_error)) + ") " +
                               std::string(kernel_name(ev.conn_error)) +
                               (ev.detail.empty() ? "" : ": " + ev.detail);
      record(EventType::conn_error, line, ev.conn_error);
      rt_->log(conn_prefix() + line);
      break;
    }
    case EventKind::nop_timeout:
      record(EventType::nop_timeout,
             "ping timeout of " + secs(opts_.noop_out_timeout) + " expired" +
                 (ev.detail.empty() ? "" : ": " + ev.detail),
             ConnError::nop_timedout);
      rt_->log(conn_prefix() + "ping timeout of " + secs(opts_.noop_out_timeout) + " expired");
      break;
    case EventKind::async_message: {
      std::string what = ev.async ? pdu::to_string(ev.async->async_event) : "async message";
      if (ev.async) what += async_parameters(*ev.async);
      record(EventType::async_event, what);
      rt_->log(conn_prefix() + "async event: " + what);
      // RFC 7143 11.9.1 event 2/3: the target drops the connection itself; the loss is then
      // handled as any other, with Parameter2 as Time2Wait (session_failed()). Event 4: we
      // cannot renegotiate in full feature phase, so, as open-iscsi does, drop the connection
      // and log in again, which negotiates every key anew; outstanding I/O is retried.
      if (ev.async && ev.async->async_event == pdu::AsyncEvent::negotiation_request &&
          phase_ == Phase::full_feature && sess_->state() == session::SessionState::logged_in) {
        rt_->log(conn_prefix() + "parameter negotiation requested: dropping the connection");
        sess_->on_transport_error(cid_, ConnError::conn_failed, SteadyClock::now());
      }
      if (ev.async && ev.async->async_event == pdu::AsyncEvent::logout_request &&
          phase_ == Phase::full_feature && !logout_task_) {
        auto id = sess_->logout(pdu::LogoutReason::close_session, SteadyClock::now());
        if (id) {
          logout_task_ = *id;
          async_logout_ = true;
          phase_ = Phase::logging_out;
        }
      }
      break;
    }
    case EventKind::capacity_changed:
      record(EventType::capacity_changed, ev.detail);
      request_rescan();
      break;
    case EventKind::luns_changed:
      record(EventType::luns_changed, ev.detail);
      request_rescan();
      break;
    case EventKind::reject:
      record(EventType::reject, "reject " + pdu::to_string(ev.reject_reason) +
                                    (ev.detail.empty() ? "" : ": " + ev.detail));
      break;
    case EventKind::tmf_timeout:
      record(EventType::tmf_timeout, ev.detail);
      break;
    case EventKind::session_state:
      record(EventType::state_change, std::string(session::to_string(ev.state)));
      break;
    case EventKind::logout_response:
    case EventKind::dropped_pdu:
      break;
  }
}

void Core::request_rescan() {
  if (kind_ != Kind::normal || rescan_running_) return;
  rescan_running_ = true;
  std::weak_ptr<Core> weak = weak_from_this();
  rt_->run_helper_job([weak] {
    auto self = weak.lock();
    if (!self) return;
    try {
      auto report = rescan(self);
      (void)report;
    } catch (const std::exception& e) {
      self->record(EventType::rescan, std::string("rescan failed: ") + e.what());
    }
    try {
      self->post([self] { self->rescan_running_ = false; });
    } catch (const std::exception&) {
    }
  });
}

}  // namespace iscsi::net::detail
