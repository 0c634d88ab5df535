// SendTargets responses and TargetAddress values: IPv4, bracketed IPv6, host names, default
// port, group tags; one test per malformation; grind and round trip.
#include <gtest/gtest.h>

#include <string>

#include "proto/text/continuation.hpp"
#include "proto/text/sendtargets.hpp"
#include "support/grind.hpp"

namespace iscsi::text {
namespace {

using namespace std::string_literals;

TargetAddress addr(std::string host, HostKind kind, std::uint16_t port, int tag) {
  TargetAddress a;
  a.host = std::move(host);
  a.kind = kind;
  a.port = port;
  a.has_group_tag = tag >= 0;
  a.portal_group_tag = tag >= 0 ? static_cast<std::uint16_t>(tag) : 0;
  return a;
}

TEST(TargetAddressParse, Ipv4WithPortAndTag) {
  EXPECT_EQ(*parse_target_address("192.168.1.10:3260,1"),
            addr("192.168.1.10", HostKind::ipv4, 3260, 1));
}

TEST(TargetAddressParse, DefaultPort) {
  EXPECT_EQ(*parse_target_address("10.0.0.1,7"), addr("10.0.0.1", HostKind::ipv4, 3260, 7));
}

TEST(TargetAddressParse, Ipv6Bracketed) {
  EXPECT_EQ(*parse_target_address("[fe80::5054:ff:fe12:3456]:3261,2"),
            addr("fe80::5054:ff:fe12:3456", HostKind::ipv6, 3261, 2));
  EXPECT_EQ(*parse_target_address("[::1],1"), addr("::1", HostKind::ipv6, 3260, 1));
  EXPECT_EQ(*parse_target_address("[2001:db8:0:0:0:0:0:1]:3260,1"),
            addr("2001:db8:0:0:0:0:0:1", HostKind::ipv6, 3260, 1));
  EXPECT_EQ(*parse_target_address("[::ffff:192.0.2.1]:3260,1"),
            addr("::ffff:192.0.2.1", HostKind::ipv6, 3260, 1));
  EXPECT_EQ(*parse_target_address("[fe80::1%eth0]:3260,1"),
            addr("fe80::1%eth0", HostKind::ipv6, 3260, 1));
  EXPECT_EQ(*parse_target_address("[::]:3260,1"), addr("::", HostKind::ipv6, 3260, 1));
}

TEST(TargetAddressParse, Hostnames) {
  EXPECT_EQ(*parse_target_address("storage.example.com:3260,1"),
            addr("storage.example.com", HostKind::hostname, 3260, 1));
  EXPECT_EQ(*parse_target_address("nas-01,3"), addr("nas-01", HostKind::hostname, 3260, 3));
  EXPECT_EQ(*parse_target_address("host.example.com.:860,1"),
            addr("host.example.com.", HostKind::hostname, 860, 1));
  EXPECT_EQ(*parse_target_address("1host.example:3260,1"),
            addr("1host.example", HostKind::hostname, 3260, 1));
}

TEST(TargetAddressParse, GroupTagForms) {
  EXPECT_EQ(parse_target_address("10.0.0.1:3260,65535")->portal_group_tag, 65535);
  EXPECT_EQ(parse_target_address("10.0.0.1:3260,0")->portal_group_tag, 0);
  EXPECT_EQ(parse_target_address("10.0.0.1:3260,0x10")->portal_group_tag, 16);
}

TEST(TargetAddressParse, RedirectOmitsTag) {
  auto a = parse_target_address("10.0.0.2:3260", AddressContext::redirect);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->has_group_tag);
  EXPECT_EQ(*parse_target_address("[::1]", AddressContext::redirect),
            addr("::1", HostKind::ipv6, 3260, -1));
}

TEST(TargetAddressMalformed, Empty) {
  EXPECT_EQ(parse_target_address("").error(), Errc::target_address_empty);
}
TEST(TargetAddressMalformed, MissingGroupTagInSendTargets) {
  EXPECT_EQ(parse_target_address("10.0.0.1:3260").error(), Errc::target_address_missing_group_tag);
  EXPECT_EQ(parse_target_address("[::1]").error(), Errc::target_address_missing_group_tag);
}
TEST(TargetAddressMalformed, BadIpv4) {
  for (const char* bad : {"256.1.1.1:3260,1", "1.2.3:3260,1", "1.2.3.4.5,1", "1..3.4,1",
                          "1234.1.1.1,1"}) {
    EXPECT_EQ(parse_target_address(bad).error(), Errc::target_address_bad_ipv4) << bad;
  }
}
TEST(TargetAddressMalformed, BadIpv6) {
  for (const char* bad : {"[fe80::1:3260,1", "[fe80:::1]:3260,1", "[1::2::3],1", "[12345::1],1",
                          "[g::1],1", "[1:2:3:4:5:6:7:8:9],1", "[1:2:3:4:5:6:7],1", "[],1",
                          "[::1%]:3260,1", "fe80::1,1", "::1:3260,1", "[::1]x,1",
                          "[::1.2.3]:3260,1"}) {
    EXPECT_EQ(parse_target_address(bad).error(), Errc::target_address_bad_ipv6) << bad;
  }
}
TEST(TargetAddressMalformed, BadHost) {
  for (const char* bad : {":3260,1", ",1", "-host,1", "host-,1", "a..b,1", "ho st,1", "h/x,1"}) {
    EXPECT_EQ(parse_target_address(bad).error(), Errc::target_address_bad_host) << bad;
  }
  EXPECT_EQ(parse_target_address(std::string(64, 'a') + ",1").error(),
            Errc::target_address_bad_host);
}
TEST(TargetAddressMalformed, BadPort) {
  for (const char* bad : {"10.0.0.1:,1", "10.0.0.1:0,1", "10.0.0.1:65536,1", "10.0.0.1:32a,1",
                          "[::1]:,1", "[::1]:999999,1", "h:-1,1"}) {
    EXPECT_EQ(parse_target_address(bad).error(), Errc::target_address_bad_port) << bad;
  }
}
TEST(TargetAddressMalformed, BadGroupTag) {
  for (const char* bad : {"10.0.0.1:3260,", "10.0.0.1:3260,65536", "10.0.0.1:3260,x",
                          "10.0.0.1:3260,1,2", "10.0.0.1:3260,-1"}) {
    EXPECT_EQ(parse_target_address(bad).error(), Errc::target_address_bad_group_tag) << bad;
  }
}

TEST(TargetAddressFormat, RoundTrip) {
  for (const char* s : {"192.168.1.10:3260,1", "[fe80::1]:3261,2", "storage.example.com:3260,9"}) {
    auto a = parse_target_address(s);
    ASSERT_TRUE(a) << s;
    EXPECT_EQ(format_target_address(*a), s);
  }
}

// --- whole responses ---------------------------------------------------------------------------

const std::string kResponse =
    "TargetName=iqn.2003-01.org.linux-iscsi.lab:t0\0"
    "TargetAddress=192.168.122.10:3260,1\0"
    "TargetAddress=[fd00::10]:3260,1\0"
    "TargetName=iqn.2003-01.org.linux-iscsi.lab:t1\0"
    "TargetName=iqn.2003-01.org.linux-iscsi.lab:t2\0"
    "TargetAddress=target2.lab.example:3261,2\0"s;

TEST(SendTargets, ParsesGroups) {
  auto targets = parse_send_targets(as_bytes(kResponse));
  ASSERT_TRUE(targets) << targets.error().message();
  ASSERT_EQ(targets->size(), 3u);
  EXPECT_EQ((*targets)[0].name, "iqn.2003-01.org.linux-iscsi.lab:t0");
  ASSERT_EQ((*targets)[0].addresses.size(), 2u);
  EXPECT_EQ((*targets)[0].addresses[0], addr("192.168.122.10", HostKind::ipv4, 3260, 1));
  EXPECT_EQ((*targets)[0].addresses[1], addr("fd00::10", HostKind::ipv6, 3260, 1));
  EXPECT_TRUE((*targets)[1].addresses.empty());  // reachable at the discovery address
  EXPECT_EQ((*targets)[2].addresses[0], addr("target2.lab.example", HostKind::hostname, 3261, 2));
}

TEST(SendTargets, EmptyResponseHasNoTargets) {
  auto targets = parse_send_targets(ByteSpan{});
  ASSERT_TRUE(targets);
  EXPECT_TRUE(targets->empty());
}

TEST(SendTargets, RoundTrip) {
  auto targets = parse_send_targets(as_bytes(kResponse));
  ASSERT_TRUE(targets);
  KeyValueList response = make_send_targets_response(*targets);
  auto text = encode(response, send_targets_text_options());
  ASSERT_TRUE(text);
  EXPECT_EQ(as_chars(*text), kResponse);
  auto again = parse_send_targets(*text);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *targets);
}

// A response split over Text Response PDUs at every offset parses to the same targets.
TEST(SendTargets, GrindAcrossContinuation) {
  const ByteVector text(kResponse.begin(), kResponse.end());
  const auto whole = parse_send_targets(text);
  ASSERT_TRUE(whole);
  TextAssembler a(send_targets_text_options());
  test::grind_splits(text, [&](const test::Pieces& pieces) {
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      auto r = a.add(pieces[i], i + 1 < pieces.size());
      ASSERT_TRUE(r) << r.error().message();
      if (r->has_value()) {
        auto targets = parse_send_targets(**r);
        ASSERT_TRUE(targets);
        EXPECT_EQ(*targets, *whole);
      }
    }
  });
}

TEST(SendTargets, HundredTargets) {
  std::vector<DiscoveredTarget> in;
  for (int i = 0; i < 100; ++i) {
    in.push_back({"iqn.2026-11.org.example:disk" + std::to_string(i),
                  {addr("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1),
                        HostKind::ipv4, 3260, 1),
                   addr("fd00::" + std::to_string(i + 1), HostKind::ipv6, 3260, 1)}});
  }
  auto text = encode(make_send_targets_response(in), send_targets_text_options());
  ASSERT_TRUE(text);
  auto out = parse_send_targets(*text);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(*out, in);
}

TEST(SendTargetsMalformed, AddressBeforeName) {
  SendTargetsDiagnostic d;
  KeyValueList l = {{"TargetAddress", "10.0.0.1:3260,1"},
                    {"TargetName", "iqn.2026-11.org.example:t"}};
  EXPECT_EQ(parse_send_targets(l, &d).error(), Errc::target_address_before_target_name);
  EXPECT_EQ(d.pair_index, 0u);
}

TEST(SendTargetsMalformed, BadAddressCarriesItsError) {
  SendTargetsDiagnostic d;
  KeyValueList l = {{"TargetName", "iqn.2026-11.org.example:t"},
                    {"TargetAddress", "10.0.0.1:3260,1"},
                    {"TargetAddress", "[fe80::1:3260,1"}};
  EXPECT_EQ(parse_send_targets(l, &d).error(), Errc::target_address_bad_ipv6);
  EXPECT_EQ(d.pair_index, 2u);
  EXPECT_EQ(d.value, "[fe80::1:3260,1");
}

TEST(SendTargetsMalformed, MissingTag) {
  KeyValueList l = {{"TargetName", "iqn.2026-11.org.example:t"},
                    {"TargetAddress", "10.0.0.1:3260"}};
  EXPECT_EQ(parse_send_targets(l).error(), Errc::target_address_missing_group_tag);
}

TEST(SendTargetsMalformed, InvalidTargetName) {
  KeyValueList l = {{"TargetName", "not-an-iscsi-name"}};
  EXPECT_EQ(parse_send_targets(l).error(), Errc::target_name_invalid);
}

TEST(SendTargetsMalformed, DuplicateTargetName) {
  KeyValueList l = {{"TargetName", "iqn.2026-11.org.example:t"},
                    {"TargetName", "iqn.2026-11.org.example:t"}};
  EXPECT_EQ(parse_send_targets(l).error(), Errc::duplicate_target_name);
}

TEST(SendTargetsMalformed, UnexpectedKey) {
  KeyValueList l = {{"TargetName", "iqn.2026-11.org.example:t"}, {"TargetAlias", "x"}};
  EXPECT_EQ(parse_send_targets(l).error(), Errc::unexpected_key);
}

TEST(SendTargetsMalformed, TextErrorsComeThrough) {
  EXPECT_EQ(parse_send_targets(as_bytes("TargetName=iqn.2026-11.org.example:t"s)).error(),
            Errc::unterminated_pair);
}

}  // namespace
}  // namespace iscsi::text
