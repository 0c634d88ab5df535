// NodeCache<Map>: std::map nodes kept for reuse (C++17 node handles). A map that gains and loses
// an entry per command (the session's tasks by id and by ITT, the engine's handlers) otherwise
// pays a malloc for every insert and a free for every erase. A released node's value is reset at
// once, so what it owned (a request's buffers) is not held until the node is reused.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace iscsi {

template <class Map>
class NodeCache {
 public:
  using key_type = typename Map::key_type;
  using mapped_type = typename Map::mapped_type;

  // m[k] = v, in a recycled node when one is kept; returns the stored value.
  mapped_type& put(Map& m, const key_type& k, mapped_type v) {
    if (spare_.empty()) return m.insert_or_assign(k, std::move(v)).first->second;
    typename Map::node_type nh = std::move(spare_.back());
    spare_.pop_back();
    nh.key() = k;
    nh.mapped() = std::move(v);
    auto r = m.insert(std::move(nh));
    if (!r.inserted) {  // the key was there: assign, and keep the node for later
      r.position->second = std::move(r.node.mapped());
      keep(std::move(r.node));
    }
    return r.position->second;
  }

  // m[k] with a default value (k must not be in m yet), in a recycled node when one is kept.
  mapped_type& put_default(Map& m, const key_type& k) {
    if (spare_.empty()) return m.try_emplace(k).first->second;
    typename Map::node_type nh = std::move(spare_.back());
    spare_.pop_back();
    nh.key() = k;  // its value was reset when it was kept
    auto r = m.insert(std::move(nh));
    if (!r.inserted) keep(std::move(r.node));
    return r.position->second;
  }

  // Erases k (if present), keeping its node.
  void erase(Map& m, const key_type& k) { keep(m.extract(k)); }
  void erase(Map& m, typename Map::iterator it) { keep(m.extract(it)); }

 private:
  static constexpr std::size_t kKept = 256;  // bounds what an idle session holds

  void keep(typename Map::node_type&& nh) {
    if (nh.empty() || spare_.size() >= kKept) return;
    nh.mapped() = mapped_type{};
    spare_.push_back(std::move(nh));
  }

  std::vector<typename Map::node_type> spare_;
};

}  // namespace iscsi
