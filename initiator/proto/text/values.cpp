// Value-type parsers and formatters (RFC 7143 section 6.1). See values.hpp.
#include "proto/text/values.hpp"

#include <array>

#include "proto/text/key_value.hpp"

namespace iscsi::text {
namespace {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool has_hex_prefix(std::string_view v) noexcept {
  return v.size() >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
}
bool has_base64_prefix(std::string_view v) noexcept {
  return v.size() >= 2 && v[0] == '0' && (v[1] == 'b' || v[1] == 'B');
}

// Checks a base64 body (after "0b"); returns the number of significant (non-padding) digits.
// Padding, when present, must make the length a multiple of four and be at most two '='.
std::optional<std::size_t> base64_significant_digits(std::string_view body) noexcept {
  std::size_t n = body.size();
  std::size_t pad = 0;
  while (pad < n && body[n - 1 - pad] == '=') ++pad;
  if (pad > 2) return std::nullopt;
  std::size_t digits = n - pad;
  if (digits == 0) return std::nullopt;
  for (std::size_t i = 0; i < digits; ++i) {
    if (base64_value(body[i]) < 0) return std::nullopt;
  }
  if (pad != 0 && n % 4 != 0) return std::nullopt;
  if (digits % 4 == 1) return std::nullopt;  // 6 bits cannot end a byte
  return digits;
}

}  // namespace

Result<bool> parse_boolean(std::string_view value) {
  if (value == "Yes") return true;
  if (value == "No") return false;
  return Errc::not_boolean;
}

Result<std::uint64_t> parse_numeric(std::string_view value) {
  if (value.empty()) return Errc::numeric_empty;
  if (has_hex_prefix(value)) {
    std::string_view body = value.substr(2);
    if (body.empty()) return Errc::numeric_empty;
    std::uint64_t v = 0;
    std::size_t significant = 0;
    for (char c : body) {
      int d = hex_value(c);
      if (d < 0) return Errc::numeric_invalid_digit;
      if (significant == 0 && d == 0) continue;  // leading zeros are harmless in hex
      if (++significant > 16) return Errc::numeric_overflow;
      v = (v << 4) | static_cast<std::uint64_t>(d);
    }
    return v;
  }
  if (has_base64_prefix(value)) {
    auto bytes = parse_binary(value);
    if (!bytes) return Errc::numeric_invalid_digit;
    std::size_t i = 0;
    while (i < bytes->size() && (*bytes)[i] == 0) ++i;
    if (bytes->size() - i > 8) return Errc::numeric_overflow;
    std::uint64_t v = 0;
    for (; i < bytes->size(); ++i) v = (v << 8) | (*bytes)[i];
    return v;
  }
  if (value.size() > 1 && value[0] == '0') {
    return is_digit(value[1]) ? Errc::numeric_leading_zero : Errc::numeric_invalid_digit;
  }
  std::uint64_t v = 0;
  for (char c : value) {
    if (!is_digit(c)) return Errc::numeric_invalid_digit;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return Errc::numeric_overflow;
    v = v * 10 + d;
  }
  return v;
}

std::string format_numeric(std::uint64_t v) { return std::to_string(v); }

Result<NumericRange> parse_numeric_range(std::string_view value) {
  auto tilde = value.find('~');
  if (tilde == std::string_view::npos) return Errc::range_missing_tilde;
  auto low = parse_numeric(value.substr(0, tilde));
  if (!low) return low.error();
  auto high = parse_numeric(value.substr(tilde + 1));
  if (!high) return high.error();
  if (*high <= *low) return Errc::range_not_increasing;
  return NumericRange{*low, *high};
}

std::optional<std::size_t> binary_decoded_length(std::string_view value) noexcept {
  if (has_hex_prefix(value)) {
    std::string_view body = value.substr(2);
    if (body.empty()) return std::nullopt;
    for (char c : body) {
      if (hex_value(c) < 0) return std::nullopt;
    }
    return (body.size() + 1) / 2;
  }
  if (has_base64_prefix(value)) {
    auto digits = base64_significant_digits(value.substr(2));
    if (!digits) return std::nullopt;
    return *digits * 6 / 8;
  }
  return std::nullopt;
}

Result<ByteVector> parse_binary(std::string_view value) {
  if (has_hex_prefix(value)) {
    std::string_view body = value.substr(2);
    if (body.empty()) return Errc::binary_empty;
    ByteVector out;
    out.reserve((body.size() + 1) / 2);
    std::size_t i = 0;
    if (body.size() % 2 == 1) {  // odd digit count: the first digit is a low nibble
      int d = hex_value(body[0]);
      if (d < 0) return Errc::binary_invalid_hex;
      out.push_back(static_cast<std::uint8_t>(d));
      i = 1;
    }
    for (; i < body.size(); i += 2) {
      int hi = hex_value(body[i]);
      int lo = hex_value(body[i + 1]);
      if (hi < 0 || lo < 0) return Errc::binary_invalid_hex;
      out.push_back(static_cast<std::uint8_t>((hi << 4) | lo));
    }
    return out;
  }
  if (has_base64_prefix(value)) {
    std::string_view body = value.substr(2);
    if (body.empty()) return Errc::binary_empty;
    auto digits = base64_significant_digits(body);
    if (!digits) return Errc::binary_invalid_base64;
    ByteVector out;
    out.reserve(*digits * 6 / 8);
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < *digits; ++i) {
      acc = (acc << 6) | static_cast<std::uint32_t>(base64_value(body[i]));
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push_back(static_cast<std::uint8_t>(acc >> bits));
        acc &= (1u << bits) - 1;
      }
    }
    return out;
  }
  return Errc::binary_missing_prefix;
}

std::string format_hex(ByteSpan bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "0x";
  out.reserve(2 + bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xf]);
  }
  return out;
}

std::string format_base64(ByteSpan bytes) {
  std::string out = "0b";
  out.reserve(2 + (bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) |
                      bytes[i + 2];
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t v = std::uint32_t{bytes[i]} << 16;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

Result<std::vector<std::string_view>> parse_list(std::string_view value) {
  if (value.empty()) return Errc::list_empty;
  std::vector<std::string_view> items;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = value.find(',', start);
    std::string_view item = value.substr(start, comma == std::string_view::npos
                                                    ? std::string_view::npos
                                                    : comma - start);
    if (item.empty()) return Errc::list_empty_item;
    items.push_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return items;
}

std::string join_list(std::span<const std::string_view> items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out.push_back(',');
    out.append(items[i]);
  }
  return out;
}

std::string join_list(std::span<const std::string> items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out.push_back(',');
    out.append(items[i]);
  }
  return out;
}

bool list_contains(std::string_view list, std::string_view item) noexcept {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    std::size_t end = comma == std::string_view::npos ? list.size() : comma;
    if (list.substr(start, end - start) == item) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

std::error_code validate_text_value(std::string_view value) noexcept {
  for (char c : value) {
    bool ok = is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '+' || c == '@' ||
              c == '_' || c == '/' || c == '[' || c == ']' || c == ':';
    if (!ok) return Errc::text_value_invalid_character;
  }
  return {};
}

std::error_code validate_iscsi_name(std::string_view value) noexcept {
  if (value.size() > kMaxIscsiNameLength) return Errc::iscsi_name_too_long;
  if (value.size() < 4) return Errc::iscsi_name_invalid;
  auto prefix_is = [&](std::string_view p) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      char c = value[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != p[i]) return false;
    }
    return true;
  };
  auto all_hex = [](std::string_view s) {
    for (char c : s) {
      if (hex_value(c) < 0) return false;
    }
    return true;
  };
  std::string_view body = value.substr(4);
  if (prefix_is("eui.")) {
    return body.size() == 16 && all_hex(body) ? std::error_code{} : Errc::iscsi_name_invalid;
  }
  if (prefix_is("naa.")) {
    return (body.size() == 16 || body.size() == 32) && all_hex(body)
               ? std::error_code{}
               : Errc::iscsi_name_invalid;
  }
  if (!prefix_is("iqn.")) return Errc::iscsi_name_invalid;
  // yyyy-mm.<naming authority>[...]
  if (body.size() < 9) return Errc::iscsi_name_invalid;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u}) {
    if (!is_digit(body[i])) return Errc::iscsi_name_invalid;
  }
  int month = (body[5] - '0') * 10 + (body[6] - '0');
  if (body[4] != '-' || body[7] != '.' || month < 1 || month > 12) return Errc::iscsi_name_invalid;
  std::string_view rest = body.substr(8);
  if (rest.empty() || rest[0] == '.' || rest[0] == ':') return Errc::iscsi_name_invalid;
  for (char c : rest) {
    auto u = static_cast<unsigned char>(c);
    bool ok = is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == ':' || c == '_' ||
              u >= 0x80;  // UTF-8 after stringprep; the codec checked the encoding
    if (!ok) return Errc::iscsi_name_invalid;
  }
  return {};
}

Reserved classify_reserved(std::string_view value) noexcept {
  if (value == kNotUnderstood) return Reserved::not_understood;
  if (value == kIrrelevant) return Reserved::irrelevant;
  if (value == kReject) return Reserved::reject;
  return Reserved::none;
}

}  // namespace iscsi::text
