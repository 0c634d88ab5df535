// workload/block_pattern: the round trip, every byte of a block damaged in turn (each one must
// be noticed, and a damaged magic makes the block foreign), every truncation, and the three
// kinds a reader tells apart: unwritten, intact (possibly from another LBA), corrupt.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

#include "proto/digest/crc32c.hpp"
#include "workload/block_pattern.hpp"

namespace iscsi::workload {
namespace {

using Kind = BlockState::Kind;

ByteVector encoded(std::uint64_t lba, std::size_t blocks, std::uint32_t block_size,
                   std::uint64_t generation) {
  ByteVector v(blocks * block_size);
  encode_blocks(v, lba, block_size, generation);
  return v;
}

TEST(BlockPattern, RoundTripAcrossBlockSizesLbasAndGenerations) {
  for (std::uint32_t bs : {64u, 72u, 512u, 520u, 4096u}) {
    for (std::uint64_t lba : {0ull, 1ull, 12345ull, 0xFFFFFFFFFFFFFFF0ull}) {
      for (std::uint64_t gen : {0ull, 1ull, (1ull << 48) | 7, ~0ull}) {
        auto data = encoded(lba, 4, bs, gen);
        auto states = decode_blocks(data, bs);
        ASSERT_EQ(states.size(), 4u);
        for (std::size_t i = 0; i < states.size(); ++i) {
          EXPECT_EQ(states[i], (BlockState{Kind::intact, lba + i, gen}))
              << "bs " << bs << " lba " << lba << " gen " << gen << " block " << i;
        }
      }
    }
  }
}

TEST(BlockPattern, LayoutIsTheDocumentedOne) {
  auto b = encoded(0x0102030405060708ull, 1, 512, 0x1112131415161718ull);
  EXPECT_EQ(std::memcmp(b.data(), "iSCSIlab", 8), 0);
  EXPECT_EQ(load_le64(b.data() + 8), 0x0102030405060708ull);
  EXPECT_EQ(load_le64(b.data() + 16), 0x1112131415161718ull);
  EXPECT_EQ(load_le32(b.data() + 24), 512u);
  EXPECT_EQ(load_le32(b.data() + 28), digest::crc32c(ByteSpan(b).first(28)));
}

TEST(BlockPattern, FillDependsOnLbaAndGeneration) {
  auto a = encoded(10, 1, 512, 5);
  auto other_lba = encoded(11, 1, 512, 5);
  auto other_gen = encoded(10, 1, 512, 6);
  EXPECT_FALSE(std::equal(a.begin() + 32, a.end(), other_lba.begin() + 32));
  EXPECT_FALSE(std::equal(a.begin() + 32, a.end(), other_gen.begin() + 32));
  // Consecutive blocks of one write differ too (the fill is not a repeated word).
  auto two = encoded(10, 2, 512, 5);
  EXPECT_FALSE(std::equal(two.begin() + 32, two.begin() + 512, two.begin() + 512 + 32));
}

TEST(BlockPattern, ZerosAndForeignDataAreUnwritten) {
  ByteVector zeros(4096);
  for (const auto& st : decode_blocks(zeros, 512)) EXPECT_EQ(st, BlockState{});
  ByteVector foreign(512, 0xA5);
  EXPECT_EQ(decode_block(foreign).kind, Kind::unwritten);
}

// Every byte of a block flipped in turn: in the magic the block is no longer ours
// (unwritten); anywhere else it is corrupt, never intact.
TEST(BlockPattern, EveryFlippedByteIsNoticed) {
  for (std::uint32_t bs : {64u, 512u}) {
    const auto good = encoded(77, 1, bs, 0x0001000000000042ull);
    for (std::size_t i = 0; i < bs; ++i) {
      for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xFF}}) {
        auto bad = good;
        bad[i] ^= mask;
        const auto st = decode_block(bad);
        if (i < 8) {
          EXPECT_EQ(st.kind, Kind::unwritten) << "offset " << i;
        } else {
          EXPECT_EQ(st.kind, Kind::corrupt) << "bs " << bs << " offset " << i;
        }
      }
    }
  }
}

TEST(BlockPattern, OneFlippedFillByteIsCorruptWithTheHeaderValues) {
  auto b = encoded(1000, 1, 512, 99);
  b[300] ^= 0x10;
  EXPECT_EQ(decode_block(b), (BlockState{Kind::corrupt, 1000, 99}));
}

// A header patched consistently (CRC recomputed) to claim another write still fails on the fill.
TEST(BlockPattern, ForgedHeaderWithValidCrcIsCorrupt) {
  auto b = encoded(1000, 1, 512, 99);
  store_le64(b.data() + 16, 100);
  store_le32(b.data() + 28, digest::crc32c(ByteSpan(b).first(28)));
  EXPECT_EQ(decode_block(b), (BlockState{Kind::corrupt, 1000, 100}));
}

// What a misplaced write looks like: a block that is intact, but says another LBA.
TEST(BlockPattern, BlockFromAnotherLbaIsIntactWithItsOwnLba) {
  auto region = encoded(200, 8, 512, 3);
  // The block of LBA 205 read back where LBA 201 should be.
  std::memcpy(region.data() + 512, region.data() + 5 * 512, 512);
  auto states = decode_blocks(region, 512);
  EXPECT_EQ(states[1], (BlockState{Kind::intact, 205, 3}));
  EXPECT_NE(states[1].lba, 200u + 1);
}

TEST(BlockPattern, WrongBlockSizeIsCorrupt) {
  auto b = encoded(5, 2, 512, 1);
  // Read as 1024-byte blocks, the header's block size (512) does not match.
  auto states = decode_blocks(b, 1024);
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0], (BlockState{Kind::corrupt, 5, 1}));
  // Read as 256-byte blocks: the first is ours but short, the second has no magic.
  states = decode_blocks(b, 256);
  ASSERT_EQ(states.size(), 4u);
  EXPECT_EQ(states[0].kind, Kind::corrupt);
  EXPECT_EQ(states[1].kind, Kind::unwritten);
}

// Every prefix of a block: never intact, never out of bounds, and the header fields it still
// holds are reported.
TEST(BlockPattern, EveryTruncationIsSafe) {
  const auto b = encoded(0xABCDEFull, 1, 128, 0x1234ull);
  for (std::size_t n = 0; n < b.size(); ++n) {
    ByteVector copy(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));  // exact-size heap copy
    const auto st = decode_block(copy);
    if (n < 8) {
      EXPECT_EQ(st.kind, Kind::unwritten) << n;
    } else {
      EXPECT_EQ(st.kind, Kind::corrupt) << n;
      EXPECT_EQ(st.lba, n >= 16 ? 0xABCDEFull : 0u) << n;
      EXPECT_EQ(st.generation, n >= 24 ? 0x1234ull : 0u) << n;
    }
  }
}

// decode_blocks at every start offset of a run of blocks: only the aligned start finds intact
// blocks; misaligned views never crash and never invent one.
TEST(BlockPattern, EveryMisalignedViewFindsNoIntactBlock) {
  const auto data = encoded(40, 4, 64, 8);
  for (std::size_t off = 0; off < 64; ++off) {
    auto states = decode_blocks(ByteSpan(data).subspan(off), 64);
    ASSERT_EQ(states.size(), (data.size() - off + 63) / 64);
    for (const auto& st : states) {
      EXPECT_EQ(st.kind == Kind::intact, off == 0) << off;
    }
  }
}

TEST(BlockPattern, TrailingPartialBlockIsDecodedShortAndZeroBlockSizeGivesNone) {
  auto data = encoded(1, 2, 64, 2);
  data.resize(100);
  auto states = decode_blocks(data, 64);
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].kind, Kind::intact);
  EXPECT_EQ(states[1].kind, Kind::corrupt);
  EXPECT_TRUE(decode_blocks(data, 0).empty());
  EXPECT_TRUE(decode_blocks({}, 512).empty());
}

TEST(BlockPattern, EncodeRefusesBadBlockSizesAndLeavesTheTailAlone) {
  ByteVector v(200, 0xEE);
  EXPECT_THROW(encode_blocks(v, 0, 63, 1), std::invalid_argument);
  EXPECT_THROW(encode_blocks(v, 0, 100, 1), std::invalid_argument);
  EXPECT_THROW(encode_blocks(v, 0, 0, 1), std::invalid_argument);
  encode_blocks(v, 0, 64, 1);  // three blocks; bytes 192..199 untouched
  for (std::size_t i = 192; i < 200; ++i) EXPECT_EQ(v[i], 0xEE);
  EXPECT_EQ(decode_blocks(ByteSpan(v).first(192), 64).back().kind, Kind::intact);
}

TEST(BlockPattern, KindNames) {
  EXPECT_EQ(to_string(Kind::unwritten), "unwritten");
  EXPECT_EQ(to_string(Kind::intact), "intact");
  EXPECT_EQ(to_string(Kind::corrupt), "corrupt");
}

}  // namespace
}  // namespace iscsi::workload
