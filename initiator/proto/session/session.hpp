// The sans-IO full-feature-phase iSCSI session (RFC 7143 sections 3, 4.2, 6, 7, 10, 11): the
// core that the Asio pump feeds with decoded PDUs and timer ticks, and drains of PDUs to send,
// completions and events. It never reads a clock: every call that cares about time takes `now`.
//
//   Session s(config, now);                 // after login: CmdSN window, params, first conn
//   auto id = s.submit(cmd, now);           // SCSI command -> TaskId
//   while (auto pdu = s.pop_pdu(cid)) encode and write *pdu;
//   s.receive(cid, pdu, now);               // each PDU the framer returns
//   s.on_tick(now); wake at s.next_deadline();
//   while (auto c = s.pop_completion()) ...; while (auto e = s.pop_event()) ...;
//
// Several connections per session: each task has connection allegiance (the CID it was sent
// on); StatSN/ExpStatSN, the NOP timers and the send queue are per connection; CmdSN, the
// window and the ITT space are per session. A protocol violation by the target fails its
// connection with an iscsi::ConnError (Linux ISCSI_ERR_* numbering); at ERL 0 that fails the
// session, and outstanding SCSI tasks move to a retry list that reinstate() resubmits with new
// ITTs and CmdSNs, or fail_all() fails (the pump decides when replacement_timeout expired).
//
// Choices where the RFC leaves room (following the Linux initiator):
//  - A response whose ITT we issued recently but which is no longer in flight (a late answer to
//    an aborted task) is dropped and reported as ConnError::no_scsi_cmd without failing the
//    connection (libiscsi.c iscsi_verify_itt "dropping ctask"); an ITT we never issued fails
//    the connection with ConnError::bad_itt.
//  - A status-bearing PDU whose StatSN is not ExpStatSN fails the connection with
//    ConnError::proto at ERL 0 (there is no SNACK to recover the gap).
//  - R2T: offset + length past the expected transfer length -> data_offset; length 0 or over
//    MaxBurstLength -> datalen; R2TSN out of order -> r2tsn; more than MaxOutstandingR2T
//    unanswered R2Ts -> proto (iscsi_tcp_r2t_rsp "Target has sent more R2Ts than it negotiated").
//  - Data-In: DataSN not the next one -> datasn; data beyond the read buffer, or (with
//    DataPDUInOrder=Yes) not at the next offset -> data_offset. The A bit is ignored at ERL 0.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/common/fifo.hpp"
#include "proto/common/node_cache.hpp"
#include "proto/common/result.hpp"
#include "proto/common/serial.hpp"
#include "proto/login/negotiation.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/recovery/conn_error.hpp"
#include "proto/scsi/sense.hpp"
#include "proto/session/connection_state.hpp"
#include "proto/session/errc.hpp"
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
  // The first ITT handed out (ITTs then count up, skipping 0xffffffff and tags in flight).
  std::uint32_t first_itt = 0x10;
};

// ---------------------------------------------------------------------------------------------
// Requests

enum class DataDirection : std::uint8_t { none, read, write, bidirectional };

struct ScsiRequest {
  std::uint64_t lun = 0;  // 8-byte wire LUN (scsi area encodes SAM LUNs)
  ByteVector cdb;         // 1..260 bytes; over 16 go to an Extended CDB AHS
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
};

// The parameters a target's Async Message asked for (kept until the next one of its kind, or
// until reinstate() starts over on a new connection).
struct AsyncRequests {
  std::optional<std::uint16_t> logout_within_s;     // event 1: Parameter3
  std::optional<pdu::AsyncMessage> connection_drop;  // event 2: P1 CID, P2 Time2Wait, P3 Time2Retain
  std::optional<pdu::AsyncMessage> session_drop;     // event 3: P2 Time2Wait, P3 Time2Retain
  std::optional<std::uint16_t> negotiate_within_s;   // event 4: Parameter3
};

namespace detail {

// An unanswered R2T whose Data-Out sequence is queued or being sent.
struct R2tRun {
  std::uint32_t ttt = pdu::kReservedTag;
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
};

struct Task {
  TaskId id = 0;
  TaskKind kind = TaskKind::scsi;
  std::uint32_t itt = pdu::kReservedTag;
  std::uint16_t cid = 0;
  bool sent = false;          // its command PDU is queued on its connection
  SerialNumber cmd_sn;
  // scsi
  ScsiRequest req;
  std::uint32_t write_length = 0;
  std::uint32_t unsolicited_end = 0;   // immediate + unsolicited Data-Out cover [0, this)
  SerialNumber next_r2t_sn{0};
  std::uint32_t outstanding_r2t = 0;   // R2Ts whose Data-Out sequence is not fully popped
  ByteVector read_buf;                 // unless req.read_into is given
  std::uint32_t read_high = 0;         // highest offset + length received
  std::uint32_t read_next = 0;         // next in-order offset
  SerialNumber next_data_sn{0};
  // tmf
  TmfRequest tmf;
  std::optional<std::uint32_t> ref_itt;
  SerialNumber ref_cmd_sn;
  // nop
  bool internal_ping = false;
  ByteVector ping_data;
  // text
  ByteVector text_out;                 // the whole encoded request text
  std::size_t text_sent = 0;           // bytes of it sent so far
  std::uint32_t text_ttt = pdu::kReservedTag;
  bool text_continue_empty = false;    // next request is an empty continuation
  ByteVector text_in;                  // the answer so far
  // logout
  pdu::LogoutReason logout_reason = pdu::LogoutReason::close_session;
  std::uint16_t logout_cid = 0;
  // timers (tmf, ping)
  std::optional<TimePoint> deadline;
};

// One entry of a connection's send queue: a ready PDU, or a Data-Out sequence generated PDU by
// PDU as the pump drains it (so a large write is never copied whole).
struct OutItem {
  std::optional<pdu::Pdu> pdu;
  // Data-Out sequence (when pdu is empty):
  TaskId task = 0;
  std::uint32_t ttt = pdu::kReservedTag;
  std::uint32_t offset = 0;     // next byte to send
  std::uint32_t end = 0;        // one past the last byte of the sequence
  SerialNumber data_sn{0};
  bool solicited = false;
};

struct Connection {
  std::uint16_t cid = 0;
  ConnStateMachine sm;
  SerialNumber exp_stat_sn;
  std::uint32_t max_send_dsl = 8192;  // the target's MaxRecvDataSegmentLength
  Fifo<OutItem> out;
  TimePoint last_rx{};
  std::optional<TaskId> ping;         // the internal NOP-Out ping outstanding
  ConnError error = ConnError::none;
  std::string error_detail;
  std::optional<TaskId> text_task;    // one Text negotiation at a time
};

}  // namespace detail

class Session {
 public:
  Session(SessionConfig config, TimePoint now);

  // --- connections ---------------------------------------------------------------------------
  // Adds a logged-in connection (a further connection of a multi-connection session).
  std::error_code add_connection(std::uint16_t cid, SerialNumber exp_stat_sn,
                                 std::uint32_t max_send_dsl, TimePoint now);
  std::vector<std::uint16_t> connection_ids() const;
  ConnState connection_state(std::uint16_t cid) const noexcept;
  // The ConnError that failed the connection (none while it is fine) and its detail.
  ConnError connection_error(std::uint16_t cid) const noexcept;
  std::string connection_error_detail(std::uint16_t cid) const;
  SerialNumber exp_stat_sn(std::uint16_t cid) const noexcept;

  // --- requests ------------------------------------------------------------------------------
  // A SCSI command; it waits (unsent) while the CmdSN window is closed. `cid`: the connection
  // to give it allegiance to (default: the first usable one).
  Result<TaskId> submit(ScsiRequest req, TimePoint now, std::optional<std::uint16_t> cid = {});
  Result<TaskId> submit_tmf(TmfRequest req, TimePoint now, std::optional<std::uint16_t> cid = {});
  // A NOP-Out ping (immediate, TTT 0xffffffff); completes when the NOP-In answers.
  Result<TaskId> ping(TimePoint now, ByteVector data = {}, std::optional<std::uint16_t> cid = {});
  // A Text Request (e.g. SendTargets=All) in full feature phase; completes with the whole
  // answer, following C-bit continuations in both directions.
  Result<TaskId> send_text(text::KeyValueList keys, TimePoint now,
                           std::optional<std::uint16_t> cid = {});
  // Logout: close the session, or close / remove connection `logout_cid`. Sent immediate.
  Result<TaskId> logout(pdu::LogoutReason reason, TimePoint now,
                        std::optional<std::uint16_t> cid = {}, std::uint16_t logout_cid = 0);

  // --- inputs --------------------------------------------------------------------------------
  // A PDU the framer decoded on connection `cid`. Errc::connection_failed when it failed the
  // connection (an Event says why); Errc::unknown_connection / not_logged_in otherwise.
  std::error_code receive(std::uint16_t cid, const pdu::Pdu& pdu, TimePoint now);
  // The same for a Data-In whose payload is given apart (`p.data` is not looked at): what the
  // framer's zero-copy next_view() yields, so the payload is copied once, into the task's
  // buffer, instead of into a PDU first.
  std::error_code receive_data_in(std::uint16_t cid, const pdu::DataIn& p, ByteSpan data,
                                  TimePoint now);
  // Direct placement: where the payload of the Data-In `p` (its header checked, `len` payload
  // bytes not yet received) may be received, so the kernel copies it once, straight into the
  // caller's buffer: a span of the task's read_into buffer when the PDU is the next in-order
  // one of a task that has it, else empty. The payload is then passed to receive_data_in() as
  // that same span. Until then (or placement_done(), when the connection goes away instead) the
  // task cannot complete but by a failure of the connection; placement_orphaned() says if it did.
  MutableByteSpan data_in_destination(std::uint16_t cid, const pdu::DataIn& p, std::size_t len);
  void placement_done() noexcept { placed_task_.reset(); placement_orphaned_ = false; }
  bool placement_orphaned() const noexcept { return placement_orphaned_; }
  // The framer failed (bad header, digest, ...): fails the connection with its classification.
  void on_receive_error(std::uint16_t cid, const pdu::Diagnostic& diag, TimePoint now);
  // The transport went away (read EOF, write error).
  void on_transport_error(std::uint16_t cid, ConnError why, TimePoint now);
  // Timers: pings due, ping and TMF timeouts.
  void on_tick(TimePoint now);
  // The earliest time on_tick must run (nullopt: nothing pending).
  std::optional<TimePoint> next_deadline() const;

  // --- recovery (ERL 0) ----------------------------------------------------------------------
  // A reinstatement login is being attempted (FAILED -> IN_RECOVERY).
  std::error_code begin_recovery();
  // A new login succeeded: start over on a fresh connection with the new window, then resubmit
  // the retry list (new ITTs, new CmdSNs), oldest first.
  std::error_code reinstate(SessionConfig config, TimePoint now);
  // Fail every outstanding, waiting and to-retry task with `why` (replacement_timeout expiry).
  void fail_all(ConnError why);
  // Tasks waiting for reinstatement, oldest first.
  std::vector<TaskId> retry_list() const;

  // --- outputs -------------------------------------------------------------------------------
  std::optional<pdu::Pdu> pop_pdu(std::uint16_t cid);
  bool has_pdu(std::uint16_t cid) const noexcept;
  std::optional<Completion> pop_completion();
  // The same into a Completion the caller reuses (one move, no optional); false when none.
  bool pop_completion(Completion& out);
  std::optional<Event> pop_event();

  // --- introspection -------------------------------------------------------------------------
  SessionState state() const noexcept { return sm_.state(); }
  const Stats& stats() const noexcept { return stats_; }
  const SessionConfig& config() const noexcept { return config_; }
  const AsyncRequests& async_requests() const noexcept { return async_; }
  SerialNumber cmd_sn() const noexcept { return cmd_sn_; }
  SerialNumber exp_cmd_sn() const noexcept { return exp_cmd_sn_; }
  SerialNumber max_cmd_sn() const noexcept { return max_cmd_sn_; }
  bool window_open() const noexcept;
  std::size_t outstanding() const noexcept { return tasks_.size(); }
  std::size_t waiting() const noexcept { return waiting_.size(); }
  // The ITT a task currently has (nullopt once it is done or while it waits for retry).
  std::optional<std::uint32_t> itt_of(TaskId id) const noexcept;

 private:
  using Task = detail::Task;
  using Connection = detail::Connection;

  Connection* conn(std::uint16_t cid) noexcept;
  const Connection* conn(std::uint16_t cid) const noexcept;
  Result<std::uint16_t> pick_connection(std::optional<std::uint16_t> cid) const;
  std::error_code check_accepting() const;
  Result<std::uint32_t> allocate_itt();
  bool recently_retired(std::uint32_t itt) const noexcept;
  void retire_itt(std::uint32_t itt);
  Task& add_task(TaskKind kind, std::uint16_t cid);
  void issue_waiting();
  void issue(Task& t);
  void issue_scsi(Task& t, Connection& c);
  void issue_text(Task& t, Connection& c);
  void queue(Connection& c, pdu::Pdu p);
  void finish(Task& t, Completion c);
  void complete_simple(Task& t, TaskOutcome outcome, ConnError why = ConnError::none);
  void emit(Event e);
  void set_session_state(SessionEvent e);

  // Receive helpers: each returns ConnError::none or the classification that fails the conn.
  ConnError update_window(SerialNumber exp_cmd_sn, SerialNumber max_cmd_sn);
  ConnError check_stat_sn(Connection& c, SerialNumber stat_sn, bool advances);
  ConnError lookup(std::uint32_t itt, TaskKind kind, Task*& out, std::string& detail);
  ConnError on_nop_in(Connection& c, const pdu::NopIn& p, TimePoint now, std::string& detail);
  ConnError on_scsi_response(Connection& c, const pdu::ScsiResponse& p, std::string& detail);
  ConnError on_data_in(Connection& c, const pdu::DataIn& p, ByteSpan data, std::string& detail);
  std::error_code after_receive(Connection& c, ConnError err, std::string& detail);
  ConnError on_r2t(Connection& c, const pdu::R2T& p, std::string& detail);
  ConnError on_tmf_response(Connection& c, const pdu::TaskMgmtResponse& p, std::string& detail);
  ConnError on_text_response(Connection& c, const pdu::TextResponse& p, std::string& detail);
  ConnError on_logout_response(Connection& c, const pdu::LogoutResponse& p, std::string& detail);
  ConnError on_async(Connection& c, const pdu::AsyncMessage& p, std::string& detail);
  ConnError on_reject(Connection& c, const pdu::Reject& p, std::string& detail);
  void complete_scsi(Task& t, ScsiResult r);
  void note_sense(const scsi::SenseData& sense, std::uint16_t cid, std::optional<TaskId> task);
  void abort_tasks_for(const Task& tmf);
  void fail_connection(Connection& c, ConnError why, std::string detail);

  SessionConfig config_;
  SessionStateMachine sm_;
  std::map<std::uint16_t, Connection> conns_;
  std::map<TaskId, Task> tasks_;               // every task not yet completed
  std::map<std::uint32_t, TaskId> by_itt_;     // ITT -> task, for tasks holding an ITT
  NodeCache<std::map<TaskId, Task>> task_nodes_;  // inserts and erases of the two maps above
  NodeCache<std::map<std::uint32_t, TaskId>> itt_nodes_;
  std::deque<TaskId> waiting_;                 // non-immediate tasks waiting for the window
  std::deque<TaskId> retry_;                   // SCSI tasks waiting for reinstatement
  // Recently retired ITTs (no_scsi_cmd vs bad_itt): a ring, looked at only for an ITT not in
  // flight, and by allocate_itt() once the ITT counter has wrapped.
  std::vector<std::uint32_t> recent_itts_;
  std::size_t recent_next_ = 0;
  bool itt_wrapped_ = false;
  std::optional<TaskId> placed_task_;          // see data_in_destination()
  bool placement_orphaned_ = false;
  Fifo<Completion> completions_;
  Fifo<Event> events_;
  Stats stats_;
  AsyncRequests async_;
  SerialNumber cmd_sn_;
  SerialNumber exp_cmd_sn_;
  SerialNumber max_cmd_sn_;
  std::uint32_t next_itt_ = 0;
  TaskId next_task_id_ = 1;
  bool logout_pending_ = false;
};

}  // namespace iscsi::session
