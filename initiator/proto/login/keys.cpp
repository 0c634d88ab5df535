// The negotiation table (see keys.hpp). One row per key, in the order of RFC 7143 section 13,
// then security keys (section 12), RFC 7144 / RFC 4850 additions, obsolete markers, prefixes.
// This file is the only place the RFC's key spellings appear in the negotiation code.
#include "proto/login/keys.hpp"

#include <array>

namespace iscsi::login {
namespace {

constexpr std::uint64_t kMaxSegment = (1u << 24) - 1;  // 2**24 - 1

constexpr std::string_view kDigestValues[] = {"CRC32C", "None"};
constexpr std::string_view kSessionTypeValues[] = {"Discovery", "Normal"};
constexpr std::string_view kAuthMethodValues[] = {"KRB5", "SRP", "CHAP", "None"};
constexpr std::string_view kTaskReportingValues[] = {"RFC3720", "ResponseFence", "FastAbort"};
constexpr std::span<const std::string_view> kNoValues{};

using enum ValueType;
constexpr Rule kList = Rule::list;
constexpr Rule kMin = Rule::min;
constexpr Rule kMax = Rule::max;
constexpr Rule kAnd = Rule::boolean_and;
constexpr Rule kOr = Rule::boolean_or;
constexpr Rule kDeclarative = Rule::declarative;
constexpr Sender kI = Sender::initiator;
constexpr Sender kT = Sender::target;
constexpr Sender kBoth = Sender::both;
constexpr Use kLO = Use::leading_only;
constexpr Use kIO = Use::login_only;
constexpr Use kALL = Use::all;
constexpr Use kFFPO = Use::full_feature_only;
constexpr Scope kSW = Scope::session_wide;
constexpr Scope kCO = Scope::connection_only;

constexpr std::array<KeySpec, kKeyCount> kTable = {{
    // id, name, type, rule, sender, use, scope, flags, default, min, max, values, max_length, ref
    {KeyId::header_digest, "HeaderDigest", list, kList, kBoth, kIO, kCO, 0, "None", 0, 0,
     kDigestValues, 255, "RFC 7143 13.1"},
    {KeyId::data_digest, "DataDigest", list, kList, kBoth, kIO, kCO, 0, "None", 0, 0,
     kDigestValues, 255, "RFC 7143 13.1"},
    {KeyId::max_connections, "MaxConnections", numeric, kMin, kBoth, kLO, kSW,
     kIrrelevantInDiscovery, "1", 1, 65535, kNoValues, 255, "RFC 7143 13.2"},
    {KeyId::send_targets, "SendTargets", send_targets, Rule::send_targets, kI, kFFPO, kSW, 0, "",
     0, 0, kNoValues, 255, "RFC 7143 13.3"},
    {KeyId::target_name, "TargetName", iscsi_name, kDeclarative, kI, kIO, kSW,
     kAnyStage | kTargetInSendTargets | kMayRepeat, "", 0, 0, kNoValues, 223, "RFC 7143 13.4"},
    {KeyId::initiator_name, "InitiatorName", iscsi_name, kDeclarative, kI, kIO, kSW, kAnyStage,
     "", 0, 0, kNoValues, 223, "RFC 7143 13.5"},
    {KeyId::target_alias, "TargetAlias", local_name, kDeclarative, kT, kALL, kSW, kAnyStage, "", 0,
     0, kNoValues, 255, "RFC 7143 13.6"},
    {KeyId::initiator_alias, "InitiatorAlias", local_name, kDeclarative, kI, kALL, kSW, kAnyStage,
     "", 0, 0, kNoValues, 255, "RFC 7143 13.7"},
    {KeyId::target_address, "TargetAddress", target_address, kDeclarative, kT, kALL, kSW,
     kAnyStage | kMayRepeat, "", 0, 0, kNoValues, 255, "RFC 7143 13.8"},
    {KeyId::target_portal_group_tag, "TargetPortalGroupTag", numeric, kDeclarative, kT, kIO, kSW,
     kAnyStage, "", 0, 65535, kNoValues, 255, "RFC 7143 13.9"},
    {KeyId::initial_r2t, "InitialR2T", boolean, kOr, kBoth, kLO, kSW, kIrrelevantInDiscovery,
     "Yes", 0, 0, kNoValues, 255, "RFC 7143 13.10"},
    {KeyId::immediate_data, "ImmediateData", boolean, kAnd, kBoth, kLO, kSW,
     kIrrelevantInDiscovery, "Yes", 0, 0, kNoValues, 255, "RFC 7143 13.11"},
    {KeyId::max_recv_data_segment_length, "MaxRecvDataSegmentLength", numeric, kDeclarative,
     kBoth, kALL, kCO, kPerDirection, "8192", 512, kMaxSegment, kNoValues, 255,
     "RFC 7143 13.12"},
    {KeyId::max_burst_length, "MaxBurstLength", numeric, kMin, kBoth, kLO, kSW,
     kIrrelevantInDiscovery, "262144", 512, kMaxSegment, kNoValues, 255, "RFC 7143 13.13"},
    {KeyId::first_burst_length, "FirstBurstLength", numeric, kMin, kBoth, kLO, kSW,
     kIrrelevantInDiscovery, "65536", 512, kMaxSegment, kNoValues, 255, "RFC 7143 13.14"},
    {KeyId::default_time2wait, "DefaultTime2Wait", numeric, kMax, kBoth, kLO, kSW, 0, "2", 0,
     3600, kNoValues, 255, "RFC 7143 13.15"},
    {KeyId::default_time2retain, "DefaultTime2Retain", numeric, kMin, kBoth, kLO, kSW, 0, "20", 0,
     3600, kNoValues, 255, "RFC 7143 13.16"},
    {KeyId::max_outstanding_r2t, "MaxOutstandingR2T", numeric, kMin, kBoth, kLO, kSW,
     kIrrelevantInDiscovery, "1", 1, 65535, kNoValues, 255, "RFC 7143 13.17"},
    {KeyId::data_pdu_in_order, "DataPDUInOrder", boolean, kOr, kBoth, kLO, kSW,
     kIrrelevantInDiscovery, "Yes", 0, 0, kNoValues, 255, "RFC 7143 13.18"},
    {KeyId::data_sequence_in_order, "DataSequenceInOrder", boolean, kOr, kBoth, kLO, kSW,
     kIrrelevantInDiscovery, "Yes", 0, 0, kNoValues, 255, "RFC 7143 13.19"},
    {KeyId::error_recovery_level, "ErrorRecoveryLevel", numeric, kMin, kBoth, kLO, kSW, 0, "0", 0,
     2, kNoValues, 255, "RFC 7143 13.20"},
    {KeyId::session_type, "SessionType", text, kDeclarative, kI, kLO, kSW, kAnyStage, "Normal", 0,
     0, kSessionTypeValues, 255, "RFC 7143 13.21"},
    {KeyId::auth_method, "AuthMethod", list, kList, kBoth, kIO, kCO, kSecurityStage, "None", 0, 0,
     kAuthMethodValues, 255, "RFC 7143 12.1"},
    {KeyId::chap_a, "CHAP_A", list, Rule::authentication, kBoth, kIO, kCO, kSecurityStage, "", 0,
     255, kNoValues, 255, "RFC 7143 12.1.3"},
    {KeyId::chap_i, "CHAP_I", numeric, Rule::authentication, kBoth, kIO, kCO, kSecurityStage, "",
     0, 255, kNoValues, 255, "RFC 7143 12.1.3"},
    // C and R are large-binary-values: "their binary length ... MUST NOT exceed 1024 bytes".
    {KeyId::chap_c, "CHAP_C", binary, Rule::authentication, kBoth, kIO, kCO, kSecurityStage, "",
     0, 0, kNoValues, 1024, "RFC 7143 12.1.3"},
    {KeyId::chap_n, "CHAP_N", local_name, Rule::authentication, kBoth, kIO, kCO, kSecurityStage,
     "", 0, 0, kNoValues, 255, "RFC 7143 12.1.3"},
    {KeyId::chap_r, "CHAP_R", binary, Rule::authentication, kBoth, kIO, kCO, kSecurityStage, "",
     0, 0, kNoValues, 1024, "RFC 7143 12.1.3"},
    {KeyId::task_reporting, "TaskReporting", list, kList, kBoth, kLO, kSW,
     kIrrelevantInDiscovery | kMayBeNotUnderstood, "RFC3720", 0, 0, kTaskReportingValues, 255,
     "RFC 7143 section 13 (TaskReporting)"},
    {KeyId::iscsi_protocol_level, "iSCSIProtocolLevel", numeric, kMin, kBoth, kLO, kSW,
     kMayBeNotUnderstood, "0", 0, 31, kNoValues, 255, "RFC 7144 (iSCSIProtocolLevel)"},
    {KeyId::x_node_architecture, "X#NodeArchitecture", local_name, kDeclarative, kBoth, kLO, kSW,
     kAnyStage | kMayBeNotUnderstood, "", 0, 0, kNoValues, 255, "RFC 4850; RFC 7143 section 13"},
    // Obsolete since RFC 7143 (its obsoleted-keys section): IFMarker/OFMarker SHOULD be answered
    // Reject (MAY be No); IFMarkInt/OFMarkInt MUST be answered Reject.
    {KeyId::if_marker, "IFMarker", boolean, Rule::obsolete, kBoth, kIO, kCO, 0, "No", 0, 0,
     kNoValues, 255, "RFC 3720; RFC 7143 section 13 (obsoleted keys)"},
    {KeyId::of_marker, "OFMarker", boolean, Rule::obsolete, kBoth, kIO, kCO, 0, "No", 0, 0,
     kNoValues, 255, "RFC 3720; RFC 7143 section 13 (obsoleted keys)"},
    {KeyId::if_mark_int, "IFMarkInt", numeric_range, Rule::obsolete, kBoth, kIO, kCO, 0, "2048",
     1, 65535, kNoValues, 255, "RFC 3720; RFC 7143 section 13 (obsoleted keys)"},
    {KeyId::of_mark_int, "OFMarkInt", numeric_range, Rule::obsolete, kBoth, kIO, kCO, 0, "2048",
     1, 65535, kNoValues, 255, "RFC 3720; RFC 7143 section 13 (obsoleted keys)"},
    {KeyId::private_extension, "X-", local_name, Rule::not_understood, kBoth, kALL, kSW,
     kPrefix | kAnyStage | kMayBeNotUnderstood, "", 0, 0, kNoValues, 255, "RFC 7143 section 13 (extension keys)"},
    {KeyId::public_extension, "X#", local_name, Rule::not_understood, kBoth, kALL, kSW,
     kPrefix | kAnyStage | kMayBeNotUnderstood, "", 0, 0, kNoValues, 255, "RFC 7143 section 13 (extension keys)"},
}};

constexpr bool table_is_indexed_by_id() {
  for (std::size_t i = 0; i < kTable.size(); ++i) {
    if (static_cast<std::size_t>(kTable[i].id) != i) return false;
  }
  return true;
}
static_assert(table_is_indexed_by_id(), "kTable rows must be in KeyId order");

}  // namespace

std::span<const KeySpec> key_table() noexcept { return kTable; }

const KeySpec& key_spec(KeyId id) noexcept { return kTable[static_cast<std::size_t>(id)]; }

std::string_view key_name(KeyId id) noexcept { return key_spec(id).name; }

const KeySpec* find_key(std::string_view name) noexcept {
  for (const KeySpec& spec : kTable) {
    if (!spec.has(kPrefix) && spec.name == name) return &spec;
  }
  for (const KeySpec& spec : kTable) {
    if (spec.has(kPrefix) && name.size() > spec.name.size() && name.starts_with(spec.name)) {
      return &spec;
    }
  }
  return nullptr;
}

std::string_view to_string(Rule r) noexcept {
  switch (r) {
    case Rule::list: return "list";
    case Rule::min: return "min";
    case Rule::max: return "max";
    case Rule::boolean_and: return "and";
    case Rule::boolean_or: return "or";
    case Rule::declarative: return "declarative";
    case Rule::authentication: return "authentication";
    case Rule::send_targets: return "send-targets";
    case Rule::obsolete: return "obsolete";
    case Rule::not_understood: return "not-understood";
  }
  return "unknown";
}

std::string_view to_string(Use u) noexcept {
  switch (u) {
    case Use::leading_only: return "LO";
    case Use::login_only: return "IO";
    case Use::all: return "ALL";
    case Use::full_feature_only: return "FFPO";
  }
  return "unknown";
}

std::string_view to_string(Sender s) noexcept {
  switch (s) {
    case Sender::initiator: return "initiator";
    case Sender::target: return "target";
    case Sender::both: return "initiator and target";
  }
  return "unknown";
}

}  // namespace iscsi::login
