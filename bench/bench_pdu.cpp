// PDU codec and framer micro benchmarks: BHS decode and encode (time per PDU), and framer
// throughput over a stream of SCSI Data-In PDUs (8 KiB and 256 KiB data segments, with and
// without data digest), fed in 64 KiB reads as a socket would deliver them.
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>

#include "proto/digest/crc32c.hpp"
#include "proto/pdu/framer.hpp"
#include "proto/pdu/pdu.hpp"

namespace {

using namespace iscsi;
using namespace iscsi::pdu;

DataIn make_data_in(std::size_t length, std::uint32_t data_sn) {
  DataIn d;
  d.final_pdu = false;
  d.itt = 0x10;
  d.ttt = kReservedTag;
  d.lun = 0x0001000000000000ull;
  d.stat_sn = SerialNumber(100);
  d.exp_cmd_sn = SerialNumber(200);
  d.max_cmd_sn = SerialNumber(264);
  d.data_sn = SerialNumber(data_sn);
  d.buffer_offset = static_cast<std::uint32_t>(data_sn * length);
  d.data.assign(length, static_cast<std::uint8_t>(data_sn));
  return d;
}

void BM_DecodeBhs_DataIn(benchmark::State& state) {
  std::array<std::uint8_t, kBhsLength> bhs{};
  DataIn d = make_data_in(8192, 3);
  if (encode_bhs(d, bhs)) state.SkipWithError("encode failed");
  for (auto _ : state) {
    auto pdu = decode_bhs(bhs);
    benchmark::DoNotOptimize(pdu);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_DecodeBhs_DataIn);

void BM_DecodeBhs_ScsiCommand(benchmark::State& state) {
  ScsiCommand c;
  c.read = true;
  c.itt = 7;
  c.expected_data_transfer_length = 65536;
  c.cdb = {0x28, 0, 0, 0, 0, 0x10, 0, 0, 0x80, 0};
  std::array<std::uint8_t, kBhsLength> bhs{};
  if (encode_bhs(c, bhs)) state.SkipWithError("encode failed");
  for (auto _ : state) {
    auto pdu = decode_bhs(bhs, {.strict_reserved = true});
    benchmark::DoNotOptimize(pdu);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_DecodeBhs_ScsiCommand);

void BM_EncodeBhs_DataIn(benchmark::State& state) {
  Pdu pdu = make_data_in(8192, 3);
  std::array<std::uint8_t, kBhsLength> bhs{};
  for (auto _ : state) {
    auto ec = encode_bhs(pdu, bhs);
    benchmark::DoNotOptimize(ec);
    benchmark::DoNotOptimize(bhs.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_EncodeBhs_DataIn);

void BM_EncodeBhs_ScsiCommand(benchmark::State& state) {
  ScsiCommand c;
  c.write = true;
  c.itt = 7;
  c.cdb = {0x2A, 0, 0, 0, 0, 0x10, 0, 0, 0x80, 0};
  Pdu pdu = c;
  std::array<std::uint8_t, kBhsLength> bhs{};
  for (auto _ : state) {
    auto ec = encode_bhs(pdu, bhs);
    benchmark::DoNotOptimize(ec);
    benchmark::DoNotOptimize(bhs.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_EncodeBhs_ScsiCommand);

// args: data segment length, digests (0 none, 1 header and data, 2 data only), copy payload
// into the Pdu (0 = next_view).
void BM_FramerDataIn(benchmark::State& state) {
  const auto length = static_cast<std::size_t>(state.range(0));
  const DigestConfig digests{state.range(1) == 1, state.range(1) != 0};
  const bool owned = state.range(2) != 0;
  // About 8 MiB of stream per pass.
  const std::size_t count = std::max<std::size_t>(1, (8u << 20) / length);
  ByteVector stream;
  for (std::size_t i = 0; i < count; ++i) {
    if (encode(make_data_in(length, static_cast<std::uint32_t>(i)), digests, stream)) {
      state.SkipWithError("encode failed");
      return;
    }
  }
  FramerConfig config;
  config.digests = digests;
  config.max_recv_data_segment_length = 262144;
  constexpr std::size_t kRead = 64 * 1024;
  std::size_t pdus = 0;
  // One long-lived framer, as on a connection: the stream ends on a PDU boundary, so each pass
  // simply continues it.
  Framer framer(config);
  for (auto _ : state) {
    for (std::size_t pos = 0; pos < stream.size(); pos += kRead) {
      const std::size_t n = std::min(kRead, stream.size() - pos);
      // As a socket read would: straight into the framer's buffer.
      auto buf = framer.prepare(n);
      std::memcpy(buf.data(), stream.data() + pos, n);
      framer.commit(n);
      while (true) {
        if (owned) {
          auto next = framer.next();
          if (!next || !*next) break;
          benchmark::DoNotOptimize(data_of(**next).data());
        } else {
          auto next = framer.next_view();
          if (!next || !*next) break;
          benchmark::DoNotOptimize((*next)->data.data());
        }
        ++pdus;
      }
    }
    if (framer.failed()) state.SkipWithError("framer failed");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
  state.counters["pdus"] = benchmark::Counter(static_cast<double>(pdus), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FramerDataIn)
    ->ArgNames({"len", "digest", "owned"})
    ->Args({8192, 0, 0})
    ->Args({8192, 1, 0})
    ->Args({8192, 2, 0})
    ->Args({262144, 0, 0})
    ->Args({262144, 1, 0})
    ->Args({8192, 0, 1})
    ->Args({262144, 1, 1})
    ->Unit(benchmark::kMicrosecond);

// The floor under BM_FramerDataIn: the same bytes copied in 64 KiB reads and, with digests,
// CRC32C'd once, with no framing at all. Framer cost = the difference.
void BM_BaselineCopyAndCrc(benchmark::State& state) {
  const auto length = static_cast<std::size_t>(state.range(0));
  const bool digest = state.range(1) != 0;
  const std::size_t count = std::max<std::size_t>(1, (8u << 20) / length);
  const ByteVector stream((length + 56) * count, 0x5A);
  constexpr std::size_t kRead = 64 * 1024;
  ByteVector buf(kRead);
  for (auto _ : state) {
    std::uint32_t acc = 0;
    for (std::size_t pos = 0; pos < stream.size(); pos += kRead) {
      const std::size_t n = std::min(kRead, stream.size() - pos);
      std::memcpy(buf.data(), stream.data() + pos, n);
      if (digest) acc ^= digest::crc32c(ByteSpan(buf.data(), n));
      benchmark::DoNotOptimize(buf.data());
    }
    benchmark::DoNotOptimize(acc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_BaselineCopyAndCrc)
    ->ArgNames({"len", "digest"})
    ->Args({8192, 0})
    ->Args({8192, 1})
    ->Args({262144, 0})
    ->Args({262144, 1})
    ->Unit(benchmark::kMicrosecond);

void BM_EncodeDataIn(benchmark::State& state) {
  const auto length = static_cast<std::size_t>(state.range(0));
  const DigestConfig digests{state.range(1) != 0, state.range(1) != 0};
  const Pdu pdu = make_data_in(length, 1);
  ByteVector out;
  out.reserve(length + 128);
  for (auto _ : state) {
    out.clear();
    auto ec = encode(pdu, digests, out);
    benchmark::DoNotOptimize(ec);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_EncodeDataIn)->ArgNames({"len", "digest"})->Args({8192, 0})->Args({8192, 1})->Args({262144, 1});

}  // namespace

BENCHMARK_MAIN();
