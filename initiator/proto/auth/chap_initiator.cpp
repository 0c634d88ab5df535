// The initiator's CHAP exchange: one transition table, every refusal a specific auth::Errc.
#include "proto/auth/chap_initiator.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace iscsi::auth {

namespace {

constexpr std::string_view kChapA = "CHAP_A";
constexpr std::string_view kChapI = "CHAP_I";
constexpr std::string_view kChapC = "CHAP_C";
constexpr std::string_view kChapN = "CHAP_N";
constexpr std::string_view kChapR = "CHAP_R";

bool is_reserved_answer(std::string_view v) noexcept {
  return v == text::kReject || v == text::kNotUnderstood || v == text::kIrrelevant || v == "None";
}

}  // namespace

std::string_view to_string(ChapInitiator::State s) noexcept {
  switch (s) {
    case ChapInitiator::State::initial: return "initial";
    case ChapInitiator::State::algorithms_offered: return "algorithms_offered";
    case ChapInitiator::State::awaiting_target: return "awaiting_target";
    case ChapInitiator::State::done: return "done";
    case ChapInitiator::State::failed: return "failed";
  }
  return "unknown";
}

Result<ChapInitiator> ChapInitiator::create(ChapInitiatorConfig config) {
  if (const std::error_code ec = validate_algorithm_list(config.algorithms)) return ec;
  if (config.local.name.empty() || config.local.secret.empty()) return Errc::invalid_config;
  ChapInitiator chap(std::move(config));
  if (chap.config_.target) {
    const ChapCredentials& t = *chap.config_.target;
    if (t.name.empty() || t.secret.empty() || !chap.config_.random) return Errc::invalid_config;
    if (chap.config_.challenge_length < kMinChallengeLength ||
        chap.config_.challenge_length > kMaxChallengeLength) {
      return Errc::invalid_config;
    }
    if (t.secret.same_as(chap.config_.local.secret)) return Errc::same_secret_both_directions;
    // Drawn now, before the target's challenge is seen, so a target that echoes it is caught.
    detail::draw_challenge(chap.config_.random, chap.config_.challenge_length,
                           chap.our_identifier_, chap.our_challenge_);
  }
  return chap;
}

std::optional<ChapInitiator::State> ChapInitiator::next_state(State state, Event event,
                                                              bool mutual) noexcept {
  struct Row {
    State from;
    Event event;
    State to_one_way;
    State to_mutual;
  };
  static constexpr Row kTable[] = {
      {State::initial, Event::offer, State::algorithms_offered, State::algorithms_offered},
      {State::algorithms_offered, Event::challenge, State::done, State::awaiting_target},
      {State::awaiting_target, Event::target_response, State::done, State::done},
  };
  for (const Row& row : kTable) {
    if (row.from == state && row.event == event) return mutual ? row.to_mutual : row.to_one_way;
  }
  return std::nullopt;
}

std::error_code ChapInitiator::begin(Event event, State& next) {
  if (state_ == State::failed) return Errc::out_of_order;  // sticky; keep the first error
  const auto to = next_state(state_, event, mutual());
  if (!to) return fail(Errc::out_of_order);
  next = *to;
  return {};
}

std::error_code ChapInitiator::fail(std::error_code ec) {
  state_ = State::failed;
  error_ = ec;
  return ec;
}

Result<text::KeyValueList> ChapInitiator::offer_algorithms() {
  State next{};
  if (auto ec = begin(Event::offer, next)) return ec;
  state_ = next;
  return text::KeyValueList{{std::string(kChapA), format_chap_a_list(config_.algorithms)}};
}

Result<text::KeyValueList> ChapInitiator::respond(const text::KeyValueList& target_keys) {
  State next{};
  if (auto ec = begin(Event::challenge, next)) return ec;

  for (std::string_view key : {kChapN, kChapR}) {
    auto v = detail::unique_value(target_keys, key);
    if (!v) return fail(v.error());
    if (*v) return fail(Errc::unexpected_key);
  }
  auto a = detail::unique_value(target_keys, kChapA);
  auto i = detail::unique_value(target_keys, kChapI);
  auto c = detail::unique_value(target_keys, kChapC);
  for (const auto* r : {&a, &i, &c}) {
    if (!*r) return fail(r->error());
  }
  if (!*a || !*i || !*c) {
    // A target that refuses every algorithm answers CHAP_A=Reject and nothing else.
    if (*a && is_reserved_answer(**a)) return fail(Errc::algorithm_rejected);
    return fail(Errc::missing_key);
  }

  if (is_reserved_answer(**a)) return fail(Errc::algorithm_rejected);
  const ParsedNumber number = parse_number(**a);
  if (number.kind == ParsedNumber::Kind::malformed) return fail(Errc::malformed_number);
  const auto algorithm = number.kind == ParsedNumber::Kind::ok
                             ? algorithm_from_chap_a(number.value)
                             : std::nullopt;
  if (!algorithm || std::find(config_.algorithms.begin(), config_.algorithms.end(), *algorithm) ==
                        config_.algorithms.end()) {
    return fail(Errc::algorithm_not_offered);
  }

  auto identifier = detail::parse_identifier(**i);
  if (!identifier) return fail(identifier.error());
  auto challenge = detail::parse_challenge(**c);
  if (!challenge) return fail(challenge.error());
  if (mutual() && detail::equal_constant_time(*challenge, our_challenge_)) {
    return fail(Errc::challenge_reflected);
  }

  auto response = chap_response(*algorithm, *identifier, config_.local.secret, *challenge);
  if (!response) return fail(response.error());

  algorithm_ = *algorithm;
  text::KeyValueList out;
  out.push_back({std::string(kChapN), config_.local.name});
  out.push_back({std::string(kChapR), encode_hex_value(*response)});
  if (mutual()) {
    out.push_back({std::string(kChapI), std::to_string(unsigned{our_identifier_})});
    out.push_back({std::string(kChapC), encode_hex_value(our_challenge_)});
  }
  state_ = next;
  return out;
}

std::error_code ChapInitiator::verify_target(const text::KeyValueList& target_keys) {
  State next{};
  if (auto ec = begin(Event::target_response, next)) return ec;

  for (std::string_view key : {kChapA, kChapI, kChapC}) {
    auto v = detail::unique_value(target_keys, key);
    if (!v) return fail(v.error());
    if (*v) return fail(Errc::unexpected_key);
  }
  auto n = detail::unique_value(target_keys, kChapN);
  if (!n) return fail(n.error());
  auto r = detail::unique_value(target_keys, kChapR);
  if (!r) return fail(r.error());
  if (!*n || !*r) return fail(Errc::missing_key);

  const ChapCredentials& target = *config_.target;
  if (**n != target.name) return fail(Errc::wrong_target_name);
  auto received = detail::parse_response(**r, *algorithm_);
  if (!received) return fail(received.error());
  auto expected = chap_response(*algorithm_, our_identifier_, target.secret, our_challenge_);
  if (!expected) return fail(expected.error());
  if (!detail::equal_constant_time(*received, *expected)) {
    return fail(Errc::target_authentication_failed);
  }
  state_ = next;
  return {};
}

}  // namespace iscsi::auth
