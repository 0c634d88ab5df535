// Fuzzes the streaming PDU framer (pdu::Framer), the production receive path, with an arbitrary
// byte stream. Input: byte 0 picks the configuration (bit 0 HeaderDigest, bit 1 DataDigest,
// bit 2 receive direction, bit 3 strict reserved-field checks, bit 4 a 512-byte
// MaxRecvDataSegmentLength instead of 256 KiB, bit 5 every pending payload placed into a
// buffer of its own, as the engine does for large Data-In); byte 1 the chunk size the stream is fed in
// (1..256); the rest is the stream. Every PDU returned must survive encode -> decode unchanged.
#include <cstddef>
#include <cstdint>

#include "proto/pdu/framer.hpp"

using namespace iscsi;
using namespace iscsi::pdu;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t cfg = data[0];
  const std::size_t chunk = std::size_t{data[1]} + 1;
  const ByteSpan stream(data + 2, size - 2);

  FramerConfig config;
  config.digests = {(cfg & 1) != 0, (cfg & 2) != 0};
  config.receive = (cfg & 4) ? Direction::initiator_to_target : Direction::target_to_initiator;
  config.decode.strict_reserved = (cfg & 8) != 0;
  config.max_recv_data_segment_length = (cfg & 16) ? 512 : 262144;
  Framer framer(config);

  const bool place = (cfg & 32) != 0;
  ByteVector dest;

  bool failed = false;
  for (std::size_t pos = 0; pos < stream.size() && !failed; pos += chunk) {
    framer.feed(stream.subspan(pos, std::min(chunk, stream.size() - pos)));
    while (true) {
      if (place && framer.pending_header() != nullptr && framer.placement().empty()) {
        // Fresh memory each time, so that a read of a stale placement shows under ASan.
        dest = ByteVector(framer.pending_data_length());
        framer.place(dest);
      }
      auto next = framer.next();
      if (!next) {
        if (framer.diagnostic().errc == Errc::ok) __builtin_trap();  // a failure must say why
        failed = true;
        break;
      }
      if (!*next) break;
      // What we accept, we can re-encode, and it decodes to the same PDU.
      auto bytes = encode(**next, config.digests);
      if (!bytes) __builtin_trap();
      auto again = decode(*bytes, config.digests, config.decode);
      if (!again || again->consumed != bytes->size() || !(again->pdu == **next)) __builtin_trap();
    }
  }
  if (!failed) (void)framer.finish();
  if (failed && !framer.failed()) __builtin_trap();
  return 0;
}
