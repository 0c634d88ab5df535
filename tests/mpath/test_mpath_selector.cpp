// The path selectors against a fake load: which path each command goes to.
#include <gtest/gtest.h>

#include <map>

#include "mpath/selector.hpp"

namespace iscsi::mpath {
namespace {

std::vector<std::size_t> picks(Selector& s, const std::vector<std::size_t>& candidates, int n,
                               std::uint64_t bytes = 4096, bool complete = true) {
  std::vector<std::size_t> out;
  for (int i = 0; i < n; ++i) {
    const std::size_t p = s.select(candidates, bytes);
    s.started(p, bytes);
    if (complete) s.ended(p, bytes);
    out.push_back(p);
  }
  return out;
}

TEST(MpathSelector, RoundRobinSwitchesAfterRrMinIoRq) {
  auto one = make_selector(SelectorKind::round_robin, 1);
  EXPECT_EQ(one->name(), "round-robin 0");
  EXPECT_EQ(picks(*one, {0, 1, 2}, 6), (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
  auto three = make_selector(SelectorKind::round_robin, 3);
  EXPECT_EQ(picks(*three, {0, 1}, 8), (std::vector<std::size_t>{0, 0, 0, 1, 1, 1, 0, 0}));
}

TEST(MpathSelector, RoundRobinFollowsTheCandidates) {
  auto rr = make_selector(SelectorKind::round_robin, 2);
  EXPECT_EQ(picks(*rr, {0, 1, 2}, 3), (std::vector<std::size_t>{0, 0, 1}));
  // Path 1 fails: the next command goes to the path after it.
  EXPECT_EQ(picks(*rr, {0, 2}, 3), (std::vector<std::size_t>{2, 2, 0}));
  EXPECT_EQ(picks(*rr, {0}, 2), (std::vector<std::size_t>{0, 0}));
}

TEST(MpathSelector, QueueLengthPicksTheShortestQueue) {
  auto ql = make_selector(SelectorKind::queue_length, 1);
  EXPECT_EQ(ql->name(), "queue-length 0");
  // Nothing completes: the queues fill evenly.
  EXPECT_EQ(picks(*ql, {0, 1, 2}, 6, 4096, false), (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
  // Path 2 drains: it takes the next ones until it is level again.
  for (int i = 0; i < 2; ++i) ql->ended(2, 4096);
  EXPECT_EQ(picks(*ql, {0, 1, 2}, 2, 4096, false), (std::vector<std::size_t>{2, 2}));
  EXPECT_EQ(ql->load(2).ios, 2u);
  EXPECT_EQ(ql->load(7).ios, 0u);
}

TEST(MpathSelector, ServiceTimeWeighsBytesInFlight) {
  auto st = make_selector(SelectorKind::service_time, 1);
  EXPECT_EQ(st->name(), "service-time 0");
  st->started(0, 1 << 20);  // one 1 MiB command on path 0
  // Small commands go to path 1 until its bytes catch up with path 0's.
  const auto got = picks(*st, {0, 1}, 256, 4096, false);
  EXPECT_EQ(std::count(got.begin(), got.end(), 1u), 256);
  EXPECT_EQ(st->select(std::vector<std::size_t>{0, 1}, 4096), 0u);  // now level: the one not chosen lately
}

TEST(MpathSelector, ServiceTimeRelativeThroughput) {
  auto st = make_selector(SelectorKind::service_time, 1);
  st->set_relative_throughput(0, 3);
  st->set_relative_throughput(1, 1);
  std::map<std::size_t, int> n;
  for (std::size_t p : picks(*st, {0, 1}, 400, 4096, false)) ++n[p];
  // Bytes in flight end up near 3:1.
  EXPECT_NEAR(double(n[0]) / n[1], 3.0, 0.1);
  st->set_relative_throughput(1, 1000);  // capped at 100, as dm's
  EXPECT_EQ(st->load(1).relative_throughput, 100u);
}

TEST(MpathSelector, TiesRotate) {
  // Equal loads: dm moves the chosen path to the tail, so equal paths take turns.
  for (auto kind : {SelectorKind::queue_length, SelectorKind::service_time}) {
    auto s = make_selector(kind, 1);
    EXPECT_EQ(picks(*s, {0, 1, 2}, 6), (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
  }
}

}  // namespace
}  // namespace iscsi::mpath
