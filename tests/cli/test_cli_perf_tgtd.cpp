// End to end: the built lab-iscsi-perf binary against a real tgtd null LUN, and libiscsi's
// iscsi-perf against the same target, both parsed by the same final-line parser.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "cli/perf_binary.hpp"
#include "cli/perf_report.hpp"
#include "support/tgtd_fixture.hpp"

namespace iscsi::cli {
namespace {

namespace fs = std::filesystem;
using test::TgtdTarget;

using test::perf_binary;

std::string url_of(const TgtdTarget& t) {
  return "iscsi://" + t.portal() + "/" + t.iqn() + "/" + std::to_string(TgtdTarget::kNullLun);
}

class PerfAgainstTgtd : public test::TgtdFixture {
 protected:
  test::TgtdOptions options() const override {
    auto o = TgtdFixture::options();
    o.targets[0].file_lun_bytes = 0;  // the null LUN is all a benchmark needs
    return o;
  }
};

TEST_F(PerfAgainstTgtd, TwoSecondReadRunEndsWithIscsiPerfsFinalLine) {
  const fs::path bin = perf_binary();
  ASSERT_TRUE(fs::exists(bin)) << bin << " is not built (target lab-iscsi-perf)";
  auto r = test::run_process({bin.string(), "-t", "2", "-m", "8", "-b", "8", url_of(tgtd())}, {},
                             std::chrono::seconds(30));
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("FIXED transfer size of 8 blocks (4096 byte)"));
  EXPECT_THAT(r.out, ::testing::EndsWith("\n\nfinished.\n"));
  auto f = parse_final_line(r.out);
  ASSERT_TRUE(f.has_value()) << r.out;
  EXPECT_GT(f->iops, 0u);
  EXPECT_EQ(f->mb_per_s, (f->iops * 4096) >> 20);
}

TEST_F(PerfAgainstTgtd, WriteRunOfLargeRequestsCompletes) {
  auto r = test::run_process(
      {perf_binary().string(), "-t", "1", "-m", "2", "-b", "2048", "-w", url_of(tgtd())}, {},
      std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("performing SEQUENTIAL WRITE with 2 parallel requests"));
  auto f = parse_final_line(r.out);
  ASSERT_TRUE(f.has_value()) << r.out;
  EXPECT_GT(f->iops, 0u);
}

TEST_F(PerfAgainstTgtd, LibiscsiIscsiPerfOutputParsesTheSameWay) {
  const fs::path libiscsi = "/usr/bin/iscsi-perf";
  if (!fs::exists(libiscsi)) GTEST_SKIP() << "libiscsi-bin is not installed";
  auto r = test::run_process({libiscsi.string(), "-t", "1", "-m", "4", url_of(tgtd())}, {},
                             std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto f = parse_final_line(r.out);
  ASSERT_TRUE(f.has_value()) << r.out;
  EXPECT_GT(f->iops, 0u);
}

TEST(PerfCommandLine, BadOptionExitsOneWithTheReasonAndUsage) {
  auto r = test::run_process({perf_binary().string(), "-m", "zero", "iscsi://h/iqn.x:t/1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("-m/--max: expected requests in flight"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("Usage: lab-iscsi-perf"));
}

TEST(PerfCommandLine, BadUrlExitsTenAsIscsiPerf) {
  auto r = test::run_process({perf_binary().string(), "iscsi://h/iqn.x:t"});
  EXPECT_EQ(r.exit_code, 10);
  EXPECT_THAT(r.err, ::testing::HasSubstr("Failed to parse URL: iSCSI URL: missing LUN"));
}

}  // namespace
}  // namespace iscsi::cli
