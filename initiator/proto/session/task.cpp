// Task::reset (see task.hpp).
#include "proto/session/task.hpp"

#include <utility>

namespace iscsi::session::detail {

namespace {

// A buffer that may be large goes back to the allocator, not with the slot to the next task.
template <class Vector>
void release(Vector& v) noexcept {
  if (v.capacity() != 0) Vector().swap(v);
}

}  // namespace

// Every field is reset below: one added to Task must be added here too. The size check says
// when the struct changed (on the ABI every build here uses: GCC and Clang, libstdc++, x86-64).
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(Task) == 688, "Task changed: reset the new fields in Task::reset()");
#endif

void Task::reset() noexcept {
  // Only the other kinds (and a ping's or TMF's timer) use these; a SCSI command never sets them.
  const bool other_kind = kind != TaskKind::scsi || deadline.has_value();
  // What every SCSI command sets.
  id = 0;
  kind = TaskKind::scsi;
  itt = pdu::kReservedTag;
  cid = 0;
  sent = false;
  cmd_sn = SerialNumber{};
  req = ScsiRequest{};
  write_length = 0;
  release(read_buf);
  // Transfer and ERL 1 recovery state (its small lists keep their capacity with the slot).
  restart_transfer();
  awaiting_reassign = false;
  if (other_kind) {
    tmf = TmfRequest{};
    ref_itt.reset();
    ref_cmd_sn = SerialNumber{};
    exp_data_sn = 0;
    internal_reassign = false;
    internal_ping = false;
    release(ping_data);
    release(text_out);
    text_sent = 0;
    text_ttt = pdu::kReservedTag;
    text_continue_empty = false;
    release(text_in);
    logout_reason = pdu::LogoutReason::close_session;
    logout_cid = 0;
    deadline.reset();
  }
}

void Task::forget_connection_state() noexcept {
  outstanding_r2t = 0;
  missing_r2t.clear();
  held_r2t.clear();
  snack_deadline.reset();
  snack_tries = 0;
  held_status.reset();
  held_stat_sn.reset();
}

void Task::restart_transfer() noexcept {
  forget_connection_state();
  unsolicited_end = 0;
  next_r2t_sn = SerialNumber{0};
  read_high = 0;
  read_next = 0;
  next_data_sn = SerialNumber{0};
  missing_data_in.clear();
}

}  // namespace iscsi::session::detail
