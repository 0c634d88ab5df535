// NodeCache<Map> (proto/common/node_cache.hpp): a std::map used through it behaves as before,
// erased values are released at once, and erased nodes come back for later inserts.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "proto/common/node_cache.hpp"

namespace iscsi {
namespace {

TEST(NodeCache, MapSemanticsAreKept) {
  std::map<int, std::string> m;
  NodeCache<std::map<int, std::string>> cache;
  cache.put(m, 1, "one");
  cache.put(m, 2, "two");
  cache.erase(m, 1);
  cache.put(m, 3, "three");      // in the node 1 had
  cache.put(m, 2, "deux");       // an existing key is assigned, not duplicated
  cache.put_default(m, 4) = "four";
  cache.erase(m, 99);            // absent: nothing happens
  const std::map<int, std::string> want{{2, "deux"}, {3, "three"}, {4, "four"}};
  EXPECT_EQ(m, want);
  cache.erase(m, m.find(3));
  EXPECT_EQ(m.count(3), 0u);
  EXPECT_EQ(m.size(), 2u);
}

TEST(NodeCache, ErasedValueIsReleasedAndItsNodeReused) {
  auto owned = std::make_shared<int>(1);
  std::map<int, std::shared_ptr<int>> m;
  NodeCache<std::map<int, std::shared_ptr<int>>> cache;
  cache.put(m, 7, owned);
  EXPECT_EQ(owned.use_count(), 2);
  const void* node_value = &m.at(7);
  cache.erase(m, 7);
  EXPECT_EQ(owned.use_count(), 1);  // not held by the kept node
  // The next insert takes the kept node: the value lands at the same address.
  auto& v = cache.put_default(m, 8);
  EXPECT_EQ(static_cast<const void*>(&v), node_value);
  EXPECT_EQ(v, nullptr);  // reset when it was kept
}

}  // namespace
}  // namespace iscsi
