// The session's tasks and its ITT space (RFC 7143 11.1: the Initiator Task Tag names a task in
// every PDU about it). Tasks are kept by TaskId, which the user holds and which survives a
// reinstatement; an ITT is bound to a task while the target may answer it, and retired ITTs are
// remembered a while so that a late answer (dropped, ISCSI_ERR_NO_SCSI_CMD) can be told from an
// ITT we never issued (ISCSI_ERR_BAD_ITT, fatal).
#pragma once

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <string>
#include <vector>

#include "proto/common/flat_index.hpp"
#include "proto/common/slot_map.hpp"
#include "proto/common/result.hpp"
#include "proto/recovery/conn_error.hpp"
#include "proto/session/task.hpp"
#include "proto/session/types.hpp"

namespace iscsi::session::detail {

class TaskTable {
 public:
  explicit TaskTable(std::uint32_t first_itt) : next_itt_(first_itt) {}

  // A new task of `kind` with allegiance to connection `cid`, no ITT yet.
  Task& add(TaskKind kind, std::uint16_t cid);
  // The same holding a fresh ITT; nothing is added when the ITT space is exhausted.
  Result<Task*> add_with_itt(TaskKind kind, std::uint16_t cid);
  // Ends a task: its ITT is retired, the task erased (`t` must not be used afterwards).
  void remove(Task& t);
  Task* find(TaskId id) noexcept;
  const Task* find(TaskId id) const noexcept;
  // The task holding `itt`, or nullptr.
  Task* by_itt(std::uint32_t itt) noexcept;

  // The next free ITT (counting up, skipping 0xffffffff, tags in flight and, once the counter
  // has wrapped, recently retired ones).
  Result<std::uint32_t> allocate_itt();
  // allocate_itt() bound to `t`.
  std::error_code give_itt(Task& t);
  // Takes `t`'s ITT away without retiring it (the task waits for reinstatement).
  void drop_itt(Task& t);
  bool recently_retired(std::uint32_t itt) const noexcept;
  // A new session (reinstatement): no late answer to an old ITT can arrive any more.
  void forget_retired() noexcept;

  // The task a target PDU names by `itt`, which must be a sent task of `kind`. none, or why the
  // PDU is wrong: no_scsi_cmd (a retired ITT: drop the PDU), bad_itt (never issued, or a task
  // of another kind), with `detail` saying which.
  ConnError lookup(std::uint32_t itt, TaskKind kind, Task*& out, std::string& detail);

  // The ids of the tasks `pred` selects, in id order (so they can be ended while iterating).
  template <class Pred>
  std::vector<TaskId> ids_where(Pred pred) const {
    std::vector<TaskId> ids;
    tasks_.for_each([&](std::uint64_t id, const Task& t) {
      if (pred(t)) ids.push_back(id);
    });
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // f(task) for every task, in no particular order; f must not add or remove tasks.
  template <class F>
  void for_each(F&& f) const {
    tasks_.for_each([&](std::uint64_t, const Task& t) { f(t); });
  }

  std::size_t size() const noexcept { return tasks_.size(); }

 private:
  void retire(std::uint32_t itt);

  SlotMap<Task, SlotErase::reset> tasks_;  // every task not yet completed, by id
  FlatIndex<TaskId> by_itt_;           // ITT -> task, for tasks holding an ITT
  // Recently retired ITTs: a ring, looked at only for an ITT not in flight, and by
  // allocate_itt() once the ITT counter has wrapped.
  std::vector<std::uint32_t> recent_itts_;
  std::size_t recent_next_ = 0;
  bool itt_wrapped_ = false;
  std::uint32_t next_itt_;
  TaskId next_task_id_ = 1;
};

// "0x1f" for messages.
std::string hex_u32(std::uint32_t v);

}  // namespace iscsi::session::detail
