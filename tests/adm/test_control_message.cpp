// The control socket's codec: any value survives, repeated keys keep their order, and every
// malformed payload is refused with the line and what was expected.
#include <gtest/gtest.h>

#include "cli/control_message.hpp"

namespace iscsi::cli {
namespace {

TEST(ControlMessage, RoundTripsAnyBytesInValuesAndRepeatedKeys) {
  ControlMessage m;
  std::string every;
  for (int c = 0; c < 256; ++c) every += static_cast<char>(c);
  m.add("op", "login").add("setting", "a=1").add("setting", "b=%2").add("out", every);
  const auto payload = encode_control_payload(m);
  EXPECT_EQ(payload.find('\r'), std::string::npos);
  auto back = decode_control_payload(payload);
  ASSERT_TRUE(back.message) << back.error;
  EXPECT_EQ(*back.message, m);
  EXPECT_EQ(back.message->get("setting"), "a=1");  // the first of a repeated key
}

TEST(ControlMessage, FrameHeaderIsTheBigEndianPayloadLength) {
  ControlMessage m;
  m.add("op", "ping");
  const auto frame = encode_control_frame(m);
  ASSERT_EQ(frame.substr(0, 4), std::string("\0\0\0\x08", 4));
  EXPECT_EQ(control_payload_length(frame.substr(0, 4)), 8u);
  EXPECT_FALSE(control_payload_length(std::string("\x7f\xff\xff\xff", 4)));  // over 16 MiB
}

TEST(ControlMessage, MalformedPayloadsAreRefusedWithLineAndReason) {
  auto error = [](std::string_view p) { return decode_control_payload(p).error; };
  EXPECT_EQ(error("op=ping"), "the last line has no newline (truncated message)");
  EXPECT_EQ(error("op=ping\nnoequals\n"), "line 2: expected key=value, got 'noequals'");
  EXPECT_EQ(error("=x\n"), "line 1: expected key=value, got '=x'");
  EXPECT_EQ(error("Op=x\n"), "line 1: a key is made of a-z, 0-9, '_' and '.', got 'Op'");
  EXPECT_EQ(error("out=50%\n"), "line 1: '%' in the value of out must start %XX");
  EXPECT_EQ(error("out=%G1\n"), "line 1: '%' in the value of out must start %XX");
  EXPECT_EQ(error("out=a\tb\n"), "line 1: a raw control byte in the value of out");
  std::string many;
  for (std::size_t i = 0; i <= kControlMaxFields; ++i) many += "k=v\n";
  EXPECT_EQ(error(many), "line 4097: more than 4096 fields");
  EXPECT_TRUE(decode_control_payload("").message);  // an empty message is a message
}

}  // namespace
}  // namespace iscsi::cli
