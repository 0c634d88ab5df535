// The initiator's login state machine (RFC 7143 sections 6, 11.12, 11.13). Sans-IO: start()
// gives the first Login Request, receive() takes each Login Response and gives either the next
// Login Request to send or the outcome of the login. The caller moves PDUs; this file decides.
//
//   security stage      InitiatorName, SessionType, TargetName, AuthMethod; then CHAP
//                       (CHAP_A -> CHAP_A/I/C -> CHAP_N/R[/I/C] -> [CHAP_N/R])
//   operational stage   our operational keys (login/negotiation.hpp), the target's answers
//   full feature phase  reached on the response with T=1, NSG=3; the target assigns the TSIH
//
// Text longer than a Login PDU may carry is sent in C=1 pieces, each acknowledged by an empty
// response; the target's C=1 pieces are acknowledged with empty requests (RFC 7143 6.1).
//
// Outcomes: LoggedIn (negotiated parameters, TSIH, sequence numbers), Redirected (0x0101 /
// 0x0102 with the parsed TargetAddress), Rejected (any class 2 or 3 status), ProtocolError (the
// target broke a rule; the specific error code, possibly from text/negotiation/auth, plus a
// sentence of detail). Any error is sticky.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/auth/chap_initiator.hpp"
#include "proto/common/result.hpp"
#include "proto/common/serial.hpp"
#include "proto/login/login_errc.hpp"
#include "proto/login/negotiation.hpp"
#include "proto/login/status.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/recovery/conn_error.hpp"
#include "proto/text/continuation.hpp"
#include "proto/text/key_value.hpp"
#include "proto/text/sendtargets.hpp"

namespace iscsi::login {

enum class AuthMethod : std::uint8_t { none, chap };
// The AuthMethod values on the wire: "None", "CHAP".
std::string_view to_string(AuthMethod m) noexcept;

struct LoginConfig {
  std::string initiator_name;
  std::string initiator_alias;  // sent when not empty
  pdu::Isid isid;
  // 0 for a new session (or to reinstate one with the same ISID); the session's TSIH to add a
  // connection to it. Decides whether this is the leading connection.
  std::uint16_t tsih = 0;
  std::uint16_t cid = 0;
  std::uint32_t itt = 0;
  SerialNumber cmd_sn;       // carried unchanged by every Login Request (they are immediate)
  SerialNumber exp_stat_sn;  // first request only; afterwards the last StatSN + 1
  SessionType session_type = SessionType::normal;
  std::string target_name;   // required for a normal session, not sent for discovery
  // Offered in this order. Mutual CHAP may not be combined with None: a target that answered
  // None would never have to prove who it is.
  std::vector<AuthMethod> auth_methods{AuthMethod::none};
  std::optional<auth::ChapInitiatorConfig> chap;
  // Our operational keys in offer syntax ("HeaderDigest" -> "CRC32C,None", ...), offered in
  // the operational stage by the negotiation code.
  text::KeyValueList operational_keys;
  // Largest data segment we send during login (RFC 7143: at most 8192 bytes).
  std::size_t max_segment_length = pdu::kLoginMaxDataSegmentLength;
  // Bound on Login Requests, so a target that never lets the login finish is caught here too.
  std::size_t max_exchanges = 64;
};

struct LoggedIn {
  std::uint16_t tsih = 0;
  NegotiatedParams params;
  SerialNumber cmd_sn;       // the CmdSN of the first command
  SerialNumber exp_stat_sn;  // the StatSN we expect next on this connection
  SerialNumber exp_cmd_sn;
  SerialNumber max_cmd_sn;
  AuthMethod auth_method = AuthMethod::none;
  std::optional<auth::ChapAlgorithm> chap_algorithm;
  bool target_authenticated = false;  // mutual CHAP verified the target
};

struct Redirected {
  LoginStatus status;
  text::TargetAddress address;
  bool permanent() const noexcept { return status.is_permanent_redirect(); }
};

struct Rejected {
  LoginStatus status;
  bool leading = false;  // the login asked for a new session (TSIH 0)
  bool temporary() const noexcept { return status.is_temporary_failure(); }
  // 0x0206 ("too many connections") answers a login that adds a connection beyond
  // MaxConnections. A leading login adds none, so a target sending it there refuses a second
  // session to the TPG: LIO with iscsi-lab's single-session (split-brain) guard does exactly that.
  bool session_limit() const noexcept {
    return leading && status == LoginStatus::from(LoginStatusCode::too_many_connections);
  }
};

struct ProtocolError {
  std::error_code error;
  std::string detail;  // e.g. "Login Response ITT 0x00000007, expected 0x00000001"
  ConnError conn_error = ConnError::proto;
};

using LoginOutcome = std::variant<LoggedIn, Redirected, Rejected, ProtocolError>;
// "logged in (TSIH 0x0001)", "target moved temporarily (0x0101) to 192.0.2.1:3260",
// "authentication failure (0x0201)", "protocol error: <message> (<detail>)".
std::string to_string(const LoginOutcome& outcome);

// What receive() hands back: the next request to send, or how the login ended.
using LoginStep = std::variant<pdu::LoginRequest, LoginOutcome>;

class LoginMachine {
 public:
  enum class State {
    initial,      // start() not called yet
    security,     // a security-stage request is outstanding
    operational,  // an operational-stage request is outstanding
    logged_in,    // full feature phase (final)
    redirected,   // final
    rejected,     // final
    failed,       // protocol error or misuse (final, sticky)
  };

  // Checks the configuration (names, AuthMethod list, CHAP credentials, key values).
  static Result<LoginMachine> create(LoginConfig config);

  Result<pdu::LoginRequest> start();
  Result<LoginStep> receive(const pdu::LoginResponse& response);

  State state() const noexcept { return state_; }
  bool finished() const noexcept { return outcome_.has_value(); }
  const std::optional<LoginOutcome>& outcome() const noexcept { return outcome_; }
  std::error_code error() const noexcept { return error_; }
  std::size_t exchanges() const noexcept { return exchanges_; }
  const Negotiation& negotiation() const noexcept { return negotiation_; }

 private:
  enum class Event {
    start,
    stay,               // success, T=0, C=0: more negotiation in this stage
    transit,            // success, T=1: the target moves to NSG
    target_continues,   // success, C=1: the target's text continues in the next response
    continuation_ack,   // the (empty) answer to our own C=1 request
    redirect,           // status class 1
    reject,             // status class 2 or 3
  };
  using Handler = Result<LoginStep> (LoginMachine::*)(const pdu::LoginResponse&);
  struct Row {
    State state;
    Event event;
    Handler handler;
  };
  static const Row kTransitions[];

  LoginMachine(LoginConfig config, Negotiation negotiation,
               std::optional<auth::ChapInitiator> chap);

  std::error_code check_header(const pdu::LoginResponse& rsp);
  Event classify(const pdu::LoginResponse& rsp) const noexcept;
  pdu::Stage current_stage() const noexcept;

  Result<LoginStep> on_security_stay(const pdu::LoginResponse& rsp);
  Result<LoginStep> on_security_transit(const pdu::LoginResponse& rsp);
  Result<LoginStep> on_operational_stay(const pdu::LoginResponse& rsp);
  Result<LoginStep> on_operational_transit(const pdu::LoginResponse& rsp);
  Result<LoginStep> on_target_continues(const pdu::LoginResponse& rsp);
  Result<LoginStep> on_continuation_ack(const pdu::LoginResponse& rsp);
  Result<LoginStep> on_redirect(const pdu::LoginResponse& rsp);
  Result<LoginStep> on_reject(const pdu::LoginResponse& rsp);

  // The target's complete text (this response closes it) through negotiation.
  Result<Negotiation::Received> receive_keys(const pdu::LoginResponse& rsp);
  // Our next text: recorded offers plus answers, split into Login PDUs as needed.
  Result<LoginStep> send_text(const text::KeyValueList& keys, bool transit, pdu::Stage nsg);
  Result<LoginStep> send_next_segment();
  Result<LoginStep> emit(ByteVector data, bool transit, bool cont, pdu::Stage nsg);
  Result<LoginStep> finish(LoginOutcome outcome, State state);
  std::error_code fail(std::error_code ec, std::string detail = {});
  std::optional<std::string_view> settled_auth_method() const;

  LoginConfig config_;
  Negotiation negotiation_;
  std::optional<auth::ChapInitiator> chap_;
  bool chap_started_ = false;
  text::TextAssembler assembler_;

  State state_ = State::initial;
  std::optional<LoginOutcome> outcome_;
  std::error_code error_;
  std::size_t exchanges_ = 0;

  // The request outstanding now (header bits the response is checked against).
  bool sent_transit_ = false;
  bool sent_cont_ = false;
  pdu::Stage sent_nsg_ = pdu::Stage::security;
  // Our current text and how much of it is out; the T/NSG its last piece carries.
  ByteVector out_text_;
  std::size_t out_offset_ = 0;
  bool want_transit_ = false;
  pdu::Stage want_nsg_ = pdu::Stage::security;

  // From the target's success responses.
  bool have_stat_sn_ = false;
  SerialNumber last_stat_sn_;
  SerialNumber exp_cmd_sn_;
  SerialNumber max_cmd_sn_;
  bool have_versions_ = false;
  std::uint8_t version_max_ = 0;
  std::uint8_t version_active_ = 0;
};

std::string_view to_string(LoginMachine::State s) noexcept;

}  // namespace iscsi::login
