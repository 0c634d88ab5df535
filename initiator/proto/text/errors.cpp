// Names and one-line descriptions of the text area's error codes.
#include "proto/text/errors.hpp"

namespace iscsi::text {

const char* category_name(Errc) noexcept { return "iscsi.text"; }

std::string_view describe(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::key_empty: return "a key=value pair has an empty key";
    case Errc::key_too_long: return "key name longer than 63 bytes";
    case Errc::key_invalid_character: return "key name has a character outside a-z A-Z 0-9 . - + @ _";
    case Errc::key_must_start_with_letter: return "key name does not start with a letter";
    case Errc::missing_equals: return "key=value pair without '='";
    case Errc::value_too_long: return "value longer than 255 bytes";
    case Errc::binary_value_too_long: return "binary value longer than the limit once decoded";
    case Errc::value_invalid_utf8: return "value is not valid UTF-8";
    case Errc::value_contains_nul: return "value contains a NUL byte";
    case Errc::unterminated_pair: return "text ends with a key=value pair that has no NUL terminator";
    case Errc::duplicate_key: return "the same key appears twice in one text";
    case Errc::text_too_long: return "text is longer than the configured maximum";
    case Errc::empty_continuation_segment: return "a segment with the C bit set is empty";
    case Errc::assembler_failed: return "an earlier segment of this text was malformed";
    case Errc::segment_size_zero: return "segment size for splitting text is zero";
    case Errc::not_boolean: return "value is not Yes or No";
    case Errc::numeric_empty: return "numerical value is empty";
    case Errc::numeric_leading_zero: return "decimal constant has a leading zero";
    case Errc::numeric_invalid_digit: return "numerical value has an invalid digit";
    case Errc::numeric_overflow: return "numerical value is 2**64 or more";
    case Errc::range_missing_tilde: return "numeric range has no '~'";
    case Errc::range_not_increasing: return "numeric range's right value is not greater than its left";
    case Errc::binary_missing_prefix: return "binary value does not start with 0x or 0b";
    case Errc::binary_empty: return "binary value has no digits after its prefix";
    case Errc::binary_invalid_hex: return "binary value has an invalid hex digit";
    case Errc::binary_invalid_base64: return "binary value is not valid base64";
    case Errc::list_empty: return "list of values is empty";
    case Errc::list_empty_item: return "list of values has an empty item";
    case Errc::text_value_invalid_character: return "text value has a character outside the RFC's set";
    case Errc::iscsi_name_invalid: return "not a valid iqn., eui. or naa. iSCSI name";
    case Errc::iscsi_name_too_long: return "iSCSI name longer than 223 bytes";
    case Errc::target_address_before_target_name: return "TargetAddress before any TargetName";
    case Errc::target_address_empty: return "TargetAddress is empty";
    case Errc::target_address_bad_host: return "TargetAddress host is not a valid host name";
    case Errc::target_address_bad_ipv4: return "TargetAddress has a malformed IPv4 address";
    case Errc::target_address_bad_ipv6: return "TargetAddress has a malformed bracketed IPv6 address";
    case Errc::target_address_bad_port: return "TargetAddress port is not 1..65535";
    case Errc::target_address_missing_group_tag: return "TargetAddress in SendTargets has no portal group tag";
    case Errc::target_address_bad_group_tag: return "TargetAddress portal group tag is not 0..65535";
    case Errc::target_name_invalid: return "TargetName is not a valid iSCSI name";
    case Errc::duplicate_target_name: return "the same TargetName appears twice in a SendTargets response";
    case Errc::unexpected_key: return "SendTargets response holds a key other than TargetName/TargetAddress";
  }
  return "unknown text error";
}

}  // namespace iscsi::text
