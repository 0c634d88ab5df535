// Words and ISCSI_ERR_* classification for the PDU layer's error codes.
#include "proto/pdu/errc.hpp"

namespace iscsi::pdu {

const char* category_name(Errc) noexcept { return "iscsi.pdu"; }

std::string_view to_string(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::unknown_opcode: return "unknown_opcode";
    case Errc::wrong_direction: return "wrong_direction";
    case Errc::bad_ahs_length: return "bad_ahs_length";
    case Errc::bad_ahs_type: return "bad_ahs_type";
    case Errc::unexpected_ahs: return "unexpected_ahs";
    case Errc::data_segment_too_long: return "data_segment_too_long";
    case Errc::unexpected_data: return "unexpected_data";
    case Errc::header_digest: return "header_digest";
    case Errc::data_digest: return "data_digest";
    case Errc::truncated: return "truncated";
    case Errc::reserved_not_zero: return "reserved_not_zero";
    case Errc::invalid_field: return "invalid_field";
    case Errc::bad_sense_length: return "bad_sense_length";
    case Errc::framer_failed: return "framer_failed";
  }
  return "unknown";
}

std::string_view describe(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "success";
    case Errc::unknown_opcode: return "PDU opcode is not defined by RFC 7143";
    case Errc::wrong_direction: return "PDU opcode is never sent in this direction";
    case Errc::bad_ahs_length: return "TotalAHSLength or an AHSLength is inconsistent";
    case Errc::bad_ahs_type: return "AHS type is reserved or not allowed for this PDU";
    case Errc::unexpected_ahs: return "PDU type carries no additional header segment";
    case Errc::data_segment_too_long: return "DataSegmentLength exceeds the allowed maximum";
    case Errc::unexpected_data: return "PDU type carries no data segment";
    case Errc::header_digest: return "header digest (CRC32C) mismatch";
    case Errc::data_digest: return "data digest (CRC32C) mismatch";
    case Errc::truncated: return "stream ended inside a PDU";
    case Errc::reserved_not_zero: return "reserved field is not as RFC 7143 requires";
    case Errc::invalid_field: return "PDU field has a value RFC 7143 forbids";
    case Errc::bad_sense_length: return "SenseLength runs past the data segment";
    case Errc::framer_failed: return "PDU framer failed earlier and accepts no more input";
  }
  return "unknown PDU error";
}

ConnError classify(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return ConnError::none;
    case Errc::unknown_opcode:
    case Errc::wrong_direction: return ConnError::bad_opcode;
    case Errc::bad_ahs_length:
    case Errc::bad_ahs_type:
    case Errc::unexpected_ahs: return ConnError::ahslen;
    case Errc::data_segment_too_long:
    case Errc::unexpected_data: return ConnError::datalen;
    case Errc::header_digest: return ConnError::hdr_dgst;
    case Errc::data_digest: return ConnError::data_dgst;
    // The peer closed the connection mid-PDU: the kernel reports this as a TCP close.
    case Errc::truncated: return ConnError::tcp_conn_close;
    case Errc::reserved_not_zero:
    case Errc::invalid_field:
    case Errc::bad_sense_length:
    case Errc::framer_failed: return ConnError::proto;
  }
  return ConnError::proto;
}

}  // namespace iscsi::pdu
