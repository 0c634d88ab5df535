// Fifo<T> (proto/common/fifo.hpp): order, moving out, storage reuse and compaction.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "proto/common/fifo.hpp"

namespace iscsi {
namespace {

TEST(Fifo, KeepsOrderAcrossPushesAndPops) {
  Fifo<int> q;
  EXPECT_TRUE(q.empty());
  for (int i = 0; i < 5; ++i) q.push_back(i);
  EXPECT_EQ(q.size(), 5u);
  EXPECT_EQ(q.front(), 0);
  EXPECT_EQ(q.back(), 4);
  q.pop_front();
  EXPECT_EQ(q.take_front(), 1);
  q.push_back(5);
  int out = -1;
  q.take_front_into(out);
  EXPECT_EQ(out, 2);
  for (int want : {3, 4, 5}) EXPECT_EQ(q.take_front(), want);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
}

TEST(Fifo, PopReleasesWhatTheElementOwnsAtOnce) {
  auto shared = std::make_shared<int>(7);
  Fifo<std::shared_ptr<int>> q;
  q.push_back(shared);
  q.push_back(shared);
  EXPECT_EQ(shared.use_count(), 3);
  q.pop_front();  // not drained: the slot stays in storage, but empty
  EXPECT_EQ(shared.use_count(), 2);
  auto taken = q.take_front();
  EXPECT_EQ(shared.use_count(), 2);  // moved out, not copied
  EXPECT_TRUE(q.empty());
}

TEST(Fifo, NeverDrainedQueueStaysInOrderThroughCompaction) {
  // One more pushed than popped each round: the queue never empties, so only compaction keeps
  // its storage bounded; the order must survive it.
  Fifo<std::string> q;
  int next_in = 0;
  int next_out = 0;
  q.push_back(std::to_string(next_in++));
  for (int round = 0; round < 1000; ++round) {
    q.push_back(std::to_string(next_in++));
    q.push_back(std::to_string(next_in++));
    ASSERT_EQ(q.take_front(), std::to_string(next_out++));
    ASSERT_EQ(q.front(), std::to_string(next_out));
  }
  EXPECT_EQ(q.size(), static_cast<std::size_t>(next_in - next_out));
  while (!q.empty()) ASSERT_EQ(q.take_front(), std::to_string(next_out++));
  EXPECT_EQ(next_out, next_in);
}

TEST(Fifo, ClearEmptiesIt) {
  Fifo<int> q;
  q.push_back(1);
  q.push_back(2);
  q.clear();
  EXPECT_TRUE(q.empty());
  q.push_back(3);
  EXPECT_EQ(q.front(), 3);
}

}  // namespace
}  // namespace iscsi
