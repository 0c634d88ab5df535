// iSNS TLV attributes and their value types. See attributes.hpp.
#include "proto/isns/attributes.hpp"

#include <algorithm>

#include "proto/isns/wire.hpp"

namespace iscsi::isns {
namespace {

constexpr bool is_control(unsigned char c) noexcept { return c < 0x20 || c == 0x7f; }

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_ipv4(std::string_view s, std::uint8_t out[4]) noexcept {
  int part = 0;
  unsigned value = 0;
  int digits = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (digits == 0 || part > 3) return false;
      out[part++] = static_cast<std::uint8_t>(value);
      value = 0;
      digits = 0;
      continue;
    }
    if (s[i] < '0' || s[i] > '9' || digits == 3) return false;
    value = value * 10 + static_cast<unsigned>(s[i] - '0');
    if (value > 255) return false;
    ++digits;
  }
  return part == 4;
}

// Groups of one side of "::" into `out`; returns how many 16-bit groups, -1 when malformed.
int parse_ipv6_groups(std::string_view s, std::uint16_t* out, int room, bool tail) noexcept {
  if (s.empty()) return 0;
  int n = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = s.find(':', start);
    const std::string_view g = s.substr(start, colon == s.npos ? s.npos : colon - start);
    if (colon == s.npos && tail && g.find('.') != g.npos) {
      std::uint8_t v4[4];
      if (n + 2 > room || !parse_ipv4(g, v4)) return -1;
      out[n++] = static_cast<std::uint16_t>((v4[0] << 8) | v4[1]);
      out[n++] = static_cast<std::uint16_t>((v4[2] << 8) | v4[3]);
      return n;
    }
    if (g.empty() || g.size() > 4 || n == room) return -1;
    unsigned v = 0;
    for (char c : g) {
      const int h = hex_value(c);
      if (h < 0) return -1;
      v = v * 16 + static_cast<unsigned>(h);
    }
    out[n++] = static_cast<std::uint16_t>(v);
    if (colon == s.npos) return n;
    start = colon + 1;
  }
}

}  // namespace

Result<AttributeList> decode_attributes(ByteSpan payload, Diagnostic* diag) {
  AttributeList out;
  std::size_t pos = 0;
  auto fail = [&](Errc e, std::uint32_t tag) -> Result<AttributeList> {
    if (diag != nullptr) *diag = Diagnostic{pos, out.size(), tag};
    return e;
  };
  while (pos < payload.size()) {
    if (payload.size() - pos < kAttrHeaderSize) return fail(Errc::attribute_truncated, 0);
    const std::uint32_t tag = load_be32(payload.data() + pos + kOffAttrTag);
    const std::uint32_t length = load_be32(payload.data() + pos + kOffAttrLength);
    if (length % 4 != 0) return fail(Errc::attribute_misaligned, tag);
    if (length > payload.size() - pos - kAttrHeaderSize) return fail(Errc::attribute_overrun, tag);
    const auto* value = payload.data() + pos + kAttrHeaderSize;
    out.push_back(Attribute{tag, ByteVector(value, value + length)});
    pos += kAttrHeaderSize + length;
  }
  return out;
}

void append_attribute(ByteVector& out, const Attribute& attribute) {
  std::uint8_t head[kAttrHeaderSize];
  store_be32(head + kOffAttrTag, attribute.tag);
  store_be32(head + kOffAttrLength, static_cast<std::uint32_t>(attribute.value.size()));
  out.insert(out.end(), head, head + kAttrHeaderSize);
  out.insert(out.end(), attribute.value.begin(), attribute.value.end());
}

std::size_t encoded_size(const AttributeList& attributes) noexcept {
  std::size_t n = 0;
  for (const auto& a : attributes) n += kAttrHeaderSize + a.value.size();
  return n;
}

Attribute null_attribute(std::uint32_t tag) { return Attribute{tag, {}}; }

Attribute u32_attribute(std::uint32_t tag, std::uint32_t value) {
  Attribute a{tag, ByteVector(4)};
  store_be32(a.value.data(), value);
  return a;
}

Attribute ip_attribute(std::uint32_t tag, const IpAddress& address) {
  return Attribute{tag, ByteVector(address.begin(), address.end())};
}

Result<Attribute> string_attribute(std::uint32_t tag, std::string_view value) {
  for (unsigned char c : value) {
    if (c == 0 || is_control(c)) return Errc::invalid_argument;
  }
  Attribute a{tag, ByteVector(padded_length(value.size() + 1), 0)};
  std::copy(value.begin(), value.end(), a.value.begin());
  return a;
}

Result<std::uint32_t> read_u32(const Attribute& attribute) {
  if (attribute.value.size() != 4) return Errc::integer_bad_length;
  return load_be32(attribute.value.data());
}

Result<IpAddress> read_ip(const Attribute& attribute) {
  if (attribute.value.size() != kIpAddressSize) return Errc::ip_address_bad_length;
  IpAddress out{};
  std::copy(attribute.value.begin(), attribute.value.end(), out.begin());
  return out;
}

Result<std::string> read_string(const Attribute& attribute) {
  const auto& v = attribute.value;
  const auto nul = std::find(v.begin(), v.end(), std::uint8_t{0});
  if (nul == v.end()) return Errc::string_not_terminated;
  if (std::any_of(nul, v.end(), [](std::uint8_t b) { return b != 0; })) {
    return Errc::string_bad_padding;
  }
  if (std::any_of(v.begin(), nul, [](std::uint8_t b) { return is_control(b); })) {
    return Errc::string_control_character;
  }
  return std::string(v.begin(), nul);
}

Result<IpAddress> parse_ip(std::string_view text) {
  IpAddress out{};
  if (text.find(':') == text.npos) {
    if (!parse_ipv4(text, out.data() + 12)) return Errc::invalid_argument;
    out[10] = 0xff;
    out[11] = 0xff;
    return out;
  }
  std::uint16_t groups[8] = {};
  const std::size_t dc = text.find("::");
  if (dc == text.npos) {
    if (parse_ipv6_groups(text, groups, 8, true) != 8) return Errc::invalid_argument;
  } else {
    if (text.find("::", dc + 1) != text.npos) return Errc::invalid_argument;
    std::uint16_t left[8] = {};
    std::uint16_t right[8] = {};
    const int l = parse_ipv6_groups(text.substr(0, dc), left, 7, false);
    const int r = parse_ipv6_groups(text.substr(dc + 2), right, 7, true);
    if (l < 0 || r < 0 || l + r > 7) return Errc::invalid_argument;
    std::copy(left, left + l, groups);
    std::copy(right, right + r, groups + 8 - r);
  }
  for (int i = 0; i < 8; ++i) store_be16(out.data() + 2 * i, groups[i]);
  return out;
}

bool is_ipv4_mapped(const IpAddress& a) noexcept {
  return std::all_of(a.begin(), a.begin() + 10, [](std::uint8_t b) { return b == 0; }) &&
         a[10] == 0xff && a[11] == 0xff;
}

std::string format_ip(const IpAddress& a) {
  if (is_ipv4_mapped(a)) {
    return std::to_string(a[12]) + "." + std::to_string(a[13]) + "." + std::to_string(a[14]) +
           "." + std::to_string(a[15]);
  }
  std::uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = load_be16(a.data() + 2 * i);
  // RFC 5952: the longest run (two or more) of zero groups, the first such run on a tie, is "::".
  int best = -1;
  int best_len = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const int d = (g[i] >> shift) & 0xf;
      if (d != 0 || started || shift == 0) {
        out += kHex[d];
        started = true;
      }
    }
  }
  return out;
}

}  // namespace iscsi::isns
