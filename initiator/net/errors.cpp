// Words for the net area's error codes.
#include "net/errors.hpp"

namespace iscsi::net {

const char* category_name(Errc) noexcept { return "iscsi.net"; }

std::string_view describe(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "success";
    case Errc::connect_failed: return "TCP connect failed";
    case Errc::login_timeout: return "login_timeout expired";
    case Errc::login_rejected: return "login rejected by the target";
    case Errc::login_protocol_error: return "login protocol error";
    case Errc::login_retries_exhausted: return "initial_login_retry_max exhausted";
    case Errc::replacement_timeout: return "replacement_timeout expired";
    case Errc::reopen_max_exceeded: return "reopen_max exceeded";
    case Errc::session_closed: return "session closed";
    case Errc::task_failed: return "task failed on a connection error";
    case Errc::task_aborted: return "task aborted by task management";
    case Errc::task_rejected: return "command rejected by the target";
    case Errc::tmf_timeout: return "task management function timed out";
    case Errc::nop_timeout: return "NOP-Out ping timed out";
    case Errc::scsi_error: return "SCSI command failed";
    case Errc::discovery_failed: return "discovery failed";
    case Errc::invalid_argument: return "invalid argument";
    case Errc::logout_failed: return "logout failed";
    case Errc::session_limit: return "new session refused by the target";
    case Errc::isns_rejected: return "iSNS request refused by the server";
    case Errc::isns_protocol_error: return "iSNS protocol error";
    case Errc::isns_timeout: return "iSNS request timed out";
  }
  return "unknown iscsi.net error";
}

}  // namespace iscsi::net
