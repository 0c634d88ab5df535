// Names and one-line descriptions of the session area's error codes.
#include "proto/session/errc.hpp"

namespace iscsi::session {

const char* category_name(Errc) noexcept { return "iscsi.session"; }

std::string_view to_string(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::not_logged_in: return "not_logged_in";
    case Errc::unknown_connection: return "unknown_connection";
    case Errc::duplicate_connection: return "duplicate_connection";
    case Errc::unknown_task: return "unknown_task";
    case Errc::invalid_request: return "invalid_request";
    case Errc::illegal_transition: return "illegal_transition";
    case Errc::connection_failed: return "connection_failed";
    case Errc::text_in_progress: return "text_in_progress";
    case Errc::logout_in_progress: return "logout_in_progress";
    case Errc::itt_space_exhausted: return "itt_space_exhausted";
  }
  return "unknown";
}

std::string_view describe(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "success";
    case Errc::not_logged_in: return "the session or connection is not logged in";
    case Errc::unknown_connection: return "no connection with this CID in the session";
    case Errc::duplicate_connection: return "a connection with this CID already exists";
    case Errc::unknown_task: return "no outstanding task with this id";
    case Errc::invalid_request: return "the request is inconsistent";
    case Errc::illegal_transition: return "event not allowed in the current state";
    case Errc::connection_failed: return "the input failed the connection (protocol violation)";
    case Errc::text_in_progress: return "a Text negotiation is already in progress";
    case Errc::logout_in_progress: return "a Logout is in progress";
    case Errc::itt_space_exhausted: return "no free Initiator Task Tag";
  }
  return "unknown session error";
}

}  // namespace iscsi::session
