// Encoding and classification of the workload's self-describing blocks (see block_pattern.hpp
// for the layout).
#include "workload/block_pattern.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "proto/digest/crc32c.hpp"

namespace iscsi::workload {

namespace {

constexpr std::size_t kLbaOffset = 8;
constexpr std::size_t kGenerationOffset = 16;
constexpr std::size_t kBlockSizeOffset = 24;
constexpr std::size_t kCrcOffset = 28;

// splitmix64 (Steele, Lea, Flood 2014): a 64-bit state advanced by the golden ratio and mixed;
// cheap, and every state gives a different stream of words.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t state) noexcept : state_(state) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

std::uint64_t fill_seed(std::uint64_t lba, std::uint64_t generation) noexcept {
  return lba * kFillLbaMultiplier ^ generation;
}

void encode_one(std::uint8_t* p, std::uint64_t lba, std::uint32_t block_size,
                std::uint64_t generation) noexcept {
  std::memcpy(p, kBlockMagic.data(), kBlockMagic.size());
  store_le64(p + kLbaOffset, lba);
  store_le64(p + kGenerationOffset, generation);
  store_le32(p + kBlockSizeOffset, block_size);
  store_le32(p + kCrcOffset, digest::crc32c(ByteSpan(p, kCrcOffset)));
  SplitMix64 fill(fill_seed(lba, generation));
  for (std::size_t off = kBlockHeaderLength; off < block_size; off += 8) {
    store_le64(p + off, fill.next());
  }
}

}  // namespace

bool valid_block_size(std::uint64_t block_size) noexcept {
  return block_size >= kMinBlockSize && block_size % 8 == 0 && block_size <= 0xFFFFFFFFull;
}

void encode_blocks(MutableByteSpan out, std::uint64_t first_lba, std::uint32_t block_size,
                   std::uint64_t generation) {
  if (!valid_block_size(block_size)) {
    throw std::invalid_argument("block size " + std::to_string(block_size) +
                                " is not a multiple of 8 of at least " +
                                std::to_string(kMinBlockSize) + " bytes");
  }
  const std::size_t blocks = out.size() / block_size;
  for (std::size_t i = 0; i < blocks; ++i) {
    encode_one(out.data() + i * block_size, first_lba + i, block_size, generation);
  }
}

std::string_view to_string(BlockState::Kind kind) noexcept {
  switch (kind) {
    case BlockState::Kind::unwritten: return "unwritten";
    case BlockState::Kind::intact: return "intact";
    case BlockState::Kind::corrupt: return "corrupt";
  }
  return "unknown";
}

BlockState decode_block(ByteSpan block) noexcept {
  BlockState st;
  if (block.size() < kBlockMagic.size() ||
      std::memcmp(block.data(), kBlockMagic.data(), kBlockMagic.size()) != 0) {
    return st;  // unwritten
  }
  // From here on the block claims to be ours: anything that does not match is corruption.
  st.kind = BlockState::Kind::corrupt;
  const std::uint8_t* p = block.data();
  if (block.size() >= kLbaOffset + 8) st.lba = load_le64(p + kLbaOffset);
  if (block.size() >= kGenerationOffset + 8) st.generation = load_le64(p + kGenerationOffset);
  if (block.size() < kBlockHeaderLength || !valid_block_size(block.size())) return st;
  if (load_le32(p + kBlockSizeOffset) != block.size()) return st;
  if (load_le32(p + kCrcOffset) != digest::crc32c(block.first(kCrcOffset))) return st;
  SplitMix64 fill(fill_seed(st.lba, st.generation));
  for (std::size_t off = kBlockHeaderLength; off < block.size(); off += 8) {
    if (load_le64(p + off) != fill.next()) return st;
  }
  st.kind = BlockState::Kind::intact;
  return st;
}

std::vector<BlockState> decode_blocks(ByteSpan data, std::uint32_t block_size) {
  std::vector<BlockState> out;
  if (block_size == 0) return out;
  out.reserve(data.size() / block_size + 1);
  for (std::size_t off = 0; off < data.size(); off += block_size) {
    out.push_back(decode_block(data.subspan(off, std::min<std::size_t>(block_size, data.size() - off))));
  }
  return out;
}

}  // namespace iscsi::workload
