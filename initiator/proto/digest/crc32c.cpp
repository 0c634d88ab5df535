#include "proto/digest/crc32c.hpp"

#include <array>

namespace iscsi::digest {
namespace {

// Reflected CRC32C polynomial 0x1EDC6F41 (bit-reversed: 0x82F63B78).
constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kTable = make_table();

}  // namespace

// ISA-L takes an int length; feed it in chunks so spans over 2 GiB stay correct.
std::uint32_t detail::crc32c_update_chunked(std::uint32_t state, ByteSpan data) noexcept {
  constexpr std::size_t kChunk = std::size_t{1} << 30;
  while (!data.empty()) {
    const std::size_t n = data.size() < kChunk ? data.size() : kChunk;
    state = crc32_iscsi(const_cast<unsigned char*>(data.data()), static_cast<int>(n), state);
    data = data.subspan(n);
  }
  return state;
}

std::uint32_t crc32c_portable(ByteSpan data) noexcept {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::uint8_t b : data) c = kTable[(c ^ b) & 0xFFu] ^ (c >> 8);
  return ~c;
}

}  // namespace iscsi::digest
