// CompletionQueue: the session's completions, waiting for the caller, in slots that are reused.
// A completion is written once, into its slot, and read there: a 272-byte Completion is not
// built aside, moved into a queue, moved out of it and destroyed twice per command. The caller
// takes the oldest one (it leaves the queue but keeps its slot) and hands the slot back when it
// is done with it; meanwhile new completions go to other slots, so a caller may start commands
// that complete at once from inside its handling of one.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "proto/common/fifo.hpp"
#include "proto/session/types.hpp"

namespace iscsi::session::detail {

class CompletionQueue {
 public:
  CompletionQueue() = default;
  // Slots are handed out by address: a copy would point into the original.
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;
  CompletionQueue(CompletionQueue&&) noexcept = default;
  CompletionQueue& operator=(CompletionQueue&&) noexcept = default;

  // A slot at its defaults, queued behind the completions already there.
  Completion& push();
  bool empty() const noexcept { return order_.empty(); }
  // The oldest completion, taken off the queue (nullptr when there is none). It stays valid,
  // and the caller's to read, change or move from, until recycle().
  Completion* take() noexcept { return order_.empty() ? nullptr : order_.take_front(); }
  // Gives a slot that take() returned back, reset to its defaults.
  void recycle(Completion& c) noexcept;

 private:
  std::deque<Completion> slots_;     // a deque: slots keep their addresses as it grows
  std::vector<Completion*> free_;
  Fifo<Completion*> order_;
};

}  // namespace iscsi::session::detail
