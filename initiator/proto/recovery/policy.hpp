// The error recovery level as a policy (RFC 7143 7.1-7.2): the session and the engine ask it at
// each named decision point what to do, instead of testing ErrorRecoveryLevel in their own code.
// At ERL 0 every decision is "fail the connection", and a failed connection fails the session,
// which the engine reinstates (RFC 7143 6.3.5). At ERL 1 the session core asks again for a
// Data-In that was lost or damaged (Data SNACK, within-command recovery, RFC 7143 7.1.4.1),
// asks for a lost status (Status SNACK, within-connection recovery, 7.1.4.2) and acknowledges
// data when the target asks (DataACK) and asks for a lost R2T (R2T SNACK, 7.1.4.1); anything
// else fails the connection, which fails the session as at ERL 0 (a lower recovery class is
// always open at a higher level). At ERL 2 a failed connection keeps its SCSI tasks (their ITTs
// and CmdSNs): the engine logs the same CID in again with the session's TSIH (connection
// reinstatement, RFC 7143 6.2.2, 7.1.5) and the session moves each task to it with a TASK
// REASSIGN (11.5.1, 7.2.2); a refused reassignment (or DefaultTime2Retain passing) falls back to
// session reinstatement as at ERL 0. One connection per session: MC/S is not written. A login
// never offers a level above kHighestImplemented (net/offer.cpp); ERL 1 is proved against LIO by
// scenarios/erl1-data-digest.yaml, ERL 2 by scenarios/erl2-connection-loss.yaml.
#pragma once

#include <cstdint>

#include "proto/recovery/conn_error.hpp"

namespace iscsi::recovery {

// What to do about one PDU that is missing or damaged.
enum class OnPduError : std::uint8_t {
  fail_connection,  // ERL 0: the connection cannot go on; its ConnError names why
  request_again,    // ERL 1: discard what was damaged and ask for it with a SNACK
};

// What a failed connection takes with it.
enum class OnConnectionLoss : std::uint8_t {
  // ERL 0: the session: every other connection fails too, SCSI tasks wait for the
  // reinstatement of the session (resent with new ITTs and CmdSNs), other tasks fail.
  fail_session,
  // ERL 1: only the connection's own tasks wait for reinstatement; the session lives while
  // another connection does (no connection recovery at this level).
  fail_connection_tasks,
  // ERL 2: the connection's SCSI tasks keep their ITTs and CmdSNs and wait for the connection
  // to be reinstated (same CID, the session's TSIH) and for TASK REASSIGN to move them to it.
  recover_connection,
};

// What to do when the target answers a TASK REASSIGN with anything but "Function complete"
// (e.g. 'Task allegiance reassignment not supported', or 'Task does not exist').
enum class OnReassignRefused : std::uint8_t {
  reinstate_session,  // give connection recovery up: ERL 0's session reinstatement
};

class Policy {
 public:
  static constexpr std::uint8_t kHighestImplemented = 2;

  explicit constexpr Policy(std::uint8_t negotiated_level) noexcept
      : level_(negotiated_level) {}
  constexpr std::uint8_t level() const noexcept { return level_; }

  // A status-bearing PDU whose StatSN is ahead of the connection's ExpStatSN (a status was
  // lost, or the target is wrong): ERL 1 takes it and asks for the ones skipped with a Status
  // SNACK (also when a NOP-In's next StatSN shows statuses lost at the tail).
  constexpr OnPduError on_stat_sn_gap() const noexcept {
    return level_ >= 1 ? OnPduError::request_again : OnPduError::fail_connection;
  }
  // A Data-In whose DataSN is ahead of the task's next one: ERL 1 asks for the missing run.
  constexpr OnPduError on_data_sn_gap() const noexcept {
    return level_ >= 1 ? OnPduError::request_again : OnPduError::fail_connection;
  }
  // An R2T whose R2TSN is ahead of the task's next one: ERL 1 asks for the missing run with an
  // R2T SNACK (a second copy of one already had is passed over).
  constexpr OnPduError on_r2t_sn_gap() const noexcept {
    return level_ >= 1 ? OnPduError::request_again : OnPduError::fail_connection;
  }
  // A digest error. Only a data digest error on a Data-In can be recovered (ERL 1): its header
  // was sound, so the stream is still in step. A header digest error leaves the length in
  // doubt; without markers (gone in RFC 7143) the connection cannot find the next PDU.
  constexpr OnPduError on_digest_error(ConnError which) const noexcept {
    return level_ >= 1 && which == ConnError::data_dgst ? OnPduError::request_again
                                                         : OnPduError::fail_connection;
  }
  // A status PDU repeating a StatSN already acknowledged: a retransmission asked for by a SNACK
  // (LIO resends the final Data-In with the command's StatSN) is taken at ERL 1; at ERL 0
  // nothing is ever resent, so it is a protocol error.
  constexpr bool takes_repeated_status() const noexcept { return level_ >= 1; }
  // The A bit of a Data-In asks for a DataACK SNACK (ERL 1 and up).
  constexpr bool acknowledges_data() const noexcept { return level_ >= 1; }
  // A connection failed (any cause).
  constexpr OnConnectionLoss on_connection_lost() const noexcept {
    if (level_ == 0) return OnConnectionLoss::fail_session;
    return level_ >= 2 ? OnConnectionLoss::recover_connection
                       : OnConnectionLoss::fail_connection_tasks;
  }
  // A TASK REASSIGN was refused: tasks cannot be trusted to the new connection, so the session
  // is reinstated (its tasks retried with new ITTs and CmdSNs, as at ERL 0).
  constexpr OnReassignRefused on_reassign_refused() const noexcept {
    return OnReassignRefused::reinstate_session;
  }

 private:
  std::uint8_t level_;
};

}  // namespace iscsi::recovery
