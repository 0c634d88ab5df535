// CHAP building blocks shared by the initiator and target sides (RFC 7143 section 12.1.3,
// RFC 1994): the algorithm numbers, open-iscsi's chap_algs setting, the response computation
// H(id || secret || challenge) through OpenSSL, and the binary/number encodings of CHAP values.
//
// Algorithm numbers: RFC 7143 requires 5 (MD5) and leaves the rest to IANA's PPP registry.
// Linux LIO (drivers/target/iscsi/iscsi_target_auth.h, CHAP_DIGEST_*) and open-iscsi
// (ISCSI_AUTH_CHAP_ALG_*) both use 5 = MD5, 6 = SHA1, 7 = SHA-256, 8 = SHA3-256, and open-iscsi
// spells them "MD5", "SHA1", "SHA256", "SHA3-256" in node.session.auth.chap_algs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/auth/errc.hpp"
#include "proto/auth/secret.hpp"
#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/text/key_value.hpp"

namespace iscsi::auth {

enum class ChapAlgorithm : std::uint8_t {
  md5 = 5,
  sha1 = 6,
  sha256 = 7,
  sha3_256 = 8,
};

// open-iscsi's spelling: "MD5", "SHA1", "SHA256", "SHA3-256".
std::string_view to_string(ChapAlgorithm a) noexcept;
// Digest (and so CHAP_R) length in bytes: 16, 20, 32, 32.
std::size_t digest_size(ChapAlgorithm a) noexcept;
// The CHAP_A number on the wire, and back (nullopt for numbers we do not implement).
constexpr unsigned chap_a_value(ChapAlgorithm a) noexcept { return static_cast<unsigned>(a); }
std::optional<ChapAlgorithm> algorithm_from_chap_a(std::uint64_t value) noexcept;

using ChapAlgorithmList = std::vector<ChapAlgorithm>;

// open-iscsi's default recommendation, strongest first (MD5 last: RFC 7143 says initiators
// MUST offer it, and old targets know nothing else).
ChapAlgorithmList default_chap_algorithms();

// Parses node.session.auth.chap_algs ("SHA3-256,SHA256,SHA1,MD5"): comma-separated, names
// case-insensitive, blanks around names ignored. Errors: empty_algorithm_list,
// unknown_algorithm_name, duplicate_algorithm.
Result<ChapAlgorithmList> parse_chap_algs(std::string_view setting);
// The CHAP_A value for a preference list: "8,7,6,5".
std::string format_chap_a_list(const ChapAlgorithmList& list);

// A preference list both CHAP sides accept in their configuration: not empty, known algorithms,
// no repeats. Falsy on success.
std::error_code validate_algorithm_list(const ChapAlgorithmList& list) noexcept;

// RFC 7143 section 12.1.3: C and R are binary values whose binary length MUST NOT exceed 1024
// bytes. We also refuse challenges under 16 bytes (a short challenge makes the response easy to
// precompute) and draw our own challenges between those bounds.
inline constexpr std::size_t kMinChallengeLength = 16;
inline constexpr std::size_t kMaxChallengeLength = 1024;
inline constexpr std::size_t kDefaultChallengeLength = 32;

// Where randomness comes from (proto is sans-IO): fills the span with unpredictable bytes.
using RandomSource = std::function<void(std::span<std::uint8_t>)>;

// A CHAP identity: CHAP_N and its secret (node.session.auth.username/password, or
// username_in/password_in for the target's identity in mutual CHAP).
struct ChapCredentials {
  std::string name;
  Secret secret;

  [[nodiscard]] ChapCredentials clone() const { return {name, secret.clone()}; }
};

// RFC 1994 section 4.1: Response = H(Identifier || secret || Challenge).
// Error: digest_unavailable when OpenSSL cannot compute the digest.
Result<ByteVector> chap_response(ChapAlgorithm algorithm, std::uint8_t identifier,
                                 const Secret& secret, ByteSpan challenge);

// --- Value encodings (RFC 7143 section 6.1), through text/values.hpp ---

// binary-value: "0x"/"0X" + hex digits (an odd count has an implied leading zero nibble), or
// "0b"/"0B" + base64 (RFC 4648). Error: malformed_binary_value.
Result<ByteVector> decode_binary_value(std::string_view text);
// "0x" + lowercase hex: what we send.
std::string encode_hex_value(ByteSpan bytes);
// "0b" + base64: not what we send, but tests and the fake target use it.
std::string encode_base64_value(ByteSpan bytes);

// numerical-value: a decimal constant (no leading zeros) or a hex constant ("0x1f"); too_large
// for 2**64 and beyond, so CHAP_I=99999999999999999999 is "out of range", not "malformed".
struct ParsedNumber {
  enum class Kind { ok, malformed, too_large } kind = Kind::malformed;
  std::uint64_t value = 0;
};
ParsedNumber parse_number(std::string_view text);

namespace detail {
// Shared by both sides of the exchange.
// The value of `key`: nullopt when absent, duplicate_key when present twice.
Result<std::optional<std::string_view>> unique_value(const text::KeyValueList& keys,
                                                     std::string_view key);
// CHAP_I: identifier_out_of_range beyond 255, malformed_number if not a number.
Result<std::uint8_t> parse_identifier(std::string_view text);
// CHAP_C: decoded and held to kMinChallengeLength..kMaxChallengeLength.
Result<ByteVector> parse_challenge(std::string_view text);
// CHAP_R: decoded and held to the digest size of `algorithm`.
Result<ByteVector> parse_response(std::string_view text, ChapAlgorithm algorithm);
// Constant-time equality (CRYPTO_memcmp) for equal lengths.
bool equal_constant_time(ByteSpan a, ByteSpan b) noexcept;
// Draws an identifier and a challenge of `length` bytes.
void draw_challenge(const RandomSource& random, std::size_t length, std::uint8_t& identifier,
                    ByteVector& challenge);
}  // namespace detail

}  // namespace iscsi::auth
