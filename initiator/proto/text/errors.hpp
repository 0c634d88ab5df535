// Error codes of the text area: the key=value codec (RFC 7143 section 6.1), value-type parsers,
// continuation across PDUs (C bit), and SendTargets responses (section 13.3, 13.8).
// Each code names one kind of malformation; TextDiagnostic (codec.hpp) carries where it was.
#pragma once

#include <string_view>

#include "proto/common/error.hpp"

namespace iscsi::text {

enum class Errc {
  ok = 0,
  // --- key=value framing -------------------------------------------------------------------
  key_empty = 1,              // "=value" or a stray NUL between pairs
  key_too_long,               // more than 63 bytes
  key_invalid_character,      // outside a-z A-Z 0-9 . - + @ _ (and the X# prefix)
  key_must_start_with_letter, //
  missing_equals,             // a pair with no '='
  value_too_long,             // over the simple-value limit (255 bytes unless binary-encoded)
  binary_value_too_long,      // a 0x/0b value whose decoded length is over the limit
  value_invalid_utf8,         //
  value_contains_nul,         // encode only: a NUL would split the pair
  unterminated_pair,          // the last pair of a complete text has no NUL
  duplicate_key,              // the same key twice in one text (RFC 7143 section 6.2)
  text_too_long,              // total text over the configured maximum
  // --- continuation (C bit) -----------------------------------------------------------------
  empty_continuation_segment, // C=1 with an empty data segment: no progress
  assembler_failed,           // sticky: an earlier segment of this text was bad
  segment_size_zero,          // splitter asked for segments of 0 bytes
  // --- value types ---------------------------------------------------------------------------
  not_boolean,                // not exactly "Yes" or "No"
  numeric_empty,
  numeric_leading_zero,       // decimal with a leading 0 ("007")
  numeric_invalid_digit,
  numeric_overflow,           // 2**64 or more
  range_missing_tilde,        // numeric-range without '~'
  range_not_increasing,       // the right value must be greater than the left
  binary_missing_prefix,      // a binary value must start with 0x/0X/0b/0B
  binary_empty,               // "0x" with no digits
  binary_invalid_hex,
  binary_invalid_base64,
  list_empty,
  list_empty_item,            // "a,,b" or a trailing comma
  text_value_invalid_character,
  iscsi_name_invalid,         // not iqn./eui./naa. in the RFC 3720/7143 format
  iscsi_name_too_long,        // over 223 bytes
  // --- SendTargets / TargetAddress -----------------------------------------------------------
  target_address_before_target_name,
  target_address_empty,
  target_address_bad_host,
  target_address_bad_ipv4,
  target_address_bad_ipv6,
  target_address_bad_port,
  target_address_missing_group_tag,
  target_address_bad_group_tag,
  target_name_invalid,
  duplicate_target_name,
  unexpected_key,             // a SendTargets response holds only TargetName and TargetAddress
};

const char* category_name(Errc) noexcept;
std::string_view describe(Errc e) noexcept;
using iscsi::make_error_code;

}  // namespace iscsi::text

ISCSI_DECLARE_ERROR_ENUM(iscsi::text::Errc)
