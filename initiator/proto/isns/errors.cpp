// Words for the iSNS area's error codes.
#include "proto/isns/errors.hpp"

namespace iscsi::isns {

const char* category_name(Errc) noexcept { return "iscsi.isns"; }

std::string_view describe(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::truncated: return "iSNSP message ends inside a PDU header or payload";
    case Errc::bad_version: return "iSNSP version is not 1";
    case Errc::auth_block_unsupported: return "iSNSP authentication blocks are not supported";
    case Errc::first_pdu_flag_missing: return "first PDU of an iSNSP message lacks the First PDU flag";
    case Errc::first_pdu_flag_repeated: return "a later PDU of an iSNSP message has the First PDU flag";
    case Errc::sequence_out_of_order: return "iSNSP Sequence ID out of order";
    case Errc::pdu_changed_function: return "PDUs of one iSNSP message carry different Function IDs";
    case Errc::pdu_changed_transaction: return "PDUs of one iSNSP message carry different Transaction IDs";
    case Errc::message_too_long: return "iSNSP message longer than the configured maximum";
    case Errc::trailing_bytes: return "bytes after the last PDU of an iSNSP message";
    case Errc::assembler_failed: return "an earlier PDU of this iSNSP stream was malformed";
    case Errc::attribute_truncated: return "iSNS attribute header truncated";
    case Errc::attribute_overrun: return "iSNS attribute length runs past the end of the payload";
    case Errc::attribute_misaligned: return "iSNS attribute length is not a multiple of 4";
    case Errc::string_not_terminated: return "iSNS string attribute has no NUL terminator";
    case Errc::string_bad_padding: return "iSNS string attribute has non-NUL bytes after its terminator";
    case Errc::string_control_character: return "iSNS string attribute holds a control character";
    case Errc::string_empty: return "iSNS name attribute is empty";
    case Errc::integer_bad_length: return "iSNS 32-bit attribute is not 4 bytes long";
    case Errc::ip_address_bad_length: return "iSNS IP address attribute is not 16 bytes long";
    case Errc::not_a_response: return "iSNSP message is not a server's response";
    case Errc::status_missing: return "iSNSP response has no status code";
    case Errc::unexpected_function: return "iSNSP response answers another function";
    case Errc::unexpected_transaction: return "iSNSP response carries another Transaction ID";
    case Errc::delimiter_missing: return "iSNS query response has no delimiter attribute";
    case Errc::attribute_outside_object: return "iSNS attribute outside the object it belongs to";
    case Errc::portal_group_incomplete: return "iSNS portal group without its portal address or port";
    case Errc::port_out_of_range: return "iSNS portal port is 0, above 65535 or UDP";
    case Errc::group_tag_out_of_range: return "iSNS portal group tag above 65535";
    case Errc::target_name_invalid: return "iSNS storage node name is not a valid iSCSI name";
    case Errc::duplicate_target_name: return "the same storage node twice in one iSNS response";
    case Errc::request_too_long: return "iSNSP request longer than one PDU";
    case Errc::invalid_argument: return "iSNS request argument unusable";
  }
  return "unknown iscsi.isns error";
}

}  // namespace iscsi::isns
