// The negotiation table: one row per login/text key of RFC 7143 sections 12-13 (plus
// iSCSIProtocolLevel from RFC 7144, X#NodeArchitecture from RFC 4850, the obsolete RFC 3720
// marker keys, and rows for the X- / X# extension prefixes). Each row says what values the key
// takes, its default, who may send it, when (leading-only, login-only, all, full-feature-only;
// security stage or operational), its scope, and how an offer and an answer combine. The code in
// negotiation.hpp is generic over these rows; RFC key spellings appear only in keys.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace iscsi::login {

enum class KeyId : std::uint8_t {
  header_digest,
  data_digest,
  max_connections,
  send_targets,
  target_name,
  initiator_name,
  target_alias,
  initiator_alias,
  target_address,
  target_portal_group_tag,
  initial_r2t,
  immediate_data,
  max_recv_data_segment_length,
  max_burst_length,
  first_burst_length,
  default_time2wait,
  default_time2retain,
  max_outstanding_r2t,
  data_pdu_in_order,
  data_sequence_in_order,
  error_recovery_level,
  session_type,
  auth_method,
  chap_a,
  chap_i,
  chap_c,
  chap_n,
  chap_r,
  task_reporting,
  iscsi_protocol_level,
  x_node_architecture,
  if_marker,  // obsolete (RFC 3720); RFC 7143 (obsoleted keys) says how to answer
  of_marker,
  if_mark_int,
  of_mark_int,
  private_extension,  // "X-..." prefix row
  public_extension,   // "X#..." prefix row
};
inline constexpr std::size_t kKeyCount = static_cast<std::size_t>(KeyId::public_extension) + 1;

// The syntax of a key's value (RFC 7143 section 6.1).
enum class ValueType : std::uint8_t {
  list,           // list-of-values (text items)
  numeric,        // numerical-value, within [min, max]
  boolean,        // Yes | No
  text,           // text-value; `values` lists the defined ones when non-empty (SessionType)
  iscsi_name,     // iqn. / eui. / naa.
  local_name,     // UTF-8 string (aliases, CHAP_N, extension keys)
  target_address, // domainname[:port][,tag]
  send_targets,   // All | <iSCSI name> | empty
  binary,         // hex or base64 constant, at most max_length bytes decoded
  numeric_range,  // a~b within [min, max]
};

// How an offer and an answer combine (the RFC's "result function").
enum class Rule : std::uint8_t {
  list,            // responder picks the first value of the offer it supports
  min,             // result = min(offer, responder's value)
  max,             // result = max(offer, responder's value)
  boolean_and,     // result = offer AND responder's value
  boolean_or,      // result = offer OR responder's value
  declarative,     // no answer; each side states its own value
  authentication,  // CHAP_*: exchanged by the auth module, not negotiated here
  send_targets,    // answered with a SendTargets response (text/sendtargets.hpp)
  obsolete,        // RFC 3720 markers: answer Reject (RFC 7143, obsoleted keys)
  not_understood,  // unknown extension keys: answer NotUnderstood
};

enum class Sender : std::uint8_t { initiator, target, both };

// When a key may be used (the RFC's "Use").
enum class Use : std::uint8_t {
  leading_only,       // LO: login of the leading connection only
  login_only,         // IO: login of any connection
  all,                // ALL: login and full feature phase (Text requests)
  full_feature_only,  // FFPO
};

enum class Scope : std::uint8_t { session_wide, connection_only };

enum class SessionType : std::uint8_t { normal, discovery };

// Row flags.
inline constexpr std::uint32_t kIrrelevantInDiscovery = 1u << 0;  // answered "Irrelevant" there
inline constexpr std::uint32_t kAnyStage = 1u << 1;       // may appear in the security stage too
inline constexpr std::uint32_t kSecurityStage = 1u << 2;  // only in the security stage
inline constexpr std::uint32_t kMayRepeat = 1u << 3;      // may appear more than once
inline constexpr std::uint32_t kMayBeNotUnderstood = 1u << 4;  // newer than RFC 3720: a peer may
                                                               // answer NotUnderstood
inline constexpr std::uint32_t kPrefix = 1u << 5;         // row matches every key with this prefix
inline constexpr std::uint32_t kPerDirection = 1u << 6;   // each side declares its own value
inline constexpr std::uint32_t kTargetInSendTargets = 1u << 7;  // the target sends it only in a
                                                                // SendTargets response

struct KeySpec {
  KeyId id;
  std::string_view name;
  ValueType type;
  Rule rule;
  Sender sender;
  Use use;
  Scope scope;
  std::uint32_t flags;
  std::string_view default_value;  // empty: no default (names, CHAP_*)
  std::uint64_t min;               // numeric and numeric_range bounds
  std::uint64_t max;
  std::span<const std::string_view> values;  // defined values (lists, SessionType, AuthMethod)
  std::size_t max_length;  // value bytes (binary: decoded bytes; lists: per item)
  std::string_view reference;  // where the RFC defines it

  constexpr bool has(std::uint32_t flag) const noexcept { return (flags & flag) != 0; }
};

// Every row, exact keys first, then the X- and X# prefix rows.
std::span<const KeySpec> key_table() noexcept;
// The row for `name`: the exact row, else an extension prefix row, else nullptr (unknown key).
const KeySpec* find_key(std::string_view name) noexcept;
const KeySpec& key_spec(KeyId id) noexcept;
// The RFC spelling ("MaxBurstLength"); for prefix rows, the prefix ("X-").
std::string_view key_name(KeyId id) noexcept;

std::string_view to_string(Rule r) noexcept;
std::string_view to_string(Use u) noexcept;
std::string_view to_string(Sender s) noexcept;

}  // namespace iscsi::login
