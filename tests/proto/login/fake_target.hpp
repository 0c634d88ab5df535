// An in-memory iSCSI target for the login phase, for driving LoginMachine without a network.
// It answers Login Requests the way LIO does (security stage with AuthMethod and CHAP through
// auth::ChapTarget, operational stage through login::Negotiation as the target party, TSIH on
// the final response, StatSN counting up from a start value), can reject or redirect, splits
// long answers into C=1 pieces, and lets a test tamper with any response or its keys to play a
// misbehaving target. It also records the rules the initiator's requests break, so tests check
// both sides of the conversation.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proto/auth/chap_target.hpp"
#include "proto/login/login_machine.hpp"
#include "proto/login/negotiation.hpp"
#include "proto/login/status.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/text/codec.hpp"
#include "proto/text/continuation.hpp"

namespace iscsi::login::test {

struct FakeTargetConfig {
  std::string target_name = "iqn.2026-11.org.example:t0";
  std::uint16_t portal_group_tag = 1;
  // The target's AuthMethod value in list syntax ("None", "CHAP", "CHAP,None"); it picks the
  // first of the initiator's offer that appears here.
  std::string auth_method = "None";
  std::optional<auth::ChapTargetConfig> chap;
  // The target's operational values: its limits for negotiated keys and its declarations
  // (e.g. MaxRecvDataSegmentLength), declared in its first operational response.
  text::KeyValueList operational_keys;
  std::uint16_t assigned_tsih = 0x0012;
  std::uint32_t first_stat_sn = 0x1000;
  std::uint32_t max_cmd_window = 32;
  // Answer the first request with this status (class 2/3) ...
  std::optional<LoginStatus> reject_with;
  // ... or redirect it (0x0101 / 0x0102) to this TargetAddress value.
  std::optional<LoginStatus> redirect_with;
  std::string redirect_address = "192.0.2.7:3261";
  // Largest data segment per response; longer text goes out in C=1 pieces.
  std::size_t max_segment_length = 8192;
  // Extra keys added to the first response of a stage (e.g. a target offer), before tampering.
  text::KeyValueList extra_security_keys;
  text::KeyValueList extra_operational_keys;
};

class FakeTarget {
 public:
  // Called with every response's keys before they are encoded.
  std::function<void(text::KeyValueList&, const pdu::LoginRequest&)> tamper_keys;
  // Called with every response just before it is returned.
  std::function<void(pdu::LoginResponse&, const pdu::LoginRequest&)> tamper;

  explicit FakeTarget(FakeTargetConfig config) : config_(std::move(config)) {
    if (config_.chap) {
      auto chap = auth::ChapTarget::create(std::move(*config_.chap));
      if (chap) chap_.emplace(std::move(*chap));
      else problems.push_back("ChapTarget config: " + chap.error().message());
    }
  }

  // The rules the initiator broke, in words (empty for a well-behaved initiator).
  std::vector<std::string> problems;
  std::size_t responses = 0;
  bool logged_in = false;
  std::optional<std::uint16_t> tsih_sent;
  std::error_code chap_error;  // why the fake rejected the initiator's CHAP, if it did

  pdu::LoginResponse handle(const pdu::LoginRequest& req) {
    check_request(req);
    pdu::LoginResponse rsp = base_response(req);
    if (!first_seen_) {
      first_seen_ = true;
      first_ = req;
      if (config_.reject_with) return status_response(req, *config_.reject_with, {});
      if (config_.redirect_with) {
        return status_response(req, *config_.redirect_with,
                               {{"TargetAddress", config_.redirect_address}});
      }
    }

    // Our own continued text: the initiator's empty request asks for the next piece.
    if (out_offset_ < out_text_.size()) {
      if (!req.data.empty() || req.cont) problems.push_back("data in continuation ack");
      return next_piece(req, rsp);
    }
    // The initiator's continued text: acknowledge with an empty response.
    auto complete = assembler_.add(req.data, req.cont);
    if (!complete) {
      problems.push_back("initiator text: " + complete.error().message());
      return status_response(req, LoginStatus::from(LoginStatusCode::initiator_error), {});
    }
    if (req.cont) {
      if (req.transit) problems.push_back("request with T=1 and C=1");
      return finish_response(req, rsp);
    }
    assembler_.reset();
    return answer(req, rsp, **complete);
  }

  const pdu::LoginRequest& first_request() const { return first_; }
  const std::vector<text::KeyValueList>& received_texts() const { return received_; }

 private:
  pdu::LoginResponse base_response(const pdu::LoginRequest& req) const {
    pdu::LoginResponse rsp;
    rsp.csg = req.csg;
    rsp.isid = req.isid;
    rsp.tsih = req.tsih;
    rsp.itt = req.itt;
    rsp.version_max = pdu::kVersion;
    rsp.version_active = pdu::kVersion;
    rsp.exp_cmd_sn = req.cmd_sn;
    rsp.max_cmd_sn = req.cmd_sn + (config_.max_cmd_window - 1);
    return rsp;
  }

  void check_request(const pdu::LoginRequest& req) {
    if (responses > 0) {
      if (req.cmd_sn != first_.cmd_sn) problems.push_back("CmdSN changed during login");
      if (req.itt != first_.itt) problems.push_back("ITT changed during login");
      if (req.isid != first_.isid) problems.push_back("ISID changed during login");
      if (req.exp_stat_sn != stat_sn_) problems.push_back("ExpStatSN is not last StatSN + 1");
    }
    if (req.cont && req.transit) problems.push_back("T and C both set");
    if (req.version_min != pdu::kVersion || req.version_max != pdu::kVersion) {
      problems.push_back("version range other than 0x00");
    }
  }

  pdu::LoginResponse status_response(const pdu::LoginRequest& req, LoginStatus status,
                                     const text::KeyValueList& keys) {
    pdu::LoginResponse rsp = base_response(req);
    rsp.status_class = status.status_class;
    rsp.status_detail = status.detail;
    rsp.data = *text::encode(keys);
    return finish_response(req, rsp);
  }

  pdu::LoginResponse finish_response(const pdu::LoginRequest& req, pdu::LoginResponse& rsp) {
    rsp.stat_sn = SerialNumber(config_.first_stat_sn + static_cast<std::uint32_t>(responses));
    stat_sn_ = rsp.stat_sn + 1;
    ++responses;
    if (tamper) tamper(rsp, req);
    return rsp;
  }

  pdu::LoginResponse next_piece(const pdu::LoginRequest& req, pdu::LoginResponse& rsp) {
    const std::size_t n = std::min(config_.max_segment_length, out_text_.size() - out_offset_);
    rsp.data.assign(out_text_.begin() + static_cast<std::ptrdiff_t>(out_offset_),
                    out_text_.begin() + static_cast<std::ptrdiff_t>(out_offset_ + n));
    out_offset_ += n;
    if (out_offset_ < out_text_.size()) {
      rsp.cont = true;
    } else {
      rsp.transit = out_transit_;
      rsp.nsg = out_nsg_;
      apply_final(rsp);
    }
    return finish_response(req, rsp);
  }

  void apply_final(pdu::LoginResponse& rsp) {
    if (rsp.transit && rsp.nsg == pdu::Stage::full_feature) {
      if (rsp.tsih == 0) rsp.tsih = config_.assigned_tsih;
      tsih_sent = rsp.tsih;
      logged_in = true;
    }
  }

  pdu::LoginResponse answer(const pdu::LoginRequest& req, pdu::LoginResponse& rsp,
                            const text::KeyValueList& keys) {
    received_.push_back(keys);
    if (!negotiation_) {
      NegotiationContext ctx;
      ctx.self = Party::target;
      ctx.stage = pdu::Stage::security;
      ctx.leading_connection = req.tsih == 0;
      const auto type = text::find_value(keys, "SessionType");
      ctx.session_type = type && *type == "Discovery" ? SessionType::discovery : SessionType::normal;
      text::KeyValueList local = config_.operational_keys;
      local.push_back({"AuthMethod", config_.auth_method});
      negotiation_.emplace(ctx, local);
    }
    text::KeyValueList out;
    bool stage_done = false;
    if (req.csg == pdu::Stage::security) {
      if (negotiation_->context().stage != pdu::Stage::security) {
        problems.push_back("security stage after operational");
      }
      auto received = negotiation_->receive(keys);
      if (!received) {
        problems.push_back("negotiation: " + received.error().message() + " at " +
                           negotiation_->error_key());
        return status_response(req, LoginStatus::from(LoginStatusCode::initiator_error), {});
      }
      out = received->answers;
      if (auto m = text::find_value(out, "AuthMethod"); m && *m == "Reject") {
        return status_response(req, LoginStatus::from(LoginStatusCode::authentication_failure), {});
      }
      if (!security_declared_) {
        security_declared_ = true;
        out.push_back({"TargetPortalGroupTag", std::to_string(config_.portal_group_tag)});
        out.insert(out.end(), config_.extra_security_keys.begin(), config_.extra_security_keys.end());
      }
      const auto method = negotiation_->value("AuthMethod");
      const text::KeyValueList& chap_keys = received->passthrough;
      if (!chap_keys.empty()) {
        if (!chap_ || !method || *method != "CHAP") {
          problems.push_back("CHAP keys without AuthMethod=CHAP");
          return status_response(req, LoginStatus::from(LoginStatusCode::initiator_error), {});
        }
        auto r = text::contains(chap_keys, "CHAP_A") ? chap_->on_algorithms(chap_keys)
                                                     : chap_->on_response(chap_keys);
        if (!r) {
          chap_error = r.error();
          return status_response(req, LoginStatus::from(LoginStatusCode::authentication_failure),
                                 {});
        }
        out.insert(out.end(), r->begin(), r->end());
      }
      const bool authenticated =
          method && (*method == "None" ||
                     (*method == "CHAP" && chap_ && chap_->state() == auth::ChapTarget::State::done));
      if (req.transit && !authenticated) {
        if (method && *method == "CHAP") {
          return status_response(req, LoginStatus::from(LoginStatusCode::authentication_failure),
                                 {});
        }
      }
      stage_done = req.transit && authenticated;
    } else {
      const bool first_operational = negotiation_->context().stage == pdu::Stage::security;
      if (first_operational) negotiation_->set_stage(pdu::Stage::operational);
      auto received = negotiation_->receive(keys);
      if (!received) {
        problems.push_back("negotiation: " + received.error().message() + " at " +
                           negotiation_->error_key());
        return status_response(req, LoginStatus::from(LoginStatusCode::initiator_error), {});
      }
      out = received->answers;
      if (first_operational) {
        // Like LIO: answer first, then declare (and offer) what the initiator did not raise.
        auto declared = negotiation_->offer_local();
        if (declared) {
          out.insert(out.end(), declared->begin(), declared->end());
        } else {
          problems.push_back("target offer_local: " + declared.error().message());
        }
        out.insert(out.end(), config_.extra_operational_keys.begin(),
                   config_.extra_operational_keys.end());
      }
      stage_done = req.transit && !negotiation_->awaiting_answers();
    }
    if (tamper_keys) tamper_keys(out, req);
    out_text_ = *text::encode(out);
    out_offset_ = 0;
    out_transit_ = stage_done;
    out_nsg_ = stage_done ? req.nsg : pdu::Stage::security;
    return next_piece(req, rsp);
  }

  FakeTargetConfig config_;
  std::optional<auth::ChapTarget> chap_;
  std::optional<Negotiation> negotiation_;
  text::TextAssembler assembler_;
  bool first_seen_ = false;
  bool security_declared_ = false;
  pdu::LoginRequest first_;
  SerialNumber stat_sn_;
  std::vector<text::KeyValueList> received_;
  ByteVector out_text_;
  std::size_t out_offset_ = 0;
  bool out_transit_ = false;
  pdu::Stage out_nsg_ = pdu::Stage::security;
};

// Runs a login between `machine` and `target` over the real PDU codec (encode, then decode),
// until the machine reports an outcome or fails. Returns the outcome (ProtocolError on failure).
inline LoginOutcome run_login(LoginMachine& machine, FakeTarget& target,
                              std::vector<pdu::LoginRequest>* requests = nullptr,
                              std::size_t limit = 100) {
  auto first = machine.start();
  if (!first) return ProtocolError{first.error(), "start() failed"};
  pdu::LoginRequest req = *first;
  for (std::size_t i = 0; i < limit; ++i) {
    if (requests) requests->push_back(req);
    auto wire = pdu::encode(pdu::Pdu{req});
    if (!wire) return ProtocolError{wire.error(), "request did not encode"};
    auto decoded = pdu::decode(*wire);
    if (!decoded) return ProtocolError{decoded.error(), "request did not decode"};
    pdu::LoginResponse rsp = target.handle(std::get<pdu::LoginRequest>(decoded->pdu));
    auto rsp_wire = pdu::encode(pdu::Pdu{rsp});
    if (!rsp_wire) return ProtocolError{rsp_wire.error(), "response did not encode"};
    auto rsp_decoded = pdu::decode(*rsp_wire);
    if (!rsp_decoded) return ProtocolError{rsp_decoded.error(), "response did not decode"};
    auto step = machine.receive(std::get<pdu::LoginResponse>(rsp_decoded->pdu));
    if (!step) return *machine.outcome();
    if (auto* outcome = std::get_if<LoginOutcome>(&*step)) return *outcome;
    req = std::get<pdu::LoginRequest>(*step);
  }
  return ProtocolError{Errc::too_many_exchanges, "test driver limit"};
}

}  // namespace iscsi::login::test
