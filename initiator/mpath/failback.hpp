// Which path group takes I/O: failover when the group in use has no usable path left, and
// failback to a better group by the `failback` policy (multipath.conf(5)):
//   immediate   as soon as a group of higher priority than the one in use has a usable path
//   manual      never on its own: only when the group in use has no usable path
//   followover  only when the better group became usable because one of its paths came back
//               (not, say, because its priority rose: another host may have asked for the
//               change, and following it back would ping-pong)
//   N           when the better group has stayed better for N seconds
// Sans-IO: the caller passes the time and the groups' state after every change and on every
// checker tick, and re-asks at `recheck_at` if one is returned.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "mpath/grouping.hpp"
#include "mpath/settings.hpp"

namespace iscsi::mpath {

class GroupChooser {
 public:
  using Clock = std::chrono::steady_clock;

  struct Choice {
    std::optional<std::size_t> group;  // nullopt: no group has a usable path
    std::string why;                   // why it changed (empty when it did not)
    std::optional<Clock::time_point> recheck_at;  // a deferred failback is due then
  };

  explicit GroupChooser(Failback policy) : policy_(policy) {}

  // `current`: the group in use, if any. `came_back[g]`: group g had no usable path and one
  // of its paths was just reinstated (followover's trigger); may be empty.
  Choice choose(Clock::time_point now, std::optional<std::size_t> current,
                const std::vector<GroupView>& groups, const std::vector<bool>& came_back = {});

  // Groups were rebuilt (priorities changed): forget a failback being timed.
  void reset() noexcept { better_since_.reset(); }

 private:
  Failback policy_;
  std::optional<Clock::time_point> better_since_;
  std::size_t better_group_ = 0;
};

}  // namespace iscsi::mpath
