// The error recovery level as a policy (RFC 7143 7.1-7.2): the session and the engine ask it at
// each named decision point what to do, instead of testing ErrorRecoveryLevel in their own code.
// Only ERL 0 is implemented: every decision is "fail the connection", and a failed connection
// fails the session, which the engine reinstates (RFC 7143 6.3.5). ERL 1 (SNACK and
// within-connection recovery) and ERL 2 (connection recovery with TASK REASSIGN) become other
// answers at these same points; a login never offers a level above kHighestImplemented
// (net/offer.cpp).
#pragma once

#include <cstdint>

#include "proto/recovery/conn_error.hpp"

namespace iscsi::recovery {

// What to do about one PDU that is missing or damaged.
enum class OnPduError : std::uint8_t {
  fail_connection,  // ERL 0: the connection cannot go on; its ConnError names why
};

// What a failed connection takes with it.
enum class OnConnectionLoss : std::uint8_t {
  // ERL 0: the session: every other connection fails too, SCSI tasks wait for the
  // reinstatement of the session (resent with new ITTs and CmdSNs), other tasks fail.
  fail_session,
  // ERL 1: only the connection's own tasks wait for reinstatement; the session lives while
  // another connection does (no connection recovery at this level).
  fail_connection_tasks,
};

class Policy {
 public:
  static constexpr std::uint8_t kHighestImplemented = 0;

  explicit constexpr Policy(std::uint8_t negotiated_level) noexcept
      : level_(negotiated_level) {}
  constexpr std::uint8_t level() const noexcept { return level_; }

  // A status-bearing PDU whose StatSN is not the connection's ExpStatSN (a status was lost, or
  // the target is wrong). ERL 1 could ask for it again with a Status SNACK.
  constexpr OnPduError on_stat_sn_gap() const noexcept { return OnPduError::fail_connection; }
  // A Data-In whose DataSN is not the task's next one (ERL 1: Data SNACK).
  constexpr OnPduError on_data_sn_gap() const noexcept { return OnPduError::fail_connection; }
  // An R2T whose R2TSN is not the task's next one (ERL 1: R2T SNACK).
  constexpr OnPduError on_r2t_sn_gap() const noexcept { return OnPduError::fail_connection; }
  // A header or data digest error (ERL 1: discard the PDU and recover it).
  constexpr OnPduError on_digest_error(ConnError which) const noexcept {
    (void)which;
    return OnPduError::fail_connection;
  }
  // A connection failed (any cause).
  constexpr OnConnectionLoss on_connection_lost() const noexcept {
    return level_ == 0 ? OnConnectionLoss::fail_session : OnConnectionLoss::fail_connection_tasks;
  }

 private:
  std::uint8_t level_;
};

}  // namespace iscsi::recovery
