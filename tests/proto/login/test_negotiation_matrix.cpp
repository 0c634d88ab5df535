// The negotiation matrix: table-driven rows of (key, offer, the other side's value or answer,
// expected outcome or error), covering every key of the table and every result function.
//   E2E rows:        initiator offers, target answers from its own value, initiator applies.
//   Responder rows:  what the responder answers (or which error) in a given context.
//   Originator rows: applying a given answer to our offer: the negotiated value or the error.
// EveryKeyIsCovered checks that every KeyId appears in at least one row.
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>

#include "proto/login/negotiation.hpp"

namespace iscsi::login {
namespace {

constexpr const char* kNoAnswer = "<none>";  // declarative: nothing is sent back

NegotiationContext ctx_of(Party self, pdu::Stage stage = pdu::Stage::operational,
                          bool leading = true, SessionType type = SessionType::normal) {
  return NegotiationContext{self, stage, leading, type};
}

// --- end to end ------------------------------------------------------------------------------

struct E2ERow {
  const char* key;
  const char* initiator_offer;
  const char* target_value;  // the target's own value ("" = table default)
  const char* answer;        // what the target sends back (kNoAnswer for declaratives)
  Outcome outcome;           // what the initiator concludes
  const char* result;
};

const E2ERow kE2E[] = {
    // list: the first value in the proposer's order that the responder supports
    {"HeaderDigest", "CRC32C,None", "None", "None", Outcome::agreed, "None"},
    {"HeaderDigest", "CRC32C,None", "CRC32C,None", "CRC32C", Outcome::agreed, "CRC32C"},
    {"HeaderDigest", "None,CRC32C", "CRC32C,None", "None", Outcome::agreed, "None"},
    {"HeaderDigest", "CRC32C,None", "", "None", Outcome::agreed, "None"},
    {"DataDigest", "CRC32C", "None", "Reject", Outcome::rejected, "None"},
    {"DataDigest", "CRC32C,None", "CRC32C", "CRC32C", Outcome::agreed, "CRC32C"},
    {"AuthMethod", "CHAP,None", "None", "None", Outcome::agreed, "None"},
    {"AuthMethod", "CHAP,None", "CHAP", "CHAP", Outcome::agreed, "CHAP"},
    {"AuthMethod", "CHAP", "None", "Reject", Outcome::rejected, "None"},
    {"TaskReporting", "FastAbort,ResponseFence,RFC3720", "RFC3720,ResponseFence", "ResponseFence",
     Outcome::agreed, "ResponseFence"},
    {"TaskReporting", "FastAbort", "", "Reject", Outcome::rejected, "RFC3720"},
    // min
    {"MaxConnections", "8", "1", "1", Outcome::agreed, "1"},
    {"MaxConnections", "1", "4", "1", Outcome::agreed, "1"},
    {"MaxBurstLength", "262144", "65536", "65536", Outcome::agreed, "65536"},
    {"MaxBurstLength", "16384", "262144", "16384", Outcome::agreed, "16384"},
    {"MaxBurstLength", "0x40000", "", "262144", Outcome::agreed, "262144"},
    {"FirstBurstLength", "65536", "8192", "8192", Outcome::agreed, "8192"},
    {"DefaultTime2Retain", "20", "0", "0", Outcome::agreed, "0"},
    {"MaxOutstandingR2T", "4", "1", "1", Outcome::agreed, "1"},
    {"ErrorRecoveryLevel", "2", "0", "0", Outcome::agreed, "0"},
    {"ErrorRecoveryLevel", "1", "2", "1", Outcome::agreed, "1"},
    {"iSCSIProtocolLevel", "2", "1", "1", Outcome::agreed, "1"},
    // max
    {"DefaultTime2Wait", "2", "5", "5", Outcome::agreed, "5"},
    {"DefaultTime2Wait", "10", "2", "10", Outcome::agreed, "10"},
    // or
    {"InitialR2T", "No", "Yes", "Yes", Outcome::agreed, "Yes"},
    {"InitialR2T", "No", "No", "No", Outcome::agreed, "No"},
    {"InitialR2T", "Yes", "No", "Yes", Outcome::agreed, "Yes"},
    {"DataPDUInOrder", "No", "Yes", "Yes", Outcome::agreed, "Yes"},
    {"DataPDUInOrder", "No", "No", "No", Outcome::agreed, "No"},
    {"DataSequenceInOrder", "Yes", "No", "Yes", Outcome::agreed, "Yes"},
    // and
    {"ImmediateData", "Yes", "No", "No", Outcome::agreed, "No"},
    {"ImmediateData", "Yes", "Yes", "Yes", Outcome::agreed, "Yes"},
    {"ImmediateData", "No", "Yes", "No", Outcome::agreed, "No"},
    // declarative: nothing comes back
    {"MaxRecvDataSegmentLength", "262144", "", kNoAnswer, Outcome::declared, "262144"},
    {"InitiatorName", "iqn.2026-11.org.example:host0", "", kNoAnswer, Outcome::declared,
     "iqn.2026-11.org.example:host0"},
    {"TargetName", "iqn.2026-11.org.example:t0", "", kNoAnswer, Outcome::declared,
     "iqn.2026-11.org.example:t0"},
    {"InitiatorAlias", "host zero", "", kNoAnswer, Outcome::declared, "host zero"},
    {"SessionType", "Normal", "", kNoAnswer, Outcome::declared, "Normal"},
    {"X#NodeArchitecture", "iscsi-lab,0.1", "", kNoAnswer, Outcome::declared, "iscsi-lab,0.1"},
    // extension and unknown keys: NotUnderstood
    {"X-com.example.feature", "1", "", "NotUnderstood", Outcome::not_understood, ""},
    {"X#FutureKey", "1", "", "NotUnderstood", Outcome::not_understood, ""},
    {"SomeFutureKey", "1", "", "NotUnderstood", Outcome::not_understood, ""},
};

TEST(NegotiationMatrix, EndToEnd) {
  for (const E2ERow& row : kE2E) {
    SCOPED_TRACE(std::string(row.key) + "=" + row.initiator_offer + " vs " + row.target_value);
    // AuthMethod is negotiated in the security stage, everything else here in the operational.
    const KeySpec* spec = find_key(row.key);
    const pdu::Stage stage = spec != nullptr && spec->has(kSecurityStage)
                                 ? pdu::Stage::security
                                 : pdu::Stage::operational;
    const auto target = ctx_of(Party::target, stage);
    const auto initiator = ctx_of(Party::initiator, stage);
    auto answer = respond(row.key, row.initiator_offer, row.target_value, target);
    ASSERT_TRUE(answer) << answer.error().message();
    if (std::string_view(row.answer) == kNoAnswer) {
      EXPECT_FALSE(answer->has_value());
      // A declaration stands as sent; the initiator concludes its own value.
      continue;
    }
    ASSERT_TRUE(answer->has_value());
    EXPECT_EQ(**answer, row.answer);
    auto settled = apply_response(row.key, row.initiator_offer, **answer, initiator);
    ASSERT_TRUE(settled) << settled.error().message();
    EXPECT_EQ(settled->outcome, row.outcome);
    EXPECT_EQ(settled->value, row.result);
  }
}

// --- responder -------------------------------------------------------------------------------

struct ResponderRow {
  const char* key;
  const char* offer;
  const char* local;
  NegotiationContext ctx;
  const char* answer;  // expected answer, kNoAnswer, or nullptr when an error is expected
  NegotiationErrc error;
};

const NegotiationContext kTargetOp = ctx_of(Party::target);
const NegotiationContext kInitiatorOp = ctx_of(Party::initiator);
const NegotiationContext kTargetSec = ctx_of(Party::target, pdu::Stage::security);
const NegotiationContext kTargetFfp = ctx_of(Party::target, pdu::Stage::full_feature);
const NegotiationContext kTargetSecondConn = ctx_of(Party::target, pdu::Stage::operational, false);
const NegotiationContext kTargetDiscovery =
    ctx_of(Party::target, pdu::Stage::operational, true, SessionType::discovery);
constexpr NegotiationErrc kOk = NegotiationErrc::ok;

const ResponderRow kResponder[] = {
    // invalid or unacceptable offers are answered Reject
    {"MaxBurstLength", "abc", "", kTargetOp, "Reject", kOk},
    {"MaxBurstLength", "100", "", kTargetOp, "Reject", kOk},        // below 512
    {"MaxBurstLength", "16777216", "", kTargetOp, "Reject", kOk},   // above 2**24-1
    {"ErrorRecoveryLevel", "3", "", kTargetOp, "Reject", kOk},
    {"DefaultTime2Wait", "3601", "", kTargetOp, "Reject", kOk},
    {"MaxOutstandingR2T", "0", "", kTargetOp, "Reject", kOk},
    {"InitialR2T", "maybe", "", kTargetOp, "Reject", kOk},
    {"HeaderDigest", "MD5", "", kTargetOp, "Reject", kOk},           // nothing supported
    {"HeaderDigest", "MD5,None", "", kTargetOp, "None", kOk},        // unknown items ignored
    {"HeaderDigest", "CRC32C,,None", "", kTargetOp, "Reject", kOk},  // malformed list
    // obsolete marker keys (RFC 7143): Reject
    {"IFMarker", "No", "", kInitiatorOp, "Reject", kOk},
    {"OFMarker", "Yes", "", kTargetOp, "Reject", kOk},
    {"IFMarkInt", "2048~65535", "", kTargetOp, "Reject", kOk},
    {"OFMarkInt", "2048", "", kInitiatorOp, "Reject", kOk},
    // discovery sessions: Irrelevant for the keys that say so
    {"MaxBurstLength", "262144", "", kTargetDiscovery, "Irrelevant", kOk},
    {"ImmediateData", "Yes", "", kTargetDiscovery, "Irrelevant", kOk},
    {"MaxConnections", "1", "", kTargetDiscovery, "Irrelevant", kOk},
    {"TaskReporting", "RFC3720", "", kTargetDiscovery, "Irrelevant", kOk},
    {"ErrorRecoveryLevel", "1", "", kTargetDiscovery, "0", kOk},  // relevant everywhere
    {"HeaderDigest", "CRC32C,None", "CRC32C", kTargetDiscovery, "CRC32C", kOk},
    // declarations: nothing to answer, but they must be valid
    {"TargetAlias", "LIO Target", "", kInitiatorOp, kNoAnswer, kOk},
    {"TargetPortalGroupTag", "1", "", kInitiatorOp, kNoAnswer, kOk},
    {"TargetAddress", "10.0.0.2:3260,1", "", kInitiatorOp, kNoAnswer, kOk},
    {"MaxRecvDataSegmentLength", "8192", "", kInitiatorOp, kNoAnswer, kOk},
    {"MaxRecvDataSegmentLength", "65536", "", kTargetFfp, kNoAnswer, kOk},  // ALL: also in FFP
    {"InitiatorName", "iqn.2026-11.org.example:h", "", kTargetSec, kNoAnswer, kOk},  // any stage
    {"MaxRecvDataSegmentLength", "511", "", kInitiatorOp, nullptr,
     NegotiationErrc::value_out_of_range},
    {"TargetPortalGroupTag", "70000", "", kInitiatorOp, nullptr,
     NegotiationErrc::value_out_of_range},
    {"SessionType", "Weird", "", kTargetOp, nullptr, NegotiationErrc::value_not_defined},
    {"InitiatorName", "not a name", "", kTargetOp, nullptr, NegotiationErrc::invalid_value},
    {"TargetAddress", "[::1", "", kInitiatorOp, nullptr, NegotiationErrc::invalid_value},
    // protocol violations are errors, not answers
    {"MaxBurstLength", "Reject", "", kTargetOp, nullptr, NegotiationErrc::reserved_value_in_offer},
    {"HeaderDigest", "NotUnderstood", "", kTargetOp, nullptr,
     NegotiationErrc::reserved_value_in_offer},
    {"InitiatorName", "iqn.2026-11.org.example:h", "", kInitiatorOp, nullptr,
     NegotiationErrc::key_not_sendable_by_party},  // sent by the target
    {"TargetAlias", "x", "", kTargetOp, nullptr, NegotiationErrc::key_not_sendable_by_party},
    {"SessionType", "Normal", "", kInitiatorOp, nullptr,
     NegotiationErrc::key_not_sendable_by_party},
    {"MaxBurstLength", "262144", "", kTargetSec, nullptr,
     NegotiationErrc::key_not_allowed_in_stage},
    {"AuthMethod", "CHAP", "", kTargetOp, nullptr, NegotiationErrc::key_not_allowed_in_stage},
    {"MaxBurstLength", "262144", "", kTargetFfp, nullptr,
     NegotiationErrc::key_not_allowed_in_phase},
    {"HeaderDigest", "None", "", kTargetFfp, nullptr, NegotiationErrc::key_not_allowed_in_phase},
    {"SendTargets", "All", "", kTargetOp, nullptr, NegotiationErrc::key_not_allowed_in_phase},
    {"MaxConnections", "2", "", kTargetSecondConn, nullptr, NegotiationErrc::key_leading_only},
    {"HeaderDigest", "CRC32C", "CRC32C", kTargetSecondConn, "CRC32C", kOk},  // IO: fine there
    {"SendTargets", "All", "", kTargetFfp, nullptr, NegotiationErrc::not_negotiable},
    {"CHAP_A", "7,5", "", kTargetSec, nullptr, NegotiationErrc::not_negotiable},
    {"CHAP_I", "1", "", kInitiatorOp, nullptr, NegotiationErrc::key_not_allowed_in_stage},
    {"CHAP_C", "0x00", "", kTargetOp, nullptr, NegotiationErrc::key_not_allowed_in_stage},
    {"CHAP_N", "user", "", kTargetFfp, nullptr, NegotiationErrc::key_not_allowed_in_phase},
    {"CHAP_R", "0x00", "", kTargetSec, nullptr, NegotiationErrc::not_negotiable},
    {"MaxBurstLength", "262144", "lots", kTargetOp, nullptr, NegotiationErrc::invalid_local_value},
    {"ImmediateData", "Yes", "Si", kTargetOp, nullptr, NegotiationErrc::invalid_local_value},
    {"HeaderDigest", "None", "CRC32C,", kTargetOp, nullptr, NegotiationErrc::invalid_local_value},
};

TEST(NegotiationMatrix, Responder) {
  for (const ResponderRow& row : kResponder) {
    SCOPED_TRACE(std::string(row.key) + "=" + row.offer + " local=" + row.local);
    auto answer = respond(row.key, row.offer, row.local, row.ctx);
    if (row.answer == nullptr) {
      ASSERT_FALSE(answer);
      EXPECT_EQ(answer.error(), row.error);
      continue;
    }
    ASSERT_TRUE(answer) << answer.error().message();
    if (std::string_view(row.answer) == kNoAnswer) {
      EXPECT_FALSE(answer->has_value());
    } else {
      ASSERT_TRUE(answer->has_value());
      EXPECT_EQ(**answer, row.answer);
    }
  }
}

// --- originator ------------------------------------------------------------------------------

struct OriginatorRow {
  const char* key;
  const char* offered;
  const char* response;
  Outcome outcome;
  const char* result;  // nullptr when an error is expected
  NegotiationErrc error;
};

const OriginatorRow kOriginator[] = {
    {"MaxBurstLength", "262144", "0x10000", Outcome::agreed, "65536", kOk},  // normalised
    {"MaxBurstLength", "262144", "262144", Outcome::agreed, "262144", kOk},
    {"DefaultTime2Wait", "2", "3600", Outcome::agreed, "3600", kOk},
    {"HeaderDigest", "CRC32C,None", "CRC32C", Outcome::agreed, "CRC32C", kOk},
    // the special answers: the default stays in force
    {"FirstBurstLength", "65536", "Irrelevant", Outcome::irrelevant, "65536", kOk},
    {"MaxBurstLength", "262144", "Irrelevant", Outcome::irrelevant, "262144", kOk},
    {"AuthMethod", "CHAP", "Reject", Outcome::rejected, "None", kOk},
    {"ErrorRecoveryLevel", "2", "Reject", Outcome::rejected, "0", kOk},
    {"TaskReporting", "FastAbort", "NotUnderstood", Outcome::not_understood, "RFC3720", kOk},
    {"iSCSIProtocolLevel", "2", "NotUnderstood", Outcome::not_understood, "0", kOk},
    {"X-com.example.k", "1", "NotUnderstood", Outcome::not_understood, "", kOk},
    {"X-com.example.k", "1", "2", Outcome::agreed, "2", kOk},
    {"X#NodeArchitecture", "lab", "NotUnderstood", Outcome::not_understood, "", kOk},
    // errors: the answer breaks the result function
    {"HeaderDigest", "None", "CRC32C", {}, nullptr, NegotiationErrc::response_not_offered},
    {"HeaderDigest", "CRC32C,None", "CRC32C,None", {}, nullptr,
     NegotiationErrc::response_is_list},
    {"DataDigest", "CRC32C,None", "", {}, nullptr, NegotiationErrc::response_invalid},
    {"MaxBurstLength", "65536", "262144", {}, nullptr, NegotiationErrc::response_violates_min},
    {"MaxConnections", "1", "2", {}, nullptr, NegotiationErrc::response_violates_min},
    {"DefaultTime2Retain", "0", "20", {}, nullptr, NegotiationErrc::response_violates_min},
    {"DefaultTime2Wait", "5", "2", {}, nullptr, NegotiationErrc::response_violates_max},
    {"ImmediateData", "No", "Yes", {}, nullptr, NegotiationErrc::response_violates_and},
    {"InitialR2T", "Yes", "No", {}, nullptr, NegotiationErrc::response_violates_or},
    {"DataSequenceInOrder", "Yes", "No", {}, nullptr, NegotiationErrc::response_violates_or},
    {"ErrorRecoveryLevel", "2", "5", {}, nullptr, NegotiationErrc::response_out_of_range},
    {"MaxOutstandingR2T", "4", "0", {}, nullptr, NegotiationErrc::response_out_of_range},
    {"MaxBurstLength", "262144", "big", {}, nullptr, NegotiationErrc::response_invalid},
    {"InitialR2T", "No", "yes", {}, nullptr, NegotiationErrc::response_invalid},
    {"HeaderDigest", "CRC32C,None", "NotUnderstood", {}, nullptr,
     NegotiationErrc::not_understood_required_key},
    {"MaxBurstLength", "262144", "NotUnderstood", {}, nullptr,
     NegotiationErrc::not_understood_required_key},
    {"MaxBurstLength", "lots", "512", {}, nullptr, NegotiationErrc::invalid_local_value},
    {"CHAP_A", "7,5", "5", {}, nullptr, NegotiationErrc::not_negotiable},
    {"OFMarker", "No", "No", {}, nullptr, NegotiationErrc::not_negotiable},
    {"SendTargets", "All", "x", {}, nullptr, NegotiationErrc::not_negotiable},
};

TEST(NegotiationMatrix, Originator) {
  const auto initiator = ctx_of(Party::initiator);
  for (const OriginatorRow& row : kOriginator) {
    SCOPED_TRACE(std::string(row.key) + "=" + row.offered + " answered " + row.response);
    auto settled = apply_response(row.key, row.offered, row.response, initiator);
    if (row.result == nullptr) {
      ASSERT_FALSE(settled);
      EXPECT_EQ(settled.error(), row.error);
      continue;
    }
    ASSERT_TRUE(settled) << settled.error().message();
    EXPECT_EQ(settled->outcome, row.outcome);
    EXPECT_EQ(settled->value, row.result);
  }
}

TEST(NegotiationMatrix, ImpliedResults) {
  EXPECT_EQ(implied_result(key_spec(KeyId::immediate_data), "No"), "No");
  EXPECT_EQ(implied_result(key_spec(KeyId::immediate_data), "Yes"), std::nullopt);
  EXPECT_EQ(implied_result(key_spec(KeyId::initial_r2t), "Yes"), "Yes");
  EXPECT_EQ(implied_result(key_spec(KeyId::initial_r2t), "No"), std::nullopt);
  EXPECT_EQ(implied_result(key_spec(KeyId::max_burst_length), "512"), std::nullopt);
}

// --- validate_offer --------------------------------------------------------------------------

TEST(NegotiationMatrix, ValidateOwnOffers) {
  const auto i = ctx_of(Party::initiator);
  EXPECT_FALSE(validate_offer("HeaderDigest", "CRC32C,None", Party::initiator, i));
  EXPECT_EQ(validate_offer("HeaderDigest", "CRC32C,MD5", Party::initiator, i),
            NegotiationErrc::value_not_defined);
  // A peer's unknown list items are fine (the responder ignores them).
  EXPECT_FALSE(validate_offer("HeaderDigest", "CRC32C,MD5", Party::target, i));
  EXPECT_EQ(validate_offer("NoSuchKey", "1", Party::initiator, i), NegotiationErrc::unknown_key);
  EXPECT_EQ(validate_offer("MaxBurstLength", "Irrelevant", Party::initiator, i),
            NegotiationErrc::reserved_value_in_offer);
  EXPECT_EQ(validate_offer("MaxBurstLength", "511", Party::initiator, i),
            NegotiationErrc::value_out_of_range);
  EXPECT_EQ(validate_offer("TargetAlias", "x", Party::initiator, i),
            NegotiationErrc::key_not_sendable_by_party);
  EXPECT_FALSE(validate_offer("X-com.example.k", "v", Party::initiator, i));
  EXPECT_FALSE(validate_offer("CHAP_C", "0x" + std::string(2048, '0'), Party::target,
                              ctx_of(Party::initiator, pdu::Stage::security)));
  EXPECT_EQ(validate_offer("CHAP_C", "0x" + std::string(2050, '0'), Party::target,
                           ctx_of(Party::initiator, pdu::Stage::security)),
            NegotiationErrc::invalid_value);
  EXPECT_EQ(validate_offer("CHAP_I", "256", Party::target,
                           ctx_of(Party::initiator, pdu::Stage::security)),
            NegotiationErrc::value_out_of_range);
  EXPECT_FALSE(validate_offer("OFMarkInt", "2048~65535", Party::target, i));
  EXPECT_EQ(validate_offer("OFMarkInt", "0~65535", Party::target, i),
            NegotiationErrc::value_out_of_range);
  // The target sends TargetName only in a SendTargets response (full feature phase).
  EXPECT_EQ(validate_offer("TargetName", "iqn.2026-11.org.example:t", Party::target, i),
            NegotiationErrc::key_not_sendable_by_party);
  EXPECT_FALSE(validate_offer("TargetName", "iqn.2026-11.org.example:t", Party::target,
                              ctx_of(Party::initiator, pdu::Stage::full_feature)));
  EXPECT_EQ(validate_offer("TargetName", "iqn.2026-11.org.example:t", Party::initiator,
                           ctx_of(Party::initiator, pdu::Stage::full_feature)),
            NegotiationErrc::key_not_allowed_in_phase);
  EXPECT_FALSE(validate_offer("SendTargets", "All", Party::initiator,
                              ctx_of(Party::initiator, pdu::Stage::full_feature)));
}

// Every key of the table is exercised by at least one row above.
TEST(NegotiationMatrix, EveryKeyIsCovered) {
  std::set<KeyId> covered;
  auto cover = [&](std::string_view key) {
    if (const KeySpec* s = find_key(key)) covered.insert(s->id);
  };
  for (const E2ERow& row : kE2E) cover(row.key);
  for (const ResponderRow& row : kResponder) cover(row.key);
  for (const OriginatorRow& row : kOriginator) cover(row.key);
  std::string missing;
  for (const KeySpec& spec : key_table()) {
    if (!covered.count(spec.id)) missing += std::string(spec.name) + " ";
  }
  EXPECT_TRUE(missing.empty()) << "keys without a matrix row: " << missing;
}

}  // namespace
}  // namespace iscsi::login
