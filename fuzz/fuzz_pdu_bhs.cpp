// Fuzzes pdu::decode_bhs, the per-opcode BHS decoder for all 18 PDU types. Input: byte 0 bit 0
// selects strict reserved-field checks; the next 48 bytes are the BHS. A decoded header must
// re-encode to a BHS that decodes to the same PDU.
#include <array>
#include <cstddef>
#include <cstdint>

#include "proto/pdu/pdu.hpp"

using namespace iscsi;
using namespace iscsi::pdu;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const DecodeOptions opts{.strict_reserved = (data[0] & 1) != 0};
  Diagnostic diag;
  auto pdu = decode_bhs(ByteSpan(data + 1, size - 1), opts, &diag);
  if (!pdu) {
    if (diag.errc == Errc::ok) __builtin_trap();
    return 0;
  }
  std::array<std::uint8_t, kBhsLength> bhs{};
  if (encode_bhs(*pdu, bhs)) __builtin_trap();
  auto again = decode_bhs(bhs, opts);
  if (!again || !(*again == *pdu)) __builtin_trap();
  (void)to_string(*pdu);
  return 0;
}
