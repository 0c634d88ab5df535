// Fifo<T>: a first-in first-out queue over a vector that keeps its storage. std::deque
// allocates a block per element once an element is over half its 512-byte block (a session
// Completion is 272 bytes), so a queue that fills and drains once per command cost a malloc
// and a free each time; this one reuses its capacity. Popped elements are reset to T{} at once
// (releasing what they own) and the storage is compacted when the popped part dominates, so a
// queue that is never fully drained stays bounded.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace iscsi {

template <class T>
class Fifo {
 public:
  bool empty() const noexcept { return head_ == items_.size(); }
  std::size_t size() const noexcept { return items_.size() - head_; }
  T& front() noexcept { return items_[head_]; }
  const T& front() const noexcept { return items_[head_]; }
  T& back() noexcept { return items_.back(); }

  void push_back(T v) { items_.push_back(std::move(v)); }

  // Removes the front element (call only when not empty).
  void pop_front() {
    items_[head_] = T{};
    advance();
  }

  // Moves the front element out and removes it (the moved-from slot is not reset again).
  T take_front() {
    T v = std::move(items_[head_]);
    advance();
    return v;
  }
  void take_front_into(T& out) {
    out = std::move(items_[head_]);
    advance();
  }

  void clear() noexcept {
    items_.clear();
    head_ = 0;
  }

 private:
  void advance() {
    ++head_;
    if (head_ == items_.size()) {
      clear();
    } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  std::vector<T> items_;
  std::size_t head_ = 0;
};

}  // namespace iscsi
