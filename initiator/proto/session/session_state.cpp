// The session state machine's single transition table (see session_state.hpp).
#include "proto/session/session_state.hpp"

#include "proto/session/errc.hpp"

namespace iscsi::session {

std::string_view to_string(SessionState s) noexcept {
  switch (s) {
    case SessionState::free: return "FREE";
    case SessionState::logged_in: return "LOGGED_IN";
    case SessionState::failed: return "FAILED";
    case SessionState::in_recovery: return "IN_RECOVERY";
    case SessionState::recovery_failed: return "RECOVERY_FAILED";
    case SessionState::logging_out: return "LOGGING_OUT";
    case SessionState::terminate: return "TERMINATE";
  }
  return "UNKNOWN";
}

std::string_view to_string(SessionEvent e) noexcept {
  switch (e) {
    case SessionEvent::login_complete: return "login_complete";
    case SessionEvent::conn_failed: return "conn_failed";
    case SessionEvent::recovery_started: return "recovery_started";
    case SessionEvent::recovery_timeout: return "recovery_timeout";
    case SessionEvent::logout_started: return "logout_started";
    case SessionEvent::logout_complete: return "logout_complete";
    case SessionEvent::logout_failed: return "logout_failed";
    case SessionEvent::terminate: return "terminate";
  }
  return "unknown";
}

bool next_session_state(SessionState state, SessionEvent event, SessionState& out) noexcept {
  using S = SessionState;
  using E = SessionEvent;
  if (event == E::terminate) {
    if (state == S::free) return false;
    out = S::terminate;
    return true;
  }
  switch (state) {
    case S::free:
      if (event == E::login_complete) { out = S::logged_in; return true; }
      return false;
    case S::logged_in:
      if (event == E::conn_failed) { out = S::failed; return true; }
      if (event == E::logout_started) { out = S::logging_out; return true; }
      return false;
    case S::logging_out:
      if (event == E::logout_complete) { out = S::free; return true; }
      if (event == E::logout_failed) { out = S::logged_in; return true; }
      if (event == E::conn_failed) { out = S::failed; return true; }
      return false;
    case S::failed:
      // A second connection of the same session failing changes nothing.
      if (event == E::conn_failed) { out = S::failed; return true; }
      if (event == E::recovery_started) { out = S::in_recovery; return true; }
      if (event == E::login_complete) { out = S::logged_in; return true; }
      if (event == E::recovery_timeout) { out = S::recovery_failed; return true; }
      return false;
    case S::in_recovery:
      if (event == E::login_complete) { out = S::logged_in; return true; }
      if (event == E::recovery_timeout) { out = S::recovery_failed; return true; }
      if (event == E::conn_failed) { out = S::failed; return true; }
      return false;
    case S::recovery_failed:
      if (event == E::login_complete) { out = S::logged_in; return true; }
      if (event == E::recovery_timeout) { out = S::recovery_failed; return true; }
      return false;
    case S::terminate:
      return false;
  }
  return false;
}

std::error_code SessionStateMachine::on(SessionEvent event) noexcept {
  if (errored_) return make_error_code(Errc::illegal_transition);
  SessionState next{};
  if (!next_session_state(state_, event, next)) {
    errored_ = true;
    return make_error_code(Errc::illegal_transition);
  }
  state_ = next;
  return {};
}

}  // namespace iscsi::session
