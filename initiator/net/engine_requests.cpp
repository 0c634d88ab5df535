// Requests from the caller: queued while the session cannot take them (login, recovery,
// cmds_max), handed to the session when it can; logout and shutdown.
#include "net/engine.hpp"

#include <utility>

#include "net/engine_internal.hpp"

namespace iscsi::net::detail {

void Core::fail_pending(Pending& p, Errc code, const std::string& detail) {
  p.handler.fail(make_error(code, detail));
}

void Core::try_submit(Pending&& p) {
  if (terminal_) {
    fail_pending(p, terminal_code_, terminal_detail_);
    return;
  }
  if (repl_expired_) {
    fail_pending(p, Errc::replacement_timeout,
                 "replacement_timeout expired (" + secs(opts_.replacement_timeout) + ")");
    return;
  }
  // node.session.cmds_max bounds the SCSI commands handed to the session at once; the rest
  // wait here in order (as the host queue of the Linux initiator does).
  const bool full = p.what == Pending::What::scsi && opts_.cmds_max != 0 &&
                    scsi_in_session_ >= opts_.cmds_max;
  if (!sess_ || phase_ != Phase::full_feature ||
      sess_->state() != session::SessionState::logged_in || full ||
      (p.what == Pending::What::scsi && !queued_.empty())) {
    queued_.push_back(std::move(p));
    return;
  }
  try_submit_now(std::move(p));
}

void Core::try_submit_now(Pending&& p) {
  const auto now = SteadyClock::now();
  Result<session::TaskId> id = session::Errc::invalid_request;
  switch (p.what) {
    case Pending::What::scsi: submit_scsi_now(std::move(p.scsi), std::move(p.handler)); return;
    case Pending::What::tmf:
      if (p.ref_handle) {
        // A linear search: abort_task is rare, and a second index would cost every command.
        std::optional<session::TaskId> ref;
        handlers_.for_each([&](session::TaskId tid, const Handler& h) {
          if (h.handle == *p.ref_handle) ref = tid;
        });
        if (!ref) {
          fail_pending(p, Errc::invalid_argument, "abort_task: the task is no longer outstanding");
          return;
        }
        p.tmf.referenced = *ref;
      }
      id = sess_->submit_tmf(p.tmf, now);
      break;
    case Pending::What::ping: id = sess_->ping(now); break;
    case Pending::What::text: id = sess_->send_text(std::move(p.text), now); break;
  }
  if (!id) {
    fail_pending(p, Errc::invalid_argument, id.error().message());
    return;
  }
  handlers_.emplace(*id) = std::move(p.handler);
  if (!in_pump_) pump();
}

bool Core::accepts_scsi_now() const {
  return !terminal_ && !repl_expired_ && sess_ && phase_ == Phase::full_feature &&
         sess_->state() == session::SessionState::logged_in &&
         (opts_.cmds_max == 0 || scsi_in_session_ < opts_.cmds_max) && queued_.empty();
}

void Core::submit_scsi_now(session::ScsiRequest&& req, Handler&& h) {
  auto id = sess_->submit(std::move(req), SteadyClock::now());
  if (!id) {
    h.fail(make_error(Errc::invalid_argument, id.error().message()));
    return;
  }
  h.scsi_command = true;
  ++scsi_in_session_;
  handlers_.emplace(*id) = std::move(h);
  if (!in_pump_) pump();
}

void Core::submit_scsi(session::ScsiRequest&& req, std::uint64_t handle, Done&& done) {
  Handler h;
  h.done = std::move(done);
  submit_scsi_to(std::move(req), handle, std::move(h));
}

void Core::submit_scsi(session::ScsiRequest&& req, std::uint64_t handle, ScsiDone&& done) {
  Handler h;
  h.scsi = std::move(done);
  submit_scsi_to(std::move(req), handle, std::move(h));
}

void Core::submit_scsi_to(session::ScsiRequest&& req, std::uint64_t handle, Handler&& h) {
  h.handle = handle;
  if (accepts_scsi_now()) {
    submit_scsi_now(std::move(req), std::move(h));
    return;
  }
  Pending p;
  p.what = Pending::What::scsi;
  p.scsi = std::move(req);
  p.handler = std::move(h);
  try_submit(std::move(p));
}

void Core::submit_tmf(session::TmfRequest req, std::optional<std::uint64_t> ref_handle, Done done) {
  // open-iscsi's node.session.err_timeo.* per function.
  switch (req.function) {
    case pdu::TmfFunction::abort_task:
    case pdu::TmfFunction::abort_task_set:
    case pdu::TmfFunction::clear_task_set:
    case pdu::TmfFunction::clear_aca: req.timeout = opts_.abort_timeout; break;
    case pdu::TmfFunction::logical_unit_reset: req.timeout = opts_.lu_reset_timeout; break;
    default: req.timeout = opts_.tgt_reset_timeout; break;
  }
  Pending p;
  p.what = Pending::What::tmf;
  p.tmf = req;
  p.ref_handle = ref_handle;
  p.handler.done = std::move(done);
  try_submit(std::move(p));
}

void Core::submit_ping(Done done) {
  Pending p;
  p.what = Pending::What::ping;
  p.handler.done = std::move(done);
  try_submit(std::move(p));
}

void Core::submit_text(text::KeyValueList keys, Done done) {
  Pending p;
  p.what = Pending::What::text;
  p.text = std::move(keys);
  p.handler.done = std::move(done);
  try_submit(std::move(p));
}

void Core::logout(std::function<void(std::exception_ptr)> done) {
  if (terminal_ || !sess_ || phase_ != Phase::full_feature) {
    // Not logged in right now: just close.
    terminal_ = true;
    terminal_code_ = Errc::session_closed;
    terminal_detail_ = "session logged out";
    close_conn();
    phase_ = Phase::closed;
    retry_timer_.cancel();
    repl_timer_.cancel();
    fail_everything(Errc::session_closed, "session logged out");
    done(nullptr);
    return;
  }
  auto id = sess_->logout(pdu::LogoutReason::close_session, SteadyClock::now());
  if (!id) {
    done(make_error(Errc::logout_failed, id.error().message()));
    return;
  }
  logout_task_ = *id;
  logout_done_ = std::move(done);
  phase_ = Phase::logging_out;
  logout_timer_.expires_after(opts_.logout_timeout);
  logout_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || !self->logout_task_) return;
    self->logout_task_.reset();
    self->terminal_ = true;
    self->close_conn();
    self->phase_ = Phase::closed;
    self->fail_everything(Errc::session_closed, "session closed (logout timed out)");
    if (auto d = std::exchange(self->logout_done_, nullptr)) {
      d(make_error(Errc::logout_failed,
                   "logout_timeout expired (" + secs(self->opts_.logout_timeout) + ")"));
    }
  });
  pump();
}

void Core::fail_everything(Errc code, const std::string& detail) {
  scsi_in_session_ = 0;
  std::deque<Pending> queued;
  queued.swap(queued_);
  handlers_.drain([&](session::TaskId, Handler& h) { h.fail(make_error(code, detail)); });
  for (auto& p : queued) fail_pending(p, code, detail);
  if (auto done = std::exchange(start_done_, nullptr)) done(make_error(code, detail));
  update_snapshot();
}

void Core::shutdown() {
  terminal_ = true;
  terminal_code_ = Errc::session_closed;
  terminal_detail_ = "session closed";
  close_conn();
  phase_ = Phase::closed;
  retry_timer_.cancel();
  repl_timer_.cancel();
  logout_timer_.cancel();
  tick_timer_.cancel();
  logout_task_.reset();
  fail_everything(Errc::session_closed, "session closed");
  if (auto d = std::exchange(logout_done_, nullptr)) d(nullptr);
}

}  // namespace iscsi::net::detail
