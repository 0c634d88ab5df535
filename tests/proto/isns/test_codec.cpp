// iSNSP framing: the header's golden bytes (written by hand from RFC 4171 section 5.1), PDU
// splitting and reassembly (First/Last PDU flags, Sequence IDs), grind, and one test per broken
// rule. TLV attributes and their value types: golden bytes, alignment, truncation, hostile strings.
#include <gtest/gtest.h>

#include "proto/isns/attributes.hpp"
#include "proto/isns/codec.hpp"
#include "support/grind.hpp"
#include "support/hex.hpp"

namespace iscsi::isns {
namespace {

using test::from_hex;

Message sample(std::size_t payload_bytes) {
  Message m;
  m.function = 0x8002;
  m.flags = flag::server;
  m.transaction = 0x1234;
  for (std::size_t i = 0; i < payload_bytes; ++i) m.payload.push_back(static_cast<std::uint8_t>(i));
  return m;
}

TEST(IsnsHeader, GoldenBytes) {
  // version 1, DevAttrQry, 8 payload bytes, client|last|first, xid 0x0102, seq 0.
  Header h{kVersion, 0x0002, 8, flag::client | flag::last_pdu | flag::first_pdu, 0x0102, 0};
  std::uint8_t out[kHeaderSize];
  encode_header(h, out);
  EXPECT_EQ(ByteVector(out, out + kHeaderSize), from_hex("0001 0002 0008 8c00 0102 0000"));
  EXPECT_EQ(decode_header(out), h);
}

TEST(IsnsMessage, OnePduGoldenBytes) {
  Message m{0x0004, flag::client, 7, from_hex("00000000 00000000")};
  EXPECT_EQ(encode_message(m), from_hex("0001 0004 0008 8c00 0007 0000  00000000 00000000"));
  EXPECT_EQ(*decode_message(encode_message(m)), m);
}

TEST(IsnsMessage, EmptyPayloadIsOnePdu) {
  Message m{0x8004, flag::server, 9, {}};
  EXPECT_EQ(encode_message(m), from_hex("0001 8004 0000 4c00 0009 0000"));
  EXPECT_EQ(*decode_message(encode_message(m)), m);
}

TEST(IsnsMessage, SplitIntoPdusAndReassembled) {
  const Message m = sample(40);
  const ByteVector wire = encode_message(m, 16);  // 16 + 16 + 8
  ASSERT_EQ(wire.size(), 3 * kHeaderSize + 40);
  EXPECT_EQ(ByteVector(wire.begin(), wire.begin() + 12), from_hex("0001 8002 0010 4400 1234 0000"));
  EXPECT_EQ(ByteVector(wire.begin() + 28, wire.begin() + 40), from_hex("0001 8002 0010 4000 1234 0001"));
  EXPECT_EQ(ByteVector(wire.begin() + 56, wire.begin() + 68), from_hex("0001 8002 0008 4800 1234 0002"));
  MessageAssembler a;
  ASSERT_EQ(*a.feed(wire), wire.size());
  ASSERT_TRUE(a.complete());
  EXPECT_EQ(a.pdus(), 3u);
  EXPECT_EQ(a.take(), m);
}

TEST(IsnsMessage, GrindReassembly) {
  const Message m = sample(44);
  const ByteVector wire = encode_message(m, 12);
  test::grind_splits(wire, [&](const test::Pieces& pieces) {
    MessageAssembler a;
    for (auto piece : pieces) {
      auto used = a.feed(piece);
      ASSERT_TRUE(used);
      ASSERT_EQ(*used, piece.size());
    }
    ASSERT_TRUE(a.complete());
    EXPECT_EQ(a.take(), m);
  });
}

TEST(IsnsMessage, StopsAtTheEndOfTheMessage) {
  ByteVector wire = encode_message(sample(8));
  const ByteVector next = encode_message(sample(4));
  wire.insert(wire.end(), next.begin(), next.end());
  MessageAssembler a;
  EXPECT_EQ(*a.feed(wire), kHeaderSize + 8);
  EXPECT_EQ(a.take(), sample(8));
  EXPECT_EQ(*a.feed(ByteSpan(wire).subspan(kHeaderSize + 8)), next.size());
  EXPECT_EQ(a.take(), sample(4));
  EXPECT_EQ(decode_message(wire).error(), make_error_code(Errc::trailing_bytes));
}

std::error_code decode_error(const ByteVector& wire) { return decode_message(wire).error(); }

TEST(IsnsMessage, Truncated) {
  const ByteVector wire = encode_message(sample(8));
  for (std::size_t n = 0; n < wire.size(); ++n) {
    EXPECT_EQ(decode_error(ByteVector(wire.begin(), wire.begin() + n)), make_error_code(Errc::truncated));
  }
}

TEST(IsnsMessage, BadVersion) {
  EXPECT_EQ(decode_error(from_hex("0002 8002 0000 4c00 0001 0000")), make_error_code(Errc::bad_version));
}

TEST(IsnsMessage, AuthBlockRefused) {
  EXPECT_EQ(decode_error(from_hex("0001 8002 0000 6c00 0001 0000")),
            make_error_code(Errc::auth_block_unsupported));
}

TEST(IsnsMessage, FirstPduFlagMissing) {
  EXPECT_EQ(decode_error(from_hex("0001 8002 0000 4800 0001 0000")),
            make_error_code(Errc::first_pdu_flag_missing));
}

TEST(IsnsMessage, FirstPduWithNonZeroSequence) {
  EXPECT_EQ(decode_error(from_hex("0001 8002 0000 4c00 0001 0001")),
            make_error_code(Errc::sequence_out_of_order));
}

TEST(IsnsMessage, SecondPduRules) {
  const ByteVector first = from_hex("0001 8002 0004 4400 0001 0000 00000000");
  auto with = [&](std::string_view second) {
    ByteVector w = first;
    const ByteVector s = from_hex(second);
    w.insert(w.end(), s.begin(), s.end());
    return decode_error(w);
  };
  EXPECT_FALSE(with("0001 8002 0000 4800 0001 0001"));
  EXPECT_EQ(with("0001 8002 0000 4c00 0001 0001"), make_error_code(Errc::first_pdu_flag_repeated));
  EXPECT_EQ(with("0001 8002 0000 4800 0001 0002"), make_error_code(Errc::sequence_out_of_order));
  EXPECT_EQ(with("0001 8002 0000 4800 0001 0000"), make_error_code(Errc::sequence_out_of_order));
  EXPECT_EQ(with("0001 8001 0000 4800 0001 0001"), make_error_code(Errc::pdu_changed_function));
  EXPECT_EQ(with("0001 8002 0000 4800 0002 0001"), make_error_code(Errc::pdu_changed_transaction));
}

TEST(IsnsMessage, MessageTooLongAndSticky) {
  const ByteVector wire = encode_message(sample(64), 16);
  MessageAssembler a(32);
  auto used = a.feed(wire);
  EXPECT_EQ(used.error(), make_error_code(Errc::message_too_long));
  EXPECT_EQ(a.feed(wire).error(), make_error_code(Errc::assembler_failed));
}

TEST(IsnsAttributes, GoldenBytes) {
  ByteVector out;
  append_attribute(out, *string_attribute(tag::iscsi_name, "iqn.a"));
  append_attribute(out, u32_attribute(tag::iscsi_node_type, node_type::target));
  append_attribute(out, null_attribute(tag::delimiter));
  EXPECT_EQ(out, from_hex("00000020 00000008 69716e2e 61000000"
                          "00000021 00000004 00000001"
                          "00000000 00000000"));
  auto back = decode_attributes(out);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ(*read_string((*back)[0]), "iqn.a");
  EXPECT_EQ(*read_u32((*back)[1]), 1u);
  EXPECT_TRUE((*back)[2].value.empty());
  EXPECT_EQ(encoded_size(*back), out.size());
}

TEST(IsnsAttributes, StringPaddingAlwaysHasANul) {
  // 4 characters need a NUL, so 8 bytes; 3 characters fit 4 bytes with their NUL.
  EXPECT_EQ(string_attribute(32, "abcd")->value, from_hex("61626364 00000000"));
  EXPECT_EQ(string_attribute(32, "abc")->value, from_hex("61626300"));
  EXPECT_EQ(string_attribute(32, "")->value, from_hex("00000000"));
}

TEST(IsnsAttributes, Malformed) {
  Diagnostic d;
  EXPECT_EQ(decode_attributes(from_hex("00000020 000000"), &d).error(),
            make_error_code(Errc::attribute_truncated));
  EXPECT_EQ(decode_attributes(from_hex("00000020 00000003 616200"), &d).error(),
            make_error_code(Errc::attribute_misaligned));
  EXPECT_EQ(d.tag, 32u);
  EXPECT_EQ(decode_attributes(from_hex("00000021 00000004 00000001 00000020 00000008 61626300"), &d).error(),
            make_error_code(Errc::attribute_overrun));
  EXPECT_EQ(d.offset, 12u);
  EXPECT_EQ(d.attribute_index, 1u);
  // A length near 2^32 must not wrap around the bounds check.
  EXPECT_EQ(decode_attributes(from_hex("00000020 fffffffc 00000000")).error(),
            make_error_code(Errc::attribute_overrun));
}

TEST(IsnsAttributes, HostileStrings) {
  EXPECT_EQ(read_string(Attribute{32, from_hex("61626364")}).error(),
            make_error_code(Errc::string_not_terminated));
  EXPECT_EQ(read_string(Attribute{32, from_hex("61620063")}).error(),
            make_error_code(Errc::string_bad_padding));
  EXPECT_EQ(read_string(Attribute{32, from_hex("611b5b6d 00000000")}).error(),  // ESC [ m
            make_error_code(Errc::string_control_character));
  EXPECT_EQ(read_string(Attribute{32, from_hex("610a6200")}).error(),
            make_error_code(Errc::string_control_character));
  EXPECT_EQ(read_string(Attribute{32, from_hex("617f6200")}).error(),
            make_error_code(Errc::string_control_character));
  EXPECT_EQ(string_attribute(32, "a\nb").error(), make_error_code(Errc::invalid_argument));
  EXPECT_EQ(string_attribute(32, std::string_view("a\0b", 3)).error(),
            make_error_code(Errc::invalid_argument));
  EXPECT_EQ(read_u32(Attribute{33, from_hex("00000001 00000000")}).error(),
            make_error_code(Errc::integer_bad_length));
  EXPECT_EQ(read_ip(Attribute{16, from_hex("7f000001")}).error(),
            make_error_code(Errc::ip_address_bad_length));
}

TEST(IsnsAddresses, ParseAndFormat) {
  auto v4 = parse_ip("192.0.2.1");
  ASSERT_TRUE(v4);
  EXPECT_EQ(ByteVector(v4->begin(), v4->end()), from_hex("00000000 00000000 0000ffff c0000201"));
  EXPECT_TRUE(is_ipv4_mapped(*v4));
  EXPECT_EQ(format_ip(*v4), "192.0.2.1");
  for (std::string_view text : {"2001:db8::1", "::1", "::", "fe80::5054:ff:fe12:3456",
                                "2001:db8:0:1:1:1:1:1", "1::", "2001:0:0:1::1"}) {
    auto ip = parse_ip(text);
    ASSERT_TRUE(ip) << text;
    EXPECT_EQ(format_ip(*ip), text);
  }
  EXPECT_EQ(format_ip(*parse_ip("2001:DB8:0:0:0:0:0:1")), "2001:db8::1");
  EXPECT_EQ(format_ip(*parse_ip("::ffff:10.0.0.1")), "10.0.0.1");
  for (std::string_view bad : {"", "1.2.3", "1.2.3.256", "1.2.3.4.5", "01234.1.1.1", ":::",
                               "1::2::3", "12345::", "g::1", "1:2:3:4:5:6:7:8:9", "::1%eth0"}) {
    EXPECT_FALSE(parse_ip(bad)) << bad;
  }
}

}  // namespace
}  // namespace iscsi::isns
