// iSNS attributes (RFC 4171 section 5.1.4): tag (4 bytes), length (4 bytes), value padded to a
// multiple of 4. Decoding a list, appending one, and the value types we use: strings (UTF-8,
// NUL-terminated, NUL-padded), 32-bit integers and 16-byte IP addresses (IPv4 as
// ::ffff:a.b.c.d). Strings from the network with a control character are rejected here, so no
// caller ever prints one.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/isns/errors.hpp"

namespace iscsi::isns {

struct Attribute {
  std::uint32_t tag = 0;
  ByteVector value;  // always a multiple of 4 bytes long; empty is a NULL value (a query's ask)

  friend bool operator==(const Attribute&, const Attribute&) = default;
};
using AttributeList = std::vector<Attribute>;

// Where a decode stopped: the byte offset in the payload, the index of the attribute, its tag.
struct Diagnostic {
  std::size_t offset = 0;
  std::size_t attribute_index = 0;
  std::uint32_t tag = 0;
};

// Decodes every attribute of `payload` (which must end on an attribute boundary).
Result<AttributeList> decode_attributes(ByteSpan payload, Diagnostic* diag = nullptr);
// Appends tag, length and value (the value is already padded: the helpers below pad).
void append_attribute(ByteVector& out, const Attribute& attribute);
std::size_t encoded_size(const AttributeList& attributes) noexcept;

// --- values ------------------------------------------------------------------------------------
using IpAddress = std::array<std::uint8_t, 16>;

Attribute null_attribute(std::uint32_t tag);  // length 0
Attribute u32_attribute(std::uint32_t tag, std::uint32_t value);
Attribute ip_attribute(std::uint32_t tag, const IpAddress& address);
// NUL-terminated and NUL-padded. A string holding a NUL or a control character is refused.
Result<Attribute> string_attribute(std::uint32_t tag, std::string_view value);

Result<std::uint32_t> read_u32(const Attribute& attribute);
Result<IpAddress> read_ip(const Attribute& attribute);
// The text before the NUL; the padding after it must be NULs; no control characters.
Result<std::string> read_string(const Attribute& attribute);

// "192.0.2.1" -> ::ffff:192.0.2.1; "2001:db8::1" -> its 16 bytes (no zone, no brackets).
Result<IpAddress> parse_ip(std::string_view text);
bool is_ipv4_mapped(const IpAddress& address) noexcept;
// Dotted quad for a mapped IPv4 address, else the RFC 5952 form ("2001:db8::1").
std::string format_ip(const IpAddress& address);

}  // namespace iscsi::isns
