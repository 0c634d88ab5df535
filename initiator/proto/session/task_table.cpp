// The task table and ITT space (see task_table.hpp).
#include "proto/session/task_table.hpp"

#include <algorithm>

#include "proto/session/errc.hpp"

namespace iscsi::session::detail {

namespace {

// How many retired ITTs we remember to tell a late answer (no_scsi_cmd, dropped) from an ITT
// we never issued (bad_itt, fatal).
constexpr std::size_t kRecentItts = 1024;

}  // namespace

std::string hex_u32(std::uint32_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = "0x";
  bool started = false;
  for (int shift = 28; shift >= 0; shift -= 4) {
    const auto nib = (v >> static_cast<unsigned>(shift)) & 0xFu;
    if (nib != 0 || started || shift == 0) {
      s.push_back(kHex[nib]);
      started = true;
    }
  }
  return s;
}

Task& TaskTable::add(TaskKind kind, std::uint16_t cid) {
  const TaskId id = next_task_id_++;
  Task& t = tasks_.emplace(id);
  t.id = id;
  t.kind = kind;
  t.cid = cid;
  return t;
}

Result<Task*> TaskTable::add_with_itt(TaskKind kind, std::uint16_t cid) {
  auto itt = allocate_itt();
  if (!itt) return itt.error();
  Task& t = add(kind, cid);
  t.itt = *itt;
  by_itt_.put(t.itt, t.id);
  return &t;
}

void TaskTable::remove(Task& t) {
  if (t.itt != pdu::kReservedTag) {
    by_itt_.erase(t.itt);
    retire(t.itt);
  }
  tasks_.erase(t.id);  // `t` is reset for the slot's next task from here
}

Task* TaskTable::find(TaskId id) noexcept { return tasks_.find(id); }

const Task* TaskTable::find(TaskId id) const noexcept { return tasks_.find(id); }

Task* TaskTable::by_itt(std::uint32_t itt) noexcept {
  const TaskId* id = by_itt_.find(itt);
  return id == nullptr ? nullptr : find(*id);
}

Result<std::uint32_t> TaskTable::allocate_itt() {
  if (by_itt_.size() >= 0xFFFFFFFEu) return Errc::itt_space_exhausted;
  while (true) {
    const std::uint32_t itt = next_itt_++;
    if (next_itt_ == 0) itt_wrapped_ = true;
    if (itt == pdu::kReservedTag) continue;
    // Until the counter wraps, every ITT it yields is new: nothing in flight or recently
    // retired can carry it.
    if (!itt_wrapped_) return itt;
    if (by_itt_.find(itt) != nullptr) continue;
    // Prefer not to hand out a tag a late answer may still carry.
    if (recently_retired(itt)) continue;
    return itt;
  }
}

std::error_code TaskTable::give_itt(Task& t) {
  auto itt = allocate_itt();
  if (!itt) return itt.error();
  t.itt = *itt;
  by_itt_.put(t.itt, t.id);
  return {};
}

void TaskTable::drop_itt(Task& t) {
  if (t.itt == pdu::kReservedTag) return;
  by_itt_.erase(t.itt);
  t.itt = pdu::kReservedTag;
}

bool TaskTable::recently_retired(std::uint32_t itt) const noexcept {
  return std::find(recent_itts_.begin(), recent_itts_.end(), itt) != recent_itts_.end();
}

void TaskTable::forget_retired() noexcept {
  recent_itts_.clear();
  recent_next_ = 0;
}

void TaskTable::retire(std::uint32_t itt) {
  if (recent_itts_.size() < kRecentItts) {
    recent_itts_.push_back(itt);
  } else {
    recent_itts_[recent_next_] = itt;
    recent_next_ = (recent_next_ + 1) % kRecentItts;
  }
}

ConnError TaskTable::lookup(std::uint32_t itt, TaskKind kind, Task*& out, std::string& detail) {
  out = by_itt(itt);
  if (out == nullptr) {
    if (recently_retired(itt)) {
      detail = "response for ITT " + hex_u32(itt) + " which is no longer in flight; dropped";
      return ConnError::no_scsi_cmd;
    }
    detail = "ITT " + hex_u32(itt) + " was never issued";
    return ConnError::bad_itt;
  }
  if (out->kind != kind || !out->sent) {
    detail = "ITT " + hex_u32(itt) + " belongs to a " + std::string(to_string(out->kind)) +
             " task, not a " + std::string(to_string(kind)) + " task";
    out = nullptr;
    return ConnError::bad_itt;
  }
  return ConnError::none;
}

}  // namespace iscsi::session::detail
