// iSNSP requests we build (golden bytes written by hand from RFC 4171 sections 5.5-5.6), the
// response decoder and status words, and what a DevAttrQry response means to an initiator:
// captured isnsd answers, round trips, and hostile names, portals and structure from a scripted
// server.
#include <gtest/gtest.h>

#include "proto/isns/discovery.hpp"
#include "proto/isns/requests.hpp"
#include "proto/isns/response.hpp"
#include "proto/isns/status.hpp"
#include "support/hex.hpp"

namespace iscsi::isns {
namespace {

using test::from_hex;

constexpr const char* kTarget = "iqn.2026-12.org.example:t0";

TEST(IsnsRequests, QueryGoldenBytes) {
  auto m = build_target_query("iqn.a", 5);
  ASSERT_TRUE(m);
  EXPECT_EQ(encode_message(*m), from_hex(
      "0001 0002 0064 8c00 0005 0000"          // DevAttrQry, 100 bytes, client|last|first
      "00000020 00000008 69716e2e 61000000"    // Source: iSCSI Name "iqn.a"
      "00000021 00000004 00000001"             // Message Key: Node Type = Target
      "00000000 00000000"                      // Delimiter
      "00000020 00000000 00000021 00000000"    // asked for: name, node type,
      "00000010 00000000 00000011 00000000"    // portal address and port,
      "00000030 00000000 00000031 00000000"    // PG name, PG address,
      "00000032 00000000 00000033 00000000")); // PG port, PG tag
}

TEST(IsnsRequests, RegistrationGoldenBytes) {
  TargetEntity e{"e1", "iqn.t", {{"127.0.0.1", 3260, 1}}, std::nullopt};
  auto m = build_target_registration(e, 1);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->flags, flag::client | flag::replace);
  EXPECT_EQ(encode_message(*m), from_hex(
      "0001 0001 00bc 9c00 0001 0000"          // DevAttrReg, 188 bytes, client|replace|last|first
      "00000020 00000008 69716e2e 74000000"    // Source: the target
      "00000001 00000004 65310000"             // Message Key: Entity Identifier "e1"
      "00000000 00000000"                      // Delimiter
      "00000001 00000004 65310000"             // Entity Identifier
      "00000002 00000004 00000002"             // Entity Protocol iSCSI
      "00000010 00000010 00000000 00000000 0000ffff 7f000001"  // Portal IP
      "00000011 00000004 00000cbc"             // Portal Port 3260
      "00000020 00000008 69716e2e 74000000"    // iSCSI Name
      "00000021 00000004 00000001"             // Node Type Target
      "00000030 00000008 69716e2e 74000000"    // PG iSCSI Name
      "00000031 00000010 00000000 00000000 0000ffff 7f000001"  // PG Portal IP
      "00000032 00000004 00000cbc"             // PG Portal Port
      "00000033 00000004 00000001"));          // PG Tag 1
}

TEST(IsnsRequests, DeregistrationGoldenBytes) {
  auto m = build_entity_deregistration("iqn.t", "e1", 3);
  ASSERT_TRUE(m);
  EXPECT_EQ(encode_message(*m), from_hex(
      "0001 0004 0024 8c00 0003 0000"
      "00000020 00000008 69716e2e 74000000"
      "00000000 00000000"
      "00000001 00000004 65310000"));
}

TEST(IsnsRequests, RefusesWhatCannotBeSent) {
  EXPECT_EQ(build_target_query("", 1).error(), make_error_code(Errc::invalid_argument));
  EXPECT_EQ(build_target_query("iqn.a\n", 1).error(), make_error_code(Errc::invalid_argument));
  TargetEntity e{"e1", kTarget, {{"not-an-ip", 3260, 1}}, std::nullopt};
  EXPECT_EQ(build_target_registration(e, 1).error(), make_error_code(Errc::invalid_argument));
  e.portals = {{"127.0.0.1", 0, 1}};
  EXPECT_EQ(build_target_registration(e, 1).error(), make_error_code(Errc::invalid_argument));
  e.portals.assign(2000, PortalSpec{"127.0.0.1", 3260, 1});  // > 65535 bytes: one PDU only
  EXPECT_EQ(build_target_registration(e, 1).error(), make_error_code(Errc::request_too_long));
  EXPECT_EQ(build_entity_deregistration(kTarget, "", 1).error(), make_error_code(Errc::invalid_argument));
}

TEST(IsnsStatus, Words) {
  EXPECT_EQ(status_name(0), "successful");
  EXPECT_EQ(status_name(3), "invalid registration");
  EXPECT_EQ(status_name(4), "reserved status");
  EXPECT_EQ(status_name(5), "invalid query");
  EXPECT_EQ(status_name(23), "registration feature not supported");
  EXPECT_EQ(status_name(24), "reserved status");
  EXPECT_EQ(describe_status(6), "iSNS status 6 (source unknown)");
}

// isnsd 0.101's answer to build_target_query after registering kTarget with portals
// 127.0.0.1:3260 and 127.0.0.2:3261 (portal group tag 1), captured on loopback.
const char* kIsnsdQueryAnswer =
    "0001 8002 0138 4c00 0001 0000 00000000"
    "00000021 00000004 00000001 00000000 00000000"
    "00000020 0000001c 69716e2e 32303236 2d31322e 6f72672e 6578616d 706c653a 74300000"
    "00000021 00000004 00000001"
    "00000010 00000010 00000000 00000000 0000ffff 7f000001 00000011 00000004 00000cbc"
    "00000030 0000001c 69716e2e 32303236 2d31322e 6f72672e 6578616d 706c653a 74300000"
    "00000031 00000010 00000000 00000000 0000ffff 7f000001"
    "00000032 00000004 00000cbc 00000033 00000004 00000001"
    "00000010 00000010 00000000 00000000 0000ffff 7f000002 00000011 00000004 00000cbd"
    "00000030 0000001c 69716e2e 32303236 2d31322e 6f72672e 6578616d 706c653a 74300000"
    "00000031 00000010 00000000 00000000 0000ffff 7f000002"
    "00000032 00000004 00000cbd 00000033 00000004 00000001";

text::TargetAddress address(std::string host, std::uint16_t port, std::uint16_t tag,
                            text::HostKind kind = text::HostKind::ipv4) {
  text::TargetAddress a;
  a.host = std::move(host);
  a.kind = kind;
  a.port = port;
  a.has_group_tag = true;
  a.portal_group_tag = tag;
  return a;
}

Response decoded(const ByteVector& wire) {
  auto m = decode_message(wire);
  EXPECT_TRUE(m);
  auto r = decode_response(*m);
  EXPECT_TRUE(r);
  return *r;
}

TEST(IsnsDiscovery, CapturedIsnsdAnswer) {
  const Response r = decoded(from_hex(kIsnsdQueryAnswer));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.function, 0x8002);
  auto targets = discovered_targets(r);
  ASSERT_TRUE(targets);
  ASSERT_EQ(targets->size(), 1u);
  EXPECT_EQ((*targets)[0].name, kTarget);
  EXPECT_EQ((*targets)[0].addresses,
            (std::vector{address("127.0.0.1", 3260, 1), address("127.0.0.2", 3261, 1)}));
  EXPECT_EQ(text::format_target_address((*targets)[0].addresses[1]), "127.0.0.2:3261,1");
}

TEST(IsnsDiscovery, NothingRegistered) {
  // isnsd's answer when no target is visible: the key and the delimiter only.
  const Response r = decoded(from_hex("0001 8002 0018 4c00 0001 0000 00000000"
                                      "00000021 00000004 00000001 00000000 00000000"));
  EXPECT_TRUE(discovered_targets(r)->empty());
}

TEST(IsnsResponse, StatusOnlyAndChecks) {
  const Response r = decoded(from_hex("0001 8002 0004 4c00 0007 0000 00000005"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status, 5u);
  Message request = *build_target_query("iqn.a", 7);
  EXPECT_FALSE(check_answers(r, request));
  request.transaction = 8;
  EXPECT_EQ(check_answers(r, request), make_error_code(Errc::unexpected_transaction));
  request = *build_entity_deregistration("iqn.a", "e", 7);
  EXPECT_EQ(check_answers(r, request), make_error_code(Errc::unexpected_function));
  EXPECT_EQ(decode_response(*decode_message(from_hex("0001 0002 0004 4c00 0007 0000 00000000"))).error(),
            make_error_code(Errc::not_a_response));
  EXPECT_EQ(decode_response(*decode_message(from_hex("0001 8002 0004 8c00 0007 0000 00000000"))).error(),
            make_error_code(Errc::not_a_response));
  EXPECT_EQ(decode_response(*decode_message(from_hex("0001 8002 0000 4c00 0007 0000"))).error(),
            make_error_code(Errc::status_missing));
  Diagnostic d;
  EXPECT_EQ(decode_response(*decode_message(from_hex("0001 8002 000c 4c00 0007 0000 00000000 00000020 00000004")), &d).error(),
            make_error_code(Errc::attribute_overrun));
  EXPECT_EQ(d.offset, 4u);
}

TEST(IsnsDiscovery, RoundTripThroughAMultiPduResponse) {
  std::vector<text::DiscoveredTarget> targets{
      {kTarget, {address("10.0.0.1", 3260, 1), address("10.0.1.1", 3261, 2)}},
      {"iqn.2026-12.org.example:t1", {address("2001:db8::1", 3260, 7, text::HostKind::ipv6)}},
      {"eui.0123456789ABCDEF", {}}};
  const Response r = make_target_query_response(targets, 42);
  const ByteVector wire = encode_message(encode_response(r), 64);  // many PDUs
  const Response back = decoded(wire);
  EXPECT_EQ(back, r);
  EXPECT_EQ(*discovered_targets(back), targets);
}

// Builders of a scripted server's hostile answer: raw attributes, no checks on our side.
Attribute raw_string(std::uint32_t t, std::string_view s) {
  Attribute a{t, ByteVector(padded_length(s.size() + 1), 0)};
  std::copy(s.begin(), s.end(), a.value.begin());
  return a;
}

Response with_objects(AttributeList objects) {
  Response r = make_target_query_response({}, 1);
  r.attributes.insert(r.attributes.end(), objects.begin(), objects.end());
  return r;
}

AttributeList pg(std::string_view name, std::string_view ip, std::uint32_t port, std::uint32_t tag) {
  return {raw_string(tag::pg_iscsi_name, name), ip_attribute(tag::pg_portal_ip_address, *parse_ip(ip)),
          u32_attribute(tag::pg_portal_port, port), u32_attribute(tag::pg_tag, tag)};
}

AttributeList node(std::string_view name, std::uint32_t type = node_type::target) {
  return {raw_string(tag::iscsi_name, name), u32_attribute(tag::iscsi_node_type, type)};
}

AttributeList operator+(AttributeList a, const AttributeList& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::error_code discovery_error(const AttributeList& objects, Diagnostic* d = nullptr) {
  return discovered_targets(with_objects(objects), d).error();
}

TEST(IsnsDiscoveryHostile, TargetNamesAreRejectedNotPassedThrough) {
  Diagnostic d;
  EXPECT_EQ(discovery_error(node("iqn.2026-12.org.example:t0\x1b[31mred"), &d),
            make_error_code(Errc::string_control_character));
  EXPECT_EQ(d.attribute_index, 2u);
  EXPECT_EQ(d.tag, tag::iscsi_name);
  EXPECT_EQ(discovery_error(node("iqn.2026-12.org.example:a\nTargetName=evil")),
            make_error_code(Errc::string_control_character));
  EXPECT_EQ(discovery_error(node("not-an-iscsi-name")), make_error_code(Errc::target_name_invalid));
  EXPECT_EQ(discovery_error(node("iqn.2026-12.org.example:" + std::string(300, 'a'))),
            make_error_code(Errc::target_name_invalid));
  EXPECT_EQ(discovery_error(node("")), make_error_code(Errc::string_empty));
  EXPECT_EQ(discovery_error(node(kTarget) + node(kTarget)), make_error_code(Errc::duplicate_target_name));
  EXPECT_EQ(discovery_error(node(kTarget) + pg("iqn.x:\x07", "10.0.0.1", 3260, 1)),
            make_error_code(Errc::string_control_character));
  // A name whose padding hides a second string.
  Attribute smuggled{tag::iscsi_name, from_hex("69716e2e 61006262")};
  EXPECT_EQ(discovery_error({smuggled}), make_error_code(Errc::string_bad_padding));
}

TEST(IsnsDiscoveryHostile, Portals) {
  EXPECT_EQ(discovery_error(node(kTarget) + pg(kTarget, "10.0.0.1", 0, 1)),
            make_error_code(Errc::port_out_of_range));
  EXPECT_EQ(discovery_error(node(kTarget) + pg(kTarget, "10.0.0.1", 0x10000 | 3260, 1)),  // UDP
            make_error_code(Errc::port_out_of_range));
  EXPECT_EQ(discovery_error(node(kTarget) + pg(kTarget, "10.0.0.1", 70000, 1)),
            make_error_code(Errc::port_out_of_range));
  EXPECT_EQ(discovery_error(node(kTarget) + pg(kTarget, "10.0.0.1", 3260, 65536)),
            make_error_code(Errc::group_tag_out_of_range));
  AttributeList short_ip = pg(kTarget, "10.0.0.1", 3260, 1);
  short_ip[1].value.resize(4);
  EXPECT_EQ(discovery_error(node(kTarget) + short_ip), make_error_code(Errc::ip_address_bad_length));
  AttributeList incomplete = pg(kTarget, "10.0.0.1", 3260, 1);
  incomplete.erase(incomplete.begin() + 2);  // no PG port
  Diagnostic d;
  EXPECT_EQ(discovery_error(node(kTarget) + incomplete, &d),
            make_error_code(Errc::portal_group_incomplete));
  EXPECT_EQ(d.attribute_index, 4u);
  EXPECT_EQ(discovery_error(node(kTarget) + AttributeList{u32_attribute(tag::pg_portal_port, 3260)}),
            make_error_code(Errc::attribute_outside_object));
  EXPECT_EQ(discovery_error(AttributeList{u32_attribute(tag::portal_port, 3260)}),
            make_error_code(Errc::attribute_outside_object));
  EXPECT_EQ(discovery_error(AttributeList{u32_attribute(tag::iscsi_node_type, 1)}),
            make_error_code(Errc::attribute_outside_object));
  EXPECT_EQ(discovery_error(node(kTarget) + AttributeList{null_attribute(tag::delimiter)}),
            make_error_code(Errc::attribute_outside_object));
}

TEST(IsnsDiscoveryHostile, WhatIsSkipped) {
  AttributeList null_tag = pg(kTarget, "10.0.0.2", 3260, 1);
  null_tag[3].value.clear();  // NULL PGT: no access through that portal
  auto targets = discovered_targets(with_objects(
      node(kTarget) + pg(kTarget, "10.0.0.1", 3260, 1) + pg(kTarget, "10.0.0.1", 3260, 1) +
      null_tag + node("iqn.2026-12.org.example:host0", node_type::initiator) +
      pg("iqn.2026-12.org.example:host0", "10.0.0.9", 3260, 1) +
      pg("iqn.2026-12.org.example:unlisted", "10.0.0.8", 3260, 1) +
      AttributeList{raw_string(tag::iscsi_alias, "an alias \x01 we never read")}));
  ASSERT_TRUE(targets);
  ASSERT_EQ(targets->size(), 1u);  // the initiator is not a target
  EXPECT_EQ((*targets)[0].addresses, std::vector{address("10.0.0.1", 3260, 1)});  // deduplicated
}

TEST(IsnsDiscoveryHostile, NoDelimiter) {
  Response r = make_target_query_response({}, 1);
  r.attributes.pop_back();
  EXPECT_EQ(discovered_targets(r).error(), make_error_code(Errc::delimiter_missing));
}

}  // namespace
}  // namespace iscsi::isns
