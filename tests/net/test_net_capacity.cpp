// READ CAPACITY through ScriptedTarget, which refuses READ CAPACITY(16) on demand (tgtd never
// does): the engine falls back to READ CAPACITY(10); when (10) answers 0xFFFFFFFF ("too big,
// use (16)", SBC-4 5.19.2) it asks (16) again, and says so in words if (16) stays refused.
#include <gtest/gtest.h>

#include "net/initiator.hpp"
#include "scripted_target.hpp"

namespace iscsi::net {
namespace {

using test::ScriptedTarget;

SessionOptions opts() {
  SessionOptions o;
  o.login_timeout = Seconds{5};
  o.initial_login_retry_max = 0;
  o.noop_out_interval = Seconds{0};
  return o;
}

TEST(NetCapacity, ScriptedTargetRefusingReadCapacity16FallsBackTo10) {
  ScriptedTarget target;
  target.set_rc16_refusals(-1);  // ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (5/20/00)
  Initiator ini;
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  EXPECT_EQ(s->read_capacity(0), (Capacity{2048, 512}));
  EXPECT_EQ(target.rc16_seen(), 1);
  EXPECT_EQ(target.rc10_seen(), 1);
  // The block length found through (10) serves READ(16).
  EXPECT_EQ(s->read(7, 2, 0), ScriptedTarget::pattern(7, 1024));
}

TEST(NetCapacity, ScriptedTargetReadCapacity10AllOnesLeadsBackTo16) {
  ScriptedTarget target;
  target.set_blocks(std::uint64_t{1} << 33);  // 4 TiB of 512-byte blocks
  target.set_rc16_refusals(1);
  target.set_rc10_last_lba(0xFFFFFFFFu);
  Initiator ini;
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  EXPECT_EQ(s->read_capacity(0), (Capacity{std::uint64_t{1} << 33, 512}));
  EXPECT_EQ(target.rc16_seen(), 2);
  EXPECT_EQ(target.rc10_seen(), 1);
}

TEST(NetCapacity, ScriptedTargetTooBigFor10And16RefusedFailsInWords) {
  ScriptedTarget target;
  target.set_rc16_refusals(-1);
  target.set_rc10_last_lba(0xFFFFFFFFu);
  Initiator ini;
  auto s = ini.login(ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  try {
    (void)s->read_capacity(0);
    FAIL() << "a size of 2^32 blocks was made up";
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::scsi_error);
    const std::string w = e.what();
    EXPECT_NE(w.find("more than 2^32-1 blocks"), std::string::npos) << w;
    EXPECT_NE(w.find("0x5/0x20/0x00"), std::string::npos) << w;
  }
}

}  // namespace
}  // namespace iscsi::net
