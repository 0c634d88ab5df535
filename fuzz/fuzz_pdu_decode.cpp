// Fuzzes pdu::decode, the one-shot decoder of a complete wire PDU (BHS, AHS, digests, padded
// data). Input: byte 0 bit 0 HeaderDigest, bit 1 DataDigest, bit 2 strict checks; the rest is
// the wire bytes. A decoded PDU must re-encode and decode to itself.
#include <cstddef>
#include <cstdint>

#include "proto/pdu/pdu.hpp"

using namespace iscsi;
using namespace iscsi::pdu;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const DigestConfig digests{(data[0] & 1) != 0, (data[0] & 2) != 0};
  const DecodeOptions opts{.strict_reserved = (data[0] & 4) != 0};
  const ByteSpan wire(data + 1, size - 1);
  auto got = decode(wire, digests, opts);
  if (!got) return 0;
  if (got->consumed > wire.size()) __builtin_trap();
  auto bytes = encode(got->pdu, digests);
  if (!bytes) __builtin_trap();
  auto again = decode(*bytes, digests, opts);
  if (!again || !(again->pdu == got->pdu)) __builtin_trap();
  return 0;
}
