// path_grouping_policy: which paths form a path group, and in which order the groups come
// (highest priority first), as multipathd builds the map it loads into dm-multipath.
//   failover       one path per group, groups ordered by the path's priority
//   multibus       every path in one group
//   group_by_prio  one group per priority value, highest first
// Ties keep the paths' order. A group's priority is the average priority of its usable paths
// (multipathd's rule); a group with no usable path has none.
#pragma once

#include <cstddef>
#include <vector>

#include "mpath/settings.hpp"

namespace iscsi::mpath {

using PathGroups = std::vector<std::vector<std::size_t>>;

PathGroups build_groups(GroupingPolicy policy, const std::vector<int>& priorities);

struct GroupView {
  int priority = 0;         // average over usable paths; 0 when none
  std::size_t usable = 0;   // paths that can take I/O now
};
GroupView view_of(const std::vector<std::size_t>& group, const std::vector<int>& priorities,
                  const std::vector<bool>& usable);

}  // namespace iscsi::mpath
