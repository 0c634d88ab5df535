// The target's CHAP exchange, the mirror of chap_initiator.cpp.
#include "proto/auth/chap_target.hpp"

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

}  // namespace

std::string_view to_string(ChapTarget::State s) noexcept {
  switch (s) {
    case ChapTarget::State::initial: return "initial";
    case ChapTarget::State::challenged: return "challenged";
    case ChapTarget::State::done: return "done";
    case ChapTarget::State::failed: return "failed";
  }
  return "unknown";
}

Result<ChapTarget> ChapTarget::create(ChapTargetConfig config) {
  if (const std::error_code ec = validate_algorithm_list(config.algorithms)) return ec;
  if (config.initiator.name.empty() || config.initiator.secret.empty() || !config.random ||
      config.challenge_length < kMinChallengeLength ||
      config.challenge_length > kMaxChallengeLength) {
    return Errc::invalid_config;
  }
  if (config.mutual) {
    if (config.mutual->name.empty() || config.mutual->secret.empty()) return Errc::invalid_config;
    if (config.mutual->secret.same_as(config.initiator.secret)) {
      return Errc::same_secret_both_directions;
    }
  }
  return ChapTarget(std::move(config));
}

std::optional<ChapTarget::State> ChapTarget::next_state(State state, Event event) noexcept {
  struct Row {
    State from;
    Event event;
    State to;
  };
  static constexpr Row kTable[] = {
      {State::initial, Event::algorithms, State::challenged},
      {State::challenged, Event::response, State::done},
  };
  for (const Row& row : kTable) {
    if (row.from == state && row.event == event) return row.to;
  }
  return std::nullopt;
}

std::error_code ChapTarget::begin(Event event, State& next) {
  if (state_ == State::failed) return Errc::out_of_order;
  const auto to = next_state(state_, event);
  if (!to) return fail(Errc::out_of_order);
  next = *to;
  return {};
}

std::error_code ChapTarget::fail(std::error_code ec) {
  state_ = State::failed;
  error_ = ec;
  return ec;
}

Result<text::KeyValueList> ChapTarget::on_algorithms(const text::KeyValueList& initiator_keys) {
  State next{};
  if (auto ec = begin(Event::algorithms, next)) return ec;
  auto a = detail::unique_value(initiator_keys, kChapA);
  if (!a) return fail(a.error());
  if (!*a) return fail(Errc::missing_key);

  std::string_view list = **a;
  if (list == text::kReject || list == text::kNotUnderstood || list == text::kIrrelevant) {
    return fail(Errc::algorithm_rejected);
  }
  std::optional<ChapAlgorithm> chosen;
  while (!chosen) {
    const std::size_t comma = list.find(',');
    const ParsedNumber n = parse_number(list.substr(0, comma));
    if (n.kind == ParsedNumber::Kind::ok) {
      const auto candidate = algorithm_from_chap_a(n.value);
      if (candidate && std::find(config_.algorithms.begin(), config_.algorithms.end(),
                                 *candidate) != config_.algorithms.end()) {
        chosen = candidate;
      }
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (!chosen) return fail(Errc::no_common_algorithm);

  algorithm_ = chosen;
  detail::draw_challenge(config_.random, config_.challenge_length, identifier_, challenge_);
  state_ = next;
  return text::KeyValueList{
      {std::string(kChapA), std::to_string(chap_a_value(*chosen))},
      {std::string(kChapI), std::to_string(unsigned{identifier_})},
      {std::string(kChapC), encode_hex_value(challenge_)},
  };
}

Result<text::KeyValueList> ChapTarget::on_response(const text::KeyValueList& initiator_keys) {
  State next{};
  if (auto ec = begin(Event::response, next)) return ec;
  auto a = detail::unique_value(initiator_keys, kChapA);
  if (!a) return fail(a.error());
  if (*a) return fail(Errc::unexpected_key);
  auto n = detail::unique_value(initiator_keys, kChapN);
  auto r = detail::unique_value(initiator_keys, kChapR);
  auto i = detail::unique_value(initiator_keys, kChapI);
  auto c = detail::unique_value(initiator_keys, kChapC);
  for (const auto* v : {&n, &r, &i, &c}) {
    if (!*v) return fail(v->error());
  }
  if (!*n || !*r) return fail(Errc::missing_key);
  if (i->has_value() != c->has_value()) return fail(Errc::missing_key);

  // Authenticate the initiator first: a mutual request from an unauthenticated peer gets no
  // answer computed with our secret.
  if (**n != config_.initiator.name) return fail(Errc::unknown_initiator_name);
  auto received = detail::parse_response(**r, *algorithm_);
  if (!received) return fail(received.error());
  auto expected = chap_response(*algorithm_, identifier_, config_.initiator.secret, challenge_);
  if (!expected) return fail(expected.error());
  if (!detail::equal_constant_time(*received, *expected)) {
    return fail(Errc::initiator_authentication_failed);
  }

  text::KeyValueList out;
  if (i->has_value()) {
    mutual_requested_ = true;
    if (!config_.mutual) return fail(Errc::mutual_not_configured);
    auto their_id = detail::parse_identifier(**i);
    if (!their_id) return fail(their_id.error());
    auto their_challenge = detail::parse_challenge(**c);
    if (!their_challenge) return fail(their_challenge.error());
    // RFC 7143 9.2.1: the originator MUST NOT reuse the responder's challenge; the responder
    // MUST check.
    if (detail::equal_constant_time(*their_challenge, challenge_)) {
      return fail(Errc::challenge_reflected);
    }
    auto answer = chap_response(*algorithm_, *their_id, config_.mutual->secret, *their_challenge);
    if (!answer) return fail(answer.error());
    out.push_back({std::string(kChapN), config_.mutual->name});
    out.push_back({std::string(kChapR), encode_hex_value(*answer)});
  }
  state_ = next;
  return out;
}

}  // namespace iscsi::auth
