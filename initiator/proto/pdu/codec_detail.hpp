// Internals shared by the one-shot codec (codec.cpp) and the streaming framer (framer.cpp), so
// both check a received PDU in the same order with the same words.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "proto/pdu/pdu.hpp"

namespace iscsi::pdu::detail {

// Receive-side limits beyond the RFC's fixed header rules: nullopt `receive` skips the
// direction check; the data limits apply to Login PDUs (login_max) and to all others (max).
struct ReceiveLimits {
  std::optional<Direction> receive;
  std::uint32_t max_data = kMaxDataSegmentLength;
  std::uint32_t login_max_data = kMaxDataSegmentLength;
};

// Records `errc` with `detail` in *diag (when non-null) and returns the error code.
std::error_code fail(Diagnostic* diag, Errc errc, std::uint8_t raw_opcode, std::string detail);

// Header stage: checks the opcode, direction, the RFC's header rules and the data limits, and
// decodes the BHS into `out` (in place: the receive path moves no PDU around). `bhs` is exactly
// 48 bytes.
std::error_code decode_header(ByteSpan bhs, const DecodeOptions& opts, const ReceiveLimits& limits,
                              Diagnostic* diag, Pdu& out);

// Header digest over BHS+AHS against the 4 bytes that follow them.
bool header_digest_ok(ByteSpan header_and_ahs, const std::uint8_t* digest) noexcept;
// Data digest over the padded data segment against the 4 bytes that follow it.
bool data_digest_ok(ByteSpan padded_data, const std::uint8_t* digest) noexcept;

// Payload stage: parses the AHS area into the PDU's AHS-borne fields (SCSI Command only).
std::error_code attach_ahs(Pdu& pdu, ByteSpan ahs, Diagnostic* diag);
// Copies the data segment into the PDU's `data` (a no-op for types without one).
void attach_data(Pdu& pdu, ByteSpan data);

}  // namespace iscsi::pdu::detail
