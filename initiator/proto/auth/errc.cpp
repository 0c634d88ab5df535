// Names and one-line descriptions of the auth area's error codes.
#include "proto/auth/errc.hpp"

namespace iscsi::auth {

const char* category_name(Errc) noexcept { return "iscsi.auth"; }

std::string_view describe(Errc e) noexcept {
  switch (e) {
    case Errc::invalid_config: return "invalid CHAP configuration (empty name or secret, no random source, or bad challenge length)";
    case Errc::empty_algorithm_list: return "CHAP algorithm list is empty";
    case Errc::unknown_algorithm_name: return "unknown CHAP algorithm name (expected MD5, SHA1, SHA256 or SHA3-256)";
    case Errc::duplicate_algorithm: return "CHAP algorithm listed twice";
    case Errc::same_secret_both_directions: return "the same CHAP secret is configured for both directions";
    case Errc::digest_unavailable: return "the CHAP digest algorithm is not available from OpenSSL";
    case Errc::missing_key: return "a required CHAP key is missing";
    case Errc::duplicate_key: return "a CHAP key was sent twice";
    case Errc::unexpected_key: return "a CHAP key was sent at the wrong step";
    case Errc::malformed_number: return "CHAP_A or CHAP_I is not a valid number";
    case Errc::algorithm_rejected: return "the peer rejected the CHAP algorithm negotiation";
    case Errc::algorithm_not_offered: return "the target chose a CHAP algorithm that was not offered";
    case Errc::no_common_algorithm: return "no CHAP algorithm in common";
    case Errc::identifier_out_of_range: return "CHAP_I is outside 0..255";
    case Errc::malformed_binary_value: return "CHAP_C or CHAP_R is not a valid hex (0x) or base64 (0b) value";
    case Errc::challenge_too_short: return "CHAP challenge is shorter than 16 bytes";
    case Errc::challenge_too_long: return "CHAP challenge is longer than 1024 bytes";
    case Errc::challenge_reflected: return "the peer's CHAP challenge equals our own (reflection)";
    case Errc::response_wrong_length: return "CHAP response length does not match the digest size";
    case Errc::wrong_target_name: return "mutual CHAP: the target's CHAP_N is not the expected name";
    case Errc::target_authentication_failed: return "mutual CHAP: the target's response is wrong";
    case Errc::unknown_initiator_name: return "CHAP_N is not the configured initiator name";
    case Errc::initiator_authentication_failed: return "the initiator's CHAP response is wrong";
    case Errc::mutual_not_configured: return "mutual CHAP requested but no target secret is configured";
    case Errc::out_of_order: return "CHAP step not valid in the current state";
  }
  return "unknown auth error";
}

}  // namespace iscsi::auth
