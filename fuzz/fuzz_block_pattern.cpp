// libFuzzer target: the workload's block pattern (workload/block_pattern.hpp). Input: a 2-byte
// little-endian block size, then the bytes to classify. decode_blocks must take any bytes at
// any block size; and from the same input an LBA, a generation and a valid block size are
// drawn to check the encoder's promise: what encode_blocks writes decodes intact with those
// values, and one damaged byte never does.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proto/common/bytes.hpp"
#include "workload/block_pattern.hpp"

namespace {

using iscsi::ByteSpan;
using iscsi::ByteVector;
using iscsi::workload::BlockState;

void check_encoded(std::uint64_t lba, std::uint64_t generation, std::uint32_t block_size,
                   std::size_t damage_at, std::uint8_t mask) {
  ByteVector buf(std::size_t{block_size} * 2);
  iscsi::workload::encode_blocks(buf, lba, block_size, generation);
  const auto states = iscsi::workload::decode_blocks(buf, block_size);
  if (states.size() != 2) std::abort();
  if (states[0] != BlockState{BlockState::Kind::intact, lba, generation}) std::abort();
  if (states[1] != BlockState{BlockState::Kind::intact, lba + 1, generation}) std::abort();
  if (mask == 0) return;
  const std::size_t at = damage_at % block_size;
  buf[at] ^= mask;
  const auto damaged = iscsi::workload::decode_block(ByteSpan(buf).first(block_size));
  // The magic damaged: not ours any more; anything else: corrupt. Never intact.
  const auto want = at < iscsi::workload::kBlockMagic.size() ? BlockState::Kind::unwritten
                                                             : BlockState::Kind::corrupt;
  if (damaged.kind != want) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint32_t block_size = data[0] | std::uint32_t{data[1]} << 8;
  const ByteSpan payload(data + 2, size - 2);
  const auto states = iscsi::workload::decode_blocks(payload, block_size);
  const std::size_t want = block_size == 0 ? 0 : (payload.size() + block_size - 1) / block_size;
  if (states.size() != want) std::abort();
  for (const auto& st : states) {
    if (st.kind == BlockState::Kind::unwritten && (st.lba != 0 || st.generation != 0)) std::abort();
  }
  if (payload.size() >= 19) {
    // Payload bytes 0..7 the LBA, 8..15 the generation, 16..17 where to damage, 18 how; the
    // block size 64..1080 (every valid size of that range) from the low byte of the header.
    const std::uint32_t encode_size = 64 + 8 * (block_size % 128);
    check_encoded(iscsi::load_le64(payload.data()), iscsi::load_le64(payload.data() + 8),
                  encode_size, iscsi::load_be16(payload.data() + 16), payload[18]);
  }
  return 0;
}
