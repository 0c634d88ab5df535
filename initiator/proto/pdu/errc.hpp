// Error codes of the PDU layer (category "iscsi.pdu") and how each classifies into the Linux
// initiator's connection error codes (ISCSI_ERR_*), which is what recovery acts on.
#pragma once

#include <cstdint>
#include <string_view>

#include "proto/common/error.hpp"
#include "proto/recovery/conn_error.hpp"

namespace iscsi::pdu {

enum class Errc : std::uint8_t {
  ok = 0,
  unknown_opcode,         // not one of RFC 7143's 18 opcodes
  wrong_direction,        // a known opcode that this side never receives
  bad_ahs_length,         // TotalAHSLength / an AHSLength inconsistent with the AHS area
  bad_ahs_type,           // AHSType 0 or 3..63, or a type that the opcode cannot carry
  unexpected_ahs,         // an AHS on a PDU type that carries none
  data_segment_too_long,  // over MaxRecvDataSegmentLength (or the login limit, or 2^24-1)
  unexpected_data,        // a data segment on a PDU type that carries none
  header_digest,          // header CRC32C mismatch
  data_digest,            // data CRC32C mismatch
  truncated,              // the stream (or buffer) ended inside a PDU
  reserved_not_zero,      // strict mode: a reserved field is not as the RFC requires
  invalid_field,          // a field value the RFC forbids (Stage 2, S without F, ...)
  bad_sense_length,       // SenseLength runs past the data segment
  framer_failed,          // the framer already failed; it stays failed
};

const char* category_name(Errc) noexcept;
std::string_view describe(Errc e) noexcept;
// "unknown_opcode"
std::string_view to_string(Errc e) noexcept;
// The ISCSI_ERR_* class a receive-side error falls into (none for ok).
ConnError classify(Errc e) noexcept;
using iscsi::make_error_code;

}  // namespace iscsi::pdu

ISCSI_DECLARE_ERROR_ENUM(iscsi::pdu::Errc)
