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
// Where things are: types.hpp (config, requests, completions, events, counters), task.hpp and
// task_table.hpp (tasks, ITTs), connection.hpp (one connection), receive_table.cpp (one row per
// target opcode: StatSN rule, task kind, handler), session_requests.cpp, session_send.cpp,
// session_receive.cpp, session_scsi_rx.cpp, session_control_rx.cpp, session_recovery.cpp
// (failure, reinstatement), session_timers.cpp; what each error recovery level decides is
// proto/recovery/policy.hpp.
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
//    MaxBurstLength -> datalen; R2TSN out of order -> r2tsn (at ERL 0; ERL 1 asks for the
//    missing R2Ts with an R2T SNACK); more than MaxOutstandingR2T
//    unanswered R2Ts -> proto (iscsi_tcp_r2t_rsp "Target has sent more R2Ts than it negotiated").
//  - Data-In: DataSN not the next one -> datasn; data beyond the read buffer, or (with
//    DataPDUInOrder=Yes) not at the next offset -> data_offset. The A bit is ignored at ERL 0.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/common/fifo.hpp"
#include "proto/common/result.hpp"
#include "proto/common/serial.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/recovery/conn_error.hpp"
#include "proto/recovery/policy.hpp"
#include "proto/scsi/sense.hpp"
#include "proto/session/connection.hpp"
#include "proto/session/completion_queue.hpp"
#include "proto/session/connection_state.hpp"
#include "proto/session/errc.hpp"
#include "proto/session/receive_table.hpp"
#include "proto/session/session_state.hpp"
#include "proto/session/task.hpp"
#include "proto/session/task_table.hpp"
#include "proto/session/types.hpp"
#include "proto/text/key_value.hpp"

namespace iscsi::session {

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
  // ERL 1: a Data-In whose data digest did not match (the framer's FrameView::data_damaged): its
  // header is taken and its payload discarded; at ErrorRecoveryLevel 1 the PDU is asked for
  // again with a Data SNACK (the task completes once it is in), at 0 the connection fails with
  // ISCSI_ERR_DATA_DGST.
  // `data_length`: the DataSegmentLength its header announced.
  std::error_code receive_damaged_data_in(std::uint16_t cid, const pdu::DataIn& p,
                                          std::uint32_t data_length,
                                          const pdu::Diagnostic& damage, TimePoint now);
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

  // --- recovery (ERL 2, session_reassign.cpp) ------------------------------------------------
  // The session's connection failed at ErrorRecoveryLevel 2: its SCSI tasks kept their ITTs and
  // CmdSNs and wait for the connection to be reinstated (a login with the session's TSIH and
  // the same CID, ExpStatSN = exp_stat_sn(cid)) instead of a session reinstatement.
  bool awaiting_connection_recovery() const noexcept { return conn_recovery_; }
  // That login succeeded: the connection `cid` starts over (its ExpStatSN from the login, the
  // window from the Login Response). Each task that was active on it and that the target had
  // taken (CmdSN below `exp_cmd_sn`) gets a TASK REASSIGN (ExpDataSN: the next DataSN of a
  // read, the next R2TSN of a write); those it never took are sent again with their ITT and
  // CmdSN; the ones that had not been sent go out as usual.
  std::error_code reinstate_connection(std::uint16_t cid, SerialNumber exp_stat_sn,
                                       SerialNumber exp_cmd_sn, SerialNumber max_cmd_sn,
                                       std::uint32_t max_send_dsl, TimePoint now);
  // Connection recovery is given up (DefaultTime2Retain passed, the login was refused, or a
  // TASK REASSIGN was): the tasks wait for a session reinstatement as at ERL 0 (reinstate()).
  void abandon_connection_recovery();
  // Each SCSI task of `ids` waits for the session's reinstatement (its ITT dropped: it is
  // resent with a new ITT and CmdSN); every other task fails with `why`.
  void requeue_for_reinstatement(const std::vector<TaskId>& ids, ConnError why);

  // --- outputs -------------------------------------------------------------------------------
  std::optional<pdu::Pdu> pop_pdu(std::uint16_t cid);
  // The command path's shortcut: when the next PDU of `cid` is a SCSI Command with no AHS and no
  // data segment (a read, or a write without immediate data), it is written into `out` straight
  // from its task (ExpStatSN stamped now) and taken off the queue. false, with nothing taken,
  // when the next PDU is anything else: pop_pdu() takes it. Either way the PDUs leave in order.
  bool pop_scsi_command(std::uint16_t cid, pdu::ScsiCommand& out);
  bool has_pdu(std::uint16_t cid) const noexcept;
  std::optional<Completion> pop_completion();
  // The same into a Completion the caller reuses (one move, no optional); false when none.
  bool pop_completion(Completion& out);
  // The command path's way: the oldest completion where the session wrote it (nullptr when
  // none), taken off the queue. It is the caller's to read, change or move from until it is
  // handed back with recycle(), which must come before the Session is destroyed or replaced;
  // completions that arrive meanwhile (commands started from its handling) go elsewhere.
  Completion* take_completion() noexcept { return completions_.take(); }
  void recycle(Completion& c) noexcept { completions_.recycle(c); }
  std::optional<Event> pop_event();
  bool has_event() const noexcept { return !events_.empty(); }

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
  using Received = detail::Received;
  friend struct detail::ReceiveTable;

  Connection* conn(std::uint16_t cid) noexcept;
  const Connection* conn(std::uint16_t cid) const noexcept;
  Result<std::uint16_t> pick_connection(std::optional<std::uint16_t> cid) const;
  std::error_code check_accepting() const;
  void issue_waiting();
  void issue(Task& t);
  void issue_scsi(Task& t, Connection& c);
  void issue_text(Task& t, Connection& c);
  // The header fields of `t`'s SCSI Command PDU (all but F, ExpStatSN and the data segment).
  void command_fields(const Task& t, pdu::ScsiCommand& p) const;
  void queue(Connection& c, pdu::Pdu p);
  void finish(Task& t, Completion&& c);
  // What finish() does but queueing the completion: the task removed (`t` is gone after it).
  // false for a task whose completion nobody takes (the session's own pings).
  bool end_task(Task& t);
  void complete_simple(Task& t, TaskOutcome outcome, ConnError why = ConnError::none);
  void emit(Event e);
  void set_session_state(SessionEvent e);

  // Receiving: receive() and receive_data_in() look the opcode up in the receive table and run
  // its row (receive_row); the row's handler returns ConnError::none or the classification
  // that fails the connection, with rx.detail saying why.
  template <class T>
  std::error_code receive_row(std::uint16_t cid, const T& p, ByteSpan data, TimePoint now,
                              const pdu::Diagnostic* damage = nullptr,
                              std::uint32_t damaged_length = 0);
  std::error_code after_receive(Connection& c, ConnError err, std::string& detail);
  void update_window(SerialNumber exp_cmd_sn, SerialNumber max_cmd_sn);
  ConnError on_nop_in(Connection& c, const pdu::NopIn& p, Received& rx);
  ConnError on_scsi_response(Connection& c, const pdu::ScsiResponse& p, Received& rx);
  ConnError on_data_in(Connection& c, const pdu::DataIn& p, Received& rx);
  ConnError on_r2t(Connection& c, const pdu::R2T& p, Received& rx);
  ConnError on_tmf_response(Connection& c, const pdu::TaskMgmtResponse& p, Received& rx);
  ConnError on_text_response(Connection& c, const pdu::TextResponse& p, Received& rx);
  ConnError on_logout_response(Connection& c, const pdu::LogoutResponse& p, Received& rx);
  ConnError on_async(Connection& c, const pdu::AsyncMessage& p, Received& rx);
  ConnError on_reject(Connection& c, const pdu::Reject& p, Received& rx);
  void complete_scsi(Task& t, ScsiResult&& r);
  // Data-In payload bytes into the task's buffer (read_into, or read_buf).
  void store_data_in(Task& t, std::uint32_t offset, ByteSpan data);
  // ERL 1 (session_snack.cpp): a Data SNACK for `run` DataSNs from `first`, remembered as
  // missing until they arrive (`last`: the run ends with the status PDU); a retransmitted
  // Data-In; the SNACK timers.
  void ask_again(Task& t, Connection& c, SerialNumber first, std::uint32_t run,
                 std::uint32_t offset, std::uint32_t length, bool last, TimePoint now);
  ConnError take_resent_data_in(Task& t, Connection& c, const pdu::DataIn& p, Received& rx);
  // The StatSN of a status-bearing PDU against the connection's (in order, resent, repeated,
  // or ahead: at ERL 1 a Status SNACK asks for the ones skipped); a NOP-In's next StatSN.
  ConnError take_stat_sn(Connection& c, SerialNumber sn, std::string_view what, Received& rx);
  void notice_next_stat_sn(Connection& c, SerialNumber next, TimePoint now);
  // A read's status whose Data-In are asked for again: its StatSN is not acknowledged (ExpStatSN
  // stays at or below it) until the task ends.
  void hold_status(Task& t, Connection& c, ScsiResult r, SerialNumber stat_sn);
  void release_stat_sn(Connection& c, SerialNumber sn);
  static void settle_exp_stat_sn(Connection& c);
  void ask_for_status(Connection& c, SerialNumber first, SerialNumber end, TimePoint now);
  // A read's SCSI Response while Data-In are missing (known, counted by ExpDataSN, or shown by
  // the bytes short of the status): ask for them and hold the status. A Data-In taken in order
  // where an open-ended ask (RunLength 0, count unknown) waits for it.
  bool ask_for_tail(Task& t, Connection& c, const pdu::ScsiResponse& p, ScsiResult& r,
                    TimePoint now);
  void take_open_tail(Task& t, const pdu::DataIn& p);
  void acknowledge_data(Task& t, Connection& c, const pdu::DataIn& p);
  // An R2T SNACK for `run` R2TSNs from `first`; the R2Ts held behind missing ones, answered in
  // R2TSN order once nothing before them is missing; one R2T's Data-Out sequence queued.
  void ask_for_r2ts(Task& t, Connection& c, SerialNumber first, std::uint32_t run, TimePoint now);
  void release_held_r2ts(Task& t, Connection& c);
  void answer_r2t(Task& t, Connection& c, const Task::HeldR2T& r2t);
  void on_snack_timers(TimePoint now);
  void note_sense(const scsi::SenseData& sense, std::uint16_t cid, std::optional<TaskId> task);
  void abort_tasks_for(const Task& tmf);
  // Ends `ids` with `outcome` (each one still there when its turn comes).
  void complete_each(const std::vector<TaskId>& ids, TaskOutcome outcome, ConnError why);
  void fail_connection(Connection& c, ConnError why, std::string detail);
  // ERL 2: a TASK REASSIGN for `t` on `c`, and its answer.
  void send_reassign(Task& t, Connection& c, TimePoint now);
  void on_reassign_response(Connection& c, Task& tmf, pdu::TmfResponse response);

  SessionConfig config_;
  recovery::Policy policy_;
  SessionStateMachine sm_;
  std::map<std::uint16_t, Connection> conns_;
  // The connection conn() found last: with one connection (or one busy one) almost every lookup.
  // Reset whenever a connection is erased, and on copy or move (it points into this object).
  struct ConnCache {
    Connection* last = nullptr;
    ConnCache() = default;
    ConnCache(const ConnCache&) noexcept {}
    ConnCache& operator=(const ConnCache&) noexcept {
      last = nullptr;
      return *this;
    }
  };
  mutable ConnCache conn_cache_;
  detail::TaskTable tasks_;
  std::deque<TaskId> waiting_;                 // non-immediate tasks waiting for the window
  std::deque<TaskId> retry_;                   // SCSI tasks waiting for reinstatement
  std::optional<TaskId> placed_task_;          // see data_in_destination()
  bool placement_orphaned_ = false;
  detail::CompletionQueue completions_;
  Fifo<Event> events_;
  Stats stats_;
  AsyncRequests async_;
  SerialNumber cmd_sn_;
  SerialNumber exp_cmd_sn_;
  SerialNumber max_cmd_sn_;
  bool logout_pending_ = false;
  bool conn_recovery_ = false;      // see awaiting_connection_recovery()
  bool give_up_conn_recovery_ = false;  // the next failure is session-wide (reassign refused)
};

}  // namespace iscsi::session
