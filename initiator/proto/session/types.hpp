// The session's value types: its configuration after login, the requests it takes, the
// completions and events it gives back, and its counters. Plain data, no behaviour; the machine
// that uses them is session.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/common/bytes.hpp"
#include "proto/common/small_bytes.hpp"
#include "proto/common/serial.hpp"
#include "proto/login/negotiation.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/recovery/conn_error.hpp"
#include "proto/scsi/sense.hpp"
#include "proto/session/session_state.hpp"
#include "proto/text/key_value.hpp"

namespace iscsi::session {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

// A task as the user knows it: stable across ITT reassignment on session reinstatement.
using TaskId = std::uint64_t;

// ---------------------------------------------------------------------------------------------
// Configuration

struct SessionConfig {
  login::NegotiatedParams params;  // what login negotiated (FirstBurst, MaxBurst, R2T, ...)
  std::uint16_t tsih = 0;
  // The CmdSN the first full-feature command carries (the login's CmdSN), and the window the
  // final Login Response opened.
  SerialNumber cmd_sn{1};
  SerialNumber exp_cmd_sn{1};
  SerialNumber max_cmd_sn{1};
  // First connection: its CID and ExpStatSN (the final Login Response's StatSN + 1).
  std::uint16_t cid = 0;
  SerialNumber exp_stat_sn{0};
  // open-iscsi node.conn[0].timeo.noop_out_interval / noop_out_timeout; zero disables pings.
  Duration noop_out_interval = std::chrono::seconds(5);
  Duration noop_out_timeout = std::chrono::seconds(5);
  // ERL 1: how long a Data SNACK waits for the Data-In PDUs it asked for before it is sent
  // once more; after the second wait the connection fails (ISCSI_ERR_DATASN).
  Duration snack_timeout = std::chrono::seconds(5);
  // The first ITT handed out (ITTs then count up, skipping 0xffffffff and tags in flight).
  std::uint32_t first_itt = 0x10;
};

// ---------------------------------------------------------------------------------------------
// Requests

enum class DataDirection : std::uint8_t { none, read, write, bidirectional };

// A CDB: 1..260 bytes; over 16 go to an Extended CDB AHS. Up to 16 are held inline.
using CdbBytes = SmallBytes<16>;

struct ScsiRequest {
  std::uint64_t lun = 0;  // 8-byte wire LUN (scsi area encodes SAM LUNs)
  CdbBytes cdb;
  DataDirection direction = DataDirection::none;
  // Read: bytes expected from the target. Write: taken from the write data's size.
  std::uint32_t read_length = 0;
  // Write data: either a span the caller keeps alive until completion, or owned bytes.
  ByteSpan write_data_view;
  ByteVector write_data_owned;
  bool owns_write_data = false;
  // Read: where Data-In payloads go, a buffer of at least read_length bytes the caller keeps
  // alive until the task completes (and must not touch meanwhile). Empty: the session allocates
  // ScsiResult::data. With it, payloads are copied (or received, see data_in_destination())
  // straight into it, and ScsiResult::data stays empty.
  MutableByteSpan read_into;
  pdu::TaskAttribute attr = pdu::TaskAttribute::simple;

  ByteSpan write_data() const noexcept {
    return owns_write_data ? ByteSpan(write_data_owned) : write_data_view;
  }
};

// Task management (RFC 7143 11.5). For abort_task, `referenced` names the task to abort.
struct TmfRequest {
  pdu::TmfFunction function = pdu::TmfFunction::abort_task;
  std::uint64_t lun = 0;
  std::optional<TaskId> referenced;
  // open-iscsi node.session.err_timeo.abort_timeout / lu_reset_timeout / tgt_reset_timeout.
  Duration timeout = std::chrono::seconds(15);
};

// ---------------------------------------------------------------------------------------------
// Outputs

enum class TaskKind : std::uint8_t { scsi, tmf, nop, text, logout };
std::string_view to_string(TaskKind k) noexcept;

enum class TaskOutcome : std::uint8_t {
  completed,    // the target answered (any SCSI status, any TMF/logout response code)
  aborted,      // ended by a TMF (ABORT TASK, LUN RESET, ...) that completed
  rejected,     // the target rejected the command PDU (Reject PDU)
  timed_out,    // TMF / ping timeout
  failed,       // fail_all(), connection failure for non-retriable tasks, or a local error
};
std::string_view to_string(TaskOutcome o) noexcept;

struct ScsiResult {
  pdu::ScsiResponseCode response = pdu::ScsiResponseCode::command_completed_at_target;
  std::uint8_t status = 0;             // SCSI status byte
  ByteVector sense_raw;                // sense bytes without iSCSI's SenseLength prefix
  std::optional<scsi::SenseData> sense;
  bool overflow = false;               // O: residual = bytes the target could not transfer
  bool underflow = false;              // U: residual = bytes expected but not transferred
  std::uint32_t residual_count = 0;
  bool bidi_read_overflow = false;
  bool bidi_read_underflow = false;
  std::uint32_t bidi_read_residual_count = 0;
  ByteVector data;                     // Data-In bytes, up to the highest offset received
  // Data-In bytes received: the highest offset + length (data.size(), or the bytes written
  // into the request's read_into buffer).
  std::uint32_t read_bytes = 0;
};

struct Completion {
  TaskId id = 0;
  TaskKind kind = TaskKind::scsi;
  TaskOutcome outcome = TaskOutcome::completed;
  ConnError error = ConnError::none;   // for failed: why (the connection's error, or fail_all's)
  ScsiResult scsi;                     // kind scsi
  pdu::TmfResponse tmf_response = pdu::TmfResponse::function_complete;  // kind tmf
  text::KeyValueList text;             // kind text: the full answer
  ByteVector ping_data;                // kind nop: the echoed data
  pdu::LogoutResponse logout;          // kind logout
};

enum class EventKind : std::uint8_t {
  async_message,     // any Async Message: the fields are in `async`
  capacity_changed,  // UNIT ATTENTION 2A/09 seen (async event or a command's sense)
  luns_changed,      // UNIT ATTENTION 3F/0E REPORTED LUNS DATA HAS CHANGED
  nop_timeout,       // our ping was not answered within noop_out_timeout
  conn_error,        // a connection failed: `conn_error`, `detail`
  dropped_pdu,       // a late PDU for a task no longer in flight (ConnError::no_scsi_cmd)
  reject,            // Reject received: reason, rejected opcode/ITT
  logout_response,   // Logout Response: code, Time2Wait, Time2Retain
  tmf_timeout,       // a TMF was not answered in its timeout
  session_state,     // the session state changed (state)
};
std::string_view to_string(EventKind k) noexcept;

struct Event {
  EventKind kind = EventKind::conn_error;
  std::uint16_t cid = 0;
  ConnError conn_error = ConnError::none;
  std::string detail;
  std::optional<pdu::AsyncMessage> async;   // async_message
  std::optional<scsi::SenseData> sense;     // async SCSI event / capacity / LUN change
  pdu::RejectReason reject_reason = pdu::RejectReason::protocol_error;
  std::uint8_t rejected_opcode = 0;
  std::uint32_t rejected_itt = pdu::kReservedTag;
  std::optional<TaskId> task;               // the task concerned, when there is one
  pdu::LogoutResponse logout;               // logout_response
  SessionState state = SessionState::free;  // session_state
};

// The counters `iscsiadm -m session --stats` prints (struct iscsi_stats of open-iscsi).
struct Stats {
  std::uint64_t txdata_octets = 0;
  std::uint64_t rxdata_octets = 0;
  std::uint64_t noptx_pdus = 0;
  std::uint64_t scsicmd_pdus = 0;
  std::uint64_t tmfcmd_pdus = 0;
  std::uint64_t login_pdus = 0;
  std::uint64_t text_pdus = 0;
  std::uint64_t dataout_pdus = 0;
  std::uint64_t logout_pdus = 0;
  std::uint64_t snack_pdus = 0;
  std::uint64_t noprx_pdus = 0;
  std::uint64_t scsirsp_pdus = 0;
  std::uint64_t tmfrsp_pdus = 0;
  std::uint64_t textrsp_pdus = 0;
  std::uint64_t datain_pdus = 0;
  std::uint64_t logoutrsp_pdus = 0;
  std::uint64_t r2t_pdus = 0;
  std::uint64_t async_pdus = 0;
  std::uint64_t rjt_pdus = 0;
  std::uint64_t digest_err = 0;
  std::uint64_t timeout_err = 0;
  // Ours, not open-iscsi's: ERL 1 recovery. Data-In PDUs discarded for a data digest error, and
  // Data-In PDUs received again in answer to a Data SNACK.
  std::uint64_t datain_discarded = 0;
  std::uint64_t datain_recovered = 0;
  // Statuses received in answer to a Status SNACK (a StatSN that had been skipped).
  std::uint64_t status_recovered = 0;
  // R2Ts received in answer to an R2T SNACK (an R2TSN that had been skipped).
  std::uint64_t r2t_recovered = 0;
  // R2TSNs skipped that the target replaced by a later R2T (a recovery R2T): not asked for.
  std::uint64_t r2t_replaced = 0;
  // Ours, ERL 2 connection recovery: connections logged in again with the same CID and the
  // session's TSIH; tasks moved to them by a TASK REASSIGN the target completed; commands the
  // target never took (CmdSN at or above its ExpCmdSN) sent again with their ITT and CmdSN;
  // TASK REASSIGNs refused (each one a fallback to session reinstatement).
  std::uint64_t connection_reinstatements = 0;
  std::uint64_t tasks_reassigned = 0;
  std::uint64_t commands_resent = 0;
  std::uint64_t reassign_refused = 0;
};

// The parameters a target's Async Message asked for (kept until the next one of its kind, or
// until reinstate() starts over on a new connection).
struct AsyncRequests {
  std::optional<std::uint16_t> logout_within_s;     // event 1: Parameter3
  std::optional<pdu::AsyncMessage> connection_drop;  // event 2: P1 CID, P2 Time2Wait, P3 Time2Retain
  std::optional<pdu::AsyncMessage> session_drop;     // event 3: P2 Time2Wait, P3 Time2Retain
  std::optional<std::uint16_t> negotiate_within_s;   // event 4: Parameter3
};

}  // namespace iscsi::session
