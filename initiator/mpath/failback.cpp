// The group choice and the failback policies.
#include "mpath/failback.hpp"

namespace iscsi::mpath {

namespace {

std::string name(std::size_t g) { return "group " + std::to_string(g + 1); }

}  // namespace

GroupChooser::Choice GroupChooser::choose(Clock::time_point now, std::optional<std::size_t> current,
                                          const std::vector<GroupView>& groups,
                                          const std::vector<bool>& came_back) {
  std::optional<std::size_t> best;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].usable == 0) continue;
    if (!best || groups[g].priority > groups[*best].priority) best = g;
  }
  Choice c;
  if (!best) {
    better_since_.reset();
    return c;
  }
  if (!current || *current >= groups.size() || groups[*current].usable == 0) {
    better_since_.reset();
    c.group = best;
    if (current != best) {
      c.why = current && *current < groups.size()
                  ? name(*current) + " has no usable path: failover to " + name(*best)
                  : name(*best) + " is the best usable group";
    }
    return c;
  }
  c.group = current;
  if (*best == *current || groups[*best].priority <= groups[*current].priority) {
    better_since_.reset();
    return c;
  }
  const std::string to_best = name(*best) + " (priority " + std::to_string(groups[*best].priority) +
                              ") is better than " + name(*current) + " (priority " +
                              std::to_string(groups[*current].priority) + ")";
  switch (policy_.kind) {
    case Failback::Kind::immediate:
      c.group = best;
      c.why = "failback immediate: " + to_best;
      break;
    case Failback::Kind::manual:
      break;
    case Failback::Kind::followover:
      if (*best < came_back.size() && came_back[*best]) {
        c.group = best;
        c.why = "failback followover: a path of " + name(*best) + " came back; " + to_best;
      }
      break;
    case Failback::Kind::deferred:
      if (!better_since_ || better_group_ != *best) {
        better_since_ = now;
        better_group_ = *best;
      }
      if (now - *better_since_ >= policy_.delay) {
        better_since_.reset();
        c.group = best;
        c.why = "failback after " + std::to_string(policy_.delay.count()) + " s: " + to_best;
      } else {
        c.recheck_at = *better_since_ + policy_.delay;
      }
      break;
  }
  return c;
}

}  // namespace iscsi::mpath
