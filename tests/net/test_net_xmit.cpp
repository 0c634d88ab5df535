// node.conn[0].iscsi.MaxXmitDataSegmentLength: our data segments (immediate data, unsolicited
// and solicited Data-Out) stay within min(the target's MaxRecvDataSegmentLength, this). Against
// tgtd the data must still verify byte-exact; ScriptedTarget measures every segment it gets.
#include <gtest/gtest.h>

#include <random>

#include "net/initiator.hpp"
#include "scripted_target.hpp"
#include "support/tgtd_fixture.hpp"

namespace iscsi::net {
namespace {

constexpr std::uint16_t kFileLun = iscsi::test::TgtdTarget::kFileLun;

SessionOptions opts() {
  SessionOptions o;
  o.initiator_name = "iqn.2026-11.org.iscsi-lab:xmit";
  o.login_timeout = Seconds{5};
  o.initial_login_retry_max = 0;
  o.noop_out_interval = Seconds{0};
  return o;
}

ByteVector random_bytes(std::size_t n, std::uint32_t seed) {
  ByteVector v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

class NetXmit : public iscsi::test::TgtdFixture {};

TEST_F(NetXmit, MaxXmitDataSegmentLength512WritesVerifyAgainstTgtd) {
  // tgtd's own receive limit is larger: ours is the one that binds.
  tgtd().set_param("MaxRecvDataSegmentLength", "65536");
  tgtd().set_param("InitialR2T", "No");
  tgtd().set_param("ImmediateData", "Yes");
  tgtd().set_param("FirstBurstLength", "16776192");
  tgtd().set_param("MaxBurstLength", "16776192");
  std::uint32_t seed = 700;
  for (bool imm : {true, false}) {
    for (bool r2t : {true, false}) {
      SCOPED_TRACE("ImmediateData=" + std::to_string(imm) + " InitialR2T=" + std::to_string(r2t));
      Initiator ini;
      auto o = opts();
      o.iscsi.immediate_data = imm;
      o.iscsi.initial_r2t = r2t;
      o.iscsi.first_burst_length = 65536;
      o.iscsi.max_burst_length = 262144;
      o.iscsi.max_xmit_data_segment_length = 512;
      auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), o);
      EXPECT_EQ(s->params().max_send_data_segment_length, 512u);
      std::uint64_t sent = 0;
      std::uint64_t immediate = 0;
      for (std::size_t blocks :
           {std::size_t{1}, std::size_t{3}, std::size_t{259}, std::size_t{1024}}) {
        auto data = random_bytes(blocks * 512, ++seed);
        const std::uint64_t lba = seed * 64;
        s->write(lba, data, kFileLun);
        ASSERT_EQ(s->read(lba, static_cast<std::uint32_t>(blocks), kFileLun), data);
        sent += data.size();
        immediate += imm ? 512 : 0;  // at most one segment rides in the command
      }
      // Every byte not sent as immediate data went in Data-Out PDUs of at most 512 bytes.
      const auto st = s->stats();
      EXPECT_GE(st.dataout_pdus, (sent - immediate) / 512) << "Data-Out segments over 512 bytes";
      EXPECT_GE(st.txdata_octets, sent);
      s->logout();
    }
  }
}

TEST(NetXmitScripted, ScriptedTargetSeesNoDataSegmentOverMaxXmit) {
  test::ScriptedTarget target;
  Initiator ini;
  auto o = opts();
  o.iscsi.immediate_data = true;
  o.iscsi.initial_r2t = false;
  o.iscsi.max_xmit_data_segment_length = 512;
  auto s = ini.login(test::ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, o);
  EXPECT_EQ(s->params().max_send_data_segment_length, 512u);
  // 96 KiB: immediate data, unsolicited Data-Out up to FirstBurstLength, the rest on an R2T.
  s->write(0, random_bytes(96 * 1024, 1), 0);
  EXPECT_EQ(target.writes_done(), 1u);
  EXPECT_EQ(target.max_data_segment_seen(), 512u);
  EXPECT_GE(target.dataout_seen(), 96u * 1024u / 512u - 1u);
}

TEST(NetXmitScripted, ScriptedTargetWithoutMaxXmitGetsItsOwnMrdsl) {
  test::ScriptedTarget target;
  Initiator ini;
  auto s = ini.login(test::ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, opts());
  const std::uint32_t mrdsl = s->params().max_send_data_segment_length;
  EXPECT_GT(mrdsl, 512u);  // the target's declaration, not capped
  s->write(0, random_bytes(96 * 1024, 2), 0);
  EXPECT_EQ(target.writes_done(), 1u);
  EXPECT_EQ(target.max_data_segment_seen(), mrdsl);
}

}  // namespace
}  // namespace iscsi::net
