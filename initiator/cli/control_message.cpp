// The control socket's message codec (see control_message.hpp).
#include "cli/control_message.hpp"

namespace iscsi::cli {

namespace {

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

bool needs_escape(unsigned char c) { return c < 0x20 || c == 0x7f || c == '%'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string shown(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  if (s.size() > 40) out += "...";
  return out;
}

}  // namespace

ControlMessage& ControlMessage::add(std::string key, std::string value) {
  fields.emplace_back(std::move(key), std::move(value));
  return *this;
}

std::optional<std::string_view> ControlMessage::get(std::string_view key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::string ControlMessage::get_or(std::string_view key, std::string_view fallback) const {
  return std::string(get(key).value_or(fallback));
}

std::string encode_control_payload(const ControlMessage& m) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const auto& [k, v] : m.fields) {
    out += k;
    out += '=';
    for (unsigned char c : v) {
      if (needs_escape(c)) {
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 15];
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '\n';
  }
  return out;
}

std::string encode_control_frame(const ControlMessage& m) {
  const std::string payload = encode_control_payload(m);
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string out;
  out += static_cast<char>(n >> 24);
  out += static_cast<char>(n >> 16);
  out += static_cast<char>(n >> 8);
  out += static_cast<char>(n);
  return out + payload;
}

std::optional<std::uint32_t> control_payload_length(std::string_view header) {
  if (header.size() != kControlHeaderSize) return std::nullopt;
  std::uint32_t n = 0;
  for (unsigned char c : header) n = (n << 8) | c;
  if (n > kControlMaxPayload) return std::nullopt;
  return n;
}

ControlDecodeResult decode_control_payload(std::string_view payload) {
  ControlDecodeResult r;
  if (payload.size() > kControlMaxPayload) {
    r.error = "payload of " + std::to_string(payload.size()) + " bytes exceeds the limit of " +
              std::to_string(kControlMaxPayload);
    return r;
  }
  if (!payload.empty() && payload.back() != '\n') {
    r.error = "the last line has no newline (truncated message)";
    return r;
  }
  ControlMessage m;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < payload.size()) {
    ++line_no;
    const std::size_t end = payload.find('\n', pos);
    const std::string_view line = payload.substr(pos, end - pos);
    pos = end + 1;
    const std::string where = "line " + std::to_string(line_no) + ": ";
    if (m.fields.size() == kControlMaxFields) {
      r.error = where + "more than " + std::to_string(kControlMaxFields) + " fields";
      return r;
    }
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      r.error = where + "expected key=value, got '" + shown(line) + "'";
      return r;
    }
    const std::string_view key = line.substr(0, eq);
    for (char c : key) {
      if (!key_char(c)) {
        r.error = where + "a key is made of a-z, 0-9, '_' and '.', got '" + shown(key) + "'";
        return r;
      }
    }
    std::string value;
    const std::string_view raw = line.substr(eq + 1);
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const auto c = static_cast<unsigned char>(raw[i]);
      if (c == '%') {
        const bool complete = i + 2 < raw.size();
        const int hi = complete ? hex_value(raw[i + 1]) : -1;
        const int lo = complete ? hex_value(raw[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          r.error = where + "'%' in the value of " + std::string(key) + " must start %XX";
          return r;
        }
        value += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else if (needs_escape(c)) {
        r.error = where + "a raw control byte in the value of " + std::string(key);
        return r;
      } else {
        value += static_cast<char>(c);
      }
    }
    m.fields.emplace_back(std::string(key), std::move(value));
  }
  r.message = std::move(m);
  return r;
}

}  // namespace iscsi::cli
