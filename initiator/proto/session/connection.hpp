// One connection of a session as the sans-IO core sees it (RFC 7143 connection allegiance):
// its own StatSN sequence, state machine, send queue and NOP timer. A session has one or more;
// the transport that carries the bytes is the engine's (net/).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/common/fifo.hpp"
#include "proto/common/serial.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/recovery/conn_error.hpp"
#include "proto/session/connection_state.hpp"
#include "proto/session/types.hpp"

namespace iscsi::session::detail {

// One entry of a connection's send queue: a ready PDU, a SCSI Command encoded from its task when
// it is sent (no PDU built and queued for it), or a Data-Out sequence generated PDU by PDU as
// the pump drains it (so a large write is never copied whole).
struct OutItem {
  std::optional<pdu::Pdu> pdu;
  // The SCSI Command PDU of `task`, which has no AHS and no immediate data.
  bool scsi_command = false;
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
  // ERL 1 (session_snack.cpp). ExpStatSN above is what the initiator acknowledges: the next
  // StatSN in order, unless a status is still missing (asked for by a Status SNACK) or held
  // (its read waits for Data-In asked for again: the status must not be acknowledged before
  // the holes are filled, RFC 7143 11.7, and LIO frees the command once it is); then the lowest
  // of those, so that the target keeps them. When to ask for the missing ones again.
  SerialNumber next_stat_sn;
  std::vector<SerialNumber> missing_stat_sn;
  std::vector<SerialNumber> held_stat_sn;
  std::optional<TimePoint> status_snack_deadline;
  unsigned status_snack_tries = 0;
};

}  // namespace iscsi::session::detail
