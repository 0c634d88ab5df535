// The negotiation table itself: every key present once, rows consistent with their own types and
// with the RFC's defaults, ranges and result functions, prefix rows for X- / X#.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "proto/login/keys.hpp"
#include "proto/login/negotiation.hpp"
#include "proto/text/values.hpp"

namespace iscsi::login {
namespace {

TEST(NegotiationTable, RowsAreIndexedByIdAndNamedOnce) {
  auto table = key_table();
  ASSERT_EQ(table.size(), kKeyCount);
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(table[i].id), i);
    EXPECT_TRUE(names.insert(table[i].name).second) << table[i].name;
    EXPECT_EQ(&key_spec(table[i].id), &table[i]);
    EXPECT_EQ(key_name(table[i].id), table[i].name);
    EXPECT_FALSE(table[i].reference.empty()) << table[i].name;
    if (!table[i].has(kPrefix)) {
      EXPECT_EQ(find_key(table[i].name), &table[i]) << table[i].name;
    }
  }
}

TEST(NegotiationTable, EveryRfcKeyIsPresent) {
  for (const char* name :
       {"HeaderDigest", "DataDigest", "MaxConnections", "SendTargets", "TargetName",
        "InitiatorName", "TargetAlias", "InitiatorAlias", "TargetAddress", "TargetPortalGroupTag",
        "InitialR2T", "ImmediateData", "MaxRecvDataSegmentLength", "MaxBurstLength",
        "FirstBurstLength", "DefaultTime2Wait", "DefaultTime2Retain", "MaxOutstandingR2T",
        "DataPDUInOrder", "DataSequenceInOrder", "ErrorRecoveryLevel", "SessionType", "AuthMethod",
        "CHAP_A", "CHAP_I", "CHAP_C", "CHAP_N", "CHAP_R", "TaskReporting", "iSCSIProtocolLevel",
        "X#NodeArchitecture", "IFMarker", "OFMarker", "IFMarkInt", "OFMarkInt"}) {
    const KeySpec* spec = find_key(name);
    ASSERT_NE(spec, nullptr) << name;
    EXPECT_EQ(spec->name, name);
  }
}

TEST(NegotiationTable, DefaultsAreValidValuesOfTheirOwnRow) {
  for (const KeySpec& spec : key_table()) {
    if (spec.default_value.empty()) continue;
    EXPECT_FALSE(validate_value(spec, spec.default_value)) << spec.name;
    if (spec.type == ValueType::list && !spec.values.empty()) {
      EXPECT_NE(std::find(spec.values.begin(), spec.values.end(), spec.default_value),
                spec.values.end())
          << spec.name;
    }
  }
}

TEST(NegotiationTable, NumericRowsHaveRanges) {
  for (const KeySpec& spec : key_table()) {
    if (spec.type == ValueType::numeric || spec.type == ValueType::numeric_range) {
      EXPECT_LT(spec.min, spec.max) << spec.name;
    }
    const bool numeric_rule = spec.rule == Rule::min || spec.rule == Rule::max;
    if (numeric_rule) {
      EXPECT_EQ(spec.type, ValueType::numeric) << spec.name;
    }
    if (spec.rule == Rule::boolean_and || spec.rule == Rule::boolean_or) {
      EXPECT_EQ(spec.type, ValueType::boolean) << spec.name;
    }
  }
}

// Spot checks against RFC 7143 section 13 (default, range, result function, use, scope).
struct Expect {
  KeyId id;
  std::string_view def;
  Rule rule;
  Use use;
  Scope scope;
  std::uint64_t min;
  std::uint64_t max;
};

TEST(NegotiationTable, MatchesTheRfc) {
  constexpr std::uint64_t k24 = (1u << 24) - 1;
  const Expect rows[] = {
      {KeyId::header_digest, "None", Rule::list, Use::login_only, Scope::connection_only, 0, 0},
      {KeyId::data_digest, "None", Rule::list, Use::login_only, Scope::connection_only, 0, 0},
      {KeyId::max_connections, "1", Rule::min, Use::leading_only, Scope::session_wide, 1, 65535},
      {KeyId::initial_r2t, "Yes", Rule::boolean_or, Use::leading_only, Scope::session_wide, 0, 0},
      {KeyId::immediate_data, "Yes", Rule::boolean_and, Use::leading_only, Scope::session_wide, 0,
       0},
      {KeyId::max_recv_data_segment_length, "8192", Rule::declarative, Use::all,
       Scope::connection_only, 512, k24},
      {KeyId::max_burst_length, "262144", Rule::min, Use::leading_only, Scope::session_wide, 512,
       k24},
      {KeyId::first_burst_length, "65536", Rule::min, Use::leading_only, Scope::session_wide, 512,
       k24},
      {KeyId::default_time2wait, "2", Rule::max, Use::leading_only, Scope::session_wide, 0, 3600},
      {KeyId::default_time2retain, "20", Rule::min, Use::leading_only, Scope::session_wide, 0,
       3600},
      {KeyId::max_outstanding_r2t, "1", Rule::min, Use::leading_only, Scope::session_wide, 1,
       65535},
      {KeyId::data_pdu_in_order, "Yes", Rule::boolean_or, Use::leading_only, Scope::session_wide,
       0, 0},
      {KeyId::data_sequence_in_order, "Yes", Rule::boolean_or, Use::leading_only,
       Scope::session_wide, 0, 0},
      {KeyId::error_recovery_level, "0", Rule::min, Use::leading_only, Scope::session_wide, 0, 2},
      {KeyId::session_type, "Normal", Rule::declarative, Use::leading_only, Scope::session_wide, 0,
       0},
      {KeyId::send_targets, "", Rule::send_targets, Use::full_feature_only, Scope::session_wide, 0,
       0},
      {KeyId::target_portal_group_tag, "", Rule::declarative, Use::login_only,
       Scope::session_wide, 0, 65535},
      {KeyId::task_reporting, "RFC3720", Rule::list, Use::leading_only, Scope::session_wide, 0, 0},
      {KeyId::iscsi_protocol_level, "0", Rule::min, Use::leading_only, Scope::session_wide, 0, 31},
      {KeyId::auth_method, "None", Rule::list, Use::login_only, Scope::connection_only, 0, 0},
      {KeyId::if_mark_int, "2048", Rule::obsolete, Use::login_only, Scope::connection_only, 1,
       65535},
  };
  for (const Expect& e : rows) {
    const KeySpec& s = key_spec(e.id);
    EXPECT_EQ(s.default_value, e.def) << s.name;
    EXPECT_EQ(s.rule, e.rule) << s.name;
    EXPECT_EQ(s.use, e.use) << s.name;
    EXPECT_EQ(s.scope, e.scope) << s.name;
    EXPECT_EQ(s.min, e.min) << s.name;
    EXPECT_EQ(s.max, e.max) << s.name;
  }
  EXPECT_EQ(key_spec(KeyId::initiator_name).sender, Sender::initiator);
  EXPECT_EQ(key_spec(KeyId::target_alias).sender, Sender::target);
  EXPECT_EQ(key_spec(KeyId::session_type).sender, Sender::initiator);
  EXPECT_EQ(key_spec(KeyId::chap_c).max_length, 1024u);
  EXPECT_TRUE(key_spec(KeyId::max_burst_length).has(kIrrelevantInDiscovery));
  EXPECT_FALSE(key_spec(KeyId::error_recovery_level).has(kIrrelevantInDiscovery));
  EXPECT_TRUE(key_spec(KeyId::max_recv_data_segment_length).has(kPerDirection));
  EXPECT_TRUE(key_spec(KeyId::auth_method).has(kSecurityStage));
  EXPECT_TRUE(key_spec(KeyId::initiator_name).has(kAnyStage));
}

TEST(NegotiationTable, ExtensionPrefixes) {
  EXPECT_EQ(find_key("X-com.example.feature")->id, KeyId::private_extension);
  EXPECT_EQ(find_key("X#Something")->id, KeyId::public_extension);
  EXPECT_EQ(find_key("X#NodeArchitecture")->id, KeyId::x_node_architecture);
  EXPECT_EQ(find_key("X-"), nullptr);  // a prefix alone is not a key
  EXPECT_EQ(find_key("NoSuchKey"), nullptr);
  EXPECT_EQ(find_key("headerdigest"), nullptr);  // keys are case-sensitive
}

TEST(NegotiationTable, Names) {
  EXPECT_EQ(to_string(Rule::boolean_and), "and");
  EXPECT_EQ(to_string(Use::leading_only), "LO");
  EXPECT_EQ(to_string(Use::full_feature_only), "FFPO");
  EXPECT_EQ(to_string(Sender::both), "initiator and target");
  EXPECT_EQ(to_string(Outcome::not_understood), "not-understood");
}

TEST(NegotiationErrors, CategoryAndMessages) {
  std::error_code ec = NegotiationErrc::response_violates_min;
  EXPECT_STREQ(ec.category().name(), "iscsi.login.negotiation");
  EXPECT_EQ(ec.message(), "answer exceeds the offer of a Minimum key");
  for (int i = 1; i <= static_cast<int>(NegotiationErrc::sticky_error); ++i) {
    EXPECT_NE(describe(static_cast<NegotiationErrc>(i)), "unknown negotiation error") << i;
  }
}

}  // namespace
}  // namespace iscsi::login
