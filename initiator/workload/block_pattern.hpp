// The self-describing content a workload writes into every logical block, so that reading a
// block back tells a lost write (an older generation), a misplaced block (another LBA in the
// header) and a damaged one (header CRC or fill wrong) apart. Sans-IO: no Asio, no clock, no
// randomness of its own; the fuzz target fuzz/fuzz_block_pattern.cpp feeds decode_blocks.
//
// Layout of one block (little-endian; block_size >= 64 and a multiple of 8):
//   bytes  0..7   magic "iSCSIlab"
//   bytes  8..15  LBA the block was written to
//   bytes 16..23  generation of the write command ((writer_id << 48) | sequence, see io_job.hpp)
//   bytes 24..27  block size
//   bytes 28..31  CRC32C (digest/crc32c.hpp) of bytes 0..27
//   bytes 32..    fill: 64-bit words of a running splitmix64 whose state starts at
//                 lba * kFillLbaMultiplier ^ generation; word i is splitmix64's (i+1)-th output.
// The fill depends on both LBA and generation, so a block whose header was patched to claim
// another write does not pass as intact.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "proto/common/bytes.hpp"

namespace iscsi::workload {

inline constexpr std::string_view kBlockMagic = "iSCSIlab";
inline constexpr std::size_t kBlockHeaderLength = 32;
inline constexpr std::uint32_t kMinBlockSize = 64;
// Odd, so lba -> lba * K is a bijection and neighbouring LBAs start far apart.
inline constexpr std::uint64_t kFillLbaMultiplier = 0xD1B54A32D192ED03ull;

// True for the block sizes encode_blocks accepts: >= 64 and a multiple of 8.
bool valid_block_size(std::uint64_t block_size) noexcept;

// Fills out.size() / block_size whole blocks (LBAs first_lba, first_lba + 1, ...), all with the
// same generation; bytes after the last whole block are left as they are. Throws
// std::invalid_argument for a block size valid_block_size() refuses.
void encode_blocks(MutableByteSpan out, std::uint64_t first_lba, std::uint32_t block_size,
                   std::uint64_t generation);

struct BlockState {
  enum class Kind : std::uint8_t {
    unwritten,  // no magic: zeros, or data this workload did not write
    intact,     // magic, header CRC and fill all match what lba/generation say
    corrupt,    // magic present, but the header CRC, the block size or the fill is wrong
  };
  Kind kind = Kind::unwritten;
  // What the header says (intact), or what it seems to say (corrupt, best effort: 0 when the
  // block is too short to hold the field); 0 when unwritten. The caller compares the LBA with
  // where the block was read from: an intact block with another LBA is a misplaced write.
  std::uint64_t lba = 0;
  std::uint64_t generation = 0;
  friend bool operator==(const BlockState&, const BlockState&) = default;
};

// "unwritten", "intact", "corrupt".
std::string_view to_string(BlockState::Kind kind) noexcept;

// Classifies one block; its size is block.size(), which must equal the header's block size for
// the block to be intact. Never fails and never reads outside `block`.
BlockState decode_block(ByteSpan block) noexcept;

// decode_block over consecutive blocks of `block_size` bytes. A trailing partial block is
// decoded as a short block of its own (never intact), so no byte goes unaccounted; a
// block_size of 0 gives no blocks.
std::vector<BlockState> decode_blocks(ByteSpan data, std::uint32_t block_size);

}  // namespace iscsi::workload
