// node.session.cmds_max through ScriptedTarget, which holds commands so that the number in
// flight can be seen from the target's side: never more than cmds_max outstanding, and the
// excess waits in order instead of failing.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "net/initiator.hpp"
#include "net_test_helpers.hpp"
#include "scripted_target.hpp"

namespace iscsi::net {
namespace {

using test::event_log;
using test::has_event;
using test::wait_for;

using namespace std::chrono_literals;
using test::ScriptedTarget;

TEST(NetQueueing, ScriptedTargetHoldingCommandsNeverSeesMoreThanCmdsMax) {
  ScriptedTarget target;
  Initiator ini;
  SessionOptions o;
  o.login_timeout = Seconds{5};
  o.initial_login_retry_max = 0;
  o.noop_out_interval = Seconds{0};
  o.cmds_max = 3;
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, o);
  (void)s->read_capacity(0);
  constexpr int kCommands = 10;
  std::vector<std::future<ByteVector>> reads;
  for (int i = 0; i < kCommands; ++i) reads.push_back(s->read_async(ScriptedTarget::kHeldLba, 1));
  // The window (64) would let all ten through; cmds_max lets three.
  ASSERT_TRUE(wait_for([&] { return target.held_now() == 3; }, 5s)) << target.held_now();
  // Answer whatever is held until every read is done; each answer lets one more in.
  ASSERT_TRUE(test::release_until_done(target, reads, 20s));
  for (auto& r : reads) EXPECT_EQ(r.get(), ScriptedTarget::pattern(ScriptedTarget::kHeldLba, 512));
  EXPECT_EQ(target.held_seen(), kCommands);
  EXPECT_EQ(target.max_held(), 3u);
  s->test_unit_ready(0);
}

}  // namespace
}  // namespace iscsi::net
