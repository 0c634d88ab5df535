// The connection state machine's single transition function (see connection_state.hpp).
#include "proto/session/connection_state.hpp"

#include "proto/session/errc.hpp"

namespace iscsi::session {

std::string_view to_string(ConnState s) noexcept {
  switch (s) {
    case ConnState::free: return "FREE";
    case ConnState::logged_in: return "LOGGED_IN";
    case ConnState::logout_requested: return "LOGOUT_REQUESTED";
    case ConnState::in_logout: return "IN_LOGOUT";
    case ConnState::cleanup_wait: return "CLEANUP_WAIT";
  }
  return "UNKNOWN";
}

std::string_view to_string(ConnEvent e) noexcept {
  switch (e) {
    case ConnEvent::logged_in: return "logged_in";
    case ConnEvent::logout_requested: return "logout_requested";
    case ConnEvent::logout_sent: return "logout_sent";
    case ConnEvent::logout_response: return "logout_response";
    case ConnEvent::logout_refused: return "logout_refused";
    case ConnEvent::failed: return "failed";
    case ConnEvent::cleaned_up: return "cleaned_up";
  }
  return "unknown";
}

bool next_conn_state(ConnState state, ConnEvent event, ConnState& out) noexcept {
  using S = ConnState;
  using E = ConnEvent;
  switch (state) {
    case S::free:
      if (event == E::logged_in) { out = S::logged_in; return true; }
      return false;
    case S::logged_in:
    case S::logout_requested:
      if (event == E::logout_requested) { out = S::logout_requested; return true; }
      if (event == E::logout_sent) { out = S::in_logout; return true; }
      if (event == E::failed) { out = S::cleanup_wait; return true; }
      return false;
    case S::in_logout:
      if (event == E::logout_response) { out = S::free; return true; }
      if (event == E::logout_refused) { out = S::logged_in; return true; }
      if (event == E::failed) { out = S::cleanup_wait; return true; }
      return false;
    case S::cleanup_wait:
      if (event == E::cleaned_up) { out = S::free; return true; }
      if (event == E::failed) { out = S::cleanup_wait; return true; }
      return false;
  }
  return false;
}

std::error_code ConnStateMachine::on(ConnEvent event) noexcept {
  if (errored_) return make_error_code(Errc::illegal_transition);
  ConnState next{};
  if (!next_conn_state(state_, event, next)) {
    errored_ = true;
    return make_error_code(Errc::illegal_transition);
  }
  state_ = next;
  return {};
}

}  // namespace iscsi::session
