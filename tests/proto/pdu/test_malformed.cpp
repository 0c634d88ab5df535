// One test per malformed header or payload: each must fail with its specific Errc, the right
// ISCSI_ERR_* class and a diagnostic that says what was wrong; the framer then stays failed.
#include <gtest/gtest.h>

#include "proto/digest/crc32c.hpp"
#include "proto/pdu/framer.hpp"
#include "proto/pdu/wire.hpp"
#include "samples.hpp"

namespace iscsi::pdu {
namespace {

using test::wire;
namespace w = detail;

FramerConfig initiator_side(DigestConfig digests = {}, bool strict = false) {
  FramerConfig c;
  c.receive = Direction::target_to_initiator;
  c.digests = digests;
  c.decode.strict_reserved = strict;
  return c;
}

FramerConfig target_side(DigestConfig digests = {}, bool strict = false) {
  FramerConfig c = initiator_side(digests, strict);
  c.receive = Direction::initiator_to_target;
  return c;
}

// Feeds `bytes` whole and expects the framer to fail with `errc`; returns the diagnostic.
Diagnostic expect_failure(ByteSpan bytes, const FramerConfig& config, Errc errc) {
  Framer framer(config);
  framer.feed(bytes);
  auto got = framer.next();
  EXPECT_FALSE(got) << "expected " << to_string(errc);
  EXPECT_EQ(got.error(), errc);
  EXPECT_TRUE(framer.failed());
  EXPECT_EQ(framer.diagnostic().errc, errc) << to_string(framer.diagnostic());
  EXPECT_EQ(framer.diagnostic().conn_error, classify(errc));
  EXPECT_FALSE(framer.diagnostic().detail.empty());
  return framer.diagnostic();
}

// Same through the one-shot decoder.
void expect_decode_failure(ByteSpan bytes, DigestConfig digests, bool strict, Errc errc) {
  Diagnostic diag;
  auto got = decode(bytes, digests, DecodeOptions{.strict_reserved = strict}, &diag);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), errc) << to_string(diag);
  EXPECT_EQ(diag.errc, errc);
}

TEST(Malformed, UnknownOpcode) {
  for (const std::uint8_t op : std::initializer_list<std::uint8_t>{0x07, 0x0f, 0x11, 0x1c, 0x27, 0x30, 0x3c, 0x3e}) {
    ByteVector b = wire(test::sample_nop_in());
    b[0] = op;
    const Diagnostic d = expect_failure(b, initiator_side(), Errc::unknown_opcode);
    EXPECT_EQ(d.conn_error, ConnError::bad_opcode);
    EXPECT_EQ(d.raw_opcode, op);
    expect_decode_failure(b, {}, false, Errc::unknown_opcode);
  }
}

TEST(Malformed, InitiatorOpcodeReceivedByTheInitiator) {
  const ByteVector b = wire(test::sample_nop_out());
  const Diagnostic d = expect_failure(b, initiator_side(), Errc::wrong_direction);
  EXPECT_EQ(d.conn_error, ConnError::bad_opcode);
  EXPECT_NE(d.detail.find("NOP-Out"), std::string::npos) << d.detail;
}

TEST(Malformed, TargetOpcodeReceivedByTheTarget) {
  expect_failure(wire(test::sample_data_in()), target_side(), Errc::wrong_direction);
}

TEST(Malformed, AhsOnATypeWithoutAhs) {
  ByteVector b = wire(test::sample_r2t());
  b[w::kTotalAhsLength] = 1;
  b.insert(b.begin() + 48, {0, 1, 2, 0});
  const Diagnostic d = expect_failure(b, initiator_side(), Errc::unexpected_ahs);
  EXPECT_EQ(d.conn_error, ConnError::ahslen);
}

TEST(Malformed, AhsLengthRunsPastTotalAhsLength) {
  ByteVector b = wire(test::sample_scsi_command_ahs());
  store_be16(&b[48], 40);  // extended CDB AHSLength 40 in a 28-byte AHS area
  const Diagnostic d = expect_failure(b, target_side(), Errc::bad_ahs_length);
  EXPECT_EQ(d.conn_error, ConnError::ahslen);
}

TEST(Malformed, TotalAhsLengthLongerThanItsAhs) {
  // TotalAHSLength claims one more word than the AHS use: the spare word parses as an AHS
  // with length 0.
  auto cmd = test::sample_scsi_command();
  cmd.bidi_read_data_length = 5;
  ByteVector b = wire(cmd);
  b[w::kTotalAhsLength] = 3;
  b.insert(b.begin() + 56, {0, 0, 0, 0});
  expect_failure(b, target_side(), Errc::bad_ahs_length);
}

TEST(Malformed, ZeroAhsLength) {
  auto cmd = test::sample_scsi_command();
  cmd.bidi_read_data_length = 5;
  ByteVector b = wire(cmd);
  store_be16(&b[48], 0);
  expect_failure(b, target_side(), Errc::bad_ahs_length);
}

TEST(Malformed, ReservedAhsType) {
  for (const std::uint8_t type : std::initializer_list<std::uint8_t>{0, 3, 63, 0x81}) {
    auto cmd = test::sample_scsi_command();
    cmd.bidi_read_data_length = 5;
    ByteVector b = wire(cmd);
    b[48 + w::ahs::kType] = type;
    const Diagnostic d = expect_failure(b, target_side(), Errc::bad_ahs_type);
    EXPECT_EQ(d.conn_error, ConnError::ahslen);
  }
}

TEST(Malformed, BidiAhsWithWrongLength) {
  auto cmd = test::sample_scsi_command();
  cmd.bidi_read_data_length = 5;
  ByteVector b = wire(cmd);
  store_be16(&b[48], 4);
  expect_failure(b, target_side(), Errc::bad_ahs_length);
}

TEST(Malformed, ExtendedCdbAhsWithoutCdbBytes) {
  auto cmd = test::sample_scsi_command();
  cmd.bidi_read_data_length = 5;
  ByteVector b = wire(cmd);
  store_be16(&b[48], 1);  // only the reserved byte
  b[48 + w::ahs::kType] = 1;
  expect_failure(b, target_side(), Errc::bad_ahs_length);
}

TEST(Malformed, DuplicateAhs) {
  auto cmd = test::sample_scsi_command();
  cmd.bidi_read_data_length = 5;
  ByteVector b = wire(cmd);
  b[w::kTotalAhsLength] = 4;
  const ByteVector again(b.begin() + 48, b.begin() + 56);
  b.insert(b.begin() + 56, again.begin(), again.end());
  expect_failure(b, target_side(), Errc::bad_ahs_type);
}

TEST(Malformed, AhsAreaNotWholeWordsThroughTheDirectApi) {
  const ByteVector ahs = {0, 5, 2, 0, 0, 0};
  EXPECT_EQ(decode_ahs(ahs, Opcode::scsi_command).error(), Errc::bad_ahs_length);
  const ByteVector cdb_ahs = {0, 2, 1, 0, 0xAA, 0, 0, 0};
  EXPECT_EQ(decode_ahs(cdb_ahs, Opcode::nop_out).error(), Errc::bad_ahs_type);
}

TEST(Malformed, DataSegmentOverMaxRecvDataSegmentLength) {
  FramerConfig c = initiator_side();
  c.max_recv_data_segment_length = 8192;
  const ByteVector b = wire(test::sample_data_in(8193));
  const Diagnostic d = expect_failure(ByteSpan(b).first(48), c, Errc::data_segment_too_long);
  EXPECT_EQ(d.conn_error, ConnError::datalen);
  EXPECT_NE(d.detail.find("8193"), std::string::npos) << d.detail;
  EXPECT_NE(d.detail.find("MaxRecvDataSegmentLength 8192"), std::string::npos) << d.detail;
}

TEST(Malformed, LoginDataSegmentOverTheLoginLimit) {
  FramerConfig c = initiator_side();
  c.max_recv_data_segment_length = 262144;
  auto login = test::sample_login_response();
  login.data.assign(8196, 'x');
  const Diagnostic d = expect_failure(wire(login), c, Errc::data_segment_too_long);
  EXPECT_NE(d.detail.find("login limit 8192"), std::string::npos) << d.detail;
}

TEST(Malformed, LimitIsCheckedBeforeThePayloadArrives) {
  FramerConfig c = initiator_side();
  c.max_recv_data_segment_length = 512;
  const ByteVector b = wire(test::sample_data_in(4096));
  Framer framer(c);
  framer.feed(ByteSpan(b).first(48));  // only the BHS
  auto got = framer.next();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(), Errc::data_segment_too_long);
}

TEST(Malformed, DataSegmentOnATypeWithoutData) {
  for (const Pdu& p : {Pdu(test::sample_r2t()), Pdu(test::sample_logout_response()),
                       Pdu(test::sample_task_mgmt_response())}) {
    ByteVector b = wire(p);
    store_be24(&b[w::kDataSegmentLength], 4);
    b.insert(b.end(), {1, 2, 3, 4});
    const Diagnostic d = expect_failure(b, initiator_side(), Errc::unexpected_data);
    EXPECT_EQ(d.conn_error, ConnError::datalen);
  }
}

TEST(Malformed, HeaderDigestWrong) {
  ByteVector b = wire(test::sample_nop_in(), {true, false});
  b[48] ^= 0x01;
  const Diagnostic d = expect_failure(b, initiator_side({true, false}), Errc::header_digest);
  EXPECT_EQ(d.conn_error, ConnError::hdr_dgst);
  expect_decode_failure(b, {true, false}, false, Errc::header_digest);
}

TEST(Malformed, CorruptHeaderIsADigestErrorWhenHeaderDigestIsOn) {
  ByteVector b = wire(test::sample_nop_in(), {true, false});
  b[0] = 0x3c;  // would be unknown_opcode without the digest
  expect_failure(b, initiator_side({true, false}), Errc::header_digest);
  ByteVector c = wire(test::sample_data_in(100), {true, false});
  c[w::kDataSegmentLength] = 0x7F;  // would be too long without the digest
  expect_failure(c, initiator_side({true, false}), Errc::header_digest);
}

TEST(Malformed, HeaderDigestCoversTheAhs) {
  ByteVector b = wire(test::sample_scsi_command_ahs(), {true, false});
  b[60] ^= 0x80;  // inside the extended CDB
  expect_failure(b, target_side({true, false}), Errc::header_digest);
}

TEST(Malformed, DataDigestWrong) {
  ByteVector b = wire(test::sample_data_in(1000), {true, true});
  b[48 + 4 + 500] ^= 0x10;
  const Diagnostic d = expect_failure(b, initiator_side({true, true}), Errc::data_digest);
  EXPECT_EQ(d.conn_error, ConnError::data_dgst);
  expect_decode_failure(b, {true, true}, false, Errc::data_digest);
}

TEST(Malformed, DataDigestCoversThePadding) {
  ByteVector b = wire(test::sample_data_in(1001), {false, true});  // 3 pad bytes
  b[48 + 1002] = 0x01;
  expect_failure(b, initiator_side({false, true}), Errc::data_digest);
}

TEST(Malformed, ReservedBitOfByteZero) {
  ByteVector b = wire(test::sample_nop_in());
  b[0] |= 0x80;
  expect_failure(b, initiator_side({}, true), Errc::reserved_not_zero);
  Framer lenient(initiator_side());
  lenient.feed(b);
  auto got = lenient.next();
  ASSERT_TRUE(got && *got) << "only strict mode checks reserved fields";
}

TEST(Malformed, ImmediateBitOnATargetPdu) {
  ByteVector b = wire(test::sample_scsi_response());
  b[0] |= w::kImmediateBit;
  expect_failure(b, initiator_side({}, true), Errc::reserved_not_zero);
}

TEST(Malformed, LoginRequestWithoutImmediateBit) {
  ByteVector b = wire(test::sample_login_request());
  b[0] &= static_cast<std::uint8_t>(~w::kImmediateBit);
  expect_failure(b, target_side({}, true), Errc::invalid_field);
}

TEST(Malformed, FixedFinalBitClear) {
  ByteVector b = wire(test::sample_r2t());
  b[1] = 0;
  expect_failure(b, initiator_side({}, true), Errc::invalid_field);
}

TEST(Malformed, ReservedFlagBits) {
  ByteVector din = wire(test::sample_data_in());
  din[1] |= 0x20;
  expect_failure(din, initiator_side({}, true), Errc::reserved_not_zero);
  ByteVector rsp = wire(test::sample_scsi_response());
  rsp[1] |= 0x01;
  expect_failure(rsp, initiator_side({}, true), Errc::reserved_not_zero);
  ByteVector login = wire(test::sample_login_request());
  login[1] |= 0x10;
  expect_failure(login, target_side({}, true), Errc::reserved_not_zero);
}

TEST(Malformed, EveryReservedByteOfEveryType) {
  // Hand-listed from RFC 7143's figures (independent of wire.hpp's table) for a few types.
  struct Case {
    Pdu pdu;
    std::vector<std::size_t> reserved;
  };
  const std::vector<Case> cases = {
      {test::sample_nop_in(), {2, 3, 36, 40, 44, 47}},
      {test::sample_data_in(), {2}},
      {test::sample_login_response(), {20, 23, 38, 47}},
      {test::sample_logout_response(), {3, 8, 15, 20, 36, 39, 44, 47}},
      {test::sample_reject(), {3, 8, 15, 20, 23, 40, 47}},
      {test::sample_task_mgmt_response(), {3, 8, 20, 36, 47}},
      {test::sample_async_message(), {2, 3, 20, 23, 44, 47}},
      {test::sample_data_out(), {2, 3, 24, 27, 32, 35, 44, 47}},
      {test::sample_snack_request(), {2, 3, 24, 27, 32, 39}},
      {test::sample_logout_request(), {2, 3, 8, 15, 22, 23, 32, 47}},
      {test::sample_login_request(), {22, 23, 32, 47}},
  };
  for (const Case& c : cases) {
    const Direction d = direction_of(opcode_of(c.pdu));
    const FramerConfig config = d == Direction::target_to_initiator ? initiator_side({}, true)
                                                                    : target_side({}, true);
    for (std::size_t at : c.reserved) {
      ByteVector b = wire(c.pdu);
      b[at] = 0x5A;
      const Diagnostic diag = expect_failure(b, config, Errc::reserved_not_zero);
      EXPECT_NE(diag.detail.find("byte " + std::to_string(at)), std::string::npos) << diag.detail;
    }
  }
}

TEST(Malformed, AsyncMessageWithATaskTag) {
  ByteVector b = wire(test::sample_async_message());
  store_be32(&b[w::kItt], 0x10);
  expect_failure(b, initiator_side({}, true), Errc::invalid_field);
}

TEST(Malformed, DataInStatusWithoutFinal) {
  auto din = test::sample_data_in();
  din.final_pdu = false;  // S stays set
  const Diagnostic d = expect_failure(wire(din), initiator_side(), Errc::invalid_field);
  EXPECT_NE(d.detail.find("S bit set without F bit"), std::string::npos);
  EXPECT_EQ(d.conn_error, ConnError::proto);
}

TEST(Malformed, DataInOverflowAndUnderflow) {
  auto din = test::sample_data_in();
  din.overflow = din.underflow = true;
  expect_failure(wire(din), initiator_side(), Errc::invalid_field);
}

TEST(Malformed, DataInResidualBitsWithoutStatus) {
  auto din = test::sample_data_in();
  din.status_present = false;
  din.underflow = true;
  expect_failure(wire(din), initiator_side({}, true), Errc::reserved_not_zero);
}

TEST(Malformed, ScsiResponseOverflowAndUnderflow) {
  auto rsp = test::sample_scsi_response();
  rsp.bidi_read_overflow = false;
  rsp.overflow = rsp.underflow = true;
  expect_failure(wire(rsp), initiator_side(), Errc::invalid_field);
  rsp = test::sample_scsi_response();
  rsp.bidi_read_overflow = rsp.bidi_read_underflow = true;
  expect_failure(wire(rsp), initiator_side(), Errc::invalid_field);
}

TEST(Malformed, LoginReservedStage) {
  auto lr = test::sample_login_response();
  lr.csg = static_cast<Stage>(2);
  expect_failure(wire(lr), initiator_side(), Errc::invalid_field);
  lr = test::sample_login_response();
  lr.nsg = static_cast<Stage>(2);
  expect_failure(wire(lr), initiator_side(), Errc::invalid_field);
  lr.transit = false;  // NSG is reserved (ignored) without T
  Framer framer(initiator_side());
  framer.feed(wire(lr));
  auto got = framer.next();
  EXPECT_TRUE(got && *got);
}

TEST(Malformed, LoginTransitAndContinue) {
  auto lr = test::sample_login_response();
  lr.transit = lr.cont = true;
  expect_failure(wire(lr), initiator_side(), Errc::invalid_field);
}

TEST(Malformed, TextFinalAndContinue) {
  auto tr = test::sample_text_response();
  tr.final_pdu = tr.cont = true;
  expect_failure(wire(tr), initiator_side(), Errc::invalid_field);
}

TEST(Malformed, TruncatedStreamAtEveryOffset) {
  for (const DigestConfig digests : {DigestConfig{}, DigestConfig{true, true}}) {
    const ByteVector b = wire(test::sample_data_in(37), digests);
    for (std::size_t cut = 1; cut < b.size(); ++cut) {
      Framer framer(initiator_side(digests));
      framer.feed(ByteSpan(b).first(cut));
      auto got = framer.next();
      ASSERT_TRUE(got);
      EXPECT_FALSE(*got);
      const std::error_code ec = framer.finish();
      EXPECT_EQ(ec, Errc::truncated) << cut;
      EXPECT_EQ(framer.diagnostic().conn_error, ConnError::tcp_conn_close);
      EXPECT_TRUE(framer.failed());
      expect_decode_failure(ByteSpan(b).first(cut), digests, false, Errc::truncated);
    }
  }
}

TEST(Malformed, DecodeBhsNeeds48Bytes) {
  const ByteVector b = wire(test::sample_nop_in());
  EXPECT_EQ(decode_bhs(ByteSpan(b).first(47)).error(), Errc::truncated);
}

TEST(Malformed, FailureIsStickyAndPointsAtTheOffendingPdu) {
  ByteVector stream = wire(test::sample_nop_in());
  ByteVector bad = wire(test::sample_r2t());
  bad[0] = 0x3d;
  stream.insert(stream.end(), bad.begin(), bad.end());
  Framer framer(initiator_side());
  framer.feed(stream);
  auto first = framer.next();
  ASSERT_TRUE(first && *first);
  auto second = framer.next();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), Errc::unknown_opcode);
  EXPECT_EQ(framer.diagnostic().stream_offset, 48u);
  EXPECT_NE(to_string(framer.diagnostic()).find("ISCSI_ERR_BAD_OPCODE"), std::string::npos)
      << to_string(framer.diagnostic());
  framer.feed(wire(test::sample_nop_in()));  // good bytes do not revive it
  auto third = framer.next();
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error(), Errc::unknown_opcode);
  EXPECT_EQ(framer.finish(), Errc::unknown_opcode);
  EXPECT_EQ(framer.state(), Framer::State::failed);
}

}  // namespace
}  // namespace iscsi::pdu
