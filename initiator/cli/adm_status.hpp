// lab-iscsiadm's exit statuses: open-iscsi's (its iscsi_err.h numbers, so scripts written for
// iscsiadm read ours the same way) with their words, and how the engine's errors map onto them.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace iscsi::cli {

enum class AdmStatus : std::uint8_t {
  success = 0,
  generic = 1,               // unknown error
  session_not_found = 2,
  transport = 4,             // connection failure
  login = 5,                 // iSCSI login failure
  database = 6,              // iSCSI database failure
  invalid = 7,               // invalid parameter
  transport_timeout = 8,     // connection timed out
  internal = 9,
  logout = 10,
  pdu_timeout = 11,
  access = 13,               // daemon access denied
  session_exists = 15,
  invalid_request = 16,      // unknown request
  isns_unavailable = 17,
  daemon_comm = 18,          // could not communicate to iscsid
  fatal_login = 19,          // non-retryable login failure
  daemon_not_connected = 20, // could not connect to iscsid
  no_objects = 21,           // no records found
  login_auth = 24,           // login failed due to authorization failure
  isns_query = 25,
  isns_register = 26,
  not_supported = 27,
  busy = 28,
  again = 29,
  unknown_discovery_type = 30,
  session_not_connected = 32,
};

// open-iscsi's sentence for the status ("session exists", "No records found", ...).
std::string_view describe(AdmStatus s) noexcept;

// "initiator reported error (24 - iSCSI login failed due to authorization failure)"
std::string reported_error(AdmStatus s);

// The engine's error (net::NetError, else `internal`) as an exit status.
AdmStatus status_for_error(const std::exception& e);

// A status number from the control socket; unknown numbers become `generic`.
AdmStatus adm_status_from(int value) noexcept;

}  // namespace iscsi::cli
