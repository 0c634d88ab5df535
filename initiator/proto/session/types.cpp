// Names of the session's task kinds, outcomes and events, for logs and messages.
#include "proto/session/types.hpp"

namespace iscsi::session {

std::string_view to_string(TaskKind k) noexcept {
  switch (k) {
    case TaskKind::scsi: return "scsi";
    case TaskKind::tmf: return "tmf";
    case TaskKind::nop: return "nop";
    case TaskKind::text: return "text";
    case TaskKind::logout: return "logout";
  }
  return "unknown";
}

std::string_view to_string(TaskOutcome o) noexcept {
  switch (o) {
    case TaskOutcome::completed: return "completed";
    case TaskOutcome::aborted: return "aborted";
    case TaskOutcome::rejected: return "rejected";
    case TaskOutcome::timed_out: return "timed_out";
    case TaskOutcome::failed: return "failed";
  }
  return "unknown";
}

std::string_view to_string(EventKind k) noexcept {
  switch (k) {
    case EventKind::async_message: return "async_message";
    case EventKind::capacity_changed: return "capacity_changed";
    case EventKind::luns_changed: return "luns_changed";
    case EventKind::nop_timeout: return "nop_timeout";
    case EventKind::conn_error: return "conn_error";
    case EventKind::dropped_pdu: return "dropped_pdu";
    case EventKind::reject: return "reject";
    case EventKind::logout_response: return "logout_response";
    case EventKind::tmf_timeout: return "tmf_timeout";
    case EventKind::session_state: return "session_state";
  }
  return "unknown";
}

}  // namespace iscsi::session
