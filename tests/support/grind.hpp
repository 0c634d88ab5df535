// Test helper in the spirit of Boost.Beast's "grind": feed an input to a streaming decoder split
// at every byte offset (two pieces), and optionally one byte at a time, and check that the result
// is the same as when the input arrives whole.
//
//   grind_splits(bytes, [&](std::vector<ByteSpan> pieces) { ... decode pieces, EXPECT ... });
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace iscsi::test {

using Pieces = std::vector<std::span<const std::uint8_t>>;

// Calls `check` once for the whole input, once for every two-way split (at offsets 1..n-1), and
// once with the input split into single bytes.
inline void grind_splits(std::span<const std::uint8_t> input,
                         const std::function<void(const Pieces&)>& check) {
  check(Pieces{input});
  for (std::size_t cut = 1; cut < input.size(); ++cut) {
    check(Pieces{input.first(cut), input.subspan(cut)});
  }
  Pieces single;
  single.reserve(input.size());
  for (std::size_t i = 0; i < input.size(); ++i) single.push_back(input.subspan(i, 1));
  check(single);
}

}  // namespace iscsi::test
