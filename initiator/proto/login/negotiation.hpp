// Generic key negotiation over the table in keys.hpp (RFC 7143 sections 6.2, 12, 13).
//
// Free functions, one step each:
//   validate_offer(key, value, sender, ctx)     may this party send this key now, with this value?
//   respond(key, offer, local, ctx)             the responder's answer (nullopt for declaratives)
//   apply_response(key, offered, response, ctx) the negotiated value from the answer to our offer
//
// Negotiation: the state over one negotiation sequence (a login, or a Text exchange): what we
// offered and declared, what the peer offered and we answered, duplicates, and the final
// NegotiatedParams. The login machine feeds it the decoded key lists of each PDU; CHAP_* and
// SendTargets keys pass through untouched for their own modules.
//
// Local values ("ours") use the offer syntax: a list in our order of preference ("CRC32C,None"),
// our numeric limit ("262144"), our boolean preference ("Yes"), or our declared value. When we
// have no local value for a key, the table default stands in for it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "proto/common/error.hpp"
#include "proto/common/result.hpp"
#include "proto/login/keys.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/text/key_value.hpp"

namespace iscsi::login {

enum class NegotiationErrc {
  ok = 0,
  unknown_key = 1,              // our own offer of a key that is not in the table
  key_not_sendable_by_party,    // e.g. InitiatorName from the target
  key_not_allowed_in_stage,     // operational key in the security stage, or the reverse
  key_not_allowed_in_phase,     // login-only key in full feature phase, FFPO key in login
  key_leading_only,             // LO key on a connection that is not the leading one
  invalid_value,                // syntax: not a number, not Yes/No, bad name, too long
  value_out_of_range,           // a number outside the key's [min, max]
  value_not_defined,            // our own offer lists a value the table does not define
  reserved_value_in_offer,      // NotUnderstood / Irrelevant / Reject used as an offer
  duplicate_key,                // a key negotiated or declared twice in one sequence
  response_is_list,             // an answer to a list key must be a single value
  response_not_offered,         // the answer to a list key is not among our offered values
  response_violates_min,        // Minimum: the answer exceeds our offer
  response_violates_max,        // Maximum: the answer is below our offer
  response_violates_and,        // AND: we offered No, the answer is Yes
  response_violates_or,         // OR: we offered Yes, the answer is No
  response_invalid,             // the answer does not parse for the key's type
  response_out_of_range,        // the answer is outside the key's [min, max]
  not_understood_required_key,  // NotUnderstood for a key every RFC 7143 node must support
  not_negotiable,               // CHAP_*, SendTargets: handled by their own modules
  offers_pending,               // params() while an offer still waits for its answer
  first_burst_exceeds_max_burst,  // FirstBurstLength > MaxBurstLength (RFC 7143 13.14)
  invalid_local_value,          // our own configured value for a key does not parse
  sticky_error,                 // an earlier call failed; the sequence is over
};

const char* category_name(NegotiationErrc) noexcept;
std::string_view describe(NegotiationErrc e) noexcept;
using iscsi::make_error_code;

}  // namespace iscsi::login

ISCSI_DECLARE_ERROR_ENUM(iscsi::login::NegotiationErrc)

namespace iscsi::login {

enum class Party : std::uint8_t { initiator, target };
constexpr Party other(Party p) noexcept {
  return p == Party::initiator ? Party::target : Party::initiator;
}

struct NegotiationContext {
  Party self = Party::initiator;
  pdu::Stage stage = pdu::Stage::operational;  // full_feature for Text negotiation
  bool leading_connection = true;
  SessionType session_type = SessionType::normal;
};

// May `sender` send this key in `ctx` (Senders, Use, stage, leading connection)?
std::error_code check_allowed(const KeySpec& spec, Party sender, const NegotiationContext& ctx);
// Is `value` well formed for the key: syntax, length, range, defined values for text keys.
// Reserved answers (Reject, ...) are not values and fail with invalid_value.
std::error_code validate_value(const KeySpec& spec, std::string_view value);
// A whole offer: the key is known (or an X- / X# extension), the sender may send it now, the
// value is valid and not a reserved answer. For our own offers of list keys, every item must
// also be a defined value (value_not_defined); a peer's unknown items are ignored by respond().
std::error_code validate_offer(std::string_view key, std::string_view value, Party sender,
                               const NegotiationContext& ctx);

// The answer the responder (ctx.self) sends to the peer's offer `key=offer`, given its own
// `local` value ("" = the table default). nullopt: nothing to send (declarative keys). Answers:
// the negotiated value, "Reject" (invalid or unacceptable offer, obsolete marker keys),
// "Irrelevant" (discovery session), "NotUnderstood" (unknown or extension keys). Errors for
// offers that break the protocol (wrong sender/stage/phase, reserved value as an offer, invalid
// declaration, CHAP_*/SendTargets which are not negotiated here).
Result<std::optional<std::string>> respond(std::string_view key, std::string_view offer,
                                           std::string_view local, const NegotiationContext& ctx);

enum class Outcome : std::uint8_t {
  agreed,          // negotiated value
  declared,        // a declarative value
  rejected,        // the peer answered Reject: the key keeps its default
  irrelevant,      // Irrelevant: default
  not_understood,  // NotUnderstood (allowed only for newer/extension keys): default
};
std::string_view to_string(Outcome o) noexcept;

struct Settled {
  Outcome outcome = Outcome::agreed;
  std::string value;  // the value now in force (the default when not agreed)
  friend bool operator==(const Settled&, const Settled&) = default;
};

// Applies the peer's `response` to our offer `key=offered` and checks it against the key's
// result function.
Result<Settled> apply_response(std::string_view key, std::string_view offered,
                               std::string_view response, const NegotiationContext& ctx);

// For a boolean offer whose value alone decides the result (AND with No, OR with Yes), the
// result; the RFC makes the answer optional there. nullopt otherwise.
std::optional<std::string> implied_result(const KeySpec& spec, std::string_view offered);

enum class Digest : std::uint8_t { none, crc32c };
enum class TaskReporting : std::uint8_t { rfc3720, response_fence, fast_abort };

// The operational parameters of a session/connection after login, RFC defaults until
// negotiated. "recv" and "send" are from our own point of view (ctx.self).
struct NegotiatedParams {
  Digest header_digest = Digest::none;
  Digest data_digest = Digest::none;
  std::uint32_t max_connections = 1;
  bool initial_r2t = true;
  bool immediate_data = true;
  // MaxRecvDataSegmentLength is declarative per direction: ours bounds what the peer sends us,
  // the peer's bounds what we send.
  std::uint32_t max_recv_data_segment_length = 8192;
  std::uint32_t max_send_data_segment_length = 8192;
  std::uint32_t max_burst_length = 262144;
  std::uint32_t first_burst_length = 65536;
  std::uint32_t default_time2wait = 2;
  std::uint32_t default_time2retain = 20;
  std::uint32_t max_outstanding_r2t = 1;
  bool data_pdu_in_order = true;
  bool data_sequence_in_order = true;
  std::uint8_t error_recovery_level = 0;
  SessionType session_type = SessionType::normal;
  TaskReporting task_reporting = TaskReporting::rfc3720;
  std::uint8_t iscsi_protocol_level = 0;
  std::string auth_method = "None";
  std::optional<std::uint16_t> target_portal_group_tag;
  std::string target_alias;
  std::string initiator_alias;

  friend bool operator==(const NegotiatedParams&, const NegotiatedParams&) = default;
};

class Negotiation {
 public:
  enum class KeyState : std::uint8_t {
    offered,   // our offer, waiting for the answer
    settled,   // negotiated or declared
  };
  struct Record {
    std::string key;
    const KeySpec* spec = nullptr;  // nullptr: a key not in the table
    Party originator = Party::initiator;
    KeyState state = KeyState::offered;
    std::string offered;  // the originator's value
    Settled result;
  };
  struct Received {
    text::KeyValueList answers;      // our answers to the peer's offers: send these next
    text::KeyValueList passthrough;  // CHAP_*, SendTargets: for the auth / discovery modules
  };

  explicit Negotiation(NegotiationContext ctx, text::KeyValueList local = {});

  const NegotiationContext& context() const noexcept { return ctx_; }
  // Moving on to the next login stage (or to full feature phase for Text negotiation).
  void set_stage(pdu::Stage stage) noexcept { ctx_.stage = stage; }

  // Records `keys` as our offers and declarations and returns them for sending.
  Result<text::KeyValueList> offer(const text::KeyValueList& keys);
  // Offers every local value that may be sent now and is not negotiated yet (in the order of
  // `local`), skipping CHAP_*/SendTargets and, in a discovery session, keys irrelevant there.
  Result<text::KeyValueList> offer_local();
  // Processes the peer's keys of one PDU (or one complete text).
  Result<Received> receive(const text::KeyValueList& peer);

  // True while an offer of ours still needs an answer (AND/No and OR/Yes offers do not).
  bool awaiting_answers() const noexcept;
  std::vector<std::string> pending_keys() const;
  const std::vector<Record>& records() const noexcept { return records_; }
  // The value in force for `key` as negotiated or declared by `originator` (for declaratives)
  // or by either side (negotiated keys); nullopt if the key was not exchanged.
  std::optional<std::string_view> value(std::string_view key) const;
  // Folds everything into NegotiatedParams. Errors: offers_pending,
  // first_burst_exceeds_max_burst, and the sticky error of a failed receive().
  Result<NegotiatedParams> params() const;

  // The key that caused the last error ("" if none).
  const std::string& error_key() const noexcept { return error_key_; }
  std::error_code error() const noexcept { return error_; }

 private:
  std::error_code fail(std::error_code ec, std::string_view key);
  Record* find(std::string_view key, Party originator);
  const Record* find(std::string_view key, Party originator) const;
  Record& add(Record r);
  std::string_view local_value(std::string_view key) const;

  NegotiationContext ctx_;
  text::KeyValueList local_;
  std::vector<Record> records_;
  std::unordered_map<std::string, std::size_t> index_;  // "<0|1><key>" -> records_ index
  std::error_code error_;
  std::string error_key_;
};

}  // namespace iscsi::login
