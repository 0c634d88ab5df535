// FlatIndex<V> and SlotMap<V> (proto/common/flat_index.hpp, slot_map.hpp): the maps that hold the
// session's tasks and the engine's handlers. They must behave as a map under any order of
// inserts and erases (checked against std::map with random operations, including keys that
// collide in the index and runs that wrap around its end), keep a value's address while it
// lives, and reuse slots instead of growing.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "proto/common/flat_index.hpp"
#include "proto/common/slot_map.hpp"

namespace iscsi {
namespace {

TEST(FlatIndex, BehavesAsAMapUnderRandomInsertsAndErases) {
  std::mt19937_64 rng(7);
  FlatIndex<std::uint32_t> index;
  std::map<std::uint64_t, std::uint32_t> want;
  // Keys from a small range (many collide modulo the table size, runs wrap around its end)
  // and some far apart (high bits differ, same low bits).
  std::uniform_int_distribution<std::uint64_t> small(0, 300);
  for (int i = 0; i < 200000; ++i) {
    std::uint64_t key = small(rng);
    if (i % 3 == 0) key += std::uint64_t{1} << 40;
    const auto value = static_cast<std::uint32_t>(i);
    if (rng() % 2 == 0) {
      index.put(key, value);
      want[key] = value;
    } else {
      EXPECT_EQ(index.erase(key), want.erase(key) == 1);
    }
    ASSERT_EQ(index.size(), want.size());
  }
  for (std::uint64_t key = 0; key <= 300; ++key) {
    for (std::uint64_t high : {std::uint64_t{0}, std::uint64_t{1} << 40}) {
      const auto it = want.find(key + high);
      const std::uint32_t* got = index.find(key + high);
      if (it == want.end()) {
        EXPECT_EQ(got, nullptr) << key + high;
      } else {
        ASSERT_NE(got, nullptr) << key + high;
        EXPECT_EQ(*got, it->second);
      }
    }
  }
  index.clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.find(5), nullptr);
}

TEST(FlatIndex, CountingKeysAcrossTheWrapOfA32BitCounter) {
  FlatIndex<int> index;
  const std::uint64_t first = 0xFFFFFFF0u;
  for (std::uint64_t k = 0; k < 40; ++k) index.put((first + k) & 0xFFFFFFFFu, static_cast<int>(k));
  for (std::uint64_t k = 0; k < 40; k += 2) EXPECT_TRUE(index.erase((first + k) & 0xFFFFFFFFu));
  for (std::uint64_t k = 1; k < 40; k += 2) {
    const int* v = index.find((first + k) & 0xFFFFFFFFu);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(*v, static_cast<int>(k));
  }
  EXPECT_EQ(index.size(), 20u);
}

TEST(SlotMap, ValuesKeepTheirAddressAndSlotsAreReused) {
  SlotMap<std::string> m;
  std::string& a = m.emplace(1);
  a = "one";
  std::vector<std::string*> others;
  for (std::uint64_t k = 2; k < 1000; ++k) others.push_back(&(m.emplace(k) = "x"));
  EXPECT_EQ(&a, m.find(1));  // 998 inserts later, still where it was
  EXPECT_EQ(*m.find(1), "one");
  m.erase(500);
  EXPECT_EQ(m.find(500), nullptr);
  std::string& again = m.emplace(5000);
  EXPECT_EQ(&again, others[500 - 2]);  // the slot 500 had
  EXPECT_TRUE(again.empty());          // a fresh value, not the old one
  EXPECT_EQ(m.size(), 999u);
  m.erase(12345);  // absent: nothing happens
  EXPECT_EQ(m.size(), 999u);
}

TEST(SlotMap, ErasedValuesAreDestroyedAtOnce) {
  SlotMap<std::shared_ptr<int>> m;
  auto p = std::make_shared<int>(3);
  m.emplace(7) = p;
  EXPECT_EQ(p.use_count(), 2);
  m.erase(7);
  EXPECT_EQ(p.use_count(), 1);
  m.emplace(8) = p;
  const auto taken = m.take(8);
  ASSERT_TRUE(taken);
  EXPECT_EQ(*taken, p);
  EXPECT_EQ(p.use_count(), 2);  // ours and `taken`; the map holds none
  EXPECT_TRUE(m.empty());
  EXPECT_FALSE(m.take(8));  // no longer there
}

TEST(SlotMap, DrainHandsOverEverythingInKeyOrderAndLeavesItEmpty) {
  SlotMap<int> m;
  for (std::uint64_t k : {9, 3, 7, 1, 5}) m.emplace(k) = static_cast<int>(k) * 10;
  m.erase(7);
  m.emplace(4) = 40;  // takes 7's slot: slot order is no longer key order
  std::vector<std::uint64_t> keys;
  m.drain([&](std::uint64_t k, int& v) {
    keys.push_back(k);
    EXPECT_EQ(v, static_cast<int>(k) * 10);
    m.emplace(100 + k);  // f may add to the (now empty) map
  });
  EXPECT_EQ(keys, (std::vector<std::uint64_t>{1, 3, 4, 5, 9}));
  EXPECT_EQ(m.size(), 5u);
  EXPECT_NE(m.find(101), nullptr);
  EXPECT_EQ(m.find(1), nullptr);
}

TEST(SlotMap, ForEachVisitsEveryLiveValueOnce) {
  SlotMap<int> m;
  for (std::uint64_t k = 0; k < 100; ++k) m.emplace(k) = static_cast<int>(k);
  for (std::uint64_t k = 0; k < 100; k += 3) m.erase(k);
  std::map<std::uint64_t, int> seen;
  m.for_each([&](std::uint64_t k, int v) { seen[k] += v + 1; });
  EXPECT_EQ(seen.size(), 66u);
  for (const auto& [k, v] : seen) {
    EXPECT_NE(k % 3, 0u);
    EXPECT_EQ(v, static_cast<int>(k) + 1);
  }
}

}  // namespace
}  // namespace iscsi
