// The per-connection state machine of the full feature phase, with open-iscsi's connection
// state names (ISCSI_CONN_STATE_*): one enum, one transition function, to_string. Illegal
// (state, event) pairs are errors and sticky.
//
//   FREE --logged_in--> LOGGED_IN --logout_requested--> LOGOUT_REQUESTED (target's Async 1)
//   LOGGED_IN / LOGOUT_REQUESTED --logout_sent--> IN_LOGOUT --logout_response--> FREE
//   IN_LOGOUT --logout_refused--> LOGGED_IN
//   any live state --failed--> CLEANUP_WAIT (error; tasks handed to recovery) --cleaned_up--> FREE
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace iscsi::session {

enum class ConnState : std::uint8_t {
  free,              // ISCSI_CONN_STATE_FREE: not (or no longer) in full feature phase
  logged_in,         // ISCSI_CONN_STATE_LOGGED_IN
  logout_requested,  // ISCSI_CONN_STATE_LOGOUT_REQUESTED: the target asked us to log out
  in_logout,         // ISCSI_CONN_STATE_IN_LOGOUT: our Logout Request is outstanding
  cleanup_wait,      // ISCSI_CONN_STATE_CLEANUP_WAIT: failed; the pump must close the socket
};

enum class ConnEvent : std::uint8_t {
  logged_in,
  logout_requested,
  logout_sent,
  logout_response,
  logout_refused,  // the Logout Response said no: back to LOGGED_IN
  failed,
  cleaned_up,
};

std::string_view to_string(ConnState s) noexcept;
std::string_view to_string(ConnEvent e) noexcept;
bool next_conn_state(ConnState state, ConnEvent event, ConnState& out) noexcept;

class ConnStateMachine {
 public:
  ConnState state() const noexcept { return state_; }
  std::error_code on(ConnEvent event) noexcept;
  bool errored() const noexcept { return errored_; }
  // Full feature phase: tasks may be sent here.
  bool usable() const noexcept {
    return state_ == ConnState::logged_in || state_ == ConnState::logout_requested;
  }

 private:
  ConnState state_ = ConnState::free;
  bool errored_ = false;
};

}  // namespace iscsi::session
