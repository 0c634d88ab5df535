// round-robin, queue-length and service-time.
#include "mpath/selector.hpp"

#include <algorithm>

namespace iscsi::mpath {

PathLoad& Selector::at(std::size_t path) {
  if (path >= loads_.size()) loads_.resize(path + 1);
  return loads_[path];
}

PathLoad Selector::load(std::size_t path) const {
  return path < loads_.size() ? loads_[path] : PathLoad{};
}

void Selector::set_relative_throughput(std::size_t path, unsigned value) {
  at(path).relative_throughput = std::min(value, 100u);  // dm-ps-service-time's ST_MAX_RELATIVE_THROUGHPUT
}

std::size_t Selector::select(std::span<const std::size_t> candidates, std::uint64_t bytes) {
  const std::size_t p = pick(candidates, bytes);
  at(p).last_chosen = ++sequence_;
  return p;
}

void Selector::started(std::size_t path, std::uint64_t bytes) {
  auto& l = at(path);
  ++l.ios;
  l.bytes += bytes;
}

void Selector::ended(std::size_t path, std::uint64_t bytes) {
  auto& l = at(path);
  if (l.ios > 0) --l.ios;
  l.bytes -= std::min(l.bytes, bytes);
}

template <class Compare>
std::size_t Selector::best_of(std::span<const std::size_t> candidates, Compare less) {
  std::size_t best = candidates.front();
  for (std::size_t p : candidates.subspan(1)) {
    if (less(p, best)) {
      best = p;
    } else if (!less(best, p) && at(p).last_chosen < at(best).last_chosen) {
      best = p;  // a tie: dm moves a chosen path to the tail, so the others come first
    }
  }
  return best;
}

namespace {

class RoundRobin final : public Selector {
 public:
  explicit RoundRobin(unsigned repeat) : repeat_(std::max(1u, repeat)) {}
  std::string_view name() const noexcept override { return "round-robin 0"; }

 protected:
  std::size_t pick(std::span<const std::size_t> candidates, std::uint64_t) override {
    auto it = std::find(candidates.begin(), candidates.end(), current_);
    if (have_ && it != candidates.end() && count_ < repeat_) {
      ++count_;
      return current_;
    }
    // The next path after the current one in the group's order (by id when it left the group).
    std::size_t next = candidates.front();
    if (have_) {
      if (it != candidates.end()) {
        ++it;
        next = it == candidates.end() ? candidates.front() : *it;
      } else {
        for (std::size_t p : candidates) {
          if (p > current_) {
            next = p;
            break;
          }
        }
      }
    }
    have_ = true;
    current_ = next;
    count_ = 1;
    return next;
  }

 private:
  unsigned repeat_;
  bool have_ = false;
  std::size_t current_ = 0;
  unsigned count_ = 0;
};

class QueueLength final : public Selector {
 public:
  std::string_view name() const noexcept override { return "queue-length 0"; }

 protected:
  std::size_t pick(std::span<const std::size_t> candidates, std::uint64_t) override {
    return best_of(candidates, [this](std::size_t a, std::size_t b) { return at(a).ios < at(b).ios; });
  }
};

class ServiceTime final : public Selector {
 public:
  std::string_view name() const noexcept override { return "service-time 0"; }

 protected:
  std::size_t pick(std::span<const std::size_t> candidates, std::uint64_t bytes) override {
    // dm-ps-service-time's st_compare_load: (in flight + incoming) / relative throughput,
    // compared by cross-multiplying; a throughput of 0 loses against any other.
    return best_of(candidates, [this, bytes](std::size_t a, std::size_t b) {
      const PathLoad& x = at(a);
      const PathLoad& y = at(b);
      // Throughputs are at most 100 (as dm's), so the products fit 64 bits.
      const std::uint64_t sx = x.bytes + bytes;
      const std::uint64_t sy = y.bytes + bytes;
      if (x.relative_throughput == y.relative_throughput) return sx < sy;
      if (x.relative_throughput == 0 || y.relative_throughput == 0 || sx == sy) {
        return x.relative_throughput > y.relative_throughput;
      }
      return sx * y.relative_throughput < sy * x.relative_throughput;
    });
  }
};

}  // namespace

std::unique_ptr<Selector> make_selector(SelectorKind kind, unsigned rr_min_io_rq) {
  switch (kind) {
    case SelectorKind::round_robin: return std::make_unique<RoundRobin>(rr_min_io_rq);
    case SelectorKind::queue_length: return std::make_unique<QueueLength>();
    case SelectorKind::service_time: return std::make_unique<ServiceTime>();
  }
  return std::make_unique<ServiceTime>();
}

}  // namespace iscsi::mpath
