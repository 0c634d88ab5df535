// CRC32C through our digest path (digest::crc32c and the incremental digest::Crc32c, exactly
// what the framer and encoder call) against ISA-L's raw crc32_iscsi, on 8 KiB and 256 KiB
// buffers. The goal: our path at >= 0.95 of the raw rate (compare the bytes_per_second columns).
#include <benchmark/benchmark.h>
#include <isa-l/crc.h>

#include "proto/digest/crc32c.hpp"

namespace {

using namespace iscsi;

ByteVector buffer(std::size_t n) {
  ByteVector b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 31 + 7);
  return b;
}

void BM_Crc32c_Ours(benchmark::State& state) {
  const ByteVector b = buffer(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    std::uint32_t crc = digest::crc32c(b);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.size()));
}
BENCHMARK(BM_Crc32c_Ours)->Arg(48)->Arg(8192)->Arg(262144);

void BM_Crc32c_OursIncremental(benchmark::State& state) {
  const ByteVector b = buffer(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    digest::Crc32c crc;
    crc.update(b);
    std::uint32_t v = crc.value();
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.size()));
}
BENCHMARK(BM_Crc32c_OursIncremental)->Arg(8192)->Arg(262144);

void BM_Crc32c_RawIsal(benchmark::State& state) {
  ByteVector b = buffer(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    std::uint32_t crc = ~crc32_iscsi(b.data(), static_cast<int>(b.size()), 0xFFFFFFFFu);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.size()));
}
BENCHMARK(BM_Crc32c_RawIsal)->Arg(48)->Arg(8192)->Arg(262144);

void BM_Crc32c_Portable(benchmark::State& state) {
  const ByteVector b = buffer(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    std::uint32_t crc = digest::crc32c_portable(b);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * b.size()));
}
BENCHMARK(BM_Crc32c_Portable)->Arg(48)->Arg(8192);

}  // namespace

BENCHMARK_MAIN();
