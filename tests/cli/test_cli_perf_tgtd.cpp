// End to end: the built lab-iscsi-perf binary against a real tgtd null LUN, and libiscsi's
// iscsi-perf against the same target, both parsed by the same final-line parser.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
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

// --sessions: many sessions on one initiator, over two targets of one tgtd.
class ManySessionsAgainstTgtd : public test::TgtdFixture {
 protected:
  test::TgtdOptions options() const override {
    auto o = TgtdFixture::options();
    o.targets.resize(2);
    for (auto& t : o.targets) t.file_lun_bytes = 0;
    return o;
  }
  std::string url(std::size_t target) {
    return "iscsi://" + tgtd().portal() + "/" + tgtd().iqn(target) + "/" +
           std::to_string(TgtdTarget::kNullLun);
  }
  // Sessions tgtd still holds: `tgtadm --op show` lists one "I_T nexus: <n>" line for each.
  std::size_t nexus_count() {
    const std::string show = tgtd().show();
    std::size_t n = 0;
    for (auto at = show.find("I_T nexus: "); at != std::string::npos;
         at = show.find("I_T nexus: ", at + 1)) {
      ++n;
    }
    return n;
  }
};

TEST_F(ManySessionsAgainstTgtd, SixteenSessionsAllLogInDoIoAndLogOut) {
  auto r = test::run_process({perf_binary().string(), "-t", "2", "-m", "2", "-b", "8", "--sessions",
                              "8", "--login-concurrency", "4", url(0), url(1)},
                             {}, std::chrono::seconds(60));
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("connected to " + url(0) + " (8 sessions)"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("connected to " + url(1) + " (8 sessions)"));
  EXPECT_THAT(r.out, ::testing::HasSubstr("logged in 16 sessions in "));
  auto f = parse_final_line(r.out);
  ASSERT_TRUE(f.has_value()) << r.out;
  EXPECT_GT(f->iops, 0u);
  // Every session completed commands: the least busy one did at least one.
  unsigned long long ios = 0, least = 0, most = 0;
  const auto at = r.out.find("I/O phase: ");
  ASSERT_NE(at, std::string::npos) << r.out;
  ASSERT_EQ(std::sscanf(r.out.c_str() + at,
                        "I/O phase: %llu commands over 16 sessions (%llu to %llu", &ios, &least,
                        &most),
            3)
      << r.out.substr(at);
  EXPECT_GT(least, 0u) << r.out.substr(at);
  EXPECT_LE(least, most);
  EXPECT_GE(ios, 16 * least);
  EXPECT_EQ(r.err, "") << "a clean run prints nothing on stderr";
  EXPECT_EQ(nexus_count(), 0u) << "every session logged out:\n" << tgtd().show();
}

TEST_F(ManySessionsAgainstTgtd, AWrongTargetNameFailsTheRunNamingEachFailedSession) {
  const std::string bad = "iscsi://" + tgtd().portal() + "/iqn.2026-11.org.example:no-such/1";
  // Sessions alternate between the URLs: 1, 3, 5 go to the good one, 2, 4, 6 to the bad one.
  auto r = test::run_process({perf_binary().string(), "-t", "1", "-m", "1", "--sessions", "3",
                              "--login-concurrency", "6", url(0), bad},
                             {}, std::chrono::seconds(60));
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 10) << r.out << r.err;
  // Each with the target's reason: Login Response status 0x0203, Not Found.
  for (int session : {2, 4, 6}) {
    EXPECT_THAT(r.err, ::testing::ContainsRegex("Login Failed: session " + std::to_string(session) +
                                                " of 6 \\(" + bad + ", ISID 0x[0-9a-f]{12}\\): " +
                                                "not found \\(0x0203\\)"))
        << r.err;
  }
  EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr("(" + url(0) + ", ISID")));
  EXPECT_THAT(r.err, ::testing::HasSubstr(
                         "Login Failed for 3 of 6 sessions (3 logged in, 0 not tried)"));
  EXPECT_THAT(r.out, ::testing::Not(::testing::HasSubstr("iops average")));
  EXPECT_EQ(nexus_count(), 0u) << "the sessions that did log in were logged out:\n"
                               << tgtd().show();
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
