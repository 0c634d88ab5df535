// Building path groups from priorities.
#include "mpath/grouping.hpp"

#include <algorithm>
#include <numeric>

namespace iscsi::mpath {

PathGroups build_groups(GroupingPolicy policy, const std::vector<int>& priorities) {
  std::vector<std::size_t> order(priorities.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return priorities[a] > priorities[b]; });
  PathGroups out;
  switch (policy) {
    case GroupingPolicy::multibus:
      if (!priorities.empty()) {
        out.emplace_back(priorities.size());
        std::iota(out.back().begin(), out.back().end(), 0);
      }
      break;
    case GroupingPolicy::failover:
      for (std::size_t p : order) out.push_back({p});
      break;
    case GroupingPolicy::group_by_prio:
      for (std::size_t p : order) {
        if (out.empty() || priorities[out.back().front()] != priorities[p]) out.emplace_back();
        out.back().push_back(p);
      }
      for (auto& g : out) std::sort(g.begin(), g.end());
      break;
  }
  return out;
}

GroupView view_of(const std::vector<std::size_t>& group, const std::vector<int>& priorities,
                  const std::vector<bool>& usable) {
  GroupView v;
  long sum = 0;
  for (std::size_t p : group) {
    if (!usable[p]) continue;
    ++v.usable;
    sum += priorities[p];
  }
  if (v.usable > 0) v.priority = static_cast<int>(sum / static_cast<long>(v.usable));
  return v;
}

}  // namespace iscsi::mpath
