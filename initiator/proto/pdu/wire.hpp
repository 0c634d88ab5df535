// The wire layout of the iSCSI Basic Header Segment (RFC 7143 section 11), named once: every byte
// offset and bit mask the codec uses, and a per-opcode table of what the RFC allows (data
// segment, AHS, reserved bytes and bits). Only codec.cpp and the tests read these; logic
// elsewhere works on the structs in pdu.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace iscsi::pdu::detail {

// ---- Fields every BHS has (section 11.2.1) --------------------------------------------------
constexpr std::size_t kOpcodeByte = 0;     // . I opcode(6)
constexpr std::uint8_t kOpcodeMask = 0x3F;
constexpr std::uint8_t kImmediateBit = 0x40;
constexpr std::uint8_t kOpcodeByteReservedBit = 0x80;
constexpr std::size_t kFlagsByte = 1;      // F + opcode-specific flags
constexpr std::uint8_t kFinalBit = 0x80;
constexpr std::size_t kTotalAhsLength = 4;  // in 4-byte words
constexpr std::size_t kDataSegmentLength = 5;  // 24 bits
constexpr std::size_t kLun = 8;            // 8 bytes, or opcode-specific
constexpr std::size_t kItt = 16;           // Initiator Task Tag

// ---- Positions shared by many opcodes ---------------------------------------------------------
constexpr std::size_t kByte2 = 2;          // opcode-specific byte (response, version-max, ...)
constexpr std::size_t kByte3 = 3;          // opcode-specific byte (status, version-min, ...)
constexpr std::size_t kTtt = 20;           // Target Transfer Tag (and its cousins)
constexpr std::size_t kCmdSn = 24;         // initiator PDUs
constexpr std::size_t kExpStatSn = 28;     // initiator PDUs
constexpr std::size_t kStatSn = 24;        // target PDUs
constexpr std::size_t kExpCmdSn = 28;      // target PDUs
constexpr std::size_t kMaxCmdSn = 32;      // target PDUs
constexpr std::size_t kDataSn = 36;        // Data-In/Out DataSN, R2TSN, ExpDataSN, TMF ExpDataSN
constexpr std::size_t kBufferOffset = 40;  // Data-In/Out, R2T
constexpr std::size_t kResidualCount = 44; // SCSI Response, Data-In

// ---- Opcode-specific (one namespace per PDU type; only what is not shared above) ------------
namespace scsi_command {  // 11.3
constexpr std::uint8_t kReadBit = 0x40;
constexpr std::uint8_t kWriteBit = 0x20;
constexpr std::uint8_t kAttrMask = 0x07;
constexpr std::size_t kExpectedDataTransferLength = 20;
constexpr std::size_t kCdb = 32;
constexpr std::size_t kCdbLength = 16;
}  // namespace scsi_command

namespace scsi_response {  // 11.4
constexpr std::uint8_t kBidiOverflowBit = 0x10;   // o
constexpr std::uint8_t kBidiUnderflowBit = 0x08;  // u
constexpr std::uint8_t kOverflowBit = 0x04;       // O
constexpr std::uint8_t kUnderflowBit = 0x02;      // U
constexpr std::size_t kResponse = kByte2;
constexpr std::size_t kStatus = kByte3;
constexpr std::size_t kSnackTag = kTtt;
constexpr std::size_t kExpDataSn = kDataSn;
constexpr std::size_t kBidiReadResidualCount = 40;
}  // namespace scsi_response

namespace task_mgmt_request {  // 11.5
constexpr std::uint8_t kFunctionMask = 0x7F;
constexpr std::size_t kReferencedTaskTag = kTtt;
constexpr std::size_t kRefCmdSn = 32;
constexpr std::size_t kExpDataSn = kDataSn;
}  // namespace task_mgmt_request

namespace task_mgmt_response {  // 11.6
constexpr std::size_t kResponse = kByte2;
}  // namespace task_mgmt_response

namespace data {  // 11.7 (Data-Out and Data-In)
constexpr std::uint8_t kAckBit = 0x40;        // Data-In A
constexpr std::uint8_t kOverflowBit = 0x04;   // Data-In O
constexpr std::uint8_t kUnderflowBit = 0x02;  // Data-In U
constexpr std::uint8_t kStatusBit = 0x01;     // Data-In S
constexpr std::size_t kStatus = kByte3;       // Data-In
}  // namespace data

namespace r2t {  // 11.8
constexpr std::size_t kR2tSn = kDataSn;
constexpr std::size_t kDesiredDataTransferLength = 44;
}  // namespace r2t

namespace async_message {  // 11.9
constexpr std::size_t kAsyncEvent = 36;
constexpr std::size_t kAsyncVCode = 37;
constexpr std::size_t kParameter1 = 38;
constexpr std::size_t kParameter2 = 40;
constexpr std::size_t kParameter3 = 42;
}  // namespace async_message

namespace text {  // 11.10, 11.11
constexpr std::uint8_t kContinueBit = 0x40;  // C
}  // namespace text

namespace login {  // 11.12, 11.13
constexpr std::uint8_t kTransitBit = 0x80;   // T (where other PDUs have F)
constexpr std::uint8_t kContinueBit = 0x40;  // C
constexpr std::uint8_t kCsgMask = 0x0C;
constexpr unsigned kCsgShift = 2;
constexpr std::uint8_t kNsgMask = 0x03;
constexpr std::size_t kVersionMax = kByte2;
constexpr std::size_t kVersionMin = kByte3;     // request
constexpr std::size_t kVersionActive = kByte3;  // response
constexpr std::size_t kIsid = 8;                // 6 bytes
constexpr std::size_t kTsih = 14;
constexpr std::size_t kCid = 20;                // request
constexpr std::size_t kStatusClass = 36;        // response
constexpr std::size_t kStatusDetail = 37;       // response
}  // namespace login

namespace logout {  // 11.14, 11.15
constexpr std::uint8_t kReasonMask = 0x7F;
constexpr std::size_t kCid = 20;            // request
constexpr std::size_t kResponse = kByte2;   // response
constexpr std::size_t kTime2Wait = 40;      // response
constexpr std::size_t kTime2Retain = 42;    // response
}  // namespace logout

namespace snack {  // 11.16
constexpr std::uint8_t kTypeMask = 0x0F;
constexpr std::size_t kBegRun = 40;
constexpr std::size_t kRunLength = 44;
}  // namespace snack

namespace reject {  // 11.17
constexpr std::size_t kReason = kByte2;
constexpr std::size_t kDataSnOrR2tSn = kDataSn;
}  // namespace reject

// ---- AHS (section 11.2.1.3 and 11.3.4, 11.3.5) ----------------------------------------------
namespace ahs {
constexpr std::size_t kLength = 0;     // AHSLength, 16 bits: bytes after the type byte, unpadded
constexpr std::size_t kType = 2;       // AHSType
constexpr std::size_t kSpecific = 3;   // AHS-Specific (reserved for both defined types)
constexpr std::size_t kHeaderLength = 3;  // AHSLength + AHSType: what AHSLength excludes
constexpr std::size_t kData = 4;       // extended CDB bytes / bidi read length
constexpr std::size_t kMaxTotalWords = 255;
// Bidirectional read length AHS: AHSLength 5 (reserved byte + 4-byte length).
constexpr std::uint16_t kBidiAhsLength = 5;
}  // namespace ahs

// ---- What each opcode allows, from the RFC's per-type layouts -----------------------------
// reserved_bytes: bit i set means BHS byte i is wholly reserved (checked only in strict mode).
// flags_reserved: reserved bits of byte 1. final_always: the F bit must be 1.
// immediate_allowed: the I bit may be set (initiator PDUs other than Data-Out and SNACK);
// immediate_required: Login Request. ahs_allowed: only SCSI Command carries AHS.
// data_allowed: whether a data segment may be present at all.
struct OpcodeRules {
  bool known = false;
  bool immediate_allowed = false;
  bool immediate_required = false;
  bool final_always = false;
  bool ahs_allowed = false;
  bool data_allowed = false;
  bool itt_reserved_tag = false;  // ITT must be 0xffffffff (Async, Reject)
  std::uint8_t flags_reserved = 0;
  std::uint64_t reserved_bytes = 0;
};

constexpr std::uint64_t bytes(std::size_t first, std::size_t last) noexcept {
  std::uint64_t m = 0;
  for (std::size_t i = first; i <= last; ++i) m |= std::uint64_t{1} << i;
  return m;
}

constexpr std::array<OpcodeRules, 64> make_rules() noexcept {
  std::array<OpcodeRules, 64> r{};
  // initiator -> target
  r[0x00] = {true, true, false, true, false, true, false, 0x7F, bytes(2, 3) | bytes(32, 47)};
  r[0x01] = {true, true, false, false, true, true, false, 0x18, bytes(2, 3)};
  r[0x02] = {true, true, false, true, false, false, false, 0x00, bytes(2, 3) | bytes(40, 47)};
  r[0x03] = {true, true, true, false, false, true, false, 0x30, bytes(22, 23) | bytes(32, 47)};
  r[0x04] = {true, true, false, false, false, true, false, 0x3F, bytes(2, 3) | bytes(32, 47)};
  r[0x05] = {true, false, false, false, false, true, false, 0x7F,
             bytes(2, 3) | bytes(24, 27) | bytes(32, 35) | bytes(44, 47)};
  r[0x06] = {true, true, false, true, false, false, false, 0x00,
             bytes(2, 3) | bytes(8, 15) | bytes(22, 23) | bytes(32, 47)};
  r[0x10] = {true, false, false, true, false, false, false, 0x70,
             bytes(2, 3) | bytes(24, 27) | bytes(32, 39)};
  // target -> initiator
  r[0x20] = {true, false, false, true, false, true, false, 0x7F, bytes(2, 3) | bytes(36, 47)};
  r[0x21] = {true, false, false, true, false, true, false, 0x61, bytes(8, 15)};
  r[0x22] = {true, false, false, true, false, false, false, 0x7F,
             bytes(3, 3) | bytes(8, 15) | bytes(20, 23) | bytes(36, 47)};
  r[0x23] = {true, false, false, false, false, true, false, 0x30, bytes(20, 23) | bytes(38, 47)};
  r[0x24] = {true, false, false, false, false, true, false, 0x3F, bytes(2, 3) | bytes(36, 47)};
  r[0x25] = {true, false, false, false, false, true, false, 0x38, bytes(2, 2)};
  r[0x26] = {true, false, false, true, false, false, false, 0x7F,
             bytes(3, 3) | bytes(8, 15) | bytes(20, 23) | bytes(36, 39) | bytes(44, 47)};
  r[0x31] = {true, false, false, true, false, false, false, 0x7F, bytes(2, 3)};
  r[0x32] = {true, false, false, true, false, true, true, 0x7F,
             bytes(2, 3) | bytes(20, 23) | bytes(44, 47)};
  r[0x3f] = {true, false, false, true, false, true, true, 0x7F,
             bytes(3, 3) | bytes(8, 15) | bytes(20, 23) | bytes(40, 47)};
  return r;
}

inline constexpr std::array<OpcodeRules, 64> kRules = make_rules();

}  // namespace iscsi::pdu::detail
