// iSNSP wire constants (RFC 4171): the 12-byte header's offsets and flags, function IDs,
// attribute tags and the values of the few enumerated attributes we send or read. Every wire
// offset of iSNSP is named here once; codec.cpp is the only code that reads them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace iscsi::isns {

// --- header (RFC 4171 section 5.1) ---------------------------------------------------------
inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kOffVersion = 0;      // 2 bytes, always kVersion
inline constexpr std::size_t kOffFunction = 2;     // 2 bytes, FunctionId
inline constexpr std::size_t kOffPduLength = 4;    // 2 bytes, payload bytes after the header
inline constexpr std::size_t kOffFlags = 6;        // 2 bytes, Flag bits below
inline constexpr std::size_t kOffTransaction = 8;  // 2 bytes
inline constexpr std::size_t kOffSequence = 10;    // 2 bytes, 0 for the first PDU of a message

inline constexpr std::uint16_t kVersion = 0x0001;
inline constexpr std::uint16_t kDefaultPort = 3205;  // IANA, TCP and UDP

// Flags (RFC 4171 section 5.1.3 numbers them 16..21 from the most significant bit).
namespace flag {
inline constexpr std::uint16_t client = 0x8000;      // sender is an iSNS client
inline constexpr std::uint16_t server = 0x4000;      // sender is an iSNS server
inline constexpr std::uint16_t auth_block = 0x2000;  // an authentication block follows
inline constexpr std::uint16_t replace = 0x1000;     // DevAttrReg replaces the entity's objects
inline constexpr std::uint16_t last_pdu = 0x0800;
inline constexpr std::uint16_t first_pdu = 0x0400;
}  // namespace flag

// Function IDs (RFC 4171 section 6.1); a response is the request's ID | kResponseBit.
inline constexpr std::uint16_t kResponseBit = 0x8000;
enum class FunctionId : std::uint16_t {
  dev_attr_reg = 0x0001,
  dev_attr_qry = 0x0002,
  dev_get_next = 0x0003,
  dev_dereg = 0x0004,
  scn_reg = 0x0005,
  scn_dereg = 0x0006,
  scn_event = 0x0007,
  scn = 0x0008,
  dd_reg = 0x0009,
  dd_dereg = 0x000a,
  dds_reg = 0x000b,
  dds_dereg = 0x000c,
  esi = 0x000d,
  heartbeat = 0x000e,
  dev_attr_reg_rsp = 0x8001,
  dev_attr_qry_rsp = 0x8002,
  dev_get_next_rsp = 0x8003,
  dev_dereg_rsp = 0x8004,
};

// --- attributes (RFC 4171 section 5.1.4 and 6.1): tag 4 bytes, length 4 bytes, value ----------
inline constexpr std::size_t kAttrHeaderSize = 8;
inline constexpr std::size_t kOffAttrTag = 0;
inline constexpr std::size_t kOffAttrLength = 4;
inline constexpr std::size_t kIpAddressSize = 16;  // IPv6, IPv4 as ::ffff:a.b.c.d
inline constexpr std::size_t kStatusSize = 4;      // a response payload starts with it

namespace tag {
inline constexpr std::uint32_t delimiter = 0;
inline constexpr std::uint32_t entity_identifier = 1;
inline constexpr std::uint32_t entity_protocol = 2;
inline constexpr std::uint32_t registration_period = 6;
inline constexpr std::uint32_t entity_index = 7;
inline constexpr std::uint32_t portal_ip_address = 16;
inline constexpr std::uint32_t portal_port = 17;
inline constexpr std::uint32_t portal_symbolic_name = 18;
inline constexpr std::uint32_t portal_index = 22;
inline constexpr std::uint32_t iscsi_name = 32;
inline constexpr std::uint32_t iscsi_node_type = 33;
inline constexpr std::uint32_t iscsi_alias = 34;
inline constexpr std::uint32_t iscsi_node_index = 36;
inline constexpr std::uint32_t pg_iscsi_name = 48;
inline constexpr std::uint32_t pg_portal_ip_address = 49;
inline constexpr std::uint32_t pg_portal_port = 50;
inline constexpr std::uint32_t pg_tag = 51;
inline constexpr std::uint32_t pg_index = 52;
}  // namespace tag

// iSCSI Node Type bits (section 6.4.2; bit 31 is the least significant).
namespace node_type {
inline constexpr std::uint32_t target = 0x00000001;
inline constexpr std::uint32_t initiator = 0x00000002;
inline constexpr std::uint32_t control = 0x00000004;
}  // namespace node_type

inline constexpr std::uint32_t kEntityProtocolIscsi = 2;  // section 6.2.2
// Portal TCP/UDP Port (section 6.3.2): the low 16 bits are the port; bit 15 (0x10000) says UDP.
inline constexpr std::uint32_t kPortUdpBit = 0x00010000;
inline constexpr std::uint32_t kPortMask = 0x0000ffff;

}  // namespace iscsi::isns
