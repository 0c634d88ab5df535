// Fuzzes pdu::decode_ahs, the Additional Header Segment decoder. Input: byte 0 is the opcode of
// the carrying PDU (low 6 bits); the rest is the AHS area. What decodes must re-encode to an
// area that decodes to the same fields.
#include <cstddef>
#include <cstdint>

#include "proto/pdu/pdu.hpp"

using namespace iscsi;
using namespace iscsi::pdu;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto op = static_cast<Opcode>(data[0] & 0x3F);
  auto fields = decode_ahs(ByteSpan(data + 1, size - 1), op);
  if (!fields) return 0;
  ByteVector out;
  encode_ahs(*fields, out);
  if (out.size() != ahs_length(*fields) || out.size() % 4 != 0) __builtin_trap();
  auto again = decode_ahs(out, op);
  if (!again || !(*again == *fields)) __builtin_trap();
  return 0;
}
