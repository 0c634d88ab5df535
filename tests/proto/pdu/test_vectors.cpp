// Published byte vectors decoded through the production path: RFC 3720 appendix B.4's
// "iSCSI - SCSI Read (10) Command PDU" with its header digest, and a hand-assembled Login
// Request as open-iscsi sends it.
#include <gtest/gtest.h>

#include "proto/pdu/framer.hpp"
#include "samples.hpp"
#include "support/grind.hpp"
#include "support/hex.hpp"

namespace iscsi::pdu {
namespace {

using iscsi::test::from_hex;

// RFC 3720 B.4: 48 header bytes, then the CRC the RFC prints (its digest as sent on the wire).
const char* const kRfc3720Read =
    "01 c0 00 00  00 00 00 00  00 00 00 00  00 00 00 00"
    "14 00 00 00  00 00 04 00  00 00 00 14  00 00 00 18"
    "28 00 00 00  00 00 00 00  02 00 00 00  00 00 00 00"
    "56 3a 96 d9";

void expect_rfc3720_read(const Pdu& pdu) {
  const auto* cmd = std::get_if<ScsiCommand>(&pdu);
  ASSERT_NE(cmd, nullptr);
  EXPECT_FALSE(cmd->immediate);
  EXPECT_TRUE(cmd->final_pdu);
  EXPECT_TRUE(cmd->read);
  EXPECT_FALSE(cmd->write);
  EXPECT_EQ(cmd->attr, TaskAttribute::untagged);
  EXPECT_EQ(cmd->lun, 0u);
  EXPECT_EQ(cmd->itt, 0x14000000u);
  EXPECT_EQ(cmd->expected_data_transfer_length, 1024u);
  EXPECT_EQ(cmd->cmd_sn, SerialNumber(0x14));
  EXPECT_EQ(cmd->exp_stat_sn, SerialNumber(0x18));
  EXPECT_EQ(cmd->cdb[0], 0x28);  // READ(10)
  EXPECT_EQ(cmd->cdb[8], 0x02);  // two blocks
  EXPECT_TRUE(cmd->extended_cdb.empty());
  EXPECT_TRUE(cmd->data.empty());
}

TEST(Vectors, Rfc3720ReadCommandDecodesWithItsHeaderDigest) {
  const ByteVector bytes = from_hex(kRfc3720Read);
  ASSERT_EQ(bytes.size(), 52u);
  Diagnostic diag;
  auto got = decode(bytes, {.header = true, .data = true}, {.strict_reserved = true}, &diag);
  ASSERT_TRUE(got) << to_string(diag);
  EXPECT_EQ(got->consumed, 52u);
  expect_rfc3720_read(got->pdu);
}

TEST(Vectors, Rfc3720ReadCommandReencodesToTheSameBytes) {
  const ByteVector bytes = from_hex(kRfc3720Read);
  auto got = decode(bytes, {.header = true});
  ASSERT_TRUE(got);
  EXPECT_EQ(test::wire(got->pdu, {.header = true}), bytes);
}

TEST(Vectors, Rfc3720ReadCommandThroughTheFramerAtEverySplit) {
  const ByteVector bytes = from_hex(kRfc3720Read);
  iscsi::test::grind_splits(bytes, [&](const iscsi::test::Pieces& pieces) {
    Framer framer({.receive = Direction::initiator_to_target, .digests = {.header = true}});
    std::optional<Pdu> got;
    for (ByteSpan piece : pieces) {
      framer.feed(piece);
      auto next = framer.next();
      ASSERT_TRUE(next) << to_string(framer.diagnostic());
      if (*next) got = std::move(**next);
    }
    ASSERT_TRUE(got);
    expect_rfc3720_read(*got);
  });
}

TEST(Vectors, Rfc3720ReadCommandWithOneBitFlippedFailsTheDigest) {
  ByteVector bytes = from_hex(kRfc3720Read);
  bytes[24] ^= 0x01;  // CmdSN
  EXPECT_EQ(decode(bytes, {.header = true}).error(), Errc::header_digest);
}

TEST(Vectors, LoginRequestAsOpenIscsiSendsIt) {
  // I, opcode 3; T=1 CSG=1 NSG=3; ISID 00 02 3d 00 00 01 (OUI format, open-iscsi's OUI);
  // TSIH 0; ITT 0; CID 0; CmdSN 1; ExpStatSN 0; 8 bytes of text data.
  const ByteVector bytes = from_hex(
      "43 87 00 00  00 00 00 08  00 02 3d 00  00 01 00 00"
      "00 00 00 00  00 00 00 00  00 00 00 01  00 00 00 00"
      "00 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00"
      "41 3d 42 00  43 3d 44 00");
  auto got = decode(bytes, {}, {.strict_reserved = true});
  ASSERT_TRUE(got);
  const auto& login = std::get<LoginRequest>(got->pdu);
  EXPECT_TRUE(login.transit);
  EXPECT_FALSE(login.cont);
  EXPECT_EQ(login.csg, Stage::operational);
  EXPECT_EQ(login.nsg, Stage::full_feature);
  EXPECT_EQ(login.isid.type, IsidType::oui);
  EXPECT_EQ(login.isid.naming_authority(), 0x023Du);
  EXPECT_EQ(login.isid.qualifier(), 1u);
  EXPECT_EQ(login.cmd_sn, SerialNumber(1));
  EXPECT_EQ(as_chars(login.data), std::string_view("A=B\0C=D\0", 8));
  EXPECT_EQ(test::wire(login), bytes);
}

}  // namespace
}  // namespace iscsi::pdu
