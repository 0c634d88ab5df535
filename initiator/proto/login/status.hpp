// Login Response status (RFC 7143 section 11.13.5): Status-Class and Status-Detail, the names of
// every defined pair, and how they print ("authentication failure (0x0201)"). The pdu area only
// carries the two bytes; the meaning lives here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/pdu/pdu.hpp"

namespace iscsi::login {

// Every status RFC 7143 defines, as the 16-bit class<<8 | detail value.
enum class LoginStatusCode : std::uint16_t {
  success = 0x0000,
  target_moved_temporarily = 0x0101,
  target_moved_permanently = 0x0102,
  initiator_error = 0x0200,
  authentication_failure = 0x0201,
  authorization_failure = 0x0202,
  not_found = 0x0203,
  target_removed = 0x0204,
  unsupported_version = 0x0205,
  too_many_connections = 0x0206,
  missing_parameter = 0x0207,
  cant_include_in_session = 0x0208,
  session_type_not_supported = 0x0209,
  session_does_not_exist = 0x020a,
  invalid_during_login = 0x020b,
  target_error = 0x0300,
  service_unavailable = 0x0301,
  out_of_resources = 0x0302,
};

struct LoginStatus {
  pdu::LoginStatusClass status_class = pdu::LoginStatusClass::success;
  std::uint8_t detail = 0;

  static constexpr LoginStatus from_code(std::uint16_t code) noexcept {
    return {static_cast<pdu::LoginStatusClass>(code >> 8), static_cast<std::uint8_t>(code)};
  }
  static constexpr LoginStatus from(LoginStatusCode code) noexcept {
    return from_code(static_cast<std::uint16_t>(code));
  }
  static constexpr LoginStatus of(const pdu::LoginResponse& rsp) noexcept {
    return {rsp.status_class, rsp.status_detail};
  }
  constexpr std::uint16_t code() const noexcept {
    return static_cast<std::uint16_t>((static_cast<unsigned>(status_class) << 8) | detail);
  }
  // The defined code, or nullopt for a pair RFC 7143 does not define.
  std::optional<LoginStatusCode> known() const noexcept;

  constexpr bool is_success() const noexcept {
    return status_class == pdu::LoginStatusClass::success;
  }
  constexpr bool is_redirect() const noexcept {
    return status_class == pdu::LoginStatusClass::redirection;
  }
  // Class 3 (target error): "the initiator may retry the same Login Request later". Class 2
  // (initiator error): "the request should not be tried again" as is.
  constexpr bool is_temporary_failure() const noexcept {
    return status_class == pdu::LoginStatusClass::target_error;
  }
  // For redirects: 0x0101 is temporary (keep the original address for the next login),
  // anything else in class 1 (0x0102) is permanent.
  constexpr bool is_permanent_redirect() const noexcept {
    return is_redirect() && detail != 0x01;
  }

  friend constexpr bool operator==(const LoginStatus&, const LoginStatus&) = default;
};

// "authentication failure" for 0x0201, "target moved temporarily" for 0x0101.
std::string_view name(LoginStatusCode code) noexcept;
// "success", "redirection", "initiator error", "target error", "unknown status class".
std::string_view class_name(pdu::LoginStatusClass c) noexcept;
// "authentication failure (0x0201)"; an undefined detail prints with its class:
// "unknown initiator error (0x02ff)", "unknown status class (0x0700)".
std::string to_string(const LoginStatus& status);
std::string to_string(LoginStatusCode code);

}  // namespace iscsi::login
