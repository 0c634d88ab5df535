// Names of the Login Response status classes and details (RFC 7143 section 11.13.5).
#include "proto/login/status.hpp"

#include <array>
#include <cstdio>

namespace iscsi::login {

namespace {

struct Row {
  LoginStatusCode code;
  std::string_view name;
};

// Words as in RFC 7143's table, lower case so they read inside a sentence.
constexpr std::array<Row, 18> kNames{{
    {LoginStatusCode::success, "success"},
    {LoginStatusCode::target_moved_temporarily, "target moved temporarily"},
    {LoginStatusCode::target_moved_permanently, "target moved permanently"},
    {LoginStatusCode::initiator_error, "initiator error"},
    {LoginStatusCode::authentication_failure, "authentication failure"},
    {LoginStatusCode::authorization_failure, "authorization failure"},
    {LoginStatusCode::not_found, "not found"},
    {LoginStatusCode::target_removed, "target removed"},
    {LoginStatusCode::unsupported_version, "unsupported version"},
    {LoginStatusCode::too_many_connections, "too many connections"},
    {LoginStatusCode::missing_parameter, "missing parameter"},
    {LoginStatusCode::cant_include_in_session, "can't include in session"},
    {LoginStatusCode::session_type_not_supported, "session type not supported"},
    {LoginStatusCode::session_does_not_exist, "session does not exist"},
    {LoginStatusCode::invalid_during_login, "invalid during login"},
    {LoginStatusCode::target_error, "target error"},
    {LoginStatusCode::service_unavailable, "service unavailable"},
    {LoginStatusCode::out_of_resources, "out of resources"},
}};

std::string hex4(std::uint16_t code) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", static_cast<unsigned>(code));
  return buf;
}

}  // namespace

std::optional<LoginStatusCode> LoginStatus::known() const noexcept {
  for (const Row& row : kNames) {
    if (static_cast<std::uint16_t>(row.code) == code()) return row.code;
  }
  return std::nullopt;
}

std::string_view name(LoginStatusCode code) noexcept {
  for (const Row& row : kNames) {
    if (row.code == code) return row.name;
  }
  return "unknown status";
}

std::string_view class_name(pdu::LoginStatusClass c) noexcept {
  switch (c) {
    case pdu::LoginStatusClass::success: return "success";
    case pdu::LoginStatusClass::redirection: return "redirection";
    case pdu::LoginStatusClass::initiator_error: return "initiator error";
    case pdu::LoginStatusClass::target_error: return "target error";
  }
  return "status class";
}

std::string to_string(const LoginStatus& status) {
  std::string out;
  if (auto code = status.known()) {
    out = std::string(name(*code));
  } else {
    out = "unknown " + std::string(class_name(status.status_class));
  }
  return out + " (" + hex4(status.code()) + ")";
}

std::string to_string(LoginStatusCode code) { return to_string(LoginStatus::from(code)); }

}  // namespace iscsi::login
