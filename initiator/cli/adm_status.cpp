#include "cli/adm_status.hpp"

#include <string>

#include "net/errors.hpp"

namespace iscsi::cli {

std::string_view describe(AdmStatus s) noexcept {
  switch (s) {
    case AdmStatus::success: return "success";
    case AdmStatus::generic: return "unknown error";
    case AdmStatus::session_not_found: return "session not found";
    case AdmStatus::transport: return "encountered connection failure";
    case AdmStatus::login: return "encountered iSCSI login failure";
    case AdmStatus::database: return "encountered iSCSI database failure";
    case AdmStatus::invalid: return "invalid parameter";
    case AdmStatus::transport_timeout: return "connection timed out";
    case AdmStatus::internal: return "internal error";
    case AdmStatus::logout: return "encountered iSCSI logout failure";
    case AdmStatus::pdu_timeout: return "iSCSI PDU timed out";
    case AdmStatus::access: return "daemon access denied";
    case AdmStatus::session_exists: return "session exists";
    case AdmStatus::invalid_request: return "Unknown request";
    case AdmStatus::isns_unavailable: return "iSNS service not supported";
    case AdmStatus::daemon_comm: return "could not communicate to lab-iscsid";
    case AdmStatus::fatal_login: return "encountered non-retryable iSCSI login failure";
    case AdmStatus::daemon_not_connected: return "could not connect to lab-iscsid";
    case AdmStatus::no_objects: return "No records found";
    case AdmStatus::login_auth: return "iSCSI login failed due to authorization failure";
    case AdmStatus::isns_query: return "iSNS query failed";
    case AdmStatus::isns_register: return "iSNS registration failed";
    case AdmStatus::not_supported: return "operation not supported";
    case AdmStatus::busy: return "device or resource in use";
    case AdmStatus::again: return "operation failed but retry may succeed";
    case AdmStatus::unknown_discovery_type: return "unknown discovery type";
    case AdmStatus::session_not_connected: return "iSCSI session is not connected";
  }
  return "unknown error";
}

std::string reported_error(AdmStatus s) {
  return "initiator reported error (" + std::to_string(static_cast<int>(s)) + " - " +
         std::string(describe(s)) + ")";
}

// The engine's error, as lab-iscsiadm's exit status. A class 2 login status about CHAP
// (0x0201 authentication, 0x0202 authorization) is open-iscsi's "authorization failure"; other
// class 2 answers are not worth retrying.
AdmStatus status_for_error(const std::exception& e) {
  const auto* ne = dynamic_cast<const net::NetError*>(&e);
  if (ne == nullptr) return AdmStatus::internal;
  const std::string what = e.what();
  switch (ne->errc()) {
    case net::Errc::connect_failed: return AdmStatus::transport;
    case net::Errc::login_timeout: return AdmStatus::transport_timeout;
    case net::Errc::login_rejected:
      if (what.find("(0x0201)") != std::string::npos || what.find("(0x0202)") != std::string::npos)
        return AdmStatus::login_auth;
      return AdmStatus::fatal_login;
    case net::Errc::login_retries_exhausted:
      if (what.find("connect") != std::string::npos) return AdmStatus::transport;
      return AdmStatus::login;
    case net::Errc::login_protocol_error: return AdmStatus::fatal_login;
    case net::Errc::session_limit: return AdmStatus::session_exists;
    case net::Errc::logout_failed: return AdmStatus::logout;
    case net::Errc::session_closed: return AdmStatus::session_not_connected;
    case net::Errc::nop_timeout:
    case net::Errc::tmf_timeout: return AdmStatus::pdu_timeout;
    default: return AdmStatus::generic;
  }
}

AdmStatus adm_status_from(int value) noexcept {
  if (value < 0 || value > 32) return AdmStatus::generic;
  const auto s = static_cast<AdmStatus>(value);
  // A number without a row (3, 12, 14, 22, 23, 31) is not one we send.
  return describe(s) == "unknown error" && value != 1 ? AdmStatus::generic : s;
}

}  // namespace iscsi::cli
