// lab-iscsi-perf against a target that breaks the protocol on purpose (the scripted target of
// tests/net, a mock: LIO cannot be made to send a wrong ITT or skip a DataSN): the built binary
// is run against it, and each class of violation must show on stderr as it happens (the
// connection error's ISCSI_ERR name, the recovery, the relogin), end in a verdict line naming
// it, and give exit status 1, while a clean run against the same target stays silent and exits 0.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "cli/perf_binary.hpp"
#include "cli/perf_report.hpp"
#include "net/scripted_target.hpp"
#include "proto/scsi/sense.hpp"
#include "support/tgtd_fixture.hpp"

namespace iscsi::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using net::test::ScriptedTarget;
using Misbehave = ScriptedTarget::Misbehave;
using Clock = std::chrono::steady_clock;

using test::perf_binary;

std::string url_of(const ScriptedTarget& t) {
  return "iscsi://127.0.0.1:" + std::to_string(t.port()) + "/" + ScriptedTarget::kIqn + "/0";
}

// The last non-empty line of `text`.
std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of('\n');
  if (end == std::string::npos) return {};
  const auto nl = text.rfind('\n', end);
  const std::size_t start = nl == std::string::npos ? 0 : nl + 1;
  return text.substr(start, end - start + 1);
}

struct Run {
  test::ProcessResult r;
  double seconds = 0;
};

// A 2-second read run at QD4 with the target set to misbehave once on the first READ(16).
Run perf_against(ScriptedTarget& target, Misbehave m, std::vector<std::string> extra = {}) {
  target.set_misbehave(m);
  std::vector<std::string> argv = {perf_binary().string(), "-t", "2", "-m", "4", "-r"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url_of(target));
  const auto t0 = Clock::now();
  Run run;
  run.r = test::run_process(argv, {}, std::chrono::seconds(60));
  run.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return run;
}

// What every violation must give: the event lines, the relogin, the verdict and status 1.
void expect_named_violation(const Run& run, const std::string& iscsi_err) {
  const auto& r = run.r;
  ASSERT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // As it happened, with a timestamp: "[   0.012 s] 127.0.0.1:port: conn_error: detected ..."
  const std::string event = R"(\[ +[0-9]+\.[0-9]{3} s\] 127\.0\.0\.1:[0-9]+: conn_error: )"
                            R"(detected conn error \([0-9]+\) )" + iscsi_err;
  EXPECT_THAT(r.err, ::testing::ContainsRegex(event)) << r.err;
  EXPECT_THAT(r.err, HasSubstr(": recovery_started: ")) << r.err;
  EXPECT_THAT(r.err, HasSubstr(": recovery_ended: session reinstated")) << r.err;
  const std::string verdict = last_line(r.err);
  EXPECT_THAT(verdict, ::testing::StartsWith("lab-iscsi-perf: run NOT clean: ")) << r.err;
  EXPECT_THAT(verdict, HasSubstr("1 connection error (first " + iscsi_err + ")")) << r.err;
  EXPECT_THAT(verdict, HasSubstr("1 session recovery")) << r.err;
  // The run itself went on after the relogin: iscsi-perf's output is complete.
  EXPECT_THAT(r.out, HasSubstr("finished.")) << r.out;
  EXPECT_TRUE(parse_final_line(r.out).has_value()) << r.out;
}

class PerfAgainstScripted : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(perf_binary())) << perf_binary() << " is not built";
  }
  ScriptedTarget target_;
};

TEST_F(PerfAgainstScripted, ACleanRunSaysNothingMoreAndExitsZero) {
  const auto run = perf_against(target_, Misbehave::none);
  EXPECT_EQ(run.r.exit_code, 0) << run.r.out << run.r.err;
  EXPECT_THAT(run.r.err, Not(HasSubstr("conn_error"))) << run.r.err;
  EXPECT_THAT(run.r.err, Not(HasSubstr("NOT clean"))) << run.r.err;
  EXPECT_GT(parse_final_line(run.r.out).value_or(FinalFigures{}).iops, 0u) << run.r.out;
}

TEST_F(PerfAgainstScripted, AResponseWithAnUnknownIttIsNamed) {
  expect_named_violation(perf_against(target_, Misbehave::unknown_itt), "ISCSI_ERR_BAD_ITT");
}

TEST_F(PerfAgainstScripted, ADataSnGapIsNamed) {
  expect_named_violation(perf_against(target_, Misbehave::datasn_gap), "ISCSI_ERR_DATASN");
}

TEST_F(PerfAgainstScripted, DataBeyondTheExpectedLengthIsNamed) {
  expect_named_violation(perf_against(target_, Misbehave::data_beyond_length),
                         "ISCSI_ERR_DATA_OFFSET");
}

TEST_F(PerfAgainstScripted, AWildStatSnIsNamed) {
  expect_named_violation(perf_against(target_, Misbehave::wrong_stat_sn), "ISCSI_ERR_PROTO");
}

TEST_F(PerfAgainstScripted, AConnectionClosedInMidCommandIsNamed) {
  const auto run = perf_against(target_, Misbehave::close_mid_data_in);
  // Which of three a closed socket gives depends on who notices first: the read (the target
  // closed, or the connection failed) or a send of the next command (transmit failed).
  std::string seen = "one of ISCSI_ERR_TCP_CONN_CLOSE, CONN_FAILED, XMIT_FAILED";
  for (const char* name :
       {"ISCSI_ERR_TCP_CONN_CLOSE", "ISCSI_ERR_CONN_FAILED", "ISCSI_ERR_XMIT_FAILED"}) {
    if (run.r.err.find(name) != std::string::npos) seen = name;
  }
  expect_named_violation(run, seen);
}

// A target that stops answering: the run ends at -t, waits kDrainTimeout for the commands in
// flight, then says how many it gave up on, closes without a Logout and exits 1: no hang.
TEST_F(PerfAgainstScripted, ASilentTargetLeavesCommandsUnfinishedAndTheRunSaysHowMany) {
  const auto run = perf_against(target_, Misbehave::silent);
  ASSERT_FALSE(run.r.timed_out) << run.r.err;
  EXPECT_EQ(run.r.exit_code, 1) << run.r.out << run.r.err;
  const std::string verdict = last_line(run.r.err);
  EXPECT_THAT(verdict, ::testing::MatchesRegex("lab-iscsi-perf: run NOT clean: [1-4] commands? "
                                                "unfinished 5 s after the end.*"))
      << run.r.err;
  // -t 2, then at most kDrainTimeout (5 s), plus start-up and slack on a loaded machine.
  EXPECT_GE(run.seconds, 6.5);
  EXPECT_LE(run.seconds, 20.0);
  EXPECT_EQ(target_.logouts(), 0);
}

// Commands that fail with a CHECK CONDITION: each one printed with its time and sense; with -n
// the run goes on, and the exit status is still 1.
TEST_F(PerfAgainstScripted, FailedCommandsArePrintedAndCountedEvenWithIgnoreErrors) {
  target_.set_responder([](const std::array<std::uint8_t, 16>& cdb)
                             -> std::optional<ScriptedTarget::Reply> {
    if (cdb[0] != 0x88) return std::nullopt;  // READ(16) only
    ScriptedTarget::Reply r;
    r.status = 0x02;
    r.sense = scsi::build_fixed_sense(scsi::SenseKey::medium_error, 0x11, 0x00);
    return r;
  });
  const auto run = perf_against(target_, Misbehave::none, {"-n"});
  EXPECT_EQ(run.r.exit_code, 1) << run.r.out << run.r.err;
  EXPECT_THAT(run.r.err, ::testing::ContainsRegex(
                             R"(\[ +[0-9]+\.[0-9]{3} s\] Read16 failed with SCSI status 0x02 )"
                             R"(\(MEDIUM ERROR)"))
      << run.r.err;
  EXPECT_THAT(last_line(run.r.err),
              ::testing::MatchesRegex("lab-iscsi-perf: run NOT clean: [0-9]+ commands failed"))
      << run.r.err;
  EXPECT_THAT(run.r.out, HasSubstr("finished."));
}

TEST(PerfVerdict, NamesEveryProblemAndNothingForACleanRun) {
  RunProblems p;
  EXPECT_EQ(verdict_line(p), "");
  p.failed = 3;
  p.unfinished = 1;
  p.drain_s = 5;
  p.conn_errors = 2;
  p.first_conn_error = "ISCSI_ERR_BAD_ITT";
  p.recoveries = 2;
  p.not_logged_in = {"127.0.0.1:3260 was FAILED"};
  EXPECT_EQ(verdict_line(p),
            "lab-iscsi-perf: run NOT clean: 3 commands failed; 1 command unfinished 5 s after the "
            "end; 2 connection errors (first ISCSI_ERR_BAD_ITT); 2 session recoveries; session "
            "127.0.0.1:3260 was FAILED at the end");
  RunProblems aborted;
  aborted.aborted = true;
  EXPECT_EQ(verdict_line(aborted), "lab-iscsi-perf: run NOT clean: aborted before its end");
}

TEST(PerfVerdict, EventLineHasTheTimeTheSourceTheTypeAndTheDetail) {
  EXPECT_EQ(event_line(3.2144, "127.0.0.1:3260", "conn_error", "detected conn error (1011) x"),
            "[   3.214 s] 127.0.0.1:3260: conn_error: detected conn error (1011) x");
  EXPECT_EQ(event_line(0, "multipath", "path_failed", ""), "[   0.000 s] multipath: path_failed");
}

}  // namespace
}  // namespace iscsi::cli
