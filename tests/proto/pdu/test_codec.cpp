// BHS/AHS codec: encode/decode round trips for every PDU type, every flag and every named code;
// the wire layout of a few fields checked byte by byte; padding and digest placement.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>

#include "proto/digest/crc32c.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/pdu/wire.hpp"
#include "samples.hpp"

namespace iscsi::pdu {
namespace {

using test::all_samples;
using test::wire;

Pdu round_trip(const Pdu& in, DigestConfig digests = {}) {
  const ByteVector bytes = wire(in, digests);
  Diagnostic diag;
  auto out = decode(bytes, digests, DecodeOptions{.strict_reserved = true}, &diag);
  EXPECT_TRUE(out) << to_string(in) << ": " << to_string(diag);
  if (!out) return {};
  EXPECT_EQ(out->consumed, bytes.size());
  return std::move(out->pdu);
}

TEST(Codec, EveryTypeRoundTripsWithAndWithoutDigests) {
  std::set<Opcode> seen;
  for (const DigestConfig digests : {DigestConfig{false, false}, DigestConfig{true, false},
                                     DigestConfig{false, true}, DigestConfig{true, true}}) {
    for (const Pdu& p : all_samples()) {
      EXPECT_EQ(round_trip(p, digests), p) << to_string(p);
      seen.insert(opcode_of(p));
    }
  }
  EXPECT_EQ(seen.size(), 18u);  // all of RFC 7143's opcodes
}

TEST(Codec, AllocatedOpcodeValuesMatchRfc7143) {
  EXPECT_EQ(static_cast<int>(Opcode::nop_out), 0x00);
  EXPECT_EQ(static_cast<int>(Opcode::scsi_command), 0x01);
  EXPECT_EQ(static_cast<int>(Opcode::task_mgmt_request), 0x02);
  EXPECT_EQ(static_cast<int>(Opcode::login_request), 0x03);
  EXPECT_EQ(static_cast<int>(Opcode::text_request), 0x04);
  EXPECT_EQ(static_cast<int>(Opcode::scsi_data_out), 0x05);
  EXPECT_EQ(static_cast<int>(Opcode::logout_request), 0x06);
  EXPECT_EQ(static_cast<int>(Opcode::snack_request), 0x10);
  EXPECT_EQ(static_cast<int>(Opcode::nop_in), 0x20);
  EXPECT_EQ(static_cast<int>(Opcode::scsi_response), 0x21);
  EXPECT_EQ(static_cast<int>(Opcode::task_mgmt_response), 0x22);
  EXPECT_EQ(static_cast<int>(Opcode::login_response), 0x23);
  EXPECT_EQ(static_cast<int>(Opcode::text_response), 0x24);
  EXPECT_EQ(static_cast<int>(Opcode::scsi_data_in), 0x25);
  EXPECT_EQ(static_cast<int>(Opcode::logout_response), 0x26);
  EXPECT_EQ(static_cast<int>(Opcode::r2t), 0x31);
  EXPECT_EQ(static_cast<int>(Opcode::async_message), 0x32);
  EXPECT_EQ(static_cast<int>(Opcode::reject), 0x3f);
  int known = 0;
  for (int raw = 0; raw < 64; ++raw) known += is_known_opcode(static_cast<std::uint8_t>(raw));
  EXPECT_EQ(known, 18);
}

// Flips each boolean of a sample on and off and checks the round trip and the wire bit.
template <class T>
void check_flags(T sample, std::initializer_list<std::pair<bool T::*, std::pair<std::size_t, std::uint8_t>>> flags) {
  for (const auto& [member, where] : flags) {
    for (const bool value : {false, true}) {
      T p = sample;
      p.*member = value;
      // Keep the combination legal: Data-In S needs F, O/U exclusive, T/C and F/C exclusive.
      if constexpr (std::is_same_v<T, DataIn>) {
        if (member == &DataIn::final_pdu && !value) p.status_present = false;
        if (p.status_present) p.final_pdu = true;
        if (member == &DataIn::overflow && value) p.underflow = false;
        if (member == &DataIn::underflow && value) p.overflow = false;
        if (!p.status_present) p.overflow = p.underflow = false;
      }
      if constexpr (std::is_same_v<T, ScsiResponse>) {
        if (member == &ScsiResponse::overflow && value) p.underflow = false;
        if (member == &ScsiResponse::underflow && value) p.overflow = false;
        if (member == &ScsiResponse::bidi_read_overflow && value) p.bidi_read_underflow = false;
        if (member == &ScsiResponse::bidi_read_underflow && value) p.bidi_read_overflow = false;
      }
      if constexpr (std::is_same_v<T, TextRequest> || std::is_same_v<T, TextResponse>) {
        if (member == &T::cont && value) p.final_pdu = false;
        if (member == &T::final_pdu && value) p.cont = false;
      }
      if constexpr (std::is_same_v<T, LoginRequest> || std::is_same_v<T, LoginResponse>) {
        if (member == &T::cont && value) p.transit = false;
        if (member == &T::transit && value) p.cont = false;
      }
      const ByteVector bytes = wire(p);
      EXPECT_EQ((bytes[where.first] & where.second) != 0, value)
          << to_string(T::kOpcode) << " byte " << where.first << " mask " << int(where.second);
      EXPECT_EQ(round_trip(p), Pdu(p)) << to_string(Pdu(p));
    }
  }
}

namespace w = detail;

TEST(Codec, EveryFlagOfEveryTypeRoundTripsAndLandsOnItsBit) {
  const std::pair<std::size_t, std::uint8_t> I{w::kOpcodeByte, w::kImmediateBit};
  const std::pair<std::size_t, std::uint8_t> F{w::kFlagsByte, w::kFinalBit};
  check_flags(test::sample_nop_out(), {{&NopOut::immediate, I}});
  check_flags(test::sample_scsi_command(),
              {{&ScsiCommand::immediate, I},
               {&ScsiCommand::final_pdu, F},
               {&ScsiCommand::read, {1, 0x40}},
               {&ScsiCommand::write, {1, 0x20}}});
  check_flags(test::sample_task_mgmt_request(), {{&TaskMgmtRequest::immediate, I}});
  check_flags(test::sample_login_request(),
              {{&LoginRequest::transit, {1, 0x80}}, {&LoginRequest::cont, {1, 0x40}}});
  check_flags(test::sample_text_request(),
              {{&TextRequest::immediate, I}, {&TextRequest::final_pdu, F}, {&TextRequest::cont, {1, 0x40}}});
  check_flags(test::sample_data_out(), {{&DataOut::final_pdu, F}});
  check_flags(test::sample_logout_request(), {{&LogoutRequest::immediate, I}});
  check_flags(test::sample_scsi_response(),
              {{&ScsiResponse::bidi_read_overflow, {1, 0x10}},
               {&ScsiResponse::bidi_read_underflow, {1, 0x08}},
               {&ScsiResponse::overflow, {1, 0x04}},
               {&ScsiResponse::underflow, {1, 0x02}}});
  check_flags(test::sample_login_response(),
              {{&LoginResponse::transit, {1, 0x80}}, {&LoginResponse::cont, {1, 0x40}}});
  check_flags(test::sample_text_response(),
              {{&TextResponse::final_pdu, F}, {&TextResponse::cont, {1, 0x40}}});
  check_flags(test::sample_data_in(),
              {{&DataIn::final_pdu, F},
               {&DataIn::acknowledge, {1, 0x40}},
               {&DataIn::overflow, {1, 0x04}},
               {&DataIn::underflow, {1, 0x02}},
               {&DataIn::status_present, {1, 0x01}}});
}

TEST(Codec, TypesWhoseFinalBitIsFixedAlwaysSendIt) {
  for (const Pdu& p : all_samples()) {
    const bool fixed = w::kRules[static_cast<std::size_t>(opcode_of(p))].final_always;
    if (fixed) {
      EXPECT_TRUE(wire(p)[w::kFlagsByte] & w::kFinalBit) << to_string(p);
    }
  }
  EXPECT_EQ(wire(LoginRequest{})[0], 0x43) << "Login Request always carries the I bit";
  EXPECT_EQ(load_be32(wire(AsyncMessage{}).data() + w::kItt), kReservedTag);
  EXPECT_EQ(load_be32(wire(Reject{}).data() + w::kItt), kReservedTag);
}

TEST(Codec, EveryNamedCodeRoundTrips) {
  for (auto a : {TaskAttribute::untagged, TaskAttribute::simple, TaskAttribute::ordered,
                 TaskAttribute::head_of_queue, TaskAttribute::aca}) {
    auto p = test::sample_scsi_command();
    p.attr = a;
    EXPECT_EQ(round_trip(p), Pdu(p));
    EXPECT_EQ(wire(p)[1] & 0x07, static_cast<int>(a));
  }
  for (int f = 1; f <= 12; ++f) {
    auto p = test::sample_task_mgmt_request();
    p.function = static_cast<TmfFunction>(f);
    EXPECT_EQ(round_trip(p), Pdu(p));
    EXPECT_EQ(wire(p)[1], 0x80 | f);
    EXPECT_EQ(to_string(p.function).find("unknown"), std::string::npos);
  }
  for (int r : {0, 1, 2, 3, 4, 5, 6, 7, 255}) {
    auto p = test::sample_task_mgmt_response();
    p.response = static_cast<TmfResponse>(r);
    EXPECT_EQ(round_trip(p), Pdu(p));
    EXPECT_EQ(to_string(p.response).find("unknown"), std::string::npos);
  }
  for (int r = 0; r <= 2; ++r) {
    auto p = test::sample_logout_request();
    p.reason = static_cast<LogoutReason>(r);
    EXPECT_EQ(round_trip(p), Pdu(p));
    EXPECT_EQ(wire(p)[1], 0x80 | r);
  }
  for (int r = 0; r <= 3; ++r) {
    auto p = test::sample_logout_response();
    p.response = static_cast<LogoutResponseCode>(r);
    EXPECT_EQ(round_trip(p), Pdu(p));
    EXPECT_EQ(to_string(p.response).find("unknown"), std::string::npos);
  }
  for (int e : {0, 1, 2, 3, 4, 5, 248, 255}) {
    auto p = test::sample_async_message();
    p.async_event = static_cast<AsyncEvent>(e);
    EXPECT_EQ(round_trip(p), Pdu(p));
    EXPECT_EQ(to_string(p.async_event).find("unknown"), std::string::npos) << e;
  }
  for (int r = 2; r <= 0x0c; ++r) {
    auto p = test::sample_reject();
    p.reason = static_cast<RejectReason>(r);
    EXPECT_EQ(round_trip(p), Pdu(p));
    EXPECT_EQ(to_string(p.reason).find("unknown"), std::string::npos);
  }
  for (int t = 0; t <= 3; ++t) {
    auto p = test::sample_snack_request();
    p.type = static_cast<SnackType>(t);
    EXPECT_EQ(round_trip(p), Pdu(p));
    EXPECT_EQ(wire(p)[1], 0x80 | t);
    EXPECT_EQ(to_string(p.type).find("unknown"), std::string::npos);
  }
  for (int c = 0; c <= 3; ++c) {
    auto p = test::sample_login_response();
    p.status_class = static_cast<LoginStatusClass>(c);
    p.status_detail = static_cast<std::uint8_t>(c + 1);
    EXPECT_EQ(round_trip(p), Pdu(p));
  }
  for (auto r : {ScsiResponseCode::command_completed_at_target, ScsiResponseCode::target_failure,
                 static_cast<ScsiResponseCode>(0x80)}) {
    auto p = test::sample_scsi_response();
    p.response = r;
    EXPECT_EQ(round_trip(p), Pdu(p));
    EXPECT_EQ(to_string(r).find("unknown"), std::string::npos);
  }
}

TEST(Codec, LoginStagesLandInCsgAndNsgBits) {
  for (Stage csg : {Stage::security, Stage::operational, Stage::full_feature}) {
    for (Stage nsg : {Stage::security, Stage::operational, Stage::full_feature}) {
      auto p = test::sample_login_request();
      p.csg = csg;
      p.nsg = nsg;
      const ByteVector b = wire(p);
      EXPECT_EQ((b[1] >> 2) & 3, static_cast<int>(csg));
      EXPECT_EQ(b[1] & 3, static_cast<int>(nsg));
      EXPECT_EQ(round_trip(p), Pdu(p));
    }
  }
}

TEST(Codec, EncoderRefusesValuesThatDoNotFitTheirBits) {
  auto tmf = test::sample_task_mgmt_request();
  tmf.function = static_cast<TmfFunction>(0x80);
  EXPECT_EQ(encode(tmf).error(), Errc::invalid_field);
  auto snack = test::sample_snack_request();
  snack.type = static_cast<SnackType>(16);
  EXPECT_EQ(encode(snack).error(), Errc::invalid_field);
  auto cmd = test::sample_scsi_command();
  cmd.attr = static_cast<TaskAttribute>(8);
  EXPECT_EQ(encode(cmd).error(), Errc::invalid_field);
  auto login = test::sample_login_request();
  login.csg = static_cast<Stage>(4);
  EXPECT_EQ(encode(login).error(), Errc::invalid_field);
  login = test::sample_login_request();
  login.isid.a = 0x40;
  EXPECT_EQ(encode(login).error(), Errc::invalid_field);

  ByteVector out = {1, 2, 3};
  EXPECT_EQ(encode(tmf, {}, out), Errc::invalid_field);
  EXPECT_EQ(out, (ByteVector{1, 2, 3})) << "a failed encode leaves the output as it was";
}

TEST(Codec, EncoderRefusesAnOversizedDataSegmentAndAhs) {
  DataOut big;
  big.data.resize(kMaxDataSegmentLength + 1);
  EXPECT_EQ(encode(big).error(), Errc::data_segment_too_long);
  ScsiCommand cmd;
  cmd.extended_cdb.resize(1100);
  EXPECT_EQ(encode(cmd).error(), Errc::bad_ahs_length);
}

TEST(Codec, ScsiCommandStructEncodesAsTheVariantDoes) {
  // The command path encodes a ScsiCommand without the Pdu variant: the same bytes, the same
  // refusals.
  for (const ScsiCommand& cmd : {test::sample_scsi_command(), test::sample_scsi_command_ahs()}) {
    std::array<std::uint8_t, kBhsLength> direct{};
    std::array<std::uint8_t, kBhsLength> via_variant{};
    ASSERT_FALSE(encode_bhs(cmd, direct));
    ASSERT_FALSE(encode_bhs(Pdu(cmd), via_variant));
    EXPECT_EQ(direct, via_variant);
  }
  ScsiCommand big = test::sample_scsi_command();
  big.extended_cdb.resize(1100);
  std::array<std::uint8_t, kBhsLength> out{};
  EXPECT_EQ(encode_bhs(big, out), Errc::bad_ahs_length);
}

TEST(Codec, FieldsLandAtTheirRfcOffsets) {
  // Spot checks against RFC 7143's figures, independent of wire.hpp's names.
  const ByteVector din = wire(test::sample_data_in());
  EXPECT_EQ(din[0], 0x25);
  EXPECT_EQ(din[1], 0x80 | 0x02 | 0x01);   // F U S
  EXPECT_EQ(load_be24(&din[5]), 1000u);    // DataSegmentLength
  EXPECT_EQ(load_be64(&din[8]), 0x0007000000000000ull);
  EXPECT_EQ(load_be32(&din[16]), 0x10u);   // ITT
  EXPECT_EQ(load_be32(&din[20]), 0xFFFFFFFFu);
  EXPECT_EQ(load_be32(&din[24]), 0x110u);  // StatSN
  EXPECT_EQ(load_be32(&din[28]), 0x111u);  // ExpCmdSN
  EXPECT_EQ(load_be32(&din[32]), 0x112u);  // MaxCmdSN
  EXPECT_EQ(load_be32(&din[36]), 4u);      // DataSN
  EXPECT_EQ(load_be32(&din[40]), 0x3000u); // Buffer Offset
  EXPECT_EQ(load_be32(&din[44]), 24u);     // Residual Count

  const ByteVector login = wire(test::sample_login_request());
  EXPECT_EQ(login[0], 0x43);
  EXPECT_EQ(login[1], 0x80 | (1 << 2) | 3);  // T, CSG=1, NSG=3
  EXPECT_EQ(load_be48(&login[8]), 0x00023D000001ull);  // ISID: OUI 0x023d, qualifier 1
  EXPECT_EQ(load_be16(&login[14]), 0x1234);   // TSIH
  EXPECT_EQ(load_be16(&login[20]), 7);        // CID
  EXPECT_EQ(load_be32(&login[24]), 0x77u);    // CmdSN
  EXPECT_EQ(load_be32(&login[28]), 0x88u);    // ExpStatSN

  const ByteVector lr = wire(test::sample_login_response());
  EXPECT_EQ(lr[0], 0x23);
  EXPECT_EQ(lr[36], 0);  // Status-Class
  EXPECT_EQ(lr[37], 0);  // Status-Detail

  const ByteVector r2t = wire(test::sample_r2t());
  EXPECT_EQ(load_be32(&r2t[36]), 1u);        // R2TSN
  EXPECT_EQ(load_be32(&r2t[44]), 0x10000u);  // Desired Data Transfer Length

  const ByteVector async = wire(test::sample_async_message());
  EXPECT_EQ(async[36], 2);                    // AsyncEvent
  EXPECT_EQ(load_be16(&async[38]), 1);
  EXPECT_EQ(load_be16(&async[40]), 2);
  EXPECT_EQ(load_be16(&async[42]), 20);

  const ByteVector lo = wire(test::sample_logout_response());
  EXPECT_EQ(lo[2], 1);                        // Response
  EXPECT_EQ(load_be16(&lo[40]), 2);           // Time2Wait
  EXPECT_EQ(load_be16(&lo[42]), 20);          // Time2Retain

  const ByteVector tmf = wire(test::sample_task_mgmt_request());
  EXPECT_EQ(load_be32(&tmf[20]), 0x10u);      // Referenced Task Tag
  EXPECT_EQ(load_be32(&tmf[32]), 0x33u);      // RefCmdSN
  EXPECT_EQ(load_be32(&tmf[36]), 7u);         // ExpDataSN

  const ByteVector snack = wire(test::sample_snack_request());
  EXPECT_EQ(load_be32(&snack[40]), 4u);       // BegRun
  EXPECT_EQ(load_be32(&snack[44]), 9u);       // RunLength

  const ByteVector rsp = wire(test::sample_scsi_response());
  EXPECT_EQ(rsp[3], 0x02);                    // Status
  EXPECT_EQ(load_be32(&rsp[36]), 3u);         // ExpDataSN
  EXPECT_EQ(load_be32(&rsp[40]), 0x11u);      // Bidirectional Read Residual Count
  EXPECT_EQ(load_be32(&rsp[44]), 0x200u);     // Residual Count
}

TEST(Codec, DataIsPaddedWithZerosAndTheDataDigestCoversThePadding) {
  auto p = test::sample_nop_out();  // 5 data bytes
  const ByteVector b = wire(p, {true, true});
  ASSERT_EQ(b.size(), 48u + 4 + 8 + 4);
  EXPECT_EQ(load_be24(&b[5]), 5u) << "DataSegmentLength excludes padding";
  EXPECT_EQ(digest::load_digest(&b[48]), digest::crc32c(ByteSpan(b).first(48)));
  EXPECT_TRUE(std::equal(p.data.begin(), p.data.end(), b.begin() + 52));
  EXPECT_EQ(b[57], 0);
  EXPECT_EQ(b[58], 0);
  EXPECT_EQ(b[59], 0);
  EXPECT_EQ(digest::load_digest(&b[60]), digest::crc32c(ByteSpan(b).subspan(52, 8)));
}

TEST(Codec, PaddingBytesAreIgnoredOnDecode) {
  auto p = test::sample_nop_out();
  ByteVector b = wire(p);
  b[48 + 5] = 0xAA;  // a non-zero pad byte
  b[48 + 7] = 0x55;
  auto out = decode(b);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->pdu, Pdu(p));
}

TEST(Codec, NoDataDigestWithoutData) {
  const ByteVector b = wire(test::sample_r2t(), {true, true});
  EXPECT_EQ(b.size(), 48u + 4);
}

TEST(Codec, AhsCarriesExtendedCdbAndBidiLength) {
  const auto p = test::sample_scsi_command_ahs();
  const ByteVector b = wire(p);
  // Extended CDB: AHSLength = 16 + 1 (reserved byte), type 1, padded to 20 + 4 = 24 bytes;
  // bidi: AHSLength 5, type 2, 8 bytes.
  ASSERT_EQ(b[w::kTotalAhsLength], (20 + 8) / 4);
  EXPECT_EQ(load_be16(&b[48]), 17);
  EXPECT_EQ(b[50], 1);
  EXPECT_EQ(b[51], 0);
  EXPECT_TRUE(std::equal(p.extended_cdb.begin(), p.extended_cdb.end(), b.begin() + 52));
  EXPECT_EQ(load_be16(&b[68]), 5);
  EXPECT_EQ(b[70], 2);
  EXPECT_EQ(load_be32(&b[72]), 0x2000u);
  EXPECT_EQ(round_trip(p), Pdu(p));
}

TEST(Codec, AhsRoundTripsForEveryExtendedCdbLength) {
  for (std::size_t extra = 0; extra <= 244; ++extra) {
    AhsFields f;
    f.extended_cdb = test::pattern(extra, 3);
    if (extra % 3 == 0) f.bidi_read_data_length = static_cast<std::uint32_t>(extra);
    ByteVector out;
    encode_ahs(f, out);
    ASSERT_EQ(out.size() % 4, 0u);
    ASSERT_EQ(out.size(), ahs_length(f));
    auto back = decode_ahs(out, Opcode::scsi_command);
    ASSERT_TRUE(back) << extra;
    EXPECT_EQ(*back, f);
  }
}

TEST(Codec, DecodeBhsLeavesPayloadFieldsEmpty) {
  const ByteVector b = wire(test::sample_scsi_command_ahs());
  auto p = decode_bhs(ByteSpan(b).first(48));
  ASSERT_TRUE(p);
  const auto& cmd = std::get<ScsiCommand>(*p);
  EXPECT_TRUE(cmd.extended_cdb.empty());
  EXPECT_TRUE(cmd.data.empty());
  EXPECT_EQ(cmd.itt, 0x10u);
  EXPECT_EQ(peek_lengths(ByteSpan(b).first<48>()).ahs, 28u);
  EXPECT_EQ(peek_lengths(ByteSpan(b).first<48>()).data, 3u);
}

TEST(Codec, EncodeBhsMatchesTheFirst48BytesOfEncode) {
  for (const Pdu& p : all_samples()) {
    std::array<std::uint8_t, kBhsLength> bhs{};
    ASSERT_FALSE(encode_bhs(p, bhs));
    const ByteVector b = wire(p);
    EXPECT_TRUE(std::equal(bhs.begin(), bhs.end(), b.begin())) << to_string(p);
  }
}

TEST(Codec, EncodeAppendsToExistingBytes) {
  ByteVector out = {9, 9};
  ASSERT_FALSE(encode(test::sample_r2t(), {}, out));
  ASSERT_FALSE(encode(test::sample_nop_in(), {}, out));
  ASSERT_EQ(out.size(), 2u + 48 + 48);
  auto first = decode(ByteSpan(out).subspan(2));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->pdu, Pdu(test::sample_r2t()));
  auto second = decode(ByteSpan(out).subspan(2 + first->consumed));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->pdu, Pdu(test::sample_nop_in()));
}

TEST(Codec, SenseDataSplitsAndRejectsOverlongSenseLength) {
  const ByteVector seg = make_sense_data(test::pattern(18), test::pattern(4, 9));
  auto split = split_sense_data(seg);
  ASSERT_TRUE(split);
  EXPECT_EQ(split->sense.size(), 18u);
  EXPECT_EQ(split->rest.size(), 4u);
  EXPECT_TRUE(split_sense_data({}));
  const ByteVector bad = {0x00, 0x10, 1, 2, 3};
  EXPECT_EQ(split_sense_data(bad).error(), Errc::bad_sense_length);
  const ByteVector one = {0x00};
  EXPECT_EQ(split_sense_data(one).error(), Errc::bad_sense_length);
}

TEST(Codec, AccessorsWorkForEveryType) {
  for (const Pdu& p : all_samples()) {
    const auto op = opcode_of(p);
    EXPECT_NE(to_string(op).find_first_not_of("0123456789abcdefx "), std::string::npos);
    EXPECT_EQ(to_string(p).rfind(to_string(op), 0), 0u) << to_string(p);
    if (op == Opcode::async_message || op == Opcode::reject) {
      EXPECT_EQ(itt_of(p), kReservedTag);
    }
  }
  EXPECT_EQ(data_of(test::sample_r2t()).size(), 0u);
  EXPECT_EQ(data_of(test::sample_data_in(77)).size(), 77u);
  EXPECT_EQ(itt_of(test::sample_data_in()), 0x10u);
}

TEST(Codec, IsidFormats) {
  const Isid oui = Isid::oui_format(0x023D, 0x123456);
  EXPECT_EQ(oui.type, IsidType::oui);
  EXPECT_EQ(oui.naming_authority(), 0x023Du);
  EXPECT_EQ(oui.qualifier(), 0x123456u);
  EXPECT_EQ(oui.to_u48(), 0x00023D123456ull);
  EXPECT_EQ(to_string(oui), "0x00023d123456");

  const Isid en = Isid::en_format(0x00ABCD, 0x0007);
  EXPECT_EQ(en.type, IsidType::en);
  EXPECT_EQ(en.a, 0);
  EXPECT_EQ(en.naming_authority(), 0x00ABCDu);
  EXPECT_EQ(en.qualifier(), 7u);
  EXPECT_EQ(en.to_u48() >> 46, 1u);

  const Isid rnd = Isid::random_format(0xFEDCBA, 0x0102);
  EXPECT_EQ(rnd.type, IsidType::random);
  EXPECT_EQ(rnd.b, 0xFEDC);
  EXPECT_EQ(rnd.c, 0xBA);
  EXPECT_EQ(rnd.d, 0x0102);
  EXPECT_EQ(Isid::from_u48(rnd.to_u48()), rnd);
  EXPECT_EQ(to_string(IsidType::random), "Random");
}

TEST(Codec, ErrorCodesNameTheAreaAndClassify) {
  std::error_code ec = Errc::header_digest;
  EXPECT_STREQ(ec.category().name(), "iscsi.pdu");
  EXPECT_EQ(ec.message(), "header digest (CRC32C) mismatch");
  EXPECT_EQ(classify(Errc::header_digest), ConnError::hdr_dgst);
  EXPECT_EQ(classify(Errc::data_digest), ConnError::data_dgst);
  EXPECT_EQ(classify(Errc::unknown_opcode), ConnError::bad_opcode);
  EXPECT_EQ(classify(Errc::wrong_direction), ConnError::bad_opcode);
  EXPECT_EQ(classify(Errc::data_segment_too_long), ConnError::datalen);
  EXPECT_EQ(classify(Errc::bad_ahs_length), ConnError::ahslen);
  EXPECT_EQ(classify(Errc::bad_ahs_type), ConnError::ahslen);
  EXPECT_EQ(classify(Errc::invalid_field), ConnError::proto);
  EXPECT_EQ(classify(Errc::truncated), ConnError::tcp_conn_close);
  for (int e = 1; e <= static_cast<int>(Errc::framer_failed); ++e) {
    EXPECT_NE(describe(static_cast<Errc>(e)), "unknown PDU error") << e;
    EXPECT_NE(to_string(static_cast<Errc>(e)), "unknown") << e;
  }
}

}  // namespace
}  // namespace iscsi::pdu
