// A task as the session keeps it while it is in flight (or waits for the window, or for
// reinstatement): the request, where its data transfer stands, and its timers. One struct for
// every kind (SCSI, task management, NOP, text, logout); the fields of other kinds stay unused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/common/serial.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/session/types.hpp"

namespace iscsi::session::detail {

struct Task {
  // Back to a default-constructed Task, releasing the buffers it owns: the task table keeps a
  // finished task's slot for the next one instead of destroying and building a Task per
  // command. The fields only the other kinds use are reset only when they were used.
  void reset() noexcept;
  // Drops what its connection held: outstanding and missing R2Ts, SNACK bookkeeping, a status
  // held back. For a task whose connection is gone: the target re-establishes the transfer.
  void forget_connection_state() noexcept;
  // Back to the start of its data transfer (a retry sends it again from the first byte);
  // forgets the connection's state too.
  void restart_transfer() noexcept;

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
  // ERL 1 within-command recovery of a read: the DataSNs asked for again by a Data SNACK (each
  // with the offset and length its damaged copy announced; 0/0 when it never arrived), when to
  // ask again, and the status when it came before them (the task ends once they are in).
  struct MissingDataIn {
    SerialNumber data_sn;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    bool last = false;  // it carried the status: no DataSN follows it
    unsigned damaged_copies = 0;  // copies sent again that were damaged too
    // Asked for with "this DataSN and all after it" when how many were lost is not known:
    // taken in order, each one moving the entry to the next DataSN until the status comes.
    bool open_tail = false;
  };
  std::vector<MissingDataIn> missing_data_in;
  // ERL 1 recovery of a write's lost R2Ts: the R2TSNs asked for again by an R2T SNACK, and the
  // R2Ts that came after them, held back until they are in, so that Data-Out sequences still go
  // out in offset order (DataSequenceInOrder, RFC 7143 13.19).
  struct HeldR2T {
    SerialNumber r2t_sn;
    std::uint32_t ttt = pdu::kReservedTag;
    std::uint32_t offset = 0;
    std::uint32_t end = 0;
  };
  std::vector<SerialNumber> missing_r2t;
  std::vector<HeldR2T> held_r2t;
  // When to ask again for what is missing (Data-In or R2Ts), and how often it was asked.
  std::optional<TimePoint> snack_deadline;
  unsigned snack_tries = 0;
  std::optional<ScsiResult> held_status;
  std::optional<SerialNumber> held_stat_sn;  // its StatSN, not acknowledged until it ends
  // ERL 2 connection recovery: its connection failed and it waits to be moved to the
  // reinstated one (by a TASK REASSIGN, or sent again when the target never took it).
  bool awaiting_reassign = false;
  // tmf
  TmfRequest tmf;
  std::optional<std::uint32_t> ref_itt;
  SerialNumber ref_cmd_sn;
  std::uint32_t exp_data_sn = 0;      // TASK REASSIGN: where the data transfer resumes
  bool internal_reassign = false;     // the session's own TASK REASSIGN (no completion)
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

}  // namespace iscsi::session::detail
