// The Negotiation state over a whole sequence: an initiator and an in-memory target, both built on
// the same table, wired back to back through the text codec; duplicates, pending answers,
// implied results, declarations per direction, FirstBurstLength <= MaxBurstLength, discovery,
// stages and phases, pass-through of CHAP keys, and NegotiatedParams.
#include <gtest/gtest.h>

#include <string>

#include "proto/login/negotiation.hpp"
#include "proto/text/codec.hpp"

namespace iscsi::login {
namespace {

using text::KeyValueList;

NegotiationContext ctx(Party self, pdu::Stage stage = pdu::Stage::operational,
                       SessionType type = SessionType::normal, bool leading = true) {
  return NegotiationContext{self, stage, leading, type};
}

// What open-iscsi offers by default on a normal session (iscsid.conf defaults), roughly.
KeyValueList initiator_local() {
  return {{"HeaderDigest", "None"},
          {"DataDigest", "None"},
          {"MaxConnections", "1"},
          {"InitialR2T", "No"},
          {"ImmediateData", "Yes"},
          {"MaxRecvDataSegmentLength", "262144"},
          {"MaxBurstLength", "16776192"},
          {"FirstBurstLength", "262144"},
          {"DefaultTime2Wait", "2"},
          {"DefaultTime2Retain", "0"},
          {"MaxOutstandingR2T", "1"},
          {"DataPDUInOrder", "Yes"},
          {"DataSequenceInOrder", "Yes"},
          {"ErrorRecoveryLevel", "0"}};
}

// Roughly LIO's defaults for a TPG.
KeyValueList target_local() {
  return {{"HeaderDigest", "CRC32C,None"},
          {"DataDigest", "CRC32C,None"},
          {"MaxConnections", "1"},
          {"InitialR2T", "Yes"},
          {"ImmediateData", "Yes"},
          {"MaxRecvDataSegmentLength", "8192"},
          {"MaxBurstLength", "262144"},
          {"FirstBurstLength", "65536"},
          {"DefaultTime2Wait", "2"},
          {"DefaultTime2Retain", "20"},
          {"MaxOutstandingR2T", "1"},
          {"DataPDUInOrder", "Yes"},
          {"DataSequenceInOrder", "Yes"},
          {"ErrorRecoveryLevel", "0"},
          {"TargetAlias", "LIO Target"}};
}

// Through the wire format and back, as the login machine would carry it.
KeyValueList wire(const KeyValueList& keys) {
  auto bytes = text::encode(keys);
  EXPECT_TRUE(bytes) << bytes.error().message();
  auto back = text::decode(*bytes);
  EXPECT_TRUE(back) << back.error().message();
  return *back;
}

TEST(Negotiation, OperationalStageBackToBack) {
  Negotiation initiator(ctx(Party::initiator), initiator_local());
  Negotiation target(ctx(Party::target), target_local());

  auto offers = initiator.offer_local();
  ASSERT_TRUE(offers) << offers.error().message();
  EXPECT_EQ(offers->size(), initiator_local().size());
  EXPECT_TRUE(initiator.awaiting_answers());

  auto t = target.receive(wire(*offers));
  ASSERT_TRUE(t) << t.error().message() << " at " << target.error_key();
  // The target declares its own MaxRecvDataSegmentLength and alias next to its answers.
  auto declarations = target.offer_local();
  ASSERT_TRUE(declarations);
  KeyValueList response = t->answers;
  response.insert(response.end(), declarations->begin(), declarations->end());
  EXPECT_EQ(text::find_value(response, "InitialR2T"), "Yes");
  EXPECT_EQ(text::find_value(response, "MaxBurstLength"), "262144");
  EXPECT_EQ(text::find_value(response, "FirstBurstLength"), "65536");
  EXPECT_EQ(text::find_value(response, "DefaultTime2Retain"), "0");
  EXPECT_EQ(text::find_value(response, "MaxRecvDataSegmentLength"), "8192");
  EXPECT_EQ(text::find_value(response, "TargetAlias"), "LIO Target");

  auto i = initiator.receive(wire(response));
  ASSERT_TRUE(i) << i.error().message() << " at " << initiator.error_key();
  EXPECT_TRUE(i->answers.empty());  // the target offered nothing new to negotiate
  EXPECT_FALSE(initiator.awaiting_answers());

  auto pi = initiator.params();
  auto pt = target.params();
  ASSERT_TRUE(pi) << pi.error().message();
  ASSERT_TRUE(pt) << pt.error().message();
  EXPECT_TRUE(pi->initial_r2t);
  EXPECT_TRUE(pi->immediate_data);
  EXPECT_EQ(pi->max_burst_length, 262144u);
  EXPECT_EQ(pi->first_burst_length, 65536u);
  EXPECT_EQ(pi->default_time2retain, 0u);
  EXPECT_EQ(pi->header_digest, Digest::none);
  EXPECT_EQ(pi->max_recv_data_segment_length, 262144u);  // ours
  EXPECT_EQ(pi->max_send_data_segment_length, 8192u);    // the target's
  EXPECT_EQ(pi->target_alias, "LIO Target");
  // Both sides agree on the session-wide values; segment lengths are mirrored.
  EXPECT_EQ(pt->max_recv_data_segment_length, pi->max_send_data_segment_length);
  EXPECT_EQ(pt->max_send_data_segment_length, pi->max_recv_data_segment_length);
  NegotiatedParams mirrored = *pt;
  std::swap(mirrored.max_recv_data_segment_length, mirrored.max_send_data_segment_length);
  EXPECT_EQ(mirrored, *pi);
}

TEST(Negotiation, DigestsNegotiatedWhenBothWant) {
  Negotiation initiator(ctx(Party::initiator), {{"HeaderDigest", "CRC32C,None"},
                                                {"DataDigest", "CRC32C"}});
  Negotiation target(ctx(Party::target), {{"HeaderDigest", "CRC32C,None"},
                                          {"DataDigest", "None"}});
  auto t = target.receive(*initiator.offer_local());
  ASSERT_TRUE(t);
  ASSERT_TRUE(initiator.receive(t->answers));
  auto p = initiator.params();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->header_digest, Digest::crc32c);
  EXPECT_EQ(p->data_digest, Digest::none);  // Reject: the default stays
  EXPECT_EQ(initiator.records()[1].result.outcome, Outcome::rejected);
}

TEST(Negotiation, TargetOriginatedKeyIsAnswered) {
  Negotiation initiator(ctx(Party::initiator), {{"ErrorRecoveryLevel", "1"}});
  // The target offers a key the initiator never offered; the initiator answers from its local
  // value (or the default).
  auto r = initiator.receive({{"ErrorRecoveryLevel", "2"}, {"MaxOutstandingR2T", "8"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->answers.size(), 2u);
  EXPECT_EQ(r->answers[0], (text::KeyValue{"ErrorRecoveryLevel", "1"}));
  EXPECT_EQ(r->answers[1], (text::KeyValue{"MaxOutstandingR2T", "1"}));
  auto p = initiator.params();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->error_recovery_level, 1);
  EXPECT_EQ(p->max_outstanding_r2t, 1u);
}

TEST(Negotiation, UnknownAndExtensionKeysAnsweredNotUnderstood) {
  Negotiation initiator(ctx(Party::initiator));
  auto r = initiator.receive({{"X-com.vendor.feature", "on"}, {"FutureKey", "1"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->answers.size(), 2u);
  EXPECT_EQ(r->answers[0].value, "NotUnderstood");
  EXPECT_EQ(r->answers[1].value, "NotUnderstood");
  EXPECT_TRUE(initiator.params());
}

TEST(Negotiation, ObsoleteMarkersAnsweredReject) {
  Negotiation initiator(ctx(Party::initiator));
  auto r = initiator.receive({{"OFMarker", "No"}, {"IFMarkInt", "2048~65535"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->answers, (KeyValueList{{"OFMarker", "Reject"}, {"IFMarkInt", "Reject"}}));
  // And we never originate them.
  Negotiation again(ctx(Party::initiator));
  EXPECT_EQ(again.offer({{"IFMarker", "No"}}).error(), NegotiationErrc::not_negotiable);
}

TEST(Negotiation, DuplicateAnswerIsAnError) {
  Negotiation initiator(ctx(Party::initiator), {{"MaxBurstLength", "262144"}});
  ASSERT_TRUE(initiator.offer_local());
  ASSERT_TRUE(initiator.receive({{"MaxBurstLength", "65536"}}));
  auto again = initiator.receive({{"MaxBurstLength", "65536"}});
  EXPECT_EQ(again.error(), NegotiationErrc::duplicate_key);
  EXPECT_EQ(initiator.error_key(), "MaxBurstLength");
  // Sticky from now on.
  EXPECT_EQ(initiator.receive({}).error(), NegotiationErrc::sticky_error);
  EXPECT_EQ(initiator.params().error(), NegotiationErrc::duplicate_key);
}

TEST(Negotiation, PeerOffersTwiceIsAnError) {
  Negotiation initiator(ctx(Party::initiator));
  ASSERT_TRUE(initiator.receive({{"DefaultTime2Wait", "4"}}));
  EXPECT_EQ(initiator.receive({{"DefaultTime2Wait", "4"}}).error(),
            NegotiationErrc::duplicate_key);
}

TEST(Negotiation, DuplicateInOneList) {
  Negotiation initiator(ctx(Party::initiator));
  EXPECT_EQ(initiator.receive({{"TargetAlias", "a"}, {"TargetAlias", "b"}}).error(),
            NegotiationErrc::duplicate_key);
}

TEST(Negotiation, WeCannotOfferTwice) {
  Negotiation initiator(ctx(Party::initiator));
  ASSERT_TRUE(initiator.offer({{"MaxBurstLength", "65536"}}));
  EXPECT_EQ(initiator.offer({{"MaxBurstLength", "65536"}}).error(),
            NegotiationErrc::duplicate_key);
}

TEST(Negotiation, WeCannotOfferWhatThePeerAlreadyNegotiated) {
  Negotiation initiator(ctx(Party::initiator));
  ASSERT_TRUE(initiator.receive({{"MaxBurstLength", "65536"}}));
  EXPECT_EQ(initiator.offer({{"MaxBurstLength", "8192"}}).error(),
            NegotiationErrc::duplicate_key);
  // offer_local() skips it instead.
  Negotiation other(ctx(Party::initiator), {{"MaxBurstLength", "8192"}});
  ASSERT_TRUE(other.receive({{"MaxBurstLength", "65536"}}));
  auto offers = other.offer_local();
  ASSERT_TRUE(offers);
  EXPECT_TRUE(offers->empty());
}

TEST(Negotiation, PendingOfferBlocksParams) {
  Negotiation initiator(ctx(Party::initiator), {{"MaxBurstLength", "65536"},
                                                {"ImmediateData", "No"},
                                                {"InitialR2T", "Yes"}});
  ASSERT_TRUE(initiator.offer_local());
  EXPECT_TRUE(initiator.awaiting_answers());
  EXPECT_EQ(initiator.pending_keys(), std::vector<std::string>{"MaxBurstLength"});
  EXPECT_EQ(initiator.params().error(), NegotiationErrc::offers_pending);
  ASSERT_TRUE(initiator.receive({{"MaxBurstLength", "65536"}}));
  // ImmediateData=No (AND) and InitialR2T=Yes (OR) decide themselves: no answer needed.
  EXPECT_FALSE(initiator.awaiting_answers());
  auto p = initiator.params();
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->immediate_data);
  EXPECT_TRUE(p->initial_r2t);
  EXPECT_EQ(initiator.value("ImmediateData"), "No");
  EXPECT_EQ(initiator.value("MaxBurstLength"), "65536");
  EXPECT_EQ(initiator.value("DataDigest"), std::nullopt);
}

TEST(Negotiation, AnswerToImpliedOfferStillChecked) {
  Negotiation initiator(ctx(Party::initiator), {{"ImmediateData", "No"}});
  ASSERT_TRUE(initiator.offer_local());
  EXPECT_EQ(initiator.receive({{"ImmediateData", "Yes"}}).error(),
            NegotiationErrc::response_violates_and);
}

TEST(Negotiation, FirstBurstMustNotExceedMaxBurst) {
  Negotiation initiator(ctx(Party::initiator), {{"MaxBurstLength", "16384"},
                                                {"FirstBurstLength", "65536"},
                                                {"InitialR2T", "No"}});
  ASSERT_TRUE(initiator.offer_local());
  // A target that keeps FirstBurstLength above the negotiated MaxBurstLength.
  ASSERT_TRUE(initiator.receive({{"MaxBurstLength", "16384"},
                                 {"FirstBurstLength", "65536"},
                                 {"InitialR2T", "No"}}));
  EXPECT_EQ(initiator.params().error(), NegotiationErrc::first_burst_exceeds_max_burst);
}

TEST(Negotiation, DefaultFirstBurstYieldsToSmallerMaxBurst) {
  Negotiation initiator(ctx(Party::initiator), {{"MaxBurstLength", "16384"}});
  ASSERT_TRUE(initiator.offer_local());
  ASSERT_TRUE(initiator.receive({{"MaxBurstLength", "16384"}}));
  auto p = initiator.params();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->first_burst_length, 16384u);
}

TEST(Negotiation, FirstBurstIrrelevantWithoutUnsolicitedData) {
  Negotiation initiator(ctx(Party::initiator), {{"InitialR2T", "Yes"},
                                                {"ImmediateData", "No"},
                                                {"MaxBurstLength", "16384"},
                                                {"FirstBurstLength", "65536"}});
  ASSERT_TRUE(initiator.offer_local());
  ASSERT_TRUE(initiator.receive({{"MaxBurstLength", "16384"},
                                 {"FirstBurstLength", "Irrelevant"}}));
  auto p = initiator.params();
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(initiator.records()[3].result.outcome, Outcome::irrelevant);
}

TEST(Negotiation, DiscoverySession) {
  KeyValueList local = initiator_local();
  local.push_back({"SessionType", "Discovery"});
  Negotiation initiator(ctx(Party::initiator, pdu::Stage::operational, SessionType::discovery),
                        local);
  auto offers = initiator.offer_local();
  ASSERT_TRUE(offers);
  // Only the keys relevant to discovery are offered; SessionType is a security-stage-or-any key
  // and it is offered here too since it was not sent yet.
  for (const text::KeyValue& kv : *offers) {
    EXPECT_FALSE(find_key(kv.key)->has(kIrrelevantInDiscovery)) << kv.key;
  }
  EXPECT_TRUE(text::contains(*offers, "HeaderDigest"));
  EXPECT_TRUE(text::contains(*offers, "ErrorRecoveryLevel"));
  EXPECT_FALSE(text::contains(*offers, "MaxBurstLength"));

  // A target that offers an irrelevant key anyway is answered Irrelevant.
  Negotiation target(ctx(Party::target, pdu::Stage::operational, SessionType::discovery));
  auto r = target.receive({{"MaxBurstLength", "262144"}, {"HeaderDigest", "None"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->answers, (KeyValueList{{"MaxBurstLength", "Irrelevant"}, {"HeaderDigest", "None"}}));
}

TEST(Negotiation, SecurityStageOffersAndPassThrough) {
  Negotiation initiator(ctx(Party::initiator, pdu::Stage::security),
                        {{"InitiatorName", "iqn.2026-11.org.example:host0"},
                         {"SessionType", "Normal"},
                         {"TargetName", "iqn.2026-11.org.example:t0"},
                         {"AuthMethod", "CHAP,None"},
                         {"MaxBurstLength", "65536"},
                         {"CHAP_A", "7,5"}});
  auto offers = initiator.offer_local();
  ASSERT_TRUE(offers);
  // Operational keys wait for the operational stage; CHAP_* belongs to the auth module.
  EXPECT_EQ(*offers, (KeyValueList{{"InitiatorName", "iqn.2026-11.org.example:host0"},
                                   {"SessionType", "Normal"},
                                   {"TargetName", "iqn.2026-11.org.example:t0"},
                                   {"AuthMethod", "CHAP,None"}}));
  auto r = initiator.receive({{"TargetPortalGroupTag", "1"},
                              {"AuthMethod", "CHAP"},
                              {"CHAP_A", "7"},
                              {"CHAP_I", "12"},
                              {"CHAP_C", "0x0102"}});
  ASSERT_TRUE(r) << r.error().message() << " at " << initiator.error_key();
  EXPECT_TRUE(r->answers.empty());
  EXPECT_EQ(r->passthrough.size(), 3u);
  EXPECT_EQ(r->passthrough[0].key, "CHAP_A");

  initiator.set_stage(pdu::Stage::operational);
  auto op = initiator.offer_local();
  ASSERT_TRUE(op);
  EXPECT_EQ(*op, (KeyValueList{{"MaxBurstLength", "65536"}}));
  ASSERT_TRUE(initiator.receive({{"MaxBurstLength", "65536"}}));
  auto p = initiator.params();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->auth_method, "CHAP");
  EXPECT_EQ(p->target_portal_group_tag, 1);
}

TEST(Negotiation, ChapKeysOutsideTheSecurityStage) {
  Negotiation initiator(ctx(Party::initiator));
  EXPECT_EQ(initiator.receive({{"CHAP_C", "0x01"}}).error(),
            NegotiationErrc::key_not_allowed_in_stage);
}

TEST(Negotiation, OperationalKeyInSecurityStage) {
  Negotiation initiator(ctx(Party::initiator, pdu::Stage::security));
  EXPECT_EQ(initiator.receive({{"MaxBurstLength", "65536"}}).error(),
            NegotiationErrc::key_not_allowed_in_stage);
  Negotiation mine(ctx(Party::initiator, pdu::Stage::security));
  EXPECT_EQ(mine.offer({{"InitialR2T", "No"}}).error(), NegotiationErrc::key_not_allowed_in_stage);
}

TEST(Negotiation, KeyFromTheWrongParty) {
  Negotiation initiator(ctx(Party::initiator));
  EXPECT_EQ(initiator.receive({{"InitiatorName", "iqn.2026-11.org.example:x"}}).error(),
            NegotiationErrc::key_not_sendable_by_party);
}

TEST(Negotiation, ReservedValueThatAnswersNothing) {
  Negotiation initiator(ctx(Party::initiator));
  EXPECT_EQ(initiator.receive({{"MaxBurstLength", "Reject"}}).error(),
            NegotiationErrc::reserved_value_in_offer);
}

TEST(Negotiation, NotUnderstoodForARequiredKey) {
  Negotiation initiator(ctx(Party::initiator), {{"HeaderDigest", "CRC32C,None"}});
  ASSERT_TRUE(initiator.offer_local());
  EXPECT_EQ(initiator.receive({{"HeaderDigest", "NotUnderstood"}}).error(),
            NegotiationErrc::not_understood_required_key);
}

TEST(Negotiation, NewerKeysMayBeNotUnderstood) {
  // LIO and other RFC 3720-era targets do not know these.
  Negotiation initiator(ctx(Party::initiator), {{"iSCSIProtocolLevel", "2"},
                                                {"TaskReporting", "FastAbort,RFC3720"},
                                                {"X#NodeArchitecture", "iscsi-lab"}});
  ASSERT_TRUE(initiator.offer_local());
  ASSERT_TRUE(initiator.receive({{"iSCSIProtocolLevel", "NotUnderstood"},
                                 {"TaskReporting", "NotUnderstood"},
                                 {"X#NodeArchitecture", "NotUnderstood"}}));
  auto p = initiator.params();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->iscsi_protocol_level, 0);
  EXPECT_EQ(p->task_reporting, TaskReporting::rfc3720);
}

TEST(Negotiation, NewerKeysAgreed) {
  Negotiation initiator(ctx(Party::initiator), {{"iSCSIProtocolLevel", "2"},
                                                {"TaskReporting", "FastAbort,RFC3720"}});
  Negotiation target(ctx(Party::target), {{"iSCSIProtocolLevel", "1"},
                                          {"TaskReporting", "RFC3720,FastAbort"}});
  auto t = target.receive(*initiator.offer_local());
  ASSERT_TRUE(t);
  ASSERT_TRUE(initiator.receive(t->answers));
  auto p = initiator.params();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->iscsi_protocol_level, 1);
  EXPECT_EQ(p->task_reporting, TaskReporting::fast_abort);
}

TEST(Negotiation, NonLeadingConnection) {
  Negotiation initiator(ctx(Party::initiator, pdu::Stage::operational, SessionType::normal, false),
                        {{"MaxBurstLength", "65536"}, {"HeaderDigest", "CRC32C,None"}});
  auto offers = initiator.offer_local();
  ASSERT_TRUE(offers);
  EXPECT_EQ(*offers, (KeyValueList{{"HeaderDigest", "CRC32C,None"}}));  // LO keys stay out
  EXPECT_EQ(initiator.receive({{"MaxConnections", "2"}}).error(),
            NegotiationErrc::key_leading_only);
}

TEST(Negotiation, TextNegotiationInFullFeaturePhase) {
  Negotiation initiator(ctx(Party::initiator, pdu::Stage::full_feature),
                        {{"MaxRecvDataSegmentLength", "65536"}, {"MaxBurstLength", "65536"}});
  auto offers = initiator.offer_local();
  ASSERT_TRUE(offers);
  EXPECT_EQ(*offers, (KeyValueList{{"MaxRecvDataSegmentLength", "65536"}}));
  auto r = initiator.receive({{"MaxRecvDataSegmentLength", "131072"}, {"TargetAlias", "new"}});
  ASSERT_TRUE(r);
  auto p = initiator.params();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->max_recv_data_segment_length, 65536u);
  EXPECT_EQ(p->max_send_data_segment_length, 131072u);
  EXPECT_EQ(initiator.receive({{"ErrorRecoveryLevel", "1"}}).error(),
            NegotiationErrc::key_not_allowed_in_phase);
}

TEST(Negotiation, RepeatableTargetAddress) {
  Negotiation initiator(ctx(Party::initiator));
  ASSERT_TRUE(initiator.receive({{"TargetAddress", "10.0.0.1:3260,1"}}));
  ASSERT_TRUE(initiator.receive({{"TargetAddress", "10.0.0.2:3260,1"}}));
  EXPECT_EQ(initiator.value("TargetAddress"), "10.0.0.2:3260,1");
}

TEST(Negotiation, InvalidPeerDeclaration) {
  Negotiation initiator(ctx(Party::initiator));
  EXPECT_EQ(initiator.receive({{"MaxRecvDataSegmentLength", "100"}}).error(),
            NegotiationErrc::value_out_of_range);
}

TEST(Negotiation, InvalidOwnOffer) {
  Negotiation initiator(ctx(Party::initiator));
  EXPECT_EQ(initiator.offer({{"HeaderDigest", "MD5"}}).error(), NegotiationErrc::value_not_defined);
  Negotiation other(ctx(Party::initiator));
  EXPECT_EQ(other.offer({{"NoSuchKey", "1"}}).error(), NegotiationErrc::unknown_key);
}

TEST(Negotiation, DeclarationRejectedByPeer) {
  Negotiation initiator(ctx(Party::initiator), {{"InitiatorAlias", "host"}});
  ASSERT_TRUE(initiator.offer_local());
  ASSERT_TRUE(initiator.receive({{"InitiatorAlias", "Reject"}}));
  EXPECT_EQ(initiator.records()[0].result.outcome, Outcome::rejected);
  auto p = initiator.params();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->initiator_alias, "");
}

}  // namespace
}  // namespace iscsi::login
