// The target's side of a CHAP exchange (RFC 7143 section 12.1.3): chooses an algorithm, issues
// a challenge, verifies the initiator's response and, for mutual CHAP, answers the initiator's
// challenge. The initiator never needs it; the in-memory fake target and the tests do, and it
// lets the two sides be wired back to back. Sans-IO, randomness injected, errors sticky.
#pragma once

#include <cstdint>
#include <optional>

#include "proto/auth/chap.hpp"
#include "proto/common/result.hpp"
#include "proto/text/key_value.hpp"

namespace iscsi::auth {

struct ChapTargetConfig {
  ChapAlgorithmList algorithms = default_chap_algorithms();  // what this target accepts
  ChapCredentials initiator;               // the initiator's expected CHAP_N and secret (ACL)
  std::optional<ChapCredentials> mutual;   // this target's CHAP_N and secret for mutual CHAP
  std::size_t challenge_length = kDefaultChallengeLength;
  RandomSource random;
};

class ChapTarget {
 public:
  enum class State {
    initial,      // waiting for the initiator's CHAP_A list
    challenged,   // CHAP_A/CHAP_I/CHAP_C sent, waiting for CHAP_N/CHAP_R
    done,         // initiator authenticated (and, if asked, our CHAP_N/CHAP_R returned)
    failed,       // sticky
  };

  // Errors: invalid_config, empty_algorithm_list, duplicate_algorithm,
  // same_secret_both_directions.
  static Result<ChapTarget> create(ChapTargetConfig config);

  // Reads CHAP_A=<list>, picks the first entry (the initiator's preference) that we accept, and
  // returns CHAP_A, CHAP_I, CHAP_C. Unknown numbers in the list are skipped (RFC 7143 6.2).
  // Errors: missing_key, duplicate_key, algorithm_rejected, no_common_algorithm.
  Result<text::KeyValueList> on_algorithms(const text::KeyValueList& initiator_keys);
  // Reads CHAP_N/CHAP_R (+ CHAP_I/CHAP_C for mutual). Returns our CHAP_N/CHAP_R for mutual CHAP,
  // an empty list otherwise. Errors: unknown_initiator_name, initiator_authentication_failed,
  // mutual_not_configured, challenge_reflected, and the value errors.
  Result<text::KeyValueList> on_response(const text::KeyValueList& initiator_keys);

  State state() const noexcept { return state_; }
  std::optional<ChapAlgorithm> algorithm() const noexcept { return algorithm_; }
  std::uint8_t identifier() const noexcept { return identifier_; }
  ByteSpan challenge() const noexcept { return challenge_; }
  bool mutual_requested() const noexcept { return mutual_requested_; }
  std::error_code error() const noexcept { return error_; }

 private:
  enum class Event { algorithms, response };
  explicit ChapTarget(ChapTargetConfig config) : config_(std::move(config)) {}
  static std::optional<State> next_state(State state, Event event) noexcept;
  std::error_code begin(Event event, State& next);
  std::error_code fail(std::error_code ec);

  ChapTargetConfig config_;
  State state_ = State::initial;
  std::error_code error_;
  std::optional<ChapAlgorithm> algorithm_;
  std::uint8_t identifier_ = 0;
  ByteVector challenge_;
  bool mutual_requested_ = false;
};

std::string_view to_string(ChapTarget::State s) noexcept;

}  // namespace iscsi::auth
