// libFuzzer target: the key=value text decoder (text::decode) on an arbitrary data segment, then
// the value-type parsers on every value. Invariant: whatever decodes re-encodes to bytes that
// decode to the same list.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proto/text/codec.hpp"
#include "proto/text/values.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace iscsi;
  const ByteSpan input(data, size);
  text::TextOptions options;
  options.allow_duplicate_keys = size > 0 && (data[0] & 1) != 0;
  auto list = text::decode(input, options);
  if (!list) return 0;
  for (const text::KeyValue& kv : *list) {
    (void)text::parse_boolean(kv.value);
    (void)text::parse_numeric(kv.value);
    (void)text::parse_numeric_range(kv.value);
    (void)text::parse_binary(kv.value);
    (void)text::parse_list(kv.value);
    (void)text::validate_text_value(kv.value);
    (void)text::validate_iscsi_name(kv.value);
    (void)text::classify_reserved(kv.value);
    auto bin = text::parse_binary(kv.value);
    if (bin && text::binary_decoded_length(kv.value) != bin->size()) std::abort();
  }
  auto again = text::encode(*list, options);
  if (!again) std::abort();
  auto back = text::decode(*again, options);
  if (!back || *back != *list) std::abort();
  return 0;
}
