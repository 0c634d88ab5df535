// path_grouping_policy and the group choice with each failback policy, against fake path
// states and a fake clock.
#include <gtest/gtest.h>

#include "mpath/failback.hpp"
#include "mpath/grouping.hpp"

namespace iscsi::mpath {
namespace {

using namespace std::chrono_literals;
using Clock = GroupChooser::Clock;

TEST(MpathGrouping, Policies) {
  const std::vector<int> prios = {10, 50, 10, 50};
  EXPECT_EQ(build_groups(GroupingPolicy::multibus, prios), (PathGroups{{0, 1, 2, 3}}));
  EXPECT_EQ(build_groups(GroupingPolicy::failover, prios), (PathGroups{{1}, {3}, {0}, {2}}));
  EXPECT_EQ(build_groups(GroupingPolicy::group_by_prio, prios), (PathGroups{{1, 3}, {0, 2}}));
  EXPECT_EQ(build_groups(GroupingPolicy::failover, {1, 1}), (PathGroups{{0}, {1}}));
  EXPECT_TRUE(build_groups(GroupingPolicy::multibus, {}).empty());
}

TEST(MpathGrouping, GroupPriorityIsTheAverageOfUsablePaths) {
  const std::vector<int> prios = {50, 10, 30};
  const auto v = view_of({0, 1, 2}, prios, {true, true, false});
  EXPECT_EQ(v.usable, 2u);
  EXPECT_EQ(v.priority, 30);
  EXPECT_EQ(view_of({2}, prios, {true, true, false}).usable, 0u);
  EXPECT_EQ(view_of({2}, prios, {true, true, false}).priority, 0);
}

// Two groups: 0 (priority 50) and 1 (priority 10).
std::vector<GroupView> views(std::size_t usable0, std::size_t usable1) {
  return {{usable0 ? 50 : 0, usable0}, {usable1 ? 10 : 0, usable1}};
}

TEST(MpathFailback, FailoverWhateverThePolicy) {
  for (auto kind : {Failback::Kind::immediate, Failback::Kind::manual, Failback::Kind::followover,
                    Failback::Kind::deferred}) {
    GroupChooser c({kind, 10s});
    const auto t = Clock::now();
    auto first = c.choose(t, std::nullopt, views(1, 1));
    EXPECT_EQ(first.group, 0u);
    auto moved = c.choose(t, 0, views(0, 1));
    EXPECT_EQ(moved.group, 1u);
    EXPECT_EQ(moved.why, "group 1 has no usable path: failover to group 2");
    EXPECT_FALSE(c.choose(t, 1, views(0, 0)).group);
  }
}

TEST(MpathFailback, Immediate) {
  GroupChooser c({Failback::Kind::immediate, {}});
  const auto choice = c.choose(Clock::now(), 1, views(1, 1));
  EXPECT_EQ(choice.group, 0u);
  EXPECT_NE(choice.why.find("failback immediate"), std::string::npos) << choice.why;
}

TEST(MpathFailback, ManualStays) {
  GroupChooser c({Failback::Kind::manual, {}});
  EXPECT_EQ(c.choose(Clock::now(), 1, views(1, 1), {true, false}).group, 1u);
  EXPECT_EQ(c.choose(Clock::now() + 1h, 1, views(1, 1)).group, 1u);
}

TEST(MpathFailback, FollowoverOnlyWhenAPathCameBack) {
  GroupChooser c({Failback::Kind::followover, {}});
  const auto t = Clock::now();
  // Group 1 got better without a path of it coming back (a priority change): stay.
  EXPECT_EQ(c.choose(t, 1, views(1, 1)).group, 1u);
  EXPECT_EQ(c.choose(t, 1, views(1, 1), {false, false}).group, 1u);
  const auto back = c.choose(t, 1, views(1, 1), {true, false});
  EXPECT_EQ(back.group, 0u);
  EXPECT_NE(back.why.find("followover"), std::string::npos);
}

TEST(MpathFailback, DeferredWaitsNSeconds) {
  GroupChooser c({Failback::Kind::deferred, 10s});
  const auto t = Clock::now();
  auto wait = c.choose(t, 1, views(1, 1));
  EXPECT_EQ(wait.group, 1u);
  ASSERT_TRUE(wait.recheck_at);
  EXPECT_EQ(*wait.recheck_at, t + 10s);
  EXPECT_EQ(c.choose(t + 9s, 1, views(1, 1)).group, 1u);
  const auto done = c.choose(t + 10s, 1, views(1, 1));
  EXPECT_EQ(done.group, 0u);
  EXPECT_NE(done.why.find("failback after 10 s"), std::string::npos);
  // The better group dropping out restarts the count.
  GroupChooser d({Failback::Kind::deferred, 10s});
  (void)d.choose(t, 1, views(1, 1));
  (void)d.choose(t + 5s, 1, views(0, 1));
  EXPECT_EQ(d.choose(t + 12s, 1, views(1, 1)).group, 1u);
  EXPECT_EQ(d.choose(t + 22s, 1, views(1, 1)).group, 0u);
}

}  // namespace
}  // namespace iscsi::mpath
