// Path selectors with dm-multipath's names and meanings (drivers/md/dm-ps-*.c): given the
// usable paths of the group in use, which one takes the next command.
//   round-robin 0     the same path for rr_min_io_rq commands, then the next one in order
//   queue-length 0    the path with the fewest commands in flight (ties: least recently chosen)
//   service-time 0    the path with the smallest (bytes in flight + this command's bytes) /
//                     relative throughput (ties: least recently chosen); relative throughput
//                     is 1 for every path unless set (dm's per-path argument)
// Sans-IO: the device tells the selector when a command starts and ends on a path; the selector
// keeps each path's load (also shown by Device::status()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "mpath/settings.hpp"

namespace iscsi::mpath {

struct PathLoad {
  std::uint64_t ios = 0;    // commands in flight
  std::uint64_t bytes = 0;  // their data bytes (read or written)
  std::uint64_t last_chosen = 0;  // selection sequence number; 0 = never
  unsigned relative_throughput = 1;
};

class Selector {
 public:
  virtual ~Selector() = default;
  // One of `candidates` (path ids, non-empty, in the group's order) for a command moving
  // `bytes` bytes.
  std::size_t select(std::span<const std::size_t> candidates, std::uint64_t bytes);
  void started(std::size_t path, std::uint64_t bytes);
  void ended(std::size_t path, std::uint64_t bytes);
  PathLoad load(std::size_t path) const;  // zeroes for a path never seen
  void set_relative_throughput(std::size_t path, unsigned value);  // 0..100, as dm's
  virtual std::string_view name() const noexcept = 0;

 protected:
  virtual std::size_t pick(std::span<const std::size_t> candidates, std::uint64_t bytes) = 0;
  PathLoad& at(std::size_t path);
  // The best of `candidates` by `less`; among equals, the least recently chosen.
  template <class Compare>
  std::size_t best_of(std::span<const std::size_t> candidates, Compare less);

 private:
  std::vector<PathLoad> loads_;
  std::uint64_t sequence_ = 0;
};

std::unique_ptr<Selector> make_selector(SelectorKind kind, unsigned rr_min_io_rq);

}  // namespace iscsi::mpath
