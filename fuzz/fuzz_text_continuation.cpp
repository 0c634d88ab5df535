// libFuzzer target: the continuation assembler (text::TextAssembler) fed a sequence of segments
// whose lengths and C bits come from the input: [hdr][data...] where hdr bit 7 is C and bits 0-6
// the segment length. Invariants: a list yielded at C=0 equals the whole-text decode of the
// concatenated segments; a whole text that decodes (and has no empty C=1 segment) is yielded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "proto/text/continuation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace iscsi;
  text::TextOptions options;
  options.max_text_length = 4096;
  text::TextAssembler assembler(options);
  ByteVector joined;
  bool empty_continuation = false;
  std::size_t pos = 0;
  while (pos < size) {
    const bool c = (data[pos] & 0x80) != 0;
    std::size_t n = data[pos] & 0x7f;
    ++pos;
    if (n > size - pos) n = size - pos;
    ByteSpan segment(data + pos, n);
    pos += n;
    if (c && n == 0) empty_continuation = true;
    joined.insert(joined.end(), segment.begin(), segment.end());
    auto r = assembler.add(segment, c);
    if (!r) {
      // Sticky: the next call must fail with the same error.
      if (assembler.add(segment, c).error() != r.error()) std::abort();
      return 0;
    }
    if (r->has_value()) {
      if (c) std::abort();  // a list only at C=0
      auto whole = text::decode(joined, options);
      if (!whole || *whole != **r) std::abort();
      joined.clear();
      empty_continuation = false;
    } else if (!c) {
      std::abort();  // C=0 must either yield or fail
    }
  }
  if (!joined.empty() && !empty_continuation) {
    // The last text never saw C=0: ending it now must agree with the whole-text decoder.
    auto whole = text::decode(joined, options);
    auto r = assembler.add({}, false);
    if (whole && (!r || !r->has_value() || **r != *whole)) std::abort();
  }
  return 0;
}
