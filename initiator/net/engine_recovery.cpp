// Session recovery (RFC 7143 6.3.5, what ERL 0 has): a failed session waits DefaultTime2Wait
// (or what the target's drop request said), logs in again with the same ISID and TSIH 0 so the
// target ends the old session's tasks, and resubmits them; replacement_timeout fails the I/O,
// reopen_max ends the tries.
#include "net/engine.hpp"

#include <utility>

#include "net/engine_internal.hpp"

namespace iscsi::net::detail {

void Core::session_failed() {
  close_conn();
  if (logout_task_ && !async_logout_) {
    // The target closed the connection instead of answering our Logout: the session is over
    // all the same (open-iscsi treats it so too).
    logout_task_.reset();
    logout_timer_.cancel();
    terminal_ = true;
    terminal_code_ = Errc::session_closed;
    terminal_detail_ = "session logged out";
    phase_ = Phase::closed;
    record(EventType::logout, "connection closed during logout");
    fail_everything(Errc::session_closed, "session logged out");
    if (auto done = std::exchange(logout_done_, nullptr)) done(nullptr);
    return;
  }
  if (kind_ == Kind::discovery || terminal_) {
    phase_ = Phase::closed;
    terminal_ = true;
    terminal_code_ = Errc::task_failed;
    terminal_detail_ = "discovery connection failed";
    sess_->fail_all(ConnError::conn_failed);
    while (auto ev = sess_->pop_event()) handle_event(*ev);
    while (auto comp = sess_->pop_completion()) dispatch(*comp);
    fail_everything(terminal_code_, terminal_detail_);
    return;
  }
  phase_ = Phase::waiting_relogin;
  // The policy's decision (ERL 2, session_reassign.cpp): the failed connection's tasks wait
  // for the same CID to log in again with the session's TSIH, for at most DefaultTime2Retain
  // from the failure; after that (or at ERL < 2) the session is reinstated.
  if (sess_->awaiting_connection_recovery()) {
    const auto now = SteadyClock::now();
    if (!retain_until_) {
      retain_until_ = now + std::chrono::seconds(sess_->config().params.default_time2retain);
    }
    if (now < *retain_until_) {
      purpose_ = LoginPurpose::reinstate_connection;
    } else {
      abandon_connection_recovery("DefaultTime2Retain (" +
                                  std::to_string(sess_->config().params.default_time2retain) +
                                  " s) passed");
    }
  } else {
    purpose_ = LoginPurpose::relogin;
    retain_until_.reset();
  }
  record(EventType::recovery_started,
         std::string(purpose_ == LoginPurpose::reinstate_connection
                         ? "connection FAILED (ERL 2: reinstating CID " + std::to_string(cid_) +
                               " within DefaultTime2Retain)"
                         : "session FAILED") +
             "; replacement_timeout " + secs(opts_.replacement_timeout));
  // 0 fails at once; a negative value (open-iscsi's -1) waits for ever.
  if (!repl_running_ && !repl_expired_ && opts_.replacement_timeout.count() >= 0) {
    repl_running_ = true;
    repl_timer_.expires_after(opts_.replacement_timeout);
    repl_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || !self->repl_running_) return;
      self->replacement_expired();
    });
  }
  // Time2Wait: the negotiated DefaultTime2Wait, or what a drop request's async message said.
  std::uint32_t wait_s = sess_->config().params.default_time2wait;
  const auto& ar = sess_->async_requests();
  if (ar.connection_drop) wait_s = ar.connection_drop->parameter2;
  if (ar.session_drop) wait_s = ar.session_drop->parameter2;
  backoff_ = milliseconds(0);
  schedule_relogin(std::chrono::seconds(wait_s));
  update_snapshot();
}

void Core::schedule_relogin(milliseconds delay) {
  if (terminal_) return;
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->terminal_) return;
    if (self->opts_.reopen_max != 0 && self->reopen_attempts_ >= self->opts_.reopen_max) {
      self->give_up(Errc::reopen_max_exceeded,
                    "reopen_max (" + std::to_string(self->opts_.reopen_max) + ") relogins failed");
      return;
    }
    ++self->reopen_attempts_;
    if (self->purpose_ == LoginPurpose::reinstate_connection && self->retain_until_ &&
        SteadyClock::now() >= *self->retain_until_) {
      self->abandon_connection_recovery("DefaultTime2Retain passed before a connection logged in");
    }
    if (self->purpose_ != LoginPurpose::reinstate_connection) {
      self->purpose_ = LoginPurpose::relogin;
    }
    {
      // A temporary redirect (0x0101) was for the login it answered: every relogin starts at
      // the configured portal again, or at a permanent redirect's (0x0102) new home.
      std::lock_guard lock(self->mu_);
      self->portal_ = self->original_portal_;
    }
    (void)self->sess_->begin_recovery();
    self->update_snapshot();
    self->connect();
  });
}

void Core::abandon_connection_recovery(const std::string& why) {
  retain_until_.reset();
  purpose_ = LoginPurpose::relogin;
  if (!sess_ || !sess_->awaiting_connection_recovery()) return;
  sess_->abandon_connection_recovery();
  record(EventType::recovery_started, "connection recovery given up: " + why +
                                          "; reinstating the session");
  rt_->log(conn_prefix() + "connection recovery given up: " + why);
  while (auto ev = sess_->pop_event()) handle_event(*ev);
  while (auto comp = sess_->pop_completion()) dispatch(*comp);
}

void Core::replacement_expired() {
  repl_running_ = false;
  repl_expired_ = true;
  const std::string detail =
      "replacement_timeout expired (" + secs(opts_.replacement_timeout) + ")";
  record(EventType::replacement_timeout, detail);
  rt_->log(conn_prefix() + detail + "; failing I/O");
  sess_->fail_all(ConnError::session_failed);
  while (auto ev = sess_->pop_event()) handle_event(*ev);
  // Before any handler runs: a caller woken by its failed I/O sees RECOVERY_FAILED.
  update_snapshot();
  while (auto comp = sess_->pop_completion()) dispatch(*comp);
  std::deque<Pending> queued;
  queued.swap(queued_);
  for (auto& p : queued) fail_pending(p, Errc::replacement_timeout, detail);
  update_snapshot();
}

void Core::give_up(Errc code, const std::string& detail) {
  terminal_ = true;
  terminal_code_ = code;
  terminal_detail_ = detail;
  phase_ = Phase::closed;
  repl_timer_.cancel();
  repl_running_ = false;
  record(EventType::login_failed, detail);
  sess_->fail_all(ConnError::session_failed);
  while (auto ev = sess_->pop_event()) handle_event(*ev);
  while (auto comp = sess_->pop_completion()) dispatch(*comp);
  fail_everything(code, detail);
}

}  // namespace iscsi::net::detail
