// Write then read back, byte-exact, through the session and the fake target over the real codec,
// across the data-transfer parameter matrix: ImmediateData x InitialR2T x (FirstBurstLength,
// MaxBurstLength, MaxRecvDataSegmentLength, including 512-byte segments) x MaxOutstandingR2T
// (1, 4) x phase collapse. The fake target checks every rule on the initiator's side.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "fake_target.hpp"

namespace iscsi::session::test {
namespace {

struct Sizes {
  std::uint32_t first_burst;
  std::uint32_t max_burst;
  std::uint32_t mrdsl;
};

using Params = std::tuple<bool, bool, Sizes, std::uint32_t, bool>;

class BackToBack : public ::testing::TestWithParam<Params> {};

TEST_P(BackToBack, WriteThenReadBackByteExact) {
  const auto [immediate, initial_r2t, sizes, max_r2t, collapse] = GetParam();
  FakeTargetConfig cfg;
  cfg.immediate_data = immediate;
  cfg.initial_r2t = initial_r2t;
  cfg.first_burst_length = sizes.first_burst;
  cfg.max_burst_length = sizes.max_burst;
  cfg.target_mrdsl = sizes.mrdsl;
  cfg.initiator_mrdsl = sizes.mrdsl;
  cfg.max_outstanding_r2t = max_r2t;
  cfg.phase_collapse = collapse;
  Pair pair(cfg);

  // Several lengths: below, at and well above every burst size.
  const std::uint32_t lengths[] = {512, 4096, 65536 + 512, 300 * 1024};
  std::uint64_t lba = 0;
  std::uint32_t seed = 1;
  std::vector<std::pair<std::uint64_t, ByteVector>> written;
  for (std::uint32_t len : lengths) {
    ByteVector data = pattern(len, seed++);
    auto id = pair.session.submit(write_request(lba, data), pair.now);
    ASSERT_TRUE(id) << id.error().message();
    pair.pump();
    auto done = pair.completions();
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].id, *id);
    EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
    EXPECT_EQ(done[0].scsi.status, 0);
    written.emplace_back(lba, std::move(data));
    lba += len / 512;
  }
  for (const auto& [at, data] : written) {
    auto id = pair.session.submit(read_request(at, static_cast<std::uint32_t>(data.size())),
                                  pair.now);
    ASSERT_TRUE(id);
    pair.pump();
    auto done = pair.completions();
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
    EXPECT_EQ(done[0].scsi.status, 0);
    EXPECT_FALSE(done[0].scsi.underflow);
    EXPECT_TRUE(done[0].scsi.data == data) << "read back differs at lba " << at;
  }
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
  EXPECT_TRUE(pair.receive_errors.empty());
  EXPECT_LE(pair.target.max_outstanding_r2t_seen, max_r2t);
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
  EXPECT_EQ(pair.session.outstanding(), 0u);
  // Every byte written went out exactly once.
  std::uint64_t total = 0;
  for (std::uint32_t len : lengths) total += len;
  EXPECT_EQ(pair.session.stats().txdata_octets, total);
  EXPECT_EQ(pair.session.stats().rxdata_octets, total);
  EXPECT_EQ(pair.session.stats().scsicmd_pdus, 8u);
  EXPECT_EQ(pair.session.stats().r2t_pdus, pair.target.r2ts_sent);
  EXPECT_EQ(pair.session.stats().dataout_pdus, pair.target.data_outs);
  if (!immediate && initial_r2t) {
    // Everything solicited: one R2T per MaxBurstLength of each write.
    std::size_t r2ts = 0;
    for (std::uint32_t len : lengths) r2ts += (len + sizes.max_burst - 1) / sizes.max_burst;
    EXPECT_EQ(pair.target.r2ts_sent, r2ts);
  }
}

std::string name(const ::testing::TestParamInfo<Params>& info) {
  const auto& [immediate, initial_r2t, sizes, max_r2t, collapse] = info.param;
  return std::string(immediate ? "Imm" : "NoImm") + (initial_r2t ? "_R2T" : "_NoR2T") + "_FB" +
         std::to_string(sizes.first_burst) + "_MB" + std::to_string(sizes.max_burst) + "_DSL" +
         std::to_string(sizes.mrdsl) + "_OR2T" + std::to_string(max_r2t) +
         (collapse ? "_Collapse" : "_SepStatus");
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, BackToBack,
    ::testing::Combine(::testing::Bool(), ::testing::Bool(),
                       ::testing::Values(Sizes{65536, 262144, 8192}, Sizes{512, 512, 512},
                                         Sizes{8192, 16384, 4096}, Sizes{16384, 65536, 512},
                                         Sizes{262144, 262144, 65536}),
                       ::testing::Values(1u, 4u), ::testing::Bool()),
    name);

TEST(BackToBackPdus, ImmediateAndUnsolicitedShapes) {
  // ImmediateData=Yes, InitialR2T=No, FirstBurst 16 KiB, MRDSL 4 KiB: a 40 KiB write sends 4 KiB
  // immediate, 12 KiB unsolicited in 3 Data-Outs (TTT reserved, DataSN 0..2, F on the last), then
  // R2Ts for the remaining 24 KiB.
  FakeTargetConfig cfg;
  cfg.initial_r2t = false;
  cfg.first_burst_length = 16384;
  cfg.max_burst_length = 16384;
  cfg.target_mrdsl = 4096;
  Pair pair(cfg);
  ByteVector data = pattern(40960, 9);
  ASSERT_TRUE(pair.session.submit(write_request(0, data), pair.now));
  auto cmd = pair.session.pop_pdu(Pair::kCid);
  ASSERT_TRUE(cmd);
  const auto& sc = std::get<pdu::ScsiCommand>(*cmd);
  EXPECT_EQ(sc.data.size(), 4096u);
  EXPECT_FALSE(sc.final_pdu);
  EXPECT_TRUE(sc.write);
  EXPECT_EQ(sc.expected_data_transfer_length, 40960u);
  for (std::uint32_t i = 0; i < 3; ++i) {
    auto d = pair.session.pop_pdu(Pair::kCid);
    ASSERT_TRUE(d);
    const auto& out = std::get<pdu::DataOut>(*d);
    EXPECT_EQ(out.ttt, pdu::kReservedTag);
    EXPECT_EQ(out.data_sn, SerialNumber{i});
    EXPECT_EQ(out.buffer_offset, 4096u * (i + 1));
    EXPECT_EQ(out.final_pdu, i == 2);
  }
  EXPECT_FALSE(pair.session.pop_pdu(Pair::kCid));
}

}  // namespace
}  // namespace iscsi::session::test
