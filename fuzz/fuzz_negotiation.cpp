// libFuzzer target: the negotiation code over the key table. The first byte picks the context
// (our role, stage, leading connection, session type); the rest is a text decoded into keys.
//   1. respond() to every pair as an offer; when the answer is a value, apply_response() on the
//      other side must accept it and reach the same value.
//   2. a target-role Negotiation receives the keys as the initiator's offers.
//   3. an initiator-role Negotiation with fixed offers receives the keys as the target's answers;
//      if params() succeeds its values are within the RFC ranges.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proto/login/negotiation.hpp"
#include "proto/text/codec.hpp"
#include "proto/text/values.hpp"

namespace {

using namespace iscsi;
using namespace iscsi::login;

const text::KeyValueList kOffers = {
    {"HeaderDigest", "CRC32C,None"},   {"DataDigest", "CRC32C,None"},
    {"MaxConnections", "4"},           {"InitialR2T", "No"},
    {"ImmediateData", "Yes"},          {"MaxRecvDataSegmentLength", "262144"},
    {"MaxBurstLength", "1048576"},     {"FirstBurstLength", "262144"},
    {"DefaultTime2Wait", "2"},         {"DefaultTime2Retain", "20"},
    {"MaxOutstandingR2T", "4"},        {"DataPDUInOrder", "No"},
    {"DataSequenceInOrder", "No"},     {"ErrorRecoveryLevel", "2"},
    {"TaskReporting", "FastAbort,ResponseFence,RFC3720"},
    {"iSCSIProtocolLevel", "2"},       {"X-org.example.fuzz", "1"},
    {"X#NodeArchitecture", "iscsi-lab"}, {"InitiatorAlias", "fuzz"},
};

pdu::Stage stage_of(std::uint8_t b) {
  switch (b & 3) {
    case 0: return pdu::Stage::security;
    case 1: return pdu::Stage::operational;
    default: return pdu::Stage::full_feature;
  }
}

void check_params(const NegotiatedParams& p) {
  const std::uint32_t k24 = (1u << 24) - 1;
  bool ok = p.max_burst_length >= 512 && p.max_burst_length <= k24 &&
            p.first_burst_length >= 512 && p.first_burst_length <= k24 &&
            p.max_recv_data_segment_length >= 512 && p.max_recv_data_segment_length <= k24 &&
            p.max_send_data_segment_length >= 512 && p.max_send_data_segment_length <= k24 &&
            p.error_recovery_level <= 2 && p.default_time2wait <= 3600 &&
            p.default_time2retain <= 3600 && p.max_connections >= 1 &&
            p.max_outstanding_r2t >= 1 && p.iscsi_protocol_level <= 31;
  const bool unsolicited = !(p.initial_r2t && !p.immediate_data);
  if (p.session_type == SessionType::normal && unsolicited &&
      p.first_burst_length > p.max_burst_length) {
    ok = false;
  }
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  text::TextOptions options;
  options.allow_duplicate_keys = (mode & 0x40) != 0;
  auto keys = text::decode(ByteSpan(data + 1, size - 1), options);
  if (!keys) return 0;

  NegotiationContext target_ctx{Party::target, stage_of(mode), (mode & 4) == 0,
                                (mode & 8) ? SessionType::discovery : SessionType::normal};
  NegotiationContext initiator_ctx = target_ctx;
  initiator_ctx.self = Party::initiator;
  const std::string_view local = (mode & 0x10) ? "CRC32C" : "";

  // 1. respond / apply_response agree.
  for (const text::KeyValue& kv : *keys) {
    auto answer = respond(kv.key, kv.value, local, target_ctx);
    if (!answer || !answer->has_value()) continue;
    const std::string& a = **answer;
    if (text::classify_reserved(a) != text::Reserved::none) continue;
    const KeySpec* spec = find_key(kv.key);
    if (spec == nullptr) std::abort();
    if (validate_value(*spec, a)) std::abort();
    auto settled = apply_response(kv.key, kv.value, a, initiator_ctx);
    if (!settled || settled->value != a) std::abort();
  }

  // 2. the keys as the initiator's offers to a target.
  Negotiation target(target_ctx, {{"HeaderDigest", "CRC32C,None"}, {"MaxBurstLength", "65536"}});
  if (auto r = target.receive(*keys)) {
    if (auto p = target.params()) check_params(*p);
  }

  // 3. the keys as the target's answers to our fixed offers.
  initiator_ctx.stage = pdu::Stage::operational;
  Negotiation initiator(initiator_ctx, kOffers);
  if (!initiator.offer_local()) std::abort();
  if (auto r = initiator.receive(*keys)) {
    if (auto p = initiator.params()) check_params(*p);
  }
  return 0;
}
