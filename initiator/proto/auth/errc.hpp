// Error codes of the auth area (CHAP, RFC 7143 section 12.1.3 and RFC 1994). Each names one
// kind of failure precisely enough that a log line or a conformance test can tell a target that
// picked an algorithm we never offered from one that reflected our challenge.
#pragma once

#include <string_view>

#include "proto/common/error.hpp"

namespace iscsi::auth {

enum class Errc {
  // Configuration (ours, not the peer's).
  invalid_config = 1,           // empty CHAP name or secret, no random source, bad length
  empty_algorithm_list,         // chap_algs / preference list has no entry
  unknown_algorithm_name,       // chap_algs entry is not MD5, SHA1, SHA256 or SHA3-256
  duplicate_algorithm,          // chap_algs names one algorithm twice
  same_secret_both_directions,  // RFC 7143 9.2.1: the two directions MUST use different secrets
  digest_unavailable,           // OpenSSL cannot compute this digest (e.g. MD5 under FIPS)
  // What the peer sent.
  missing_key,                  // a CHAP key this step requires is absent
  duplicate_key,                // a CHAP key appears twice in one step
  unexpected_key,               // a CHAP key that does not belong to this step
  malformed_number,             // CHAP_A / CHAP_I is not a decimal or hex number
  algorithm_rejected,           // the peer answered CHAP_A=Reject (or NotUnderstood/Irrelevant)
  algorithm_not_offered,        // the target chose a CHAP_A value we did not propose
  no_common_algorithm,          // none of the initiator's CHAP_A values is acceptable (target)
  identifier_out_of_range,      // CHAP_I outside 0..255
  malformed_binary_value,       // CHAP_C / CHAP_R is not a valid 0x... or 0b... value
  challenge_too_short,          // CHAP_C shorter than 16 bytes
  challenge_too_long,           // CHAP_C longer than RFC 7143's 1024 bytes
  challenge_reflected,          // the peer's CHAP_C equals our own (RFC 7143 9.2.1 MUST NOT)
  response_wrong_length,        // CHAP_R length differs from the digest size of CHAP_A
  wrong_target_name,            // mutual CHAP: CHAP_N is not the target name we expect
  target_authentication_failed, // mutual CHAP: the target's CHAP_R is wrong
  unknown_initiator_name,       // target side: CHAP_N is not the configured initiator name
  initiator_authentication_failed,  // target side: the initiator's CHAP_R is wrong
  mutual_not_configured,        // target side: the initiator asked for mutual CHAP, we have no secret
  // Use.
  out_of_order,                 // call not valid in the exchange's current state (or after failure)
};

const char* category_name(Errc) noexcept;
std::string_view describe(Errc e) noexcept;
using iscsi::make_error_code;

}  // namespace iscsi::auth

ISCSI_DECLARE_ERROR_ENUM(iscsi::auth::Errc)
