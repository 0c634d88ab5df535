// Fuzzes the full-feature-phase session machine's receive path: an arbitrary byte stream from
// the target goes through the production framer into a logged-in session with a 1 KiB read, a 16 KiB write, a
// TEST UNIT READY, a SendTargets text request and a ping outstanding. The scenario (and the input
// layout: byte 0 picks the negotiated parameters) lives in
// tests/proto/session/fuzz_scenario.hpp, shared with the seed generator.
#include <cstddef>
#include <cstdint>

#include "../tests/proto/session/fuzz_scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  iscsi::session::fuzz::run(data[0], iscsi::ByteSpan(data + 1, size - 1));
  return 0;
}
