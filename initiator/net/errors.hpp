// Error codes of the Asio engine (category "iscsi.net") and the exception the futures of the
// public API carry. The code names the kind ("replacement_timeout expired"); NetError's what()
// adds the specifics ("replacement_timeout expired (120 s)", "authentication failure (0x0201)").
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "proto/common/error.hpp"

namespace iscsi::net {

enum class Errc {
  ok = 0,
  connect_failed = 1,          // TCP connect (or name resolution) failed
  login_timeout,               // node.conn[0].timeo.login_timeout expired during login
  login_rejected,              // the target answered the login with a class 2/3 status
  login_protocol_error,        // the login exchange broke a rule (see the detail)
  login_retries_exhausted,     // initial_login_retry_max attempts failed
  replacement_timeout,         // node.session.timeo.replacement_timeout expired
  reopen_max_exceeded,         // node.session.reopen_max relogin attempts failed
  session_closed,              // logged out, or the Session/Initiator was destroyed
  task_failed,                 // the task failed with a connection error (see the detail)
  task_aborted,                // ended by a task management function
  task_rejected,               // the target rejected the command (Reject PDU)
  tmf_timeout,                 // no TMF response within err_timeo.*_timeout
  nop_timeout,                 // our NOP-Out was not answered within noop_out_timeout
  scsi_error,                  // a convenience wrapper got a non-GOOD status
  discovery_failed,            // SendTargets answer missing or malformed
  invalid_argument,            // a request the engine cannot build (bad LUN, bad length, ...)
  logout_failed,               // Logout Response with a non-zero response code
  session_limit,               // refused: the TPG already has a session (single-session guard)
  isns_rejected,               // an iSNS server answered with a non-zero status (see the detail)
  isns_protocol_error,         // an iSNS server's answer was malformed or not ours
  isns_timeout,                // no complete iSNS answer within the call's timeout
};

const char* category_name(Errc) noexcept;
std::string_view describe(Errc e) noexcept;
using iscsi::make_error_code;

// What a failed future throws: the code plus a sentence of detail.
class NetError : public std::system_error {
 public:
  NetError(Errc code, const std::string& detail) : std::system_error(make_error_code(code), detail) {}
  Errc errc() const noexcept { return static_cast<Errc>(code().value()); }
};

}  // namespace iscsi::net

ISCSI_DECLARE_ERROR_ENUM(iscsi::net::Errc)
