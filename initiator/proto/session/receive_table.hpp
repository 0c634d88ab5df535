// Receive dispatch as one table: a row per opcode a target may send in full feature phase,
// saying how the PDU moves its connection's StatSN, which kind of task its ITT must name, which
// counter it adds to, and which handler of the Session takes it. Session::receive() runs the
// common steps the row describes (counters, CmdSN window, StatSN, task lookup, connection
// allegiance) and then the handler, so that a handler holds only what is particular to its PDU.
// An opcode without a row (initiator PDUs, a Login Response after login) fails the connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/common/bytes.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/recovery/conn_error.hpp"
#include "proto/session/connection.hpp"
#include "proto/session/task.hpp"
#include "proto/session/types.hpp"

namespace iscsi::session {
class Session;
}

namespace iscsi::session::detail {

// How a PDU moves its connection's StatSN (RFC 7143 4.2.2.2 and the PDU's own section).
enum class StatSnRule : std::uint8_t {
  none,            // carries no StatSN of its own (R2T: the next StatSN, not advanced)
  advances,        // a status: StatSN must be ExpStatSN, which then advances
  with_status,     // Data-In: as `advances` when it carries status (S bit), else none
  when_answering,  // NOP-In: as `advances` when it answers our ping (ITT not 0xffffffff)
};

// Which task the PDU's ITT names.
enum class TaskRule : std::uint8_t {
  none,            // no task (Async Message; Reject names the rejected PDU's ITT in its data)
  required,        // a sent task of the row's kind, on this connection (allegiance)
  when_answering,  // NOP-In: only when it answers our ping
};

// What a handler gets beside the connection and the PDU.
struct Received {
  Task* task = nullptr;  // the task the ITT names, when the row's TaskRule asks for one
  ByteSpan data;         // the data segment (a Data-In's payload may be given apart)
  TimePoint now{};
  std::string detail;    // why, when the handler fails the connection
  // A Data-In whose data digest failed (ERL 1): `data` must not be used; what was wrong.
  const pdu::Diagnostic* damage = nullptr;
  std::uint32_t damaged_length = 0;  // the DataSegmentLength its header announced
  // A status PDU repeating a StatSN already acknowledged (ERL 1 retransmission).
  bool repeated_status = false;
};

struct ReceiveRow {
  pdu::Opcode opcode;
  std::string_view name;  // in messages: "SCSI Response StatSN 7, expected 6"
  StatSnRule stat_sn;
  TaskRule task;
  TaskKind kind;          // the task's kind, for TaskRule required / when_answering
  std::uint64_t Stats::*counter;
  bool counts_data;       // its data segment adds to rxdata_octets
  ConnError (*handle)(Session& s, Connection& c, const void* pdu, Received& rx);
};

struct ReceiveTable {
  // The row of `op`, or nullptr when a target must not send it in full feature phase.
  static const ReceiveRow* find(pdu::Opcode op) noexcept;
};

}  // namespace iscsi::session::detail
