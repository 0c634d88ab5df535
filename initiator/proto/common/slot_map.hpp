// SlotMap<V>: values by 64-bit key in slots that are reused, found through a FlatIndex. A value
// keeps its address until it is erased (slots live in a deque), so a task or handler can be held
// by reference while others come and go. Inserting takes a free slot (no allocation once the
// map has held as many values at once before); erasing destroys the value in place, or, with
// SlotErase::reset, calls its reset() (which must leave it as a default-constructed one) and
// keeps it for the slot's next key: for a large value that costs less to reset than to destroy
// and build again (the session's Task, about 400 bytes, once per command).
// Iteration is in slot order, not key order.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "proto/common/flat_index.hpp"

namespace iscsi {

enum class SlotErase : std::uint8_t { destroy, reset };

template <class V, SlotErase kErase = SlotErase::destroy>
class SlotMap {
 public:
  // A default-constructed (or reset) value for `key`, which must not be in the map.
  V& emplace(std::uint64_t key) {
    std::uint32_t slot;
    if (free_.empty()) {
      slot = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
    } else {
      slot = free_.back();
      free_.pop_back();
    }
    Slot& s = slots_[slot];
    s.key = key;
    if (kErase == SlotErase::destroy || !s.value) s.value.emplace();
    s.live = true;
    index_.put(key, slot);
    return *s.value;
  }

  V* find(std::uint64_t key) noexcept {
    const std::uint32_t* slot = index_.find(key);
    return slot == nullptr ? nullptr : &*slots_[*slot].value;
  }
  const V* find(std::uint64_t key) const noexcept {
    const std::uint32_t* slot = index_.find(key);
    return slot == nullptr ? nullptr : &*slots_[*slot].value;
  }

  // Destroys the value of `key`, if any.
  void erase(std::uint64_t key) noexcept {
    const std::uint32_t* found = index_.find(key);
    if (found == nullptr) return;
    const std::uint32_t slot = *found;
    index_.erase(key);
    Slot& s = slots_[slot];
    s.live = false;
    if constexpr (kErase == SlotErase::destroy) {
      s.value.reset();
    } else {
      s.value->reset();
    }
    free_.push_back(slot);
  }

  // Moves the value of `key` out and erases it; nullopt when the map does not hold `key`.
  std::optional<V> take(std::uint64_t key) {
    V* v = find(key);
    if (v == nullptr) return std::nullopt;
    std::optional<V> out(std::move(*v));
    erase(key);
    return out;
  }

  std::size_t size() const noexcept { return index_.size(); }
  bool empty() const noexcept { return size() == 0; }

  // f(key, value) for every value, in slot order. f must not insert or erase.
  template <class F>
  void for_each(F&& f) {
    for (Slot& s : slots_) {
      if (s.live) f(s.key, *s.value);
    }
  }
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.live) f(s.key, *s.value);
    }
  }

  // Empties the map, then hands each (key, value) it held to `f` in key order (the order
  // they were added, for keys handed out by counting). `f` may add to the map.
  template <class F>
  void drain(F&& f) {
    SlotMap taken;
    taken.swap(*this);
    std::vector<std::pair<std::uint64_t, V*>> order;
    order.reserve(taken.size());
    taken.for_each([&](std::uint64_t k, V& v) { order.emplace_back(k, &v); });
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [k, v] : order) f(k, *v);
  }

  void swap(SlotMap& o) noexcept {
    slots_.swap(o.slots_);
    free_.swap(o.free_);
    std::swap(index_, o.index_);
  }

 private:
  struct Slot {
    std::uint64_t key = 0;
    std::optional<V> value;  // with SlotErase::reset, kept (reset) after the key is erased
    bool live = false;       // holds the value of `key`
  };

  std::deque<Slot> slots_;
  std::vector<std::uint32_t> free_;
  FlatIndex<std::uint32_t> index_;
};

}  // namespace iscsi
