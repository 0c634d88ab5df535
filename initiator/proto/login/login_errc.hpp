// Error codes of the login state machine (RFC 7143 sections 6, 11.12, 11.13): configuration
// mistakes and protocol violations by the target during login. Errors from the layers the
// machine drives (text::Errc, login::NegotiationErrc, auth::Errc) are passed through unchanged,
// so a refused CHAP challenge reads as auth's "challenge_reflected", not as a generic failure.
#pragma once

#include <string_view>

#include "proto/common/error.hpp"

namespace iscsi::login {

enum class Errc {
  // Configuration.
  invalid_config = 1,             // no InitiatorName, no TargetName for a normal session, ...
  chap_not_configured,            // AuthMethod CHAP offered without CHAP credentials
  mutual_chap_allows_none,        // mutual CHAP configured but AuthMethod=None also offered
  // Use.
  out_of_order,                   // call not valid in this state (or after the login ended)
  // The target's header.
  wrong_itt,                      // Login Response ITT differs from the Login Request's
  wrong_isid,                     // ISID not echoed
  unsupported_version,            // Version-active outside our Version-min..Version-max
  version_changed,                // Version-max / Version-active differ between responses
  wrong_csg,                      // response CSG differs from the request's
  illegal_transit,                // T=1 in answer to a request with T=0
  transit_with_continue,          // T=1 together with C=1
  illegal_nsg,                    // T=1 with an NSG that is not a later stage we asked for
  stat_sn_mismatch,               // StatSN not one more than in the previous response
  wrong_tsih,                     // TSIH differs from ours (before the final response)
  zero_tsih,                      // final response of a new session without a TSIH
  unknown_status_class,           // Status-Class beyond 3
  // The target's text.
  data_in_continuation_ack,       // data in the response to our C=1 request
  offer_in_transit_response,      // T=1 response holding keys that need an answer
  // Authentication.
  auth_method_not_negotiated,     // the target left the security stage without AuthMethod
  authentication_incomplete,      // the target left the security stage mid-CHAP (or skipped
                                  // the mutual CHAP answer)
  unexpected_auth_keys,           // CHAP_* keys without AuthMethod=CHAP
  // Redirects.
  missing_target_address,         // 0x0101/0x0102 without TargetAddress
  // Liveness.
  too_many_exchanges,             // the target kept the login going past the configured bound
};

const char* category_name(Errc) noexcept;
std::string_view describe(Errc e) noexcept;
using iscsi::make_error_code;

}  // namespace iscsi::login

ISCSI_DECLARE_ERROR_ENUM(iscsi::login::Errc)
