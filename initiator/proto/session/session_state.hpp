// The session-level state machine, with open-iscsi's state names (iscsiadm -m session -P 1
// prints "iSCSI Session State: LOGGED_IN"): one enum, one transition function, to_string.
// The Session drives it; an event the current state does not take is an error and leaves the
// machine in a sticky error (every later event fails too), as h11 does.
//
//   FREE --login_complete--> LOGGED_IN --logout_started--> LOGGING_OUT --logout_complete--> FREE
//   LOGGING_OUT --logout_failed--> LOGGED_IN
//   LOGGED_IN / LOGGING_OUT --conn_failed--> FAILED --recovery_started--> IN_RECOVERY
//   FAILED / IN_RECOVERY --login_complete--> LOGGED_IN        (ERL 0 session reinstatement)
//   FAILED / IN_RECOVERY --recovery_timeout--> RECOVERY_FAILED (replacement_timeout expired)
//   RECOVERY_FAILED --login_complete--> LOGGED_IN
//   any but FREE --terminate--> TERMINATE
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace iscsi::session {

enum class SessionState : std::uint8_t {
  free,             // ISCSI_STATE_FREE: no login yet, or logged out
  logged_in,        // ISCSI_STATE_LOGGED_IN: full feature phase
  failed,           // ISCSI_STATE_FAILED: a connection failed; tasks wait for recovery
  in_recovery,      // ISCSI_STATE_IN_RECOVERY: a reinstatement login is under way
  recovery_failed,  // ISCSI_STATE_RECOVERY_FAILED: replacement_timeout expired, tasks failed
  logging_out,      // ISCSI_STATE_LOGGING_OUT: Logout (close session) sent
  terminate,        // ISCSI_STATE_TERMINATE: torn down by the user
};

enum class SessionEvent : std::uint8_t {
  login_complete,
  conn_failed,
  recovery_started,
  recovery_timeout,
  logout_started,
  logout_complete,
  logout_failed,  // the Logout Response refused: back to full feature phase
  terminate,
};

// "LOGGED_IN", "FAILED", "FREE", ... (open-iscsi's spelling).
std::string_view to_string(SessionState s) noexcept;
std::string_view to_string(SessionEvent e) noexcept;

// The next state, or nullopt-like failure: returns false when (state, event) is illegal.
bool next_session_state(SessionState state, SessionEvent event, SessionState& out) noexcept;

class SessionStateMachine {
 public:
  SessionState state() const noexcept { return state_; }
  // Applies the event; Errc::illegal_transition (sticky) when the state does not take it.
  std::error_code on(SessionEvent event) noexcept;
  bool errored() const noexcept { return errored_; }

 private:
  SessionState state_ = SessionState::free;
  bool errored_ = false;
};

}  // namespace iscsi::session
