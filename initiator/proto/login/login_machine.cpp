// The login state machine: header checks on every Login Response, then one transition table
// keyed by (state, event) whose handlers build the next Login Request or the outcome.
#include "proto/login/login_machine.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "proto/text/codec.hpp"

namespace iscsi::login {

namespace {

std::string hex(std::uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*x", digits, static_cast<unsigned>(v));
  return buf;
}

constexpr int stage_rank(pdu::Stage s) noexcept { return static_cast<int>(s); }

bool contains(const std::vector<AuthMethod>& list, AuthMethod m) {
  return std::find(list.begin(), list.end(), m) != list.end();
}

// The chosen value of a list key as the negotiation recorded it ("CHAP", "None").
std::string auth_method_list(const std::vector<AuthMethod>& methods) {
  std::string out;
  for (AuthMethod m : methods) {
    if (!out.empty()) out.push_back(',');
    out += to_string(m);
  }
  return out;
}

}  // namespace

std::string_view to_string(AuthMethod m) noexcept {
  switch (m) {
    case AuthMethod::none: return "None";
    case AuthMethod::chap: return "CHAP";
  }
  return "unknown";
}

std::string_view to_string(LoginMachine::State s) noexcept {
  switch (s) {
    case LoginMachine::State::initial: return "initial";
    case LoginMachine::State::security: return "security";
    case LoginMachine::State::operational: return "operational";
    case LoginMachine::State::logged_in: return "logged_in";
    case LoginMachine::State::redirected: return "redirected";
    case LoginMachine::State::rejected: return "rejected";
    case LoginMachine::State::failed: return "failed";
  }
  return "unknown";
}

std::string to_string(const LoginOutcome& outcome) {
  struct Printer {
    std::string operator()(const LoggedIn& o) const {
      return "logged in (TSIH " + hex(o.tsih, 4) + ")";
    }
    std::string operator()(const Redirected& o) const {
      return to_string(o.status) + " to " + text::format_target_address(o.address);
    }
    std::string operator()(const Rejected& o) const {
      if (o.session_limit())
        return to_string(o.status) + " on a new session: the target portal group already has "
               "a session (single-session guard against split-brain)";
      return to_string(o.status);
    }
    std::string operator()(const ProtocolError& o) const {
      std::string s = "protocol error: " + o.error.message();
      if (!o.detail.empty()) s += " (" + o.detail + ")";
      return s;
    }
  };
  return std::visit(Printer{}, outcome);
}

// --- The table ----------------------------------------------------------------------------------

const LoginMachine::Row LoginMachine::kTransitions[] = {
    {State::security, Event::stay, &LoginMachine::on_security_stay},
    {State::security, Event::transit, &LoginMachine::on_security_transit},
    {State::security, Event::target_continues, &LoginMachine::on_target_continues},
    {State::security, Event::continuation_ack, &LoginMachine::on_continuation_ack},
    {State::security, Event::redirect, &LoginMachine::on_redirect},
    {State::security, Event::reject, &LoginMachine::on_reject},
    {State::operational, Event::stay, &LoginMachine::on_operational_stay},
    {State::operational, Event::transit, &LoginMachine::on_operational_transit},
    {State::operational, Event::target_continues, &LoginMachine::on_target_continues},
    {State::operational, Event::continuation_ack, &LoginMachine::on_continuation_ack},
    {State::operational, Event::redirect, &LoginMachine::on_redirect},
    {State::operational, Event::reject, &LoginMachine::on_reject},
    // (initial, start) is start() itself; every other pair is illegal.
};

// --- Construction ---------------------------------------------------------------------------------

LoginMachine::LoginMachine(LoginConfig config, Negotiation negotiation,
                           std::optional<auth::ChapInitiator> chap)
    : config_(std::move(config)), negotiation_(std::move(negotiation)), chap_(std::move(chap)) {}

Result<LoginMachine> LoginMachine::create(LoginConfig config) {
  const bool normal = config.session_type == SessionType::normal;
  if (config.initiator_name.empty() || (normal && config.target_name.empty()) ||
      config.itt == pdu::kReservedTag || config.isid.type == pdu::IsidType::reserved ||
      config.max_segment_length == 0 ||
      config.max_segment_length > pdu::kLoginMaxDataSegmentLength || config.max_exchanges == 0 ||
      config.auth_methods.empty()) {
    return Errc::invalid_config;
  }
  for (std::size_t i = 0; i < config.auth_methods.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (config.auth_methods[i] == config.auth_methods[j]) return Errc::invalid_config;
    }
  }
  const bool offers_chap = contains(config.auth_methods, AuthMethod::chap);
  std::optional<auth::ChapInitiator> chap;
  if (offers_chap) {
    if (!config.chap) return Errc::chap_not_configured;
    if (config.chap->target && contains(config.auth_methods, AuthMethod::none)) {
      return Errc::mutual_chap_allows_none;
    }
    auto created = auth::ChapInitiator::create(std::move(*config.chap));
    if (!created) return created.error();
    chap.emplace(std::move(*created));
  }
  config.chap.reset();

  NegotiationContext ctx;
  ctx.self = Party::initiator;
  ctx.stage = pdu::Stage::security;
  ctx.leading_connection = config.tsih == 0;
  ctx.session_type = config.session_type;

  // Our security-stage declarations, checked now so a bad name fails here and not mid-login.
  for (const auto& [key, value] :
       {std::pair{key_name(KeyId::initiator_name), std::string_view(config.initiator_name)},
        std::pair{key_name(KeyId::target_name), std::string_view(config.target_name)},
        std::pair{key_name(KeyId::initiator_alias), std::string_view(config.initiator_alias)}}) {
    if (value.empty()) continue;
    if (auto ec = validate_offer(key, value, Party::initiator, ctx)) return ec;
  }
  for (const text::KeyValue& kv : config.operational_keys) {
    const KeySpec* spec = find_key(kv.key);
    if (spec == nullptr) return NegotiationErrc::unknown_key;
    if (auto ec = validate_value(*spec, kv.value)) return ec;
  }

  Negotiation negotiation(ctx, config.operational_keys);
  return LoginMachine(std::move(config), std::move(negotiation), std::move(chap));
}

// --- Outgoing ---------------------------------------------------------------------------------------

pdu::Stage LoginMachine::current_stage() const noexcept {
  return state_ == State::operational ? pdu::Stage::operational : pdu::Stage::security;
}

Result<LoginStep> LoginMachine::emit(ByteVector data, bool transit, bool cont, pdu::Stage nsg) {
  if (exchanges_ >= config_.max_exchanges) {
    return fail(Errc::too_many_exchanges,
                std::to_string(exchanges_) + " Login Requests sent without an end");
  }
  ++exchanges_;
  pdu::LoginRequest req;
  req.transit = transit;
  req.cont = cont;
  req.csg = current_stage();
  req.nsg = transit ? nsg : pdu::Stage::security;  // NSG is reserved (0) unless T=1
  req.version_max = pdu::kVersion;
  req.version_min = pdu::kVersion;
  req.isid = config_.isid;
  req.tsih = config_.tsih;
  req.itt = config_.itt;
  req.cid = config_.cid;
  req.cmd_sn = config_.cmd_sn;
  req.exp_stat_sn = have_stat_sn_ ? last_stat_sn_ + 1 : config_.exp_stat_sn;
  req.data = std::move(data);
  sent_transit_ = transit;
  sent_cont_ = cont;
  sent_nsg_ = req.nsg;
  return LoginStep{std::move(req)};
}

Result<LoginStep> LoginMachine::send_text(const text::KeyValueList& keys, bool transit,
                                          pdu::Stage nsg) {
  auto encoded = text::encode(keys);
  if (!encoded) return fail(encoded.error(), "encoding our own keys");
  out_text_ = std::move(*encoded);
  out_offset_ = 0;
  want_transit_ = transit;
  want_nsg_ = nsg;
  return send_next_segment();
}

Result<LoginStep> LoginMachine::send_next_segment() {
  const std::size_t remaining = out_text_.size() - out_offset_;
  const std::size_t n = std::min(remaining, config_.max_segment_length);
  ByteVector piece(out_text_.begin() + static_cast<std::ptrdiff_t>(out_offset_),
                   out_text_.begin() + static_cast<std::ptrdiff_t>(out_offset_ + n));
  out_offset_ += n;
  const bool more = out_offset_ < out_text_.size();
  // RFC 7143 11.12.2: a request with C=1 MUST have T=0.
  return emit(std::move(piece), more ? false : want_transit_, more, want_nsg_);
}

Result<LoginStep> LoginMachine::finish(LoginOutcome outcome, State state) {
  state_ = state;
  outcome_ = outcome;
  return LoginStep{std::move(outcome)};
}

std::error_code LoginMachine::fail(std::error_code ec, std::string detail) {
  if (state_ == State::failed) return error_;
  state_ = State::failed;
  error_ = ec;
  ProtocolError pe{ec, std::move(detail), ConnError::proto};
  if (ec == Errc::wrong_itt) pe.conn_error = ConnError::bad_itt;
  outcome_ = std::move(pe);
  return ec;
}

Result<pdu::LoginRequest> LoginMachine::start() {
  if (state_ != State::initial) {
    return fail(Errc::out_of_order, "start() in state " + std::string(to_string(state_)));
  }
  state_ = State::security;
  text::KeyValueList offers;
  offers.push_back({std::string(key_name(KeyId::initiator_name)), config_.initiator_name});
  if (!config_.initiator_alias.empty()) {
    offers.push_back({std::string(key_name(KeyId::initiator_alias)), config_.initiator_alias});
  }
  if (config_.tsih == 0) {  // SessionType is leading-only
    offers.push_back({std::string(key_name(KeyId::session_type)),
                      config_.session_type == SessionType::discovery ? "Discovery" : "Normal"});
  }
  if (config_.session_type == SessionType::normal) {
    offers.push_back({std::string(key_name(KeyId::target_name)), config_.target_name});
  }
  offers.push_back(
      {std::string(key_name(KeyId::auth_method)), auth_method_list(config_.auth_methods)});
  auto recorded = negotiation_.offer(offers);
  if (!recorded) return fail(recorded.error(), "our key " + negotiation_.error_key());
  // With nothing but None on offer there is nothing to wait for: ask to move on at once.
  const bool none_only = config_.auth_methods == std::vector<AuthMethod>{AuthMethod::none};
  auto step = send_text(*recorded, none_only, pdu::Stage::operational);
  if (!step) return step.error();
  return std::get<pdu::LoginRequest>(std::move(*step));
}

// --- Incoming ---------------------------------------------------------------------------------------

std::error_code LoginMachine::check_header(const pdu::LoginResponse& rsp) {
  if (rsp.itt != config_.itt) {
    return fail(Errc::wrong_itt,
                "Login Response ITT " + hex(rsp.itt, 8) + ", expected " + hex(config_.itt, 8));
  }
  if (static_cast<unsigned>(rsp.status_class) > 3) {
    return fail(Errc::unknown_status_class, to_string(LoginStatus::of(rsp)));
  }
  // A redirect or a refusal is reported by its status whatever else its header says: targets
  // differ in what they echo there (tgt 1.0.85 zeroes the ISID in a failure response), and
  // "authentication failure (0x0201)" is what the user needs to read.
  if (rsp.status_class != pdu::LoginStatusClass::success) return {};
  if (rsp.isid != config_.isid) {
    return fail(Errc::wrong_isid, "Login Response ISID " + pdu::to_string(rsp.isid) +
                                      ", expected " + pdu::to_string(config_.isid));
  }

  // RFC 7143 11.13: Version-active is the version in use (0x00, the only one); both version
  // fields stay the same for the whole login.
  if (rsp.version_active != pdu::kVersion) {
    return fail(Errc::unsupported_version,
                "Version-active " + hex(rsp.version_active, 2) + ", we support only 0x00");
  }
  if (have_versions_ &&
      (rsp.version_max != version_max_ || rsp.version_active != version_active_)) {
    return fail(Errc::version_changed, "Version-max " + hex(rsp.version_max, 2) + " after " +
                                           hex(version_max_, 2));
  }
  have_versions_ = true;
  version_max_ = rsp.version_max;
  version_active_ = rsp.version_active;

  if (rsp.csg != current_stage()) {
    return fail(Errc::wrong_csg,
                "CSG " + pdu::to_string(rsp.csg) + " in answer to " + pdu::to_string(current_stage()));
  }
  if (rsp.transit && rsp.cont) return fail(Errc::transit_with_continue);
  if (rsp.transit) {
    if (!sent_transit_) return fail(Errc::illegal_transit);
    if (stage_rank(rsp.nsg) <= stage_rank(rsp.csg) || stage_rank(rsp.nsg) > stage_rank(sent_nsg_)) {
      return fail(Errc::illegal_nsg, "NSG " + pdu::to_string(rsp.nsg) + " from CSG " +
                                         pdu::to_string(rsp.csg) + ", we asked for " +
                                         pdu::to_string(sent_nsg_));
    }
  }
  // RFC 7143 11.13.3: the first response sets StatSN, each later one carries it + 1.
  if (have_stat_sn_ && rsp.stat_sn != last_stat_sn_ + 1) {
    return fail(Errc::stat_sn_mismatch, "StatSN " + std::to_string(rsp.stat_sn.value()) +
                                            ", expected " +
                                            std::to_string((last_stat_sn_ + 1).value()));
  }
  // RFC 7143 11.13.4: the TSIH is echoed, except that the final response of a new session
  // carries the new, non-zero TSIH.
  const bool final_response = rsp.transit && rsp.nsg == pdu::Stage::full_feature;
  if (final_response && config_.tsih == 0) {
    if (rsp.tsih == 0) return fail(Errc::zero_tsih);
  } else if (rsp.tsih != config_.tsih) {
    return fail(Errc::wrong_tsih,
                "TSIH " + hex(rsp.tsih, 4) + ", expected " + hex(config_.tsih, 4));
  }
  have_stat_sn_ = true;
  last_stat_sn_ = rsp.stat_sn;
  exp_cmd_sn_ = rsp.exp_cmd_sn;
  max_cmd_sn_ = rsp.max_cmd_sn;
  return {};
}

LoginMachine::Event LoginMachine::classify(const pdu::LoginResponse& rsp) const noexcept {
  switch (rsp.status_class) {
    case pdu::LoginStatusClass::redirection: return Event::redirect;
    case pdu::LoginStatusClass::success: break;
    default: return Event::reject;
  }
  if (sent_cont_) return Event::continuation_ack;
  if (rsp.cont) return Event::target_continues;
  return rsp.transit ? Event::transit : Event::stay;
}

Result<LoginStep> LoginMachine::receive(const pdu::LoginResponse& rsp) {
  if (state_ == State::failed) return error_;
  if (state_ == State::initial || finished()) {
    return fail(Errc::out_of_order,
                "Login Response in state " + std::string(to_string(state_)));
  }
  if (auto ec = check_header(rsp)) return ec;
  const Event event = classify(rsp);
  for (const Row& row : kTransitions) {
    if (row.state == state_ && row.event == event) return (this->*row.handler)(rsp);
  }
  return fail(Errc::out_of_order, "no transition from " + std::string(to_string(state_)));
}

Result<Negotiation::Received> LoginMachine::receive_keys(const pdu::LoginResponse& rsp) {
  auto complete = assembler_.add(rsp.data, false);
  if (!complete) return fail(complete.error(), "in the target's text");
  if (!*complete) return fail(Errc::out_of_order, "target text not complete");
  assembler_.reset();
  auto received = negotiation_.receive(**complete);
  if (!received) return fail(received.error(), "target key " + negotiation_.error_key());
  return received;
}

std::optional<std::string_view> LoginMachine::settled_auth_method() const {
  return negotiation_.value(key_name(KeyId::auth_method));
}

Result<LoginStep> LoginMachine::on_target_continues(const pdu::LoginResponse& rsp) {
  auto partial = assembler_.add(rsp.data, true);
  if (!partial) return fail(partial.error(), "in the target's continued text");
  // Acknowledge with an empty request that keeps our T/NSG, so the target may still transit
  // on the last piece (RFC 7143 6.1, 11.13.1).
  return emit({}, want_transit_, false, want_nsg_);
}

Result<LoginStep> LoginMachine::on_continuation_ack(const pdu::LoginResponse& rsp) {
  if (!rsp.data.empty() || rsp.cont) {
    return fail(Errc::data_in_continuation_ack,
                std::to_string(rsp.data.size()) + " bytes in the acknowledgement");
  }
  return send_next_segment();
}

Result<LoginStep> LoginMachine::on_security_stay(const pdu::LoginResponse& rsp) {
  auto received = receive_keys(rsp);
  if (!received) return received.error();
  text::KeyValueList out = std::move(received->answers);
  const text::KeyValueList& chap_keys = received->passthrough;
  bool transit = false;

  if (chap_started_) {
    switch (chap_->state()) {
      case auth::ChapInitiator::State::algorithms_offered: {
        auto answer = chap_->respond(chap_keys);
        if (!answer) return fail(answer.error(), "CHAP challenge from the target");
        auto recorded = negotiation_.offer(*answer);
        if (!recorded) return fail(recorded.error(), "our key " + negotiation_.error_key());
        out.insert(out.end(), answer->begin(), answer->end());
        transit = true;
        break;
      }
      case auth::ChapInitiator::State::awaiting_target:
        // The target may answer our challenge before it is ready to transit.
        if (!chap_keys.empty()) {
          if (auto ec = chap_->verify_target(chap_keys)) return fail(ec, "target's CHAP answer");
        }
        transit = true;
        break;
      default:
        if (!chap_keys.empty()) return fail(Errc::unexpected_auth_keys, "after CHAP completed");
        transit = true;
        break;
    }
  } else {
    const auto method = settled_auth_method();
    if (!chap_keys.empty()) {
      return fail(Errc::unexpected_auth_keys, "CHAP keys before our CHAP_A");
    }
    if (method && *method == to_string(AuthMethod::chap)) {
      if (!chap_) return fail(Errc::auth_method_not_negotiated, "CHAP chosen but not offered");
      chap_started_ = true;
      auto offer = chap_->offer_algorithms();
      if (!offer) return fail(offer.error());
      auto recorded = negotiation_.offer(*offer);
      if (!recorded) return fail(recorded.error(), "our key " + negotiation_.error_key());
      out.insert(out.end(), offer->begin(), offer->end());
    } else if (method && *method == to_string(AuthMethod::none)) {
      transit = true;
    }
    // Otherwise AuthMethod is not answered yet: send our answers (if any) and wait.
  }
  return send_text(out, transit, pdu::Stage::operational);
}

Result<LoginStep> LoginMachine::on_security_transit(const pdu::LoginResponse& rsp) {
  auto received = receive_keys(rsp);
  if (!received) return received.error();
  if (!received->answers.empty()) {
    return fail(Errc::offer_in_transit_response, "key " + received->answers.front().key);
  }
  const text::KeyValueList& chap_keys = received->passthrough;
  if (chap_started_) {
    switch (chap_->state()) {
      case auth::ChapInitiator::State::awaiting_target:
        // Mutual CHAP: a target that moves on without proving itself fails the login.
        if (chap_keys.empty()) {
          return fail(Errc::authentication_incomplete, "no CHAP_N/CHAP_R from the target");
        }
        if (auto ec = chap_->verify_target(chap_keys)) return fail(ec, "target's CHAP answer");
        break;
      case auth::ChapInitiator::State::done:
        if (!chap_keys.empty()) return fail(Errc::unexpected_auth_keys, "after CHAP completed");
        break;
      default:
        return fail(Errc::authentication_incomplete,
                    "CHAP in state " + std::string(auth::to_string(chap_->state())));
    }
  } else {
    if (!chap_keys.empty()) return fail(Errc::unexpected_auth_keys, "without AuthMethod=CHAP");
    const auto method = settled_auth_method();
    if (method && *method == to_string(AuthMethod::chap)) {
      return fail(Errc::authentication_incomplete, "AuthMethod=CHAP agreed but not performed");
    }
    // A target that leaves AuthMethod unanswered is tolerated only when None was all we offered.
    const bool none_only = config_.auth_methods == std::vector<AuthMethod>{AuthMethod::none};
    if (!method && !none_only) return fail(Errc::auth_method_not_negotiated);
  }

  // The only later stage we ask for from security is operational (check_header saw to NSG).
  state_ = State::operational;
  negotiation_.set_stage(pdu::Stage::operational);
  auto offers = negotiation_.offer_local();
  if (!offers) return fail(offers.error(), "our key " + negotiation_.error_key());
  return send_text(*offers, true, pdu::Stage::full_feature);
}

Result<LoginStep> LoginMachine::on_operational_stay(const pdu::LoginResponse& rsp) {
  auto received = receive_keys(rsp);
  if (!received) return received.error();
  if (!received->passthrough.empty()) {
    return fail(Errc::unexpected_auth_keys, "key " + received->passthrough.front().key);
  }
  return send_text(received->answers, true, pdu::Stage::full_feature);
}

Result<LoginStep> LoginMachine::on_operational_transit(const pdu::LoginResponse& rsp) {
  auto received = receive_keys(rsp);
  if (!received) return received.error();
  if (!received->answers.empty()) {
    return fail(Errc::offer_in_transit_response, "key " + received->answers.front().key);
  }
  if (!received->passthrough.empty()) {
    return fail(Errc::unexpected_auth_keys, "key " + received->passthrough.front().key);
  }
  auto params = negotiation_.params();
  if (!params) {
    std::string pending;
    for (const std::string& k : negotiation_.pending_keys()) pending += (pending.empty() ? "" : ",") + k;
    return fail(params.error(), pending.empty() ? std::string() : "unanswered: " + pending);
  }
  LoggedIn done;
  done.tsih = rsp.tsih;
  done.params = std::move(*params);
  done.cmd_sn = config_.cmd_sn;
  done.exp_stat_sn = last_stat_sn_ + 1;
  done.exp_cmd_sn = exp_cmd_sn_;
  done.max_cmd_sn = max_cmd_sn_;
  if (chap_started_) {
    done.auth_method = AuthMethod::chap;
    done.chap_algorithm = chap_->algorithm();
    done.target_authenticated = chap_->mutual();
  }
  return finish(std::move(done), State::logged_in);
}

Result<LoginStep> LoginMachine::on_redirect(const pdu::LoginResponse& rsp) {
  auto keys = text::decode(rsp.data);
  if (!keys) return fail(keys.error(), "in the redirect's text");
  const auto value = text::find_value(*keys, key_name(KeyId::target_address));
  if (!value) return fail(Errc::missing_target_address, to_string(LoginStatus::of(rsp)));
  auto address = text::parse_target_address(*value, text::AddressContext::redirect);
  if (!address) return fail(address.error(), "TargetAddress=" + std::string(*value));
  return finish(Redirected{LoginStatus::of(rsp), std::move(*address)}, State::redirected);
}

Result<LoginStep> LoginMachine::on_reject(const pdu::LoginResponse& rsp) {
  return finish(Rejected{LoginStatus::of(rsp), config_.tsih == 0}, State::rejected);
}

}  // namespace iscsi::login
