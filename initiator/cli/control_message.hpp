// The messages between lab-iscsiadm and lab-iscsid on the control socket: a 4-byte big-endian
// payload length, then the payload, one "key=value" line per field, in order. Keys are
// [a-z0-9_.]; values are escaped (%XX for '%', bytes below 0x20 and 0x7f), so a value may hold
// any byte, including newlines (the daemon's formatted output travels as one value). A key may
// repeat (several sessions). The decoder is the daemon's only input from other processes: every
// malformed payload is an error with the line and what was expected, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iscsi::cli {

inline constexpr std::size_t kControlMaxPayload = 16u << 20;  // 16 MiB: -P 3 of many sessions
inline constexpr std::size_t kControlMaxFields = 4096;
inline constexpr std::size_t kControlHeaderSize = 4;

struct ControlMessage {
  std::vector<std::pair<std::string, std::string>> fields;

  ControlMessage& add(std::string key, std::string value);
  // The first value of `key`, or nullopt.
  std::optional<std::string_view> get(std::string_view key) const;
  std::string get_or(std::string_view key, std::string_view fallback) const;
  friend bool operator==(const ControlMessage&, const ControlMessage&) = default;
};

// The payload (without the length header). Keys must be valid (asserted by the caller's use of
// fixed names); values are escaped here.
std::string encode_control_payload(const ControlMessage& m);
// Length header + payload.
std::string encode_control_frame(const ControlMessage& m);

struct ControlDecodeResult {
  std::optional<ControlMessage> message;
  std::string error;  // "line 3: expected key=value, got 'abc'" when !message
};
ControlDecodeResult decode_control_payload(std::string_view payload);

// The payload length from a 4-byte header; nullopt when it exceeds kControlMaxPayload.
std::optional<std::uint32_t> control_payload_length(std::string_view header);

}  // namespace iscsi::cli
