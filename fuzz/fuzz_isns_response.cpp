// libFuzzer target: an iSNS server's answer as bytes off the wire (isns::MessageAssembler fed in
// two pieces, then decode_response and discovered_targets), the path net::isns_discover takes.
// Invariants: nothing crashes; feeding the bytes whole or split gives the same result; a decoded
// response re-encoded (in PDUs of another size) decodes to the same response; targets taken from a
// response, rebuilt with make_target_query_response, come back the same; every name that comes
// out is a valid iSCSI name with no control character.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proto/isns/discovery.hpp"
#include "proto/text/values.hpp"

namespace {

using namespace iscsi;

// Whole input through the assembler in two pieces cut at `cut`.
Result<isns::Message> assemble(ByteSpan input, std::size_t cut) {
  isns::MessageAssembler a;
  std::size_t used = 0;
  for (ByteSpan piece : {input.first(cut), input.subspan(cut)}) {
    auto n = a.feed(piece);
    if (!n) return n.error();
    used += *n;
    if (a.complete()) break;
  }
  if (!a.complete()) return isns::Errc::truncated;
  (void)used;
  return a.take();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input(data, size);
  auto whole = assemble(input, size);
  auto split = assemble(input, size / 2);
  if (whole.has_value() != split.has_value()) std::abort();
  if (whole && !(*whole == *split)) std::abort();
  if (!whole) return 0;

  auto response = isns::decode_response(*whole);
  if (!response) return 0;
  const std::size_t pdu = 4 + (size % 61) * 4;
  auto again = isns::decode_message(isns::encode_message(isns::encode_response(*response), pdu));
  if (!again) std::abort();
  auto response_again = isns::decode_response(*again);
  if (!response_again || !(*response_again == *response)) std::abort();

  auto targets = isns::discovered_targets(*response);
  if (!targets) return 0;
  for (const auto& t : *targets) {
    if (text::validate_iscsi_name(t.name)) std::abort();
    for (unsigned char c : t.name) {
      if (c < 0x20 || c == 0x7f) std::abort();
    }
  }
  auto rebuilt = isns::discovered_targets(
      isns::make_target_query_response(*targets, response->transaction));
  if (!rebuilt || *rebuilt != *targets) std::abort();
  return 0;
}
