// Every RFC 7143 (section 11) PDU as a plain struct with named fields, the Pdu variant that the
// framer returns, and the codec entry points. The wire layout (byte offsets, bit masks) lives in
// one place, proto/pdu/wire.hpp; nothing here knows an offset.
//
// Conventions for the structs:
//  - Field names follow the RFC's field names in snake_case (cmd_sn, exp_stat_sn, itt, ttt, ...).
//    They are plain aggregates, so the fields carry no trailing underscore.
//  - Every sequence number is a SerialNumber; tags (ITT, TTT, SNACK Tag) are uint32_t, with
//    kReservedTag (0xffffffff) where the RFC says "reserved tag".
//  - LUN is the 8-byte wire value as a uint64_t (SAM encoding is the scsi area's business).
//  - The F bit is `final_pdu` where the PDU type lets it vary; types whose F bit is always 1 have
//    no such field (the encoder writes 1, the decoder checks it in strict mode).
//  - TotalAHSLength and DataSegmentLength are not fields: the encoder derives them from the
//    AHS-bearing fields and `data.size()`.
//  - `immediate` is the I bit, present only on the types where the initiator may set it
//    (Login Request always has I=1 and has no field).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include "proto/common/bytes.hpp"
#include "proto/common/error.hpp"
#include "proto/common/result.hpp"
#include "proto/common/serial.hpp"
#include "proto/pdu/errc.hpp"
#include "proto/recovery/conn_error.hpp"

namespace iscsi::pdu {

constexpr std::size_t kBhsLength = 48;
constexpr std::uint32_t kReservedTag = 0xFFFFFFFFu;
// DataSegmentLength is a 24-bit field.
constexpr std::uint32_t kMaxDataSegmentLength = 0xFFFFFFu;
// RFC 7143 section 6.2 (and 13.12): the default MaxRecvDataSegmentLength, and the most a Login
// PDU's data segment may carry regardless of what is negotiated.
constexpr std::uint32_t kDefaultMaxRecvDataSegmentLength = 8192;
constexpr std::uint32_t kLoginMaxDataSegmentLength = 8192;
// The only iSCSI version there is (RFC 7143 section 11.12.4).
constexpr std::uint8_t kVersion = 0x00;

// ---------------------------------------------------------------------------------------------
// Opcodes (RFC 7143 section 11.1.1.1)

enum class Opcode : std::uint8_t {
  // initiator -> target
  nop_out = 0x00,
  scsi_command = 0x01,
  task_mgmt_request = 0x02,
  login_request = 0x03,
  text_request = 0x04,
  scsi_data_out = 0x05,
  logout_request = 0x06,
  snack_request = 0x10,
  // target -> initiator
  nop_in = 0x20,
  scsi_response = 0x21,
  task_mgmt_response = 0x22,
  login_response = 0x23,
  text_response = 0x24,
  scsi_data_in = 0x25,
  logout_response = 0x26,
  r2t = 0x31,
  async_message = 0x32,
  reject = 0x3f,
};

// Who sends a PDU: initiator opcodes are 0x00..0x1f, target opcodes 0x20..0x3f.
enum class Direction : std::uint8_t { initiator_to_target = 0, target_to_initiator = 1 };

// "NOP-Out", "SCSI Data-In", ...; "opcode 0x3c" for an unknown value.
std::string to_string(Opcode op);
std::string_view to_string(Direction d) noexcept;
// True for the 18 opcodes above.
bool is_known_opcode(std::uint8_t raw) noexcept;
// The direction implied by the opcode's value (bit 5), known or not.
constexpr Direction direction_of(Opcode op) noexcept {
  return (static_cast<std::uint8_t>(op) & 0x20u) ? Direction::target_to_initiator
                                                  : Direction::initiator_to_target;
}

// ---------------------------------------------------------------------------------------------
// Per-type codes and flags

// Login/Text stages (CSG/NSG, RFC 7143 section 11.12.3); 2 is reserved.
enum class Stage : std::uint8_t { security = 0, operational = 1, full_feature = 3 };
std::string to_string(Stage s);

// SCSI Command ATTR field (RFC 7143 section 11.3.1.3).
enum class TaskAttribute : std::uint8_t {
  untagged = 0,
  simple = 1,
  ordered = 2,
  head_of_queue = 3,
  aca = 4,
};
std::string to_string(TaskAttribute a);

// SCSI Response "Response" field (RFC 7143 section 11.4.3); 0x80..0xff are vendor specific.
enum class ScsiResponseCode : std::uint8_t {
  command_completed_at_target = 0x00,
  target_failure = 0x01,
};
std::string to_string(ScsiResponseCode r);

// Task Management Function Request "Function" field (RFC 7143 section 11.5.1).
enum class TmfFunction : std::uint8_t {
  abort_task = 1,
  abort_task_set = 2,
  clear_aca = 3,
  clear_task_set = 4,
  logical_unit_reset = 5,
  target_warm_reset = 6,
  target_cold_reset = 7,
  task_reassign = 8,
  // RFC 7144 section 4.1 (SAM-4 additions)
  query_task = 9,
  query_task_set = 10,
  i_t_nexus_reset = 11,
  query_async_event = 12,
};
std::string to_string(TmfFunction f);

// Task Management Function Response "Response" field (RFC 7143 section 11.6.1).
enum class TmfResponse : std::uint8_t {
  function_complete = 0,
  task_does_not_exist = 1,
  lun_does_not_exist = 2,
  task_still_allegiant = 3,
  task_allegiance_reassignment_not_supported = 4,
  tmf_not_supported = 5,
  function_authorization_failed = 6,
  function_succeeded = 7,  // RFC 7144, for the query functions
  function_rejected = 255,
};
std::string to_string(TmfResponse r);

// Logout Request reason code (RFC 7143 section 11.14.1).
enum class LogoutReason : std::uint8_t {
  close_session = 0,
  close_connection = 1,
  remove_connection_for_recovery = 2,
};
std::string to_string(LogoutReason r);

// Logout Response "Response" field (RFC 7143 section 11.15.1).
enum class LogoutResponseCode : std::uint8_t {
  closed_successfully = 0,
  cid_not_found = 1,
  connection_recovery_not_supported = 2,
  cleanup_failed = 3,
};
std::string to_string(LogoutResponseCode r);

// Asynchronous Message AsyncEvent (RFC 7143 section 11.9.1); 248..255 are vendor specific.
enum class AsyncEvent : std::uint8_t {
  scsi_async_event = 0,
  logout_request = 1,
  connection_drop = 2,
  session_drop = 3,
  negotiation_request = 4,
  task_termination = 5,
  vendor_specific = 255,
};
std::string to_string(AsyncEvent e);

// Reject reason (RFC 7143 section 11.17.1).
enum class RejectReason : std::uint8_t {
  data_digest_error = 0x02,
  snack_reject = 0x03,
  protocol_error = 0x04,
  command_not_supported = 0x05,
  immediate_command_reject = 0x06,
  task_in_progress = 0x07,
  invalid_data_ack = 0x08,
  invalid_pdu_field = 0x09,
  long_operation_reject = 0x0a,
  deprecated_negotiation_reset = 0x0b,
  waiting_for_logout = 0x0c,
};
std::string to_string(RejectReason r);

// SNACK Type (RFC 7143 section 11.16.1).
enum class SnackType : std::uint8_t {
  data_r2t = 0,
  status = 1,
  data_ack = 2,
  r_data = 3,
};
std::string to_string(SnackType t);

// Login Response Status-Class (RFC 7143 section 11.13.5). The detail codes and their words
// belong to the login area; here the pair is only carried.
enum class LoginStatusClass : std::uint8_t {
  success = 0,
  redirection = 1,
  initiator_error = 2,
  target_error = 3,
};
std::string to_string(LoginStatusClass c);

// ---------------------------------------------------------------------------------------------
// ISID (RFC 7143 section 11.12.5): 6 bytes as T(2 bits) A(6) B(16) C(8) D(16).

enum class IsidType : std::uint8_t { oui = 0, en = 1, random = 2, reserved = 3 };
std::string to_string(IsidType t);

struct Isid {
  IsidType type = IsidType::oui;
  std::uint8_t a = 0;   // 6 bits
  std::uint16_t b = 0;
  std::uint8_t c = 0;
  std::uint16_t d = 0;

  // The 48-bit wire value and back.
  static constexpr Isid from_u48(std::uint64_t v) noexcept {
    Isid i;
    i.type = static_cast<IsidType>((v >> 46) & 0x3u);
    i.a = static_cast<std::uint8_t>((v >> 40) & 0x3Fu);
    i.b = static_cast<std::uint16_t>(v >> 24);
    i.c = static_cast<std::uint8_t>(v >> 16);
    i.d = static_cast<std::uint16_t>(v);
    return i;
  }
  constexpr std::uint64_t to_u48() const noexcept {
    return (std::uint64_t{static_cast<std::uint8_t>(type) & 0x3u} << 46) |
           (std::uint64_t{a & 0x3Fu} << 40) | (std::uint64_t{b} << 24) |
           (std::uint64_t{c} << 16) | std::uint64_t{d};
  }
  // Type 00: A+B is a 22-bit IEEE OUI, C+D a 24-bit qualifier.
  static constexpr Isid oui_format(std::uint32_t oui22, std::uint32_t qualifier24) noexcept {
    return from_u48((std::uint64_t{oui22 & 0x3FFFFFu} << 24) | (qualifier24 & 0xFFFFFFu));
  }
  // Type 01: B+C is a 24-bit IANA enterprise number, D a 16-bit qualifier.
  static constexpr Isid en_format(std::uint32_t en24, std::uint16_t qualifier) noexcept {
    return from_u48((std::uint64_t{1} << 46) | (std::uint64_t{en24 & 0xFFFFFFu} << 16) |
                    qualifier);
  }
  // Type 10: B+C is 24 random bits (drawn by the caller), D a 16-bit qualifier.
  static constexpr Isid random_format(std::uint32_t random24, std::uint16_t qualifier) noexcept {
    return from_u48((std::uint64_t{2} << 46) | (std::uint64_t{random24 & 0xFFFFFFu} << 16) |
                    qualifier);
  }
  // The naming-authority part (OUI for type 00, EN or random bits otherwise) and the qualifier
  // part, split as the type says.
  constexpr std::uint32_t naming_authority() const noexcept {
    const std::uint64_t v = to_u48();
    return type == IsidType::oui ? static_cast<std::uint32_t>((v >> 24) & 0x3FFFFFu)
                                 : static_cast<std::uint32_t>((v >> 16) & 0xFFFFFFu);
  }
  constexpr std::uint32_t qualifier() const noexcept {
    const std::uint64_t v = to_u48();
    return type == IsidType::oui ? static_cast<std::uint32_t>(v & 0xFFFFFFu)
                                 : static_cast<std::uint32_t>(v & 0xFFFFu);
  }
  friend constexpr bool operator==(const Isid&, const Isid&) noexcept = default;
};
// "0x023d00000001" style, 12 hex digits.
std::string to_string(const Isid& isid);

// ---------------------------------------------------------------------------------------------
// Initiator -> target PDUs

struct NopOut {  // 0x00, RFC 7143 section 11.18
  static constexpr Opcode kOpcode = Opcode::nop_out;
  bool immediate = false;
  std::uint64_t lun = 0;
  std::uint32_t itt = kReservedTag;
  std::uint32_t ttt = kReservedTag;
  SerialNumber cmd_sn;
  SerialNumber exp_stat_sn;
  ByteVector data;  // ping data
  friend bool operator==(const NopOut&, const NopOut&) = default;
};

struct ScsiCommand {  // 0x01, RFC 7143 section 11.3
  static constexpr Opcode kOpcode = Opcode::scsi_command;
  bool immediate = false;
  bool final_pdu = true;  // F: no unsolicited Data-Out PDUs follow
  bool read = false;      // R
  bool write = false;     // W
  TaskAttribute attr = TaskAttribute::simple;
  std::uint64_t lun = 0;
  std::uint32_t itt = 0;
  std::uint32_t expected_data_transfer_length = 0;
  SerialNumber cmd_sn;
  SerialNumber exp_stat_sn;
  // The first 16 CDB bytes (shorter CDBs are zero padded) and, for CDBs over 16 bytes, the rest,
  // carried in an Extended CDB AHS (type 1).
  std::array<std::uint8_t, 16> cdb{};
  ByteVector extended_cdb;
  // Expected Bidirectional Read-Data Length AHS (type 2), for bidirectional commands.
  std::optional<std::uint32_t> bidi_read_data_length;
  ByteVector data;  // immediate data
  friend bool operator==(const ScsiCommand&, const ScsiCommand&) = default;
};

struct TaskMgmtRequest {  // 0x02, RFC 7143 section 11.5
  static constexpr Opcode kOpcode = Opcode::task_mgmt_request;
  bool immediate = true;
  TmfFunction function = TmfFunction::abort_task;
  std::uint64_t lun = 0;
  std::uint32_t itt = 0;
  std::uint32_t referenced_task_tag = kReservedTag;
  SerialNumber cmd_sn;
  SerialNumber exp_stat_sn;
  SerialNumber ref_cmd_sn;
  SerialNumber exp_data_sn;
  friend bool operator==(const TaskMgmtRequest&, const TaskMgmtRequest&) = default;
};

struct LoginRequest {  // 0x03, RFC 7143 section 11.12 (I bit always 1)
  static constexpr Opcode kOpcode = Opcode::login_request;
  bool transit = false;  // T
  bool cont = false;     // C
  Stage csg = Stage::security;
  Stage nsg = Stage::security;  // meaningful only when transit
  std::uint8_t version_max = kVersion;
  std::uint8_t version_min = kVersion;
  Isid isid;
  std::uint16_t tsih = 0;
  std::uint32_t itt = 0;
  std::uint16_t cid = 0;
  SerialNumber cmd_sn;
  SerialNumber exp_stat_sn;
  ByteVector data;  // key=value text
  friend bool operator==(const LoginRequest&, const LoginRequest&) = default;
};

struct TextRequest {  // 0x04, RFC 7143 section 11.10
  static constexpr Opcode kOpcode = Opcode::text_request;
  bool immediate = false;
  bool final_pdu = true;  // F
  bool cont = false;      // C
  std::uint64_t lun = 0;
  std::uint32_t itt = 0;
  std::uint32_t ttt = kReservedTag;
  SerialNumber cmd_sn;
  SerialNumber exp_stat_sn;
  ByteVector data;  // key=value text
  friend bool operator==(const TextRequest&, const TextRequest&) = default;
};

struct DataOut {  // 0x05, RFC 7143 section 11.7
  static constexpr Opcode kOpcode = Opcode::scsi_data_out;
  bool final_pdu = false;
  std::uint64_t lun = 0;
  std::uint32_t itt = 0;
  std::uint32_t ttt = kReservedTag;
  SerialNumber exp_stat_sn;
  SerialNumber data_sn;
  std::uint32_t buffer_offset = 0;
  ByteVector data;
  friend bool operator==(const DataOut&, const DataOut&) = default;
};

struct LogoutRequest {  // 0x06, RFC 7143 section 11.14
  static constexpr Opcode kOpcode = Opcode::logout_request;
  bool immediate = false;
  LogoutReason reason = LogoutReason::close_session;
  std::uint32_t itt = 0;
  std::uint16_t cid = 0;  // reserved for close_session
  SerialNumber cmd_sn;
  SerialNumber exp_stat_sn;
  friend bool operator==(const LogoutRequest&, const LogoutRequest&) = default;
};

struct SnackRequest {  // 0x10, RFC 7143 section 11.16
  static constexpr Opcode kOpcode = Opcode::snack_request;
  SnackType type = SnackType::data_r2t;
  std::uint64_t lun = 0;
  std::uint32_t itt = kReservedTag;
  std::uint32_t ttt = kReservedTag;  // TTT for DataACK, SNACK Tag for R-Data
  SerialNumber exp_stat_sn;
  std::uint32_t beg_run = 0;
  std::uint32_t run_length = 0;
  friend bool operator==(const SnackRequest&, const SnackRequest&) = default;
};

// ---------------------------------------------------------------------------------------------
// Target -> initiator PDUs

struct NopIn {  // 0x20, RFC 7143 section 11.19
  static constexpr Opcode kOpcode = Opcode::nop_in;
  std::uint64_t lun = 0;
  std::uint32_t itt = kReservedTag;
  std::uint32_t ttt = kReservedTag;
  SerialNumber stat_sn;
  SerialNumber exp_cmd_sn;
  SerialNumber max_cmd_sn;
  ByteVector data;
  friend bool operator==(const NopIn&, const NopIn&) = default;
};

struct ScsiResponse {  // 0x21, RFC 7143 section 11.4
  static constexpr Opcode kOpcode = Opcode::scsi_response;
  bool bidi_read_overflow = false;   // o
  bool bidi_read_underflow = false;  // u
  bool overflow = false;             // O
  bool underflow = false;            // U
  ScsiResponseCode response = ScsiResponseCode::command_completed_at_target;
  std::uint8_t status = 0;  // SCSI status (GOOD 0x00, CHECK CONDITION 0x02, ...)
  std::uint32_t itt = 0;
  std::uint32_t snack_tag = 0;
  SerialNumber stat_sn;
  SerialNumber exp_cmd_sn;
  SerialNumber max_cmd_sn;
  SerialNumber exp_data_sn;
  std::uint32_t bidi_read_residual_count = 0;
  std::uint32_t residual_count = 0;
  ByteVector data;  // SenseLength(2) + sense data + response data; see split_sense_data()
  friend bool operator==(const ScsiResponse&, const ScsiResponse&) = default;
};

struct TaskMgmtResponse {  // 0x22, RFC 7143 section 11.6
  static constexpr Opcode kOpcode = Opcode::task_mgmt_response;
  TmfResponse response = TmfResponse::function_complete;
  std::uint32_t itt = 0;
  SerialNumber stat_sn;
  SerialNumber exp_cmd_sn;
  SerialNumber max_cmd_sn;
  friend bool operator==(const TaskMgmtResponse&, const TaskMgmtResponse&) = default;
};

struct LoginResponse {  // 0x23, RFC 7143 section 11.13
  static constexpr Opcode kOpcode = Opcode::login_response;
  bool transit = false;  // T
  bool cont = false;     // C
  Stage csg = Stage::security;
  Stage nsg = Stage::security;
  std::uint8_t version_max = kVersion;
  std::uint8_t version_active = kVersion;
  Isid isid;
  std::uint16_t tsih = 0;
  std::uint32_t itt = 0;
  SerialNumber stat_sn;
  SerialNumber exp_cmd_sn;
  SerialNumber max_cmd_sn;
  LoginStatusClass status_class = LoginStatusClass::success;
  std::uint8_t status_detail = 0;
  ByteVector data;  // key=value text
  friend bool operator==(const LoginResponse&, const LoginResponse&) = default;
};

struct TextResponse {  // 0x24, RFC 7143 section 11.11
  static constexpr Opcode kOpcode = Opcode::text_response;
  bool final_pdu = true;  // F
  bool cont = false;      // C
  std::uint64_t lun = 0;
  std::uint32_t itt = 0;
  std::uint32_t ttt = kReservedTag;
  SerialNumber stat_sn;
  SerialNumber exp_cmd_sn;
  SerialNumber max_cmd_sn;
  ByteVector data;  // key=value text
  friend bool operator==(const TextResponse&, const TextResponse&) = default;
};

struct DataIn {  // 0x25, RFC 7143 section 11.7
  static constexpr Opcode kOpcode = Opcode::scsi_data_in;
  bool final_pdu = false;     // F
  bool acknowledge = false;   // A
  bool overflow = false;      // O (valid with S)
  bool underflow = false;     // U (valid with S)
  bool status_present = false;  // S (requires F)
  std::uint8_t status = 0;      // valid with S
  std::uint64_t lun = 0;
  std::uint32_t itt = 0;
  std::uint32_t ttt = kReservedTag;
  SerialNumber stat_sn;  // valid with S
  SerialNumber exp_cmd_sn;
  SerialNumber max_cmd_sn;
  SerialNumber data_sn;
  std::uint32_t buffer_offset = 0;
  std::uint32_t residual_count = 0;  // valid with S
  ByteVector data;
  friend bool operator==(const DataIn&, const DataIn&) = default;
};

struct LogoutResponse {  // 0x26, RFC 7143 section 11.15
  static constexpr Opcode kOpcode = Opcode::logout_response;
  LogoutResponseCode response = LogoutResponseCode::closed_successfully;
  std::uint32_t itt = 0;
  SerialNumber stat_sn;
  SerialNumber exp_cmd_sn;
  SerialNumber max_cmd_sn;
  std::uint16_t time2wait = 0;
  std::uint16_t time2retain = 0;
  friend bool operator==(const LogoutResponse&, const LogoutResponse&) = default;
};

struct R2T {  // 0x31, RFC 7143 section 11.8
  static constexpr Opcode kOpcode = Opcode::r2t;
  std::uint64_t lun = 0;
  std::uint32_t itt = 0;
  std::uint32_t ttt = 0;
  SerialNumber stat_sn;
  SerialNumber exp_cmd_sn;
  SerialNumber max_cmd_sn;
  SerialNumber r2t_sn;
  std::uint32_t buffer_offset = 0;
  std::uint32_t desired_data_transfer_length = 0;
  friend bool operator==(const R2T&, const R2T&) = default;
};

struct AsyncMessage {  // 0x32, RFC 7143 section 11.9
  static constexpr Opcode kOpcode = Opcode::async_message;
  std::uint64_t lun = 0;
  SerialNumber stat_sn;
  SerialNumber exp_cmd_sn;
  SerialNumber max_cmd_sn;
  AsyncEvent async_event = AsyncEvent::scsi_async_event;
  std::uint8_t async_vcode = 0;
  std::uint16_t parameter1 = 0;
  std::uint16_t parameter2 = 0;
  std::uint16_t parameter3 = 0;
  ByteVector data;  // SenseLength(2) + sense data + iSCSI event data
  friend bool operator==(const AsyncMessage&, const AsyncMessage&) = default;
};

struct Reject {  // 0x3f, RFC 7143 section 11.17
  static constexpr Opcode kOpcode = Opcode::reject;
  RejectReason reason = RejectReason::protocol_error;
  SerialNumber stat_sn;
  SerialNumber exp_cmd_sn;
  SerialNumber max_cmd_sn;
  SerialNumber data_sn_or_r2t_sn;
  ByteVector data;  // the complete header (BHS) of the rejected PDU
  friend bool operator==(const Reject&, const Reject&) = default;
};

// ---------------------------------------------------------------------------------------------
// The variant: one alternative per opcode, in opcode order.

using Pdu = std::variant<NopOut, ScsiCommand, TaskMgmtRequest, LoginRequest, TextRequest, DataOut,
                         LogoutRequest, SnackRequest, NopIn, ScsiResponse, TaskMgmtResponse,
                         LoginResponse, TextResponse, DataIn, LogoutResponse, R2T, AsyncMessage,
                         Reject>;

Opcode opcode_of(const Pdu& pdu) noexcept;
// The data segment of any PDU (empty for types that carry none).
ByteSpan data_of(const Pdu& pdu) noexcept;
// The ITT of any PDU (kReservedTag for Async Message and Reject, which carry 0xffffffff).
std::uint32_t itt_of(const Pdu& pdu) noexcept;
// One line for logs: "SCSI Data-In itt=0x10 datasn=0 offset=0 len=8192 F S status=0x00".
std::string to_string(const Pdu& pdu);

// ---------------------------------------------------------------------------------------------
// Codec

// Which digests are on for a direction (negotiated HeaderDigest/DataDigest = CRC32C). Both are
// off during login.
struct DigestConfig {
  bool header = false;
  bool data = false;
  friend bool operator==(const DigestConfig&, const DigestConfig&) = default;
};

// How strictly a received header is checked. Always checked: a known opcode, the opcode's
// direction, TotalAHSLength/AHS shape, DataSegmentLength against the limits and against types
// that carry no data, CSG/NSG values, Data-In S without F. With `strict_reserved`, in addition:
// every field RFC 7143 calls reserved (and the always-1 F bit, the I bit of target PDUs) must
// be as the RFC says; off by default because real targets are sloppy there and the RFC lets a
// receiver ignore them.
struct DecodeOptions {
  bool strict_reserved = false;
};

// What went wrong, in more words than an Errc: filled by the decoders and the framer.
struct Diagnostic {
  Errc errc = Errc::ok;
  ConnError conn_error = ConnError::none;
  std::uint8_t raw_opcode = 0;     // byte 0 & 0x3f of the offending header, when there was one
  std::uint64_t stream_offset = 0; // framer: offset of the offending PDU's first byte
  std::string detail;              // "DataSegmentLength 70000 exceeds MaxRecvDataSegmentLength 8192"
};
// "data_segment_too_long at offset 96 (opcode 0x25): DataSegmentLength ... [ISCSI_ERR_DATALEN]"
std::string to_string(const Diagnostic& d);

// Additional Header Segments (RFC 7143 section 11.2.1.3). Types: 1 extended CDB, 2 expected
// bidirectional read data length; 0 and 3..63 are reserved and rejected.
enum class AhsType : std::uint8_t { extended_cdb = 1, bidi_read_data_length = 2 };
std::string to_string(AhsType t);
struct AhsFields {
  ByteVector extended_cdb;  // CDB bytes beyond the first 16
  std::optional<std::uint32_t> bidi_read_data_length;
  friend bool operator==(const AhsFields&, const AhsFields&) = default;
};
// Parses the AHS area (exactly TotalAHSLength*4 bytes) of a PDU with opcode `op`.
Result<AhsFields> decode_ahs(ByteSpan ahs, Opcode op, Diagnostic* diag = nullptr);
// Appends the AHS area for the fields (nothing when none); its length is a multiple of 4.
void encode_ahs(const AhsFields& fields, ByteVector& out);
// The number of bytes encode_ahs would append.
std::size_t ahs_length(const AhsFields& fields) noexcept;

// The lengths a BHS announces, read before anything else is trusted.
struct BhsLengths {
  std::size_t ahs = 0;   // TotalAHSLength * 4
  std::uint32_t data = 0;  // DataSegmentLength (unpadded)
};
BhsLengths peek_lengths(std::span<const std::uint8_t, kBhsLength> bhs) noexcept;

// Decodes a 48-byte BHS into the matching struct, checking every header rule listed at
// DecodeOptions (except the MaxRecvDataSegmentLength limit, a framer concern). The AHS-borne
// fields and the data segment are left empty; decode_pdu and the framer fill them.
Result<Pdu> decode_bhs(ByteSpan bhs, const DecodeOptions& opts = {}, Diagnostic* diag = nullptr);

// Writes the 48-byte BHS of `pdu` (TotalAHSLength and DataSegmentLength from the pdu's AHS
// fields and data). Errors: data_segment_too_long when data exceeds 2^24-1 bytes,
// bad_ahs_length when the AHS would exceed 255 words, invalid_field for an unencodable value
// (a reserved Stage, a function/reason code that does not fit its bits).
std::error_code encode_bhs(const Pdu& pdu, std::span<std::uint8_t, kBhsLength> out);
// The same for a SCSI Command held as its own struct (the command path encodes it straight from
// the session's task, with no Pdu variant in between).
std::error_code encode_bhs(const ScsiCommand& cmd, std::span<std::uint8_t, kBhsLength> out);

// Appends the full wire form of `pdu`: BHS + AHS + header digest + data + zero padding + data
// digest (digests as `digests` says).
std::error_code encode(const Pdu& pdu, const DigestConfig& digests, ByteVector& out);
Result<ByteVector> encode(const Pdu& pdu, const DigestConfig& digests = {});

// Decodes one complete PDU at the start of `wire` (no MaxRecvDataSegmentLength limit beyond
// 24 bits; the framer enforces limits). Errc::truncated when `wire` is shorter than the PDU.
struct Decoded {
  Pdu pdu;
  std::size_t consumed = 0;
};
Result<Decoded> decode(ByteSpan wire, const DigestConfig& digests = {},
                       const DecodeOptions& opts = {}, Diagnostic* diag = nullptr);

// Splits a SCSI Response or Async Message data segment: SenseLength (2 bytes, big-endian), the
// sense data, then the rest (response data / iSCSI event data). Errc::bad_sense_length when
// SenseLength runs past the segment. An empty segment is valid (no sense).
struct SenseSplit {
  ByteSpan sense;
  ByteSpan rest;
};
Result<SenseSplit> split_sense_data(ByteSpan data_segment);
// Builds such a segment.
ByteVector make_sense_data(ByteSpan sense, ByteSpan rest = {});

}  // namespace iscsi::pdu
