// Text key parsing speed: a typical login response, a SendTargets response with 100 targets
// (whole and arriving in 8 KiB Text Response segments), encoding our offers, and one operational
// negotiation round through the table. Reports keys/s (items) and bytes/s.
#include <benchmark/benchmark.h>

#include <string>

#include "proto/login/negotiation.hpp"
#include "proto/text/codec.hpp"
#include "proto/text/continuation.hpp"
#include "proto/text/sendtargets.hpp"

namespace {

using namespace iscsi;

text::KeyValueList login_response_keys() {
  return {{"TargetPortalGroupTag", "1"},      {"HeaderDigest", "None"},
          {"DataDigest", "None"},             {"DefaultTime2Wait", "2"},
          {"DefaultTime2Retain", "0"},        {"IFMarker", "No"},
          {"OFMarker", "No"},                 {"ErrorRecoveryLevel", "0"},
          {"InitialR2T", "Yes"},              {"ImmediateData", "Yes"},
          {"MaxBurstLength", "262144"},       {"FirstBurstLength", "65536"},
          {"MaxOutstandingR2T", "1"},         {"DataPDUInOrder", "Yes"},
          {"DataSequenceInOrder", "Yes"},     {"MaxRecvDataSegmentLength", "262144"},
          {"TargetAlias", "LIO Target"}};
}

ByteVector send_targets_text(int targets) {
  std::vector<text::DiscoveredTarget> list;
  for (int i = 0; i < targets; ++i) {
    text::TargetAddress v4;
    v4.host = "192.168." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    v4.kind = text::HostKind::ipv4;
    v4.has_group_tag = true;
    v4.portal_group_tag = 1;
    text::TargetAddress v6 = v4;
    v6.host = "fd00:10::" + std::to_string(i + 1);
    v6.kind = text::HostKind::ipv6;
    list.push_back({"iqn.2003-01.org.linux-iscsi.lab.x8664:sn.target" + std::to_string(i),
                    {v4, v6}});
  }
  return *text::encode(text::make_send_targets_response(list), text::send_targets_text_options());
}

void BM_DecodeLoginResponse(benchmark::State& state) {
  const auto keys = login_response_keys();
  const ByteVector bytes = *text::encode(keys);
  for (auto _ : state) {
    auto list = text::decode(bytes);
    benchmark::DoNotOptimize(list);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(keys.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_DecodeLoginResponse);

void BM_EncodeLoginResponse(benchmark::State& state) {
  const auto keys = login_response_keys();
  const std::size_t size = text::encoded_size(keys);
  for (auto _ : state) {
    auto bytes = text::encode(keys);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(keys.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}
BENCHMARK(BM_EncodeLoginResponse);

void BM_SendTargets100(benchmark::State& state) {
  const ByteVector bytes = send_targets_text(100);
  for (auto _ : state) {
    auto targets = text::parse_send_targets(bytes);
    benchmark::DoNotOptimize(targets);
  }
  state.SetItemsProcessed(state.iterations() * 300);  // keys: 100 names + 200 addresses
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
  state.counters["text_bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_SendTargets100);

void BM_SendTargets100Segmented(benchmark::State& state) {
  const ByteVector bytes = send_targets_text(100);
  const auto segments = *text::split_text(bytes, 8192);
  text::TextAssembler assembler(text::send_targets_text_options());
  for (auto _ : state) {
    for (const text::TextSegment& s : segments) {
      auto r = assembler.add(s.data, s.continue_bit);
      if (r && r->has_value()) {
        auto targets = text::parse_send_targets(**r);
        benchmark::DoNotOptimize(targets);
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * 300);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}
BENCHMARK(BM_SendTargets100Segmented);

void BM_NegotiateOperationalRound(benchmark::State& state) {
  const text::KeyValueList offers = {
      {"HeaderDigest", "CRC32C,None"}, {"DataDigest", "None"},
      {"MaxConnections", "1"},         {"InitialR2T", "No"},
      {"ImmediateData", "Yes"},        {"MaxRecvDataSegmentLength", "262144"},
      {"MaxBurstLength", "16776192"},  {"FirstBurstLength", "262144"},
      {"DefaultTime2Wait", "2"},       {"DefaultTime2Retain", "0"},
      {"MaxOutstandingR2T", "1"},      {"DataPDUInOrder", "Yes"},
      {"DataSequenceInOrder", "Yes"},  {"ErrorRecoveryLevel", "0"}};
  const text::KeyValueList target_local = login_response_keys();
  using namespace iscsi::login;
  for (auto _ : state) {
    Negotiation initiator({Party::initiator, pdu::Stage::operational, true, SessionType::normal},
                          offers);
    Negotiation target({Party::target, pdu::Stage::operational, true, SessionType::normal},
                       target_local);
    auto sent = initiator.offer_local();
    auto answers = target.receive(*sent);
    auto done = initiator.receive(answers->answers);
    auto params = initiator.params();
    benchmark::DoNotOptimize(done);
    benchmark::DoNotOptimize(params);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(offers.size()));
}
BENCHMARK(BM_NegotiateOperationalRound);

}  // namespace

BENCHMARK_MAIN();
