// Generic negotiation over the key table (RFC 7143 section 6.2 and the "result functions" of
// sections 12-13). See negotiation.hpp.
#include "proto/login/negotiation.hpp"

#include <algorithm>
#include <utility>

#include "proto/text/sendtargets.hpp"
#include "proto/text/values.hpp"

namespace iscsi::login {

const char* category_name(NegotiationErrc) noexcept { return "iscsi.login.negotiation"; }

std::string_view describe(NegotiationErrc e) noexcept {
  switch (e) {
    case NegotiationErrc::ok: return "ok";
    case NegotiationErrc::unknown_key: return "offer of a key that is not in the negotiation table";
    case NegotiationErrc::key_not_sendable_by_party: return "this party may not send this key";
    case NegotiationErrc::key_not_allowed_in_stage:
      return "key not allowed in this login stage (security vs operational)";
    case NegotiationErrc::key_not_allowed_in_phase:
      return "key not allowed in this phase (login-only key in full feature phase or the reverse)";
    case NegotiationErrc::key_leading_only: return "leading-only key on a non-leading connection";
    case NegotiationErrc::invalid_value: return "value is not valid for the key";
    case NegotiationErrc::value_out_of_range: return "numerical value outside the key's range";
    case NegotiationErrc::value_not_defined: return "value is not one the key defines";
    case NegotiationErrc::reserved_value_in_offer:
      return "NotUnderstood, Irrelevant or Reject used as an offer";
    case NegotiationErrc::duplicate_key: return "key negotiated or declared twice in one sequence";
    case NegotiationErrc::response_is_list: return "answer to a list key has more than one value";
    case NegotiationErrc::response_not_offered: return "answer is not one of the offered values";
    case NegotiationErrc::response_violates_min: return "answer exceeds the offer of a Minimum key";
    case NegotiationErrc::response_violates_max: return "answer is below the offer of a Maximum key";
    case NegotiationErrc::response_violates_and: return "answer Yes to an AND key offered as No";
    case NegotiationErrc::response_violates_or: return "answer No to an OR key offered as Yes";
    case NegotiationErrc::response_invalid: return "answer does not parse for the key's type";
    case NegotiationErrc::response_out_of_range: return "answer outside the key's range";
    case NegotiationErrc::not_understood_required_key:
      return "NotUnderstood for a key every RFC 7143 implementation must support";
    case NegotiationErrc::not_negotiable: return "key is exchanged by another module, not negotiated";
    case NegotiationErrc::offers_pending: return "an offer is still waiting for its answer";
    case NegotiationErrc::first_burst_exceeds_max_burst:
      return "FirstBurstLength exceeds MaxBurstLength";
    case NegotiationErrc::invalid_local_value: return "our configured value for the key is invalid";
    case NegotiationErrc::sticky_error: return "an earlier step of this negotiation failed";
  }
  return "unknown negotiation error";
}

std::string_view to_string(Outcome o) noexcept {
  switch (o) {
    case Outcome::agreed: return "agreed";
    case Outcome::declared: return "declared";
    case Outcome::rejected: return "rejected";
    case Outcome::irrelevant: return "irrelevant";
    case Outcome::not_understood: return "not-understood";
  }
  return "unknown";
}

namespace {

using text::Reserved;
using E = NegotiationErrc;

bool sent_by(const KeySpec& spec, Party p) noexcept {
  return spec.sender == Sender::both ||
         (spec.sender == Sender::initiator && p == Party::initiator) ||
         (spec.sender == Sender::target && p == Party::target);
}

std::string_view local_or_default(const KeySpec& spec, std::string_view local) noexcept {
  return local.empty() ? spec.default_value : local;
}

}  // namespace

std::error_code check_allowed(const KeySpec& spec, Party sender, const NegotiationContext& ctx) {
  const bool ffp = ctx.stage == pdu::Stage::full_feature;
  // TargetName: declared by the initiator at login; sent by the target only in a SendTargets
  // response, in full feature phase.
  const bool send_targets_reply = spec.has(kTargetInSendTargets) && sender == Party::target && ffp;
  if (!sent_by(spec, sender) && !send_targets_reply) return E::key_not_sendable_by_party;
  switch (spec.use) {
    case Use::full_feature_only:
      if (!ffp) return E::key_not_allowed_in_phase;
      return {};
    case Use::leading_only:
      if (ffp) return E::key_not_allowed_in_phase;
      if (!ctx.leading_connection) return E::key_leading_only;
      break;
    case Use::login_only:
      if (ffp && !send_targets_reply) return E::key_not_allowed_in_phase;
      break;
    case Use::all:
      break;
  }
  if (ffp) return {};
  const bool security = ctx.stage == pdu::Stage::security;
  if (spec.has(kSecurityStage) && !security) return E::key_not_allowed_in_stage;
  if (security && !spec.has(kSecurityStage) && !spec.has(kAnyStage)) {
    return E::key_not_allowed_in_stage;
  }
  return {};
}

std::error_code validate_value(const KeySpec& spec, std::string_view value) {
  if (text::classify_reserved(value) != Reserved::none) return E::invalid_value;
  switch (spec.type) {
    case ValueType::list: {
      auto items = text::parse_list(value);
      if (!items) return E::invalid_value;
      for (std::string_view item : *items) {
        if (item.size() > spec.max_length) return E::invalid_value;
        if (text::validate_text_value(item)) return E::invalid_value;
      }
      return {};
    }
    case ValueType::numeric: {
      auto v = text::parse_numeric(value);
      if (!v) return E::invalid_value;
      if (*v < spec.min || *v > spec.max) return E::value_out_of_range;
      return {};
    }
    case ValueType::boolean:
      return text::parse_boolean(value) ? std::error_code{} : E::invalid_value;
    case ValueType::text:
      if (value.size() > spec.max_length || text::validate_text_value(value)) {
        return E::invalid_value;
      }
      if (!spec.values.empty() &&
          std::find(spec.values.begin(), spec.values.end(), value) == spec.values.end()) {
        return E::value_not_defined;
      }
      return {};
    case ValueType::iscsi_name:
      return text::validate_iscsi_name(value) ? E::invalid_value : std::error_code{};
    case ValueType::local_name:
      return value.size() > spec.max_length ? E::invalid_value : std::error_code{};
    case ValueType::target_address:
      if (value.size() > spec.max_length) return E::invalid_value;
      return text::parse_target_address(value, text::AddressContext::redirect)
                 ? std::error_code{}
                 : E::invalid_value;
    case ValueType::send_targets:
      if (value.empty() || value == "All") return {};
      return text::validate_iscsi_name(value) ? E::invalid_value : std::error_code{};
    case ValueType::binary: {
      auto n = text::binary_decoded_length(value);
      if (!n || *n > spec.max_length) return E::invalid_value;
      return {};
    }
    case ValueType::numeric_range: {
      // Offered as "a~b", answered (and defaulted) as a single number within the offer.
      if (value.find('~') == std::string_view::npos) {
        auto v = text::parse_numeric(value);
        if (!v) return E::invalid_value;
        if (*v < spec.min || *v > spec.max) return E::value_out_of_range;
        return {};
      }
      auto r = text::parse_numeric_range(value);
      if (!r) return E::invalid_value;
      if (r->low < spec.min || r->high > spec.max) return E::value_out_of_range;
      return {};
    }
  }
  return E::invalid_value;
}

std::error_code validate_offer(std::string_view key, std::string_view value, Party sender,
                               const NegotiationContext& ctx) {
  const KeySpec* spec = find_key(key);
  if (spec == nullptr) return E::unknown_key;
  if (text::classify_reserved(value) != Reserved::none) return E::reserved_value_in_offer;
  if (auto ec = check_allowed(*spec, sender, ctx)) return ec;
  if (auto ec = validate_value(*spec, value)) return ec;
  if (sender == ctx.self && spec->type == ValueType::list && !spec->values.empty()) {
    auto items = text::parse_list(value);  // validated above
    if (!items) return E::invalid_value;
    for (std::string_view item : *items) {
      if (std::find(spec->values.begin(), spec->values.end(), item) == spec->values.end()) {
        return E::value_not_defined;
      }
    }
  }
  return {};
}

Result<std::optional<std::string>> respond(std::string_view key, std::string_view offer,
                                           std::string_view local, const NegotiationContext& ctx) {
  using Answer = std::optional<std::string>;
  const KeySpec* spec = find_key(key);
  if (spec == nullptr || spec->rule == Rule::not_understood) {
    return Answer{std::string(text::kNotUnderstood)};
  }
  if (text::classify_reserved(offer) != Reserved::none) return E::reserved_value_in_offer;
  if (auto ec = check_allowed(*spec, other(ctx.self), ctx)) return ec;

  switch (spec->rule) {
    case Rule::authentication:
    case Rule::send_targets:
    case Rule::not_understood:
      return E::not_negotiable;
    case Rule::obsolete:
      return Answer{std::string(text::kReject)};
    case Rule::declarative:
      if (auto ec = validate_value(*spec, offer)) return ec;
      return Answer{};
    default:
      break;
  }
  if (ctx.session_type == SessionType::discovery && spec->has(kIrrelevantInDiscovery)) {
    return Answer{std::string(text::kIrrelevant)};
  }
  // An invalid or unacceptable offer is answered with Reject (section 6.2).
  if (validate_value(*spec, offer)) return Answer{std::string(text::kReject)};
  const std::string_view ours = local_or_default(*spec, local);

  switch (spec->rule) {
    case Rule::list: {
      auto offered = text::parse_list(offer);
      auto supported = text::parse_list(ours);
      if (!supported) return E::invalid_local_value;
      // The first value in the proposer's order that we support; unknown values are ignored.
      for (std::string_view item : *offered) {
        if (std::find(supported->begin(), supported->end(), item) != supported->end()) {
          return Answer{std::string(item)};
        }
      }
      return Answer{std::string(text::kReject)};
    }
    case Rule::min:
    case Rule::max: {
      std::uint64_t o = *text::parse_numeric(offer);
      auto l = text::parse_numeric(ours);
      if (!l || *l < spec->min || *l > spec->max) return E::invalid_local_value;
      std::uint64_t r = spec->rule == Rule::min ? std::min(o, *l) : std::max(o, *l);
      return Answer{text::format_numeric(r)};
    }
    case Rule::boolean_and:
    case Rule::boolean_or: {
      bool o = *text::parse_boolean(offer);
      auto l = text::parse_boolean(ours);
      if (!l) return E::invalid_local_value;
      bool r = spec->rule == Rule::boolean_and ? (o && *l) : (o || *l);
      return Answer{std::string(text::format_boolean(r))};
    }
    default:
      return E::not_negotiable;
  }
}

std::optional<std::string> implied_result(const KeySpec& spec, std::string_view offered) {
  if (spec.rule == Rule::boolean_and && offered == "No") return std::string("No");
  if (spec.rule == Rule::boolean_or && offered == "Yes") return std::string("Yes");
  return std::nullopt;
}

Result<Settled> apply_response(std::string_view key, std::string_view offered,
                               std::string_view response, const NegotiationContext& ctx) {
  (void)ctx;  // the checks below depend on the key alone; ctx is kept for symmetry with respond
  const KeySpec* spec = find_key(key);
  const Reserved reserved = text::classify_reserved(response);
  if (spec == nullptr || spec->rule == Rule::not_understood) {
    // One of our own extension keys: whatever the peer says is its answer.
    switch (reserved) {
      case Reserved::not_understood: return Settled{Outcome::not_understood, ""};
      case Reserved::irrelevant: return Settled{Outcome::irrelevant, ""};
      case Reserved::reject: return Settled{Outcome::rejected, ""};
      case Reserved::none: return Settled{Outcome::agreed, std::string(response)};
    }
    return E::response_invalid;
  }
  const std::string defaults(spec->default_value);
  switch (reserved) {
    case Reserved::not_understood:
      if (!spec->has(kMayBeNotUnderstood)) return E::not_understood_required_key;
      return Settled{Outcome::not_understood, defaults};
    case Reserved::irrelevant:
      return Settled{Outcome::irrelevant, defaults};
    case Reserved::reject:
      return Settled{Outcome::rejected, defaults};
    case Reserved::none:
      break;
  }

  switch (spec->rule) {
    case Rule::list: {
      if (response.find(',') != std::string_view::npos) return E::response_is_list;
      if (response.empty() || text::validate_text_value(response)) return E::response_invalid;
      auto ours = text::parse_list(offered);
      if (!ours) return E::invalid_local_value;
      if (std::find(ours->begin(), ours->end(), response) == ours->end()) {
        return E::response_not_offered;
      }
      return Settled{Outcome::agreed, std::string(response)};
    }
    case Rule::min:
    case Rule::max: {
      auto o = text::parse_numeric(offered);
      if (!o) return E::invalid_local_value;
      auto r = text::parse_numeric(response);
      if (!r) return E::response_invalid;
      if (*r < spec->min || *r > spec->max) return E::response_out_of_range;
      if (spec->rule == Rule::min && *r > *o) return E::response_violates_min;
      if (spec->rule == Rule::max && *r < *o) return E::response_violates_max;
      // Normalise the spelling ("0x200" -> "512") so that the result reads one way.
      return Settled{Outcome::agreed, text::format_numeric(*r)};
    }
    case Rule::boolean_and:
    case Rule::boolean_or: {
      auto o = text::parse_boolean(offered);
      if (!o) return E::invalid_local_value;
      auto r = text::parse_boolean(response);
      if (!r) return E::response_invalid;
      if (spec->rule == Rule::boolean_and && !*o && *r) return E::response_violates_and;
      if (spec->rule == Rule::boolean_or && *o && !*r) return E::response_violates_or;
      return Settled{Outcome::agreed, std::string(response)};
    }
    case Rule::declarative:
      if (validate_value(*spec, response)) return E::response_invalid;
      return Settled{Outcome::declared, std::string(response)};
    default:
      return E::not_negotiable;
  }
}

// --- Negotiation -------------------------------------------------------------------------------

namespace {

std::string index_key(std::string_view key, Party originator) {
  std::string k;
  k.reserve(key.size() + 1);
  k.push_back(originator == Party::initiator ? 'I' : 'T');
  k.append(key);
  return k;
}

bool is_declarative(const KeySpec* spec) noexcept {
  return spec != nullptr && spec->rule == Rule::declarative;
}

// Keys each side declares for itself: the same key from both sides is not a duplicate.
bool declared_per_side(const KeySpec* spec) noexcept {
  return is_declarative(spec) && (spec->has(kPerDirection) || spec->sender == Sender::both);
}

}  // namespace

Negotiation::Negotiation(NegotiationContext ctx, text::KeyValueList local)
    : ctx_(ctx), local_(std::move(local)) {}

std::error_code Negotiation::fail(std::error_code ec, std::string_view key) {
  error_ = ec;
  error_key_.assign(key);
  return ec;
}

Negotiation::Record* Negotiation::find(std::string_view key, Party originator) {
  auto it = index_.find(index_key(key, originator));
  return it == index_.end() ? nullptr : &records_[it->second];
}

const Negotiation::Record* Negotiation::find(std::string_view key, Party originator) const {
  auto it = index_.find(index_key(key, originator));
  return it == index_.end() ? nullptr : &records_[it->second];
}

Negotiation::Record& Negotiation::add(Record r) {
  index_.emplace(index_key(r.key, r.originator), records_.size());
  records_.push_back(std::move(r));
  return records_.back();
}

std::string_view Negotiation::local_value(std::string_view key) const {
  auto v = text::find_value(local_, key);
  return v ? *v : std::string_view{};
}

Result<text::KeyValueList> Negotiation::offer(const text::KeyValueList& keys) {
  if (error_) return E::sticky_error;
  const Party self = ctx_.self;
  for (const text::KeyValue& kv : keys) {
    const KeySpec* spec = find_key(kv.key);
    if (spec != nullptr && (spec->rule == Rule::authentication || spec->rule == Rule::obsolete ||
                            spec->rule == Rule::send_targets)) {
      // CHAP_* / SendTargets are sent by their own modules through offer() only to be checked
      // for the stage; RFC 7143 nodes never originate the obsolete marker keys.
      if (spec->rule == Rule::obsolete) return fail(E::not_negotiable, kv.key);
      if (auto ec = check_allowed(*spec, self, ctx_)) return fail(ec, kv.key);
      continue;
    }
    if (auto ec = validate_offer(kv.key, kv.value, self, ctx_)) return fail(ec, kv.key);
    const bool repeatable = spec->has(kMayRepeat);
    if (!repeatable) {
      if (find(kv.key, self) != nullptr) return fail(E::duplicate_key, kv.key);
      if (!declared_per_side(spec) && find(kv.key, other(self)) != nullptr) {
        return fail(E::duplicate_key, kv.key);
      }
    }
    Record r{kv.key, spec, self, KeyState::offered, kv.value, {}};
    if (is_declarative(spec)) {
      r.state = KeyState::settled;
      r.result = Settled{Outcome::declared, kv.value};
    }
    if (repeatable) {
      if (Record* old = find(kv.key, self)) {
        *old = std::move(r);
        continue;
      }
    }
    add(std::move(r));
  }
  return keys;
}

Result<text::KeyValueList> Negotiation::offer_local() {
  if (error_) return E::sticky_error;
  text::KeyValueList selected;
  for (const text::KeyValue& kv : local_) {
    const KeySpec* spec = find_key(kv.key);
    if (spec == nullptr) continue;
    if (spec->rule == Rule::authentication || spec->rule == Rule::send_targets ||
        spec->rule == Rule::obsolete || spec->rule == Rule::not_understood) {
      continue;
    }
    if (check_allowed(*spec, ctx_.self, ctx_)) continue;
    if (ctx_.session_type == SessionType::discovery && spec->has(kIrrelevantInDiscovery)) continue;
    if (find(kv.key, ctx_.self) != nullptr) continue;
    if (!declared_per_side(spec) && find(kv.key, other(ctx_.self)) != nullptr) continue;
    selected.push_back(kv);
  }
  return offer(selected);
}

Result<Negotiation::Received> Negotiation::receive(const text::KeyValueList& peer) {
  if (error_) return E::sticky_error;
  const Party self = ctx_.self;
  const Party them = other(self);
  Received out;
  for (const text::KeyValue& kv : peer) {
    const KeySpec* spec = find_key(kv.key);
    if (spec != nullptr &&
        (spec->rule == Rule::authentication || spec->rule == Rule::send_targets)) {
      if (auto ec = check_allowed(*spec, them, ctx_)) return fail(ec, kv.key);
      out.passthrough.push_back(kv);
      continue;
    }
    const Reserved reserved = text::classify_reserved(kv.value);

    if (Record* mine = find(kv.key, self)) {
      if (mine->state == KeyState::offered) {  // the answer to our offer
        auto settled = apply_response(kv.key, mine->offered, kv.value, ctx_);
        if (!settled) return fail(settled.error(), kv.key);
        mine->state = KeyState::settled;
        mine->result = std::move(*settled);
        continue;
      }
      if (is_declarative(spec) && reserved != Reserved::none) {
        // The peer answers our declaration (e.g. X#NodeArchitecture=NotUnderstood).
        if (mine->result.outcome != Outcome::declared) return fail(E::duplicate_key, kv.key);
        if (reserved == Reserved::not_understood && !spec->has(kMayBeNotUnderstood)) {
          return fail(E::not_understood_required_key, kv.key);
        }
        mine->result = Settled{reserved == Reserved::reject       ? Outcome::rejected
                               : reserved == Reserved::irrelevant ? Outcome::irrelevant
                                                                  : Outcome::not_understood,
                               std::string(spec->default_value)};
        continue;
      }
      if (spec == nullptr || !is_declarative(spec)) {
        // We offered it and it is settled: the peer negotiates it a second time.
        return fail(E::duplicate_key, kv.key);
      }
      // A declarative key: the peer's own declaration, checked below.
    }

    Record* theirs = find(kv.key, them);
    const bool repeatable = spec != nullptr && spec->has(kMayRepeat);
    if (theirs != nullptr && !repeatable) return fail(E::duplicate_key, kv.key);

    if (spec == nullptr || spec->rule == Rule::not_understood) {
      // Unknown keys and extension keys we do not implement: NotUnderstood (section 6.2).
      out.answers.push_back(text::KeyValue{kv.key, std::string(text::kNotUnderstood)});
      add(Record{kv.key, spec, them, KeyState::settled, kv.value,
                 Settled{Outcome::not_understood, ""}});
      continue;
    }
    if (reserved != Reserved::none) return fail(E::reserved_value_in_offer, kv.key);
    if (auto ec = check_allowed(*spec, them, ctx_)) return fail(ec, kv.key);

    if (spec->rule == Rule::declarative) {
      if (auto ec = validate_value(*spec, kv.value)) return fail(ec, kv.key);
      Record r{kv.key, spec, them, KeyState::settled, kv.value,
               Settled{Outcome::declared, kv.value}};
      if (theirs != nullptr) {
        *theirs = std::move(r);  // a repeatable key (TargetAddress): the last one stands
      } else {
        add(std::move(r));
      }
      continue;
    }

    auto answer = respond(kv.key, kv.value, local_value(kv.key), ctx_);
    if (!answer) return fail(answer.error(), kv.key);
    const std::string& a = **answer;
    out.answers.push_back(text::KeyValue{kv.key, a});
    Settled result{Outcome::agreed, a};
    switch (text::classify_reserved(a)) {
      case Reserved::reject: result = {Outcome::rejected, std::string(spec->default_value)}; break;
      case Reserved::irrelevant:
        result = {Outcome::irrelevant, std::string(spec->default_value)};
        break;
      case Reserved::not_understood:
        result = {Outcome::not_understood, std::string(spec->default_value)};
        break;
      case Reserved::none: break;
    }
    add(Record{kv.key, spec, them, KeyState::settled, kv.value, std::move(result)});
  }
  return out;
}

bool Negotiation::awaiting_answers() const noexcept {
  for (const Record& r : records_) {
    if (r.state != KeyState::offered) continue;
    if (r.spec != nullptr && implied_result(*r.spec, r.offered)) continue;
    return true;
  }
  return false;
}

std::vector<std::string> Negotiation::pending_keys() const {
  std::vector<std::string> out;
  for (const Record& r : records_) {
    if (r.state != KeyState::offered) continue;
    if (r.spec != nullptr && implied_result(*r.spec, r.offered)) continue;
    out.push_back(r.key);
  }
  return out;
}

std::optional<std::string_view> Negotiation::value(std::string_view key) const {
  const Record* theirs = find(key, other(ctx_.self));
  const Record* mine = find(key, ctx_.self);
  for (const Record* r : {theirs, mine}) {
    if (r == nullptr) continue;
    if (r->state == KeyState::settled) return std::string_view(r->result.value);
    if (r->spec != nullptr) {
      if (implied_result(*r->spec, r->offered)) {
        return r->offered == "No" ? std::string_view("No") : std::string_view("Yes");
      }
    }
  }
  return std::nullopt;
}

Result<NegotiatedParams> Negotiation::params() const {
  if (error_) return error_;
  NegotiatedParams p;
  p.session_type = ctx_.session_type;
  bool first_burst_negotiated = false;
  for (const Record& r : records_) {
    if (r.spec == nullptr) continue;
    std::string value;
    if (r.state == KeyState::offered) {
      auto implied = implied_result(*r.spec, r.offered);
      if (!implied) return E::offers_pending;
      value = std::move(*implied);
    } else if (r.result.outcome == Outcome::agreed || r.result.outcome == Outcome::declared) {
      value = r.result.value;
    } else {
      continue;  // rejected / irrelevant / not understood: the default stands
    }
    auto number = [&]() -> std::uint64_t {
      auto n = text::parse_numeric(value);
      return n ? *n : 0;  // validated on the way in
    };
    auto yes = [&]() { return value == "Yes"; };
    const bool mine = r.originator == ctx_.self;
    switch (r.spec->id) {
      case KeyId::header_digest:
        p.header_digest = value == "CRC32C" ? Digest::crc32c : Digest::none;
        break;
      case KeyId::data_digest:
        p.data_digest = value == "CRC32C" ? Digest::crc32c : Digest::none;
        break;
      case KeyId::max_connections: p.max_connections = static_cast<std::uint32_t>(number()); break;
      case KeyId::initial_r2t: p.initial_r2t = yes(); break;
      case KeyId::immediate_data: p.immediate_data = yes(); break;
      case KeyId::max_recv_data_segment_length:
        (mine ? p.max_recv_data_segment_length : p.max_send_data_segment_length) =
            static_cast<std::uint32_t>(number());
        break;
      case KeyId::max_burst_length: p.max_burst_length = static_cast<std::uint32_t>(number()); break;
      case KeyId::first_burst_length:
        p.first_burst_length = static_cast<std::uint32_t>(number());
        first_burst_negotiated = true;
        break;
      case KeyId::default_time2wait: p.default_time2wait = static_cast<std::uint32_t>(number()); break;
      case KeyId::default_time2retain:
        p.default_time2retain = static_cast<std::uint32_t>(number());
        break;
      case KeyId::max_outstanding_r2t:
        p.max_outstanding_r2t = static_cast<std::uint32_t>(number());
        break;
      case KeyId::data_pdu_in_order: p.data_pdu_in_order = yes(); break;
      case KeyId::data_sequence_in_order: p.data_sequence_in_order = yes(); break;
      case KeyId::error_recovery_level:
        p.error_recovery_level = static_cast<std::uint8_t>(number());
        break;
      case KeyId::session_type:
        p.session_type = value == "Discovery" ? SessionType::discovery : SessionType::normal;
        break;
      case KeyId::auth_method: p.auth_method = value; break;
      case KeyId::task_reporting:
        p.task_reporting = value == "ResponseFence" ? TaskReporting::response_fence
                           : value == "FastAbort"   ? TaskReporting::fast_abort
                                                    : TaskReporting::rfc3720;
        break;
      case KeyId::iscsi_protocol_level:
        p.iscsi_protocol_level = static_cast<std::uint8_t>(number());
        break;
      case KeyId::target_portal_group_tag:
        p.target_portal_group_tag = static_cast<std::uint16_t>(number());
        break;
      case KeyId::target_alias: p.target_alias = value; break;
      case KeyId::initiator_alias: p.initiator_alias = value; break;
      default: break;
    }
  }
  // FirstBurstLength MUST NOT exceed MaxBurstLength (section 13.14). It is irrelevant when
  // unsolicited data is off (InitialR2T=Yes and ImmediateData=No) and in discovery sessions.
  const bool first_burst_relevant = p.session_type == SessionType::normal &&
                                    !(p.initial_r2t && !p.immediate_data);
  if (first_burst_relevant && p.first_burst_length > p.max_burst_length) {
    if (first_burst_negotiated) return E::first_burst_exceeds_max_burst;
    p.first_burst_length = p.max_burst_length;  // the default yields to a smaller MaxBurstLength
  }
  return p;
}

}  // namespace iscsi::login
