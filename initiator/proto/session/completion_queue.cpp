// The session's completion queue (see completion_queue.hpp).
#include "proto/session/completion_queue.hpp"

#include <utility>

namespace iscsi::session::detail {

namespace {

// A SCSI completion touches only its header and its ScsiResult: those are reset field by field,
// keeping what the slot owns for the next command (the sense bytes' capacity) except the read
// data, which may be large. Any other kind is rare: assigned anew.
void reset(Completion& c) noexcept {
  if (c.kind != TaskKind::scsi) {
    c = Completion{};
    return;
  }
  c.id = 0;
  c.outcome = TaskOutcome::completed;
  c.error = ConnError::none;
  ScsiResult& r = c.scsi;
  r.response = pdu::ScsiResponseCode::command_completed_at_target;
  r.status = 0;
  r.sense_raw.clear();
  r.sense.reset();
  r.overflow = false;
  r.underflow = false;
  r.residual_count = 0;
  r.bidi_read_overflow = false;
  r.bidi_read_underflow = false;
  r.bidi_read_residual_count = 0;
  if (r.data.capacity() != 0) ByteVector().swap(r.data);
  r.read_bytes = 0;
}

}  // namespace

Completion& CompletionQueue::push() {
  Completion* c;
  if (free_.empty()) {
    c = &slots_.emplace_back();
    free_.reserve(slots_.size());  // so that recycle() never allocates
  } else {
    c = free_.back();
    free_.pop_back();
  }
  order_.push_back(c);
  return *c;
}

void CompletionQueue::recycle(Completion& c) noexcept {
  reset(c);
  free_.push_back(&c);
}

}  // namespace iscsi::session::detail
