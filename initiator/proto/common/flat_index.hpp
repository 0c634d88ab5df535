// FlatIndex<V>: a map from a 64-bit key to a small value (an index, a pointer) for keys a session
// hands out by counting (task ids, ITTs). A key lives in entry `key % capacity`; the keys in
// flight are a window of consecutive numbers, so with the capacity at least twice their count
// each has its entry to itself and insert, lookup and erase are one array access. A key whose
// entry another live key holds (a task that outlived `capacity` newer ones) goes to a small
// ordered overflow map, looked at only while it is not empty.
//
// Why not a library map: std::map cost a node (or a kept node's bookkeeping) and a rebalance per
// insert and per erase, twice per command; Boost 1.74 (Debian 12) has no flat hash map;
// std::unordered_map allocates a node per insert; and open addressing with linear probing scans
// the whole run of keys in flight on every erase (backward-shift deletion), which at queue depth
// 32 cost more than the std::map it replaced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace iscsi {

template <class V>
class FlatIndex {
 public:
  FlatIndex() { entries_.resize(kInitial); }

  // The value stored for `key`, or nullptr.
  V* find(std::uint64_t key) noexcept {
    Entry& e = entry(key);
    if (e.used && e.key == key) return &e.value;
    if (overflow_.empty()) return nullptr;
    auto it = overflow_.find(key);
    return it == overflow_.end() ? nullptr : &it->second;
  }
  const V* find(std::uint64_t key) const noexcept {
    return const_cast<FlatIndex*>(this)->find(key);
  }

  // Stores `value` for `key`, replacing what was there.
  void put(std::uint64_t key, V value) {
    if (V* v = find(key)) {
      *v = value;
      return;
    }
    if ((size_ + 1) * 2 > entries_.size()) grow();
    place(key, value);
    ++size_;
  }

  // Removes `key` if present.
  bool erase(std::uint64_t key) noexcept {
    Entry& e = entry(key);
    if (e.used && e.key == key) {
      e.used = false;
      --size_;
      if (!overflow_.empty()) refill(e, key & mask());
      return true;
    }
    if (overflow_.erase(key) == 0) return false;
    --size_;
    return true;
  }

  std::size_t size() const noexcept { return size_; }

  void clear() noexcept {
    for (auto& e : entries_) e.used = false;
    overflow_.clear();
    size_ = 0;
  }

 private:
  static constexpr std::size_t kInitial = 64;  // a power of two

  struct Entry {
    std::uint64_t key = 0;
    V value{};
    bool used = false;
  };

  std::size_t mask() const noexcept { return entries_.size() - 1; }
  Entry& entry(std::uint64_t key) noexcept { return entries_[key & mask()]; }

  void place(std::uint64_t key, V value) {
    Entry& e = entry(key);
    if (e.used) {
      overflow_.emplace(key, value);
    } else {
      e = Entry{key, value, true};
    }
  }

  // An entry just freed takes an overflowed key that belongs there, if there is one.
  void refill(Entry& e, std::size_t index) {
    for (auto it = overflow_.begin(); it != overflow_.end(); ++it) {
      if ((it->first & mask()) == index) {
        e = Entry{it->first, it->second, true};
        overflow_.erase(it);
        return;
      }
    }
  }

  void grow() {
    std::vector<Entry> old(entries_.size() * 2);
    old.swap(entries_);
    std::map<std::uint64_t, V> spilled;
    spilled.swap(overflow_);
    for (const Entry& e : old) {
      if (e.used) place(e.key, e.value);
    }
    for (const auto& [k, v] : spilled) place(k, v);
  }

  std::vector<Entry> entries_;
  std::map<std::uint64_t, V> overflow_;
  std::size_t size_ = 0;
};

}  // namespace iscsi
