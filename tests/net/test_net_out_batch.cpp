// OutBatch must put on the wire exactly what pdu::encode produces, whether a PDU's data is
// copied (small) or referenced (large), with and without digests, with an AHS, and with every
// padding length.
#include <gtest/gtest.h>

#include "net/out_batch.hpp"
#include "proto/pdu/pdu.hpp"

namespace iscsi::net::detail {
namespace {

ByteVector flatten(const OutBatch& b) {
  ByteVector out;
  b.for_each([&](const std::uint8_t* p, std::size_t n) { out.insert(out.end(), p, p + n); });
  return out;
}

ByteVector bytes(std::size_t n, std::uint8_t seed) {
  ByteVector v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 31);
  return v;
}

std::vector<pdu::Pdu> sample_pdus() {
  std::vector<pdu::Pdu> out;
  for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{8191}, std::size_t{8192},
                          std::size_t{8193}, std::size_t{65535}, std::size_t{65536}}) {
    pdu::DataOut d;
    d.itt = 0x10;
    d.ttt = 0x20;
    d.data_sn = SerialNumber{3};
    d.buffer_offset = 4096;
    d.final_pdu = true;
    d.data = bytes(len, static_cast<std::uint8_t>(len));
    out.emplace_back(std::move(d));
  }
  pdu::ScsiCommand cmd;  // a 32-byte CDB: Extended CDB AHS, plus immediate data
  cmd.itt = 0x30;
  cmd.write = true;
  cmd.final_pdu = false;
  cmd.expected_data_transfer_length = 1 << 20;
  cmd.cdb[0] = 0x7F;
  cmd.extended_cdb = bytes(16, 7);
  cmd.data = bytes(10001, 9);
  out.emplace_back(cmd);
  cmd.data = bytes(100, 9);
  out.emplace_back(cmd);
  pdu::NopOut nop;
  nop.immediate = true;
  out.emplace_back(nop);
  return out;
}

TEST(NetOutBatch, GatheredBytesEqualEncode) {
  for (const pdu::DigestConfig dg : {pdu::DigestConfig{false, false}, pdu::DigestConfig{true, false},
                                     pdu::DigestConfig{false, true}, pdu::DigestConfig{true, true}}) {
    SCOPED_TRACE(std::to_string(dg.header) + std::to_string(dg.data));
    OutBatch batch;
    ByteVector expected;
    for (const auto& p : sample_pdus()) {
      ASSERT_FALSE(pdu::encode(p, dg, expected));
      ASSERT_FALSE(batch.append(p, dg));
    }
    EXPECT_EQ(batch.size(), expected.size());
    EXPECT_EQ(flatten(batch), expected);
    batch.clear();
    EXPECT_TRUE(batch.empty());
    EXPECT_EQ(batch.size(), 0u);
  }
}

TEST(NetOutBatch, LargeDataIsReferencedNotCopied) {
  OutBatch batch;
  pdu::DataOut d;
  d.data = bytes(65536, 1);
  ASSERT_FALSE(batch.append(d, {}));
  std::size_t pieces = 0, largest = 0;
  batch.for_each([&](const std::uint8_t*, std::size_t n) {
    ++pieces;
    largest = std::max(largest, n);
  });
  EXPECT_EQ(pieces, 2u);  // header, data (no padding, no digest)
  EXPECT_EQ(largest, 65536u);
}

}  // namespace
}  // namespace iscsi::net::detail
