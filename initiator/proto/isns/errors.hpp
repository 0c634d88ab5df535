// Error codes of the iSNS area (RFC 4171): framing of iSNSP PDUs, reassembly of messages that
// span several PDUs, TLV attributes, and the meaning we take from a DevAttrQry response. Each
// code names one kind of malformation; the Diagnostic (codec.hpp) says where it was.
// The status code a server puts in a response is data, not one of these: see status.hpp.
#pragma once

#include <string_view>

#include "proto/common/error.hpp"

namespace iscsi::isns {

enum class Errc {
  ok = 0,
  // --- PDU header and reassembly -------------------------------------------------------------
  truncated = 1,              // the input ends inside a header or a payload
  bad_version,                // iSNSP version is not 1
  auth_block_unsupported,     // the Authentication Block flag is set (we run without security)
  first_pdu_flag_missing,     // the first PDU of a message lacks the First PDU flag
  first_pdu_flag_repeated,    // a later PDU of the same message has the First PDU flag again
  sequence_out_of_order,      // Sequence ID not 0 on the first PDU, or not previous + 1
  pdu_changed_function,       // a later PDU of the message has another Function ID
  pdu_changed_transaction,    // a later PDU of the message has another Transaction ID
  message_too_long,           // reassembled payload over the configured maximum
  trailing_bytes,             // bytes after the last PDU where one message was expected
  assembler_failed,           // sticky: an earlier PDU of this stream was bad
  // --- attributes ----------------------------------------------------------------------------
  attribute_truncated,        // fewer than 8 bytes left for a tag and a length
  attribute_overrun,          // an attribute's length runs past the end of the payload
  attribute_misaligned,       // an attribute's length is not a multiple of 4
  string_not_terminated,      // a string value has no NUL
  string_bad_padding,         // bytes other than NUL after a string's terminating NUL
  string_control_character,   // a string value holds a byte below 0x20 or 0x7f
  string_empty,               // a name that must not be empty is
  integer_bad_length,         // a 32-bit value whose length is not 4
  ip_address_bad_length,      // an IP address whose length is not 16
  // --- responses -----------------------------------------------------------------------------
  not_a_response,             // Function ID without the response bit, or no Server flag
  status_missing,             // a response payload shorter than its 4-byte status
  unexpected_function,        // the response answers another function than the request's
  unexpected_transaction,     // the response carries another Transaction ID than the request
  delimiter_missing,          // a successful query response without the key/operating delimiter
  attribute_outside_object,   // e.g. a Portal Port with no Portal IP Address before it
  portal_group_incomplete,    // a Portal Group without its PG Portal IP Address or Port
  port_out_of_range,          // a portal port of 0, or above 65535 / marked UDP
  group_tag_out_of_range,     // a Portal Group Tag above 65535
  target_name_invalid,        // an iSCSI name that is not a valid iqn./eui./naa. name
  duplicate_target_name,      // the same storage node twice in one response
  // --- requests we build ---------------------------------------------------------------------
  request_too_long,           // a request would not fit one PDU (65535 bytes of payload)
  invalid_argument,           // a name, entity ID or address we were asked to send is unusable
};

const char* category_name(Errc) noexcept;
std::string_view describe(Errc e) noexcept;
using iscsi::make_error_code;

}  // namespace iscsi::isns

ISCSI_DECLARE_ERROR_ENUM(iscsi::isns::Errc)
