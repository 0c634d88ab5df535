// Parsers and formatters for the value types of RFC 7143 section 6.1: boolean (Yes/No),
// numerical values (decimal, 0x hex, 0b base64), numeric ranges (a~b), binary values (0x/0b),
// lists of values, text values, iSCSI names, and the reserved answers (NotUnderstood,
// Irrelevant, Reject). Each parser returns the specific text::Errc of what was wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/text/errors.hpp"

namespace iscsi::text {

// --- booleans --------------------------------------------------------------------------------
Result<bool> parse_boolean(std::string_view value);
constexpr std::string_view format_boolean(bool v) noexcept { return v ? "Yes" : "No"; }

// --- numerical values --------------------------------------------------------------------------
// An unsigned integer below 2**64: a decimal constant without leading zeros ("0" itself is
// fine), a hex constant "0x"/"0X" followed by hex digits, or (leniently; RFC 3720 allowed it for
// regular binary values) a base64 constant "0b"/"0B" of at most 8 significant bytes.
Result<std::uint64_t> parse_numeric(std::string_view value);
std::string format_numeric(std::uint64_t v);

// numeric-range: two numerical values separated by '~', the right one greater than the left.
struct NumericRange {
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  friend bool operator==(const NumericRange&, const NumericRange&) = default;
};
Result<NumericRange> parse_numeric_range(std::string_view value);

// --- binary values -----------------------------------------------------------------------------
// "0x"/"0X" + hex digits (an odd count implies a leading zero nibble) or "0b"/"0B" + base64
// (RFC 4648 alphabet; '=' padding optional but, when present, correct).
Result<ByteVector> parse_binary(std::string_view value);
// Decoded length of a well-formed binary value without decoding it; nullopt when `value` is not a
// well-formed hex or base64 constant. Used to apply the RFC's length limit, which counts the
// binary bytes, "not its encoded representation".
std::optional<std::size_t> binary_decoded_length(std::string_view value) noexcept;
std::string format_hex(ByteSpan bytes);     // "0x" + lower-case hex
std::string format_base64(ByteSpan bytes);  // "0b" + padded base64

// --- lists ---------------------------------------------------------------------------------------
// list-of-values: comma-separated, no empty items. The views point into `value`.
Result<std::vector<std::string_view>> parse_list(std::string_view value);
std::string join_list(std::span<const std::string_view> items);
std::string join_list(std::span<const std::string> items);
bool list_contains(std::string_view list, std::string_view item) noexcept;

// --- text values and names ---------------------------------------------------------------------
// text-value: letters, digits, dot, minus, plus, commercial at, underscore, slash, brackets,
// colon (zero or more).
std::error_code validate_text_value(std::string_view value) noexcept;
// iSCSI names (RFC 7143 section 4.2.7): "iqn.yyyy-mm.<reversed domain>[:<anything>]",
// "eui." + 16 hex digits, "naa." + 16 or 32 hex digits; at most 223 bytes. Lenient where real
// targets are: any case in the prefix, upper-case letters and '_' in the iqn. body.
std::error_code validate_iscsi_name(std::string_view value) noexcept;
inline constexpr std::size_t kMaxIscsiNameLength = 223;

// --- reserved answers ----------------------------------------------------------------------------
enum class Reserved : std::uint8_t { none, not_understood, irrelevant, reject };
Reserved classify_reserved(std::string_view value) noexcept;

}  // namespace iscsi::text
