#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "proto/digest/crc32c.hpp"
#include "support/hex.hpp"

namespace iscsi::digest {
namespace {

struct Vector {
  const char* name;
  std::vector<std::uint8_t> data;
  std::uint32_t crc;
};

// RFC 3720 appendix B.4 (the CRC is listed there as its wire bytes, least significant first).
std::vector<Vector> rfc3720_vectors() {
  std::vector<std::uint8_t> inc(32), dec(32);
  std::iota(inc.begin(), inc.end(), std::uint8_t{0});
  for (std::size_t i = 0; i < 32; ++i) dec[i] = static_cast<std::uint8_t>(31 - i);
  return {
      {"32 bytes of zeroes", std::vector<std::uint8_t>(32, 0x00), 0x8a9136aa},
      {"32 bytes of ones", std::vector<std::uint8_t>(32, 0xff), 0x62a8ab43},
      {"32 incrementing bytes", inc, 0x46dd794e},
      {"32 decrementing bytes", dec, 0x113fdb5c},
      {"an iSCSI read command PDU",
       test::from_hex("01c00000 00000000 00000000 00000000 14000000 00000400 00000014 00000018"
                      "28000000 00000000 02000000 00000000"),
       0xd9963a56},
  };
}

TEST(Crc32c, Rfc3720VectorsThroughIsal) {
  for (const auto& v : rfc3720_vectors()) EXPECT_EQ(crc32c(v.data), v.crc) << v.name;
}

TEST(Crc32c, Rfc3720VectorsThroughPortableFallback) {
  for (const auto& v : rfc3720_vectors()) EXPECT_EQ(crc32c_portable(v.data), v.crc) << v.name;
}

TEST(Crc32c, WireBytesAreLeastSignificantFirst) {
  std::uint8_t wire[4];
  store_digest(wire, crc32c(std::vector<std::uint8_t>(32, 0)));
  EXPECT_EQ(std::vector<std::uint8_t>(wire, wire + 4), test::from_hex("aa 36 91 8a"));
  EXPECT_EQ(load_digest(wire), 0x8a9136aau);
}

TEST(Crc32c, IsalAndPortableAgreeOnEveryLengthAndAlignment) {
  std::vector<std::uint8_t> buf(4096 + 64);
  std::uint32_t x = 0x12345678;
  for (auto& b : buf) {
    x = x * 1103515245u + 12345u;
    b = static_cast<std::uint8_t>(x >> 16);
  }
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t len = 0; len < 600; ++len) {
      ByteSpan s(buf.data() + offset, len);
      ASSERT_EQ(crc32c(s), crc32c_portable(s)) << "offset " << offset << " length " << len;
    }
  }
  ByteSpan big(buf.data() + 3, 4096 + 7);
  EXPECT_EQ(crc32c(big), crc32c_portable(big));
}

TEST(Crc32c, IncrementalUpdateMatchesOneShotAtEverySplit) {
  const auto v = rfc3720_vectors()[4].data;
  for (std::size_t cut = 0; cut <= v.size(); ++cut) {
    Crc32c c;
    c.update(ByteSpan(v).first(cut));
    c.update(ByteSpan(v).subspan(cut));
    EXPECT_EQ(c.value(), 0xd9963a56u) << "split at " << cut;
  }
  Crc32c c;
  c.update(v);
  c.reset();
  EXPECT_EQ(c.value(), crc32c({})) << "reset returns to the empty CRC";
  EXPECT_EQ(crc32c({}), 0u);
}

}  // namespace
}  // namespace iscsi::digest
