// libFuzzer target: SendTargets response parsing (text::parse_send_targets) on an arbitrary text,
// and TargetAddress parsing on the raw input. Invariants: a parsed response rebuilt with
// make_send_targets_response parses to the same targets; a parsed address formats to a string
// that parses back to the same address.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proto/text/sendtargets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace iscsi;
  const ByteSpan input(data, size);
  auto targets = text::parse_send_targets(input);
  if (targets) {
    auto text = text::encode(text::make_send_targets_response(*targets),
                             text::send_targets_text_options());
    if (!text) std::abort();
    auto again = text::parse_send_targets(*text);
    if (!again || *again != *targets) std::abort();
  }
  const std::string_view raw = as_chars(input);
  for (auto context : {text::AddressContext::send_targets, text::AddressContext::redirect}) {
    auto address = text::parse_target_address(raw, context);
    if (!address) continue;
    auto back = text::parse_target_address(text::format_target_address(*address), context);
    if (!back || *back != *address) std::abort();
  }
  return 0;
}
