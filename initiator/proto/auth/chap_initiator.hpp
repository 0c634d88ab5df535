// The initiator's side of a CHAP exchange inside the iSCSI login security stage (RFC 7143
// section 12.1.3). Sans-IO: it reads the target's keys and returns ours; the login machine puts
// them into Login Request PDUs. Randomness (our identifier and challenge for mutual CHAP) comes
// from the injected RandomSource.
//
//   initiator                          target
//   offer_algorithms()  CHAP_A=8,7,6,5  ->
//                                       <-  CHAP_A=7 CHAP_I=.. CHAP_C=..
//   respond(keys)       CHAP_N CHAP_R [CHAP_I CHAP_C]  ->
//                                       <-  [CHAP_N CHAP_R]          (mutual only)
//   verify_target(keys)
//
// Any error is sticky: the exchange is failed and every later call returns out_of_order.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "proto/auth/chap.hpp"
#include "proto/common/result.hpp"
#include "proto/text/key_value.hpp"

namespace iscsi::auth {

struct ChapInitiatorConfig {
  ChapAlgorithmList algorithms = default_chap_algorithms();  // preference order
  ChapCredentials local;                   // our CHAP_N and secret (username/password)
  std::optional<ChapCredentials> target;   // mutual CHAP: the target's (username_in/password_in)
  std::size_t challenge_length = kDefaultChallengeLength;
  RandomSource random;                     // required only for mutual CHAP
};

class ChapInitiator {
 public:
  enum class State {
    initial,             // nothing sent
    algorithms_offered,  // CHAP_A sent, waiting for CHAP_A/CHAP_I/CHAP_C
    awaiting_target,     // mutual: CHAP_N/CHAP_R sent, waiting for the target's CHAP_N/CHAP_R
    done,                // authentication complete (one-way: once our response is sent)
    failed,              // sticky
  };

  // Checks the configuration. Errors: invalid_config, empty_algorithm_list,
  // duplicate_algorithm, same_secret_both_directions.
  static Result<ChapInitiator> create(ChapInitiatorConfig config);

  // CHAP_A=<our preference list>.
  Result<text::KeyValueList> offer_algorithms();
  // Answers the target's CHAP_A/CHAP_I/CHAP_C with CHAP_N/CHAP_R (+ CHAP_I/CHAP_C if mutual).
  // Other (non-CHAP) keys in `target_keys` are ignored.
  Result<text::KeyValueList> respond(const text::KeyValueList& target_keys);
  // Mutual CHAP: checks the target's CHAP_N/CHAP_R. Returns a falsy code on success.
  std::error_code verify_target(const text::KeyValueList& target_keys);

  State state() const noexcept { return state_; }
  bool mutual() const noexcept { return config_.target.has_value(); }
  // The algorithm the target chose (once respond() succeeded).
  std::optional<ChapAlgorithm> algorithm() const noexcept { return algorithm_; }
  // The error that failed the exchange, if any.
  std::error_code error() const noexcept { return error_; }

 private:
  enum class Event { offer, challenge, target_response };
  explicit ChapInitiator(ChapInitiatorConfig config) : config_(std::move(config)) {}
  // The transition table: the state after `event` in `state_`, or nullopt if illegal.
  static std::optional<State> next_state(State state, Event event, bool mutual) noexcept;
  std::error_code begin(Event event, State& next);
  std::error_code fail(std::error_code ec);

  ChapInitiatorConfig config_;
  State state_ = State::initial;
  std::error_code error_;
  std::optional<ChapAlgorithm> algorithm_;
  std::uint8_t our_identifier_ = 0;
  ByteVector our_challenge_;
};

std::string_view to_string(ChapInitiator::State s) noexcept;

}  // namespace iscsi::auth
