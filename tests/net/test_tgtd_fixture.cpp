// Self-tests of the tgtd fixture (tests/support/tgtd_fixture.hpp) against a peer that is not our
// initiator: libiscsi's command-line tools (Debian libiscsi-bin). They prove that the target the
// net tests log in to is really there, with the LUNs, sizes, CHAP and keys the fixture promises,
// and that teardown leaves no process, socket or file behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/spawn_daemon.hpp"
#include "support/tgtd_fixture.hpp"

namespace iscsi::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The one way the fixtures start a daemon: its own process group, stdin from /dev/null, both
// output streams appended to the log, and a failed exec seen as status 127.
TEST(SpawnDaemon, OwnGroupNullStdinOutputInTheLog) {
  const auto log = std::filesystem::temp_directory_path() / ("spawn-daemon-" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(log);
  const pid_t pid = spawn_daemon({"/bin/sh", "-c", "echo out; echo err >&2; read x && echo got:$x || echo eof"}, log);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(::getpgid(pid), pid);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "out\nerr\neof\n");
  const pid_t missing = spawn_daemon({"/nonexistent/daemon"}, log);
  ASSERT_GT(missing, 0);
  ASSERT_EQ(::waitpid(missing, &status, 0), missing);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 127);
  std::filesystem::remove(log);
}

constexpr const char* kIscsiLs = "/usr/bin/iscsi-ls";
constexpr const char* kReadCapacity16 = "/usr/bin/iscsi-readcapacity16";

void require_libiscsi_tools() {
  for (const char* tool : {kIscsiLs, kReadCapacity16}) {
    ASSERT_EQ(::access(tool, X_OK), 0) << tool << " missing: apt-get install libiscsi-bin";
  }
}

// CHAP secrets go to libiscsi through its environment variables, never on a command line or in
// test output.
std::vector<std::string> chap_env(const std::optional<ChapCredentials>& initiator,
                                  const std::optional<ChapCredentials>& target = std::nullopt) {
  std::vector<std::string> env;
  if (initiator) {
    env.push_back("LIBISCSI_CHAP_USERNAME=" + initiator->user);
    env.push_back("LIBISCSI_CHAP_PASSWORD=" + initiator->secret);
  }
  if (target) {
    env.push_back("LIBISCSI_CHAP_TARGET_USERNAME=" + target->user);
    env.push_back("LIBISCSI_CHAP_TARGET_PASSWORD=" + target->secret);
  }
  return env;
}

ProcessResult iscsi_ls(const TgtdTarget& t, const std::vector<std::string>& env = {}) {
  return run_process({kIscsiLs, "-s", "iscsi://" + t.portal()}, env);
}

ProcessResult read_capacity(const TgtdTarget& t, int lun, std::size_t target = 0,
                            const std::vector<std::string>& env = {}) {
  return run_process(
      {kReadCapacity16, "iscsi://" + t.portal() + "/" + t.iqn(target) + "/" + std::to_string(lun)},
      env);
}

std::string total_size_line(std::uint64_t bytes) {
  return "Total size:" + std::to_string(bytes);
}

class TgtdFixtureTest : public TgtdFixture {
 protected:
  void SetUp() override {
    require_libiscsi_tools();
    if (HasFatalFailure()) return;
    TgtdFixture::SetUp();
  }
};

TEST_F(TgtdFixtureTest, SendTargetsListsTheTargetAndBothLuns) {
  const auto r = iscsi_ls(tgtd());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Target:" + tgtd().iqn() + " Portal:" + tgtd().portal() + ",1"));
  EXPECT_THAT(r.out, HasSubstr("Lun:1    Type:DIRECT_ACCESS"));
  EXPECT_THAT(r.out, HasSubstr("Lun:2    Type:DIRECT_ACCESS"));
}

TEST_F(TgtdFixtureTest, AccessorsDescribeTheTarget) {
  EXPECT_EQ(tgtd().host(), "127.0.0.1");
  EXPECT_NE(tgtd().port(), 0);
  EXPECT_EQ(tgtd().portal(), "127.0.0.1:" + std::to_string(tgtd().port()));
  EXPECT_THAT(tgtd().iqn(), HasSubstr("iqn.2026-11.org.example:tgt-" + std::to_string(::getpid())));
  EXPECT_EQ(tgtd().luns(), (std::vector<int>{TgtdTarget::kNullLun, TgtdTarget::kFileLun}));
  EXPECT_EQ(tgtd().file_lun_bytes(), 64ull << 20);
  EXPECT_TRUE(std::filesystem::exists(tgtd().log_path()));
  EXPECT_EQ(std::filesystem::file_size(tgtd().backing_file()), 64ull << 20);
  EXPECT_FALSE(tgtd().chap().has_value());
}

TEST_F(TgtdFixtureTest, FileLunHasTheBackingFileSize) {
  const auto r = read_capacity(tgtd(), TgtdTarget::kFileLun);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(total_size_line(64ull << 20)));
  EXPECT_THAT(r.out, HasSubstr("LOGICAL BLOCK LENGTH IN BYTES:512"));
}

TEST_F(TgtdFixtureTest, NullLunReportsOneTebibyte) {
  const auto r = read_capacity(tgtd(), TgtdTarget::kNullLun);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(total_size_line(1ull << 40)));
}

TEST_F(TgtdFixtureTest, ShowListsTheTarget) {
  EXPECT_THAT(tgtd().show(), HasSubstr("Target 1: " + tgtd().iqn()));
}

// A parameter matrix must be able to change every key the fixture documents, and the target must
// still serve logins afterwards.
TEST_F(TgtdFixtureTest, EveryDocumentedParameterCanBeSet) {
  const std::vector<std::pair<std::string, std::string>> values = {
      {"MaxRecvDataSegmentLength", "4096"}, {"MaxBurstLength", "65536"},
      {"FirstBurstLength", "16384"},        {"ImmediateData", "No"},
      {"InitialR2T", "Yes"},                {"HeaderDigest", "CRC32C"},
      {"DataDigest", "CRC32C"},             {"MaxOutstandingR2T", "4"},
      {"MaxXmitDataSegmentLength", "16384"}, {"DataPDUInOrder", "Yes"},
      {"DataSequenceInOrder", "Yes"},       {"ErrorRecoveryLevel", "0"},
      {"DefaultTime2Wait", "3"},            {"DefaultTime2Retain", "30"},
      {"MaxConnections", "1"},              {"IFMarker", "No"},
      {"OFMarker", "No"},                   {"MaxQueueCmd", "64"},
      {"nop_interval", "0"},                {"nop_count", "0"},
  };
  ASSERT_EQ(values.size(), kTgtdParameters.size());
  for (const auto& [name, value] : values) {
    EXPECT_NO_THROW(tgtd().set_param(name, value)) << name;
  }
  const std::string shown = tgtd().tgtadm({"--mode", "target", "--op", "show", "--tid", "1"});
  EXPECT_THAT(shown, HasSubstr("MaxRecvDataSegmentLength=4096"));
  EXPECT_THAT(shown, HasSubstr("HeaderDigest=CRC32C"));
  EXPECT_THAT(shown, HasSubstr("ImmediateData=No"));
  const auto r = read_capacity(tgtd(), TgtdTarget::kFileLun);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(TgtdFixtureTest, UnknownParameterOrBadValueIsAnError) {
  EXPECT_THROW(tgtd().set_param("NoSuchKey", "1"), TgtdError);
  EXPECT_THROW(tgtd().set_param("MaxRecvDataSegmentLength", "100"), TgtdError);
  EXPECT_THROW(tgtd().set_param("HeaderDigest", "MD5"), TgtdError);
}

class TgtdSmallLunTest : public TgtdFixtureTest {
 protected:
  TgtdOptions options() const override {
    TgtdOptions o;
    o.targets[0].null_lun = false;
    o.targets[0].file_lun_bytes = 8ull << 20;
    o.targets[0].params = {{"MaxRecvDataSegmentLength", "8192"}, {"InitialR2T", "Yes"}};
    return o;
  }
};

TEST_F(TgtdSmallLunTest, OptionsChooseLunsSizeAndParameters) {
  EXPECT_EQ(tgtd().luns(), std::vector<int>{TgtdTarget::kFileLun});
  const auto ls = iscsi_ls(tgtd());
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_THAT(ls.out, Not(HasSubstr("Lun:1 ")));
  const auto r = read_capacity(tgtd(), TgtdTarget::kFileLun);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(total_size_line(8ull << 20)));
  EXPECT_THAT(tgtd().tgtadm({"--mode", "target", "--op", "show", "--tid", "1"}),
              HasSubstr("MaxRecvDataSegmentLength=8192"));
}

class TgtdTwoTargetsTest : public TgtdFixtureTest {
 protected:
  TgtdOptions options() const override {
    TgtdOptions o;
    TgtdTargetSpec second;
    second.iqn = "iqn.2026-11.org.example:second-" + std::to_string(::getpid());
    second.file_lun_bytes = 1ull << 20;
    o.targets.push_back(second);
    return o;
  }
};

TEST_F(TgtdTwoTargetsTest, BothTargetsAreDiscoveredAndServeLuns) {
  ASSERT_EQ(tgtd().target_count(), 2u);
  EXPECT_EQ(tgtd().tid(1), 2);
  const auto ls = iscsi_ls(tgtd());
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_THAT(ls.out, HasSubstr("Target:" + tgtd().iqn(0)));
  EXPECT_THAT(ls.out, HasSubstr("Target:" + tgtd().iqn(1)));
  const auto r = read_capacity(tgtd(), TgtdTarget::kFileLun, 1);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(total_size_line(1ull << 20)));
}

class TgtdChapTest : public TgtdFixtureTest {
 protected:
  TgtdOptions options() const override {
    TgtdOptions o;
    o.targets[0].chap = ChapCredentials{"alice", "alice-secret-1"};
    return o;
  }
};

TEST_F(TgtdChapTest, RightCredentialsLogIn) {
  const auto r = iscsi_ls(tgtd(), chap_env(tgtd().chap()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Lun:2"));
}

TEST_F(TgtdChapTest, WrongSecretIsRejected) {
  const auto r = iscsi_ls(tgtd(), chap_env(ChapCredentials{"alice", "wrong-secret-1"}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.out + r.err, HasSubstr("Authentication failure"));
}

TEST_F(TgtdChapTest, NoCredentialsAreRejected) {
  const auto r = read_capacity(tgtd(), TgtdTarget::kFileLun);
  EXPECT_NE(r.exit_code, 0);
}

class TgtdMutualChapTest : public TgtdFixtureTest {
 protected:
  TgtdOptions options() const override {
    TgtdOptions o;
    o.targets[0].chap = ChapCredentials{"alice", "alice-secret-1"};
    o.targets[0].mutual_chap = ChapCredentials{"target-bob", "bob-secret-12"};
    return o;
  }
};

// Mutual CHAP is checked on a normal session: tgt does not answer the initiator's challenge in a
// discovery session.
TEST_F(TgtdMutualChapTest, TargetProvesItsIdentity) {
  const auto r = read_capacity(tgtd(), TgtdTarget::kFileLun, 0,
                               chap_env(tgtd().chap(), tgtd().mutual_chap()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(total_size_line(64ull << 20)));
}

TEST_F(TgtdMutualChapTest, InitiatorRejectsATargetWithAnotherSecret) {
  const auto r = read_capacity(tgtd(), TgtdTarget::kFileLun, 0,
                               chap_env(tgtd().chap(), ChapCredentials{"target-bob", "not-bobs-1234"}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.out + r.err, HasSubstr("Invalid CHAP_R"));
}

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

TEST(TgtdTarget, TwoInstancesGetDifferentPortsAndBothServe) {
  require_libiscsi_tools();
  TgtdTarget a;
  TgtdTarget b;
  EXPECT_NE(a.port(), b.port());
  EXPECT_NE(a.control_port(), b.control_port());
  EXPECT_NE(a.iqn(), b.iqn());
  EXPECT_NE(a.dir(), b.dir());
  for (const TgtdTarget* t : {&a, &b}) {
    const auto r = iscsi_ls(*t);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("Target:" + t->iqn()));
  }
}

TEST(TgtdTarget, TeardownLeavesNoProcessSocketOrFile) {
  pid_t pid = -1;
  std::filesystem::path dir;
  std::filesystem::path socket;
  std::uint16_t control = 0;
  {
    TgtdTarget t;
    pid = t.pid();
    dir = t.dir();
    control = t.control_port();
    socket = "/var/run/tgtd/socket." + std::to_string(control);
    ASSERT_TRUE(process_alive(pid));
    ASSERT_TRUE(std::filesystem::exists(socket));
  }
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_FALSE(std::filesystem::exists(socket));
  EXPECT_FALSE(std::filesystem::exists(socket.string() + ".lock"));
  const auto pgrep = run_process({"/usr/bin/pgrep", "-f", "tgtd -f -C " + std::to_string(control)});
  EXPECT_EQ(pgrep.exit_code, 1) << "tgtd still running: " << pgrep.out;
}

TEST(TgtdTarget, ConfigurationErrorThrowsWithLogAndCleansUp) {
  TgtdOptions o;
  o.targets[0].params = {{"NoSuchKey", "1"}};
  std::string message;
  try {
    TgtdTarget t(o);
    FAIL() << "constructor should have thrown";
  } catch (const TgtdError& e) {
    message = e.what();
  }
  EXPECT_THAT(message, HasSubstr("NoSuchKey"));
  EXPECT_THAT(message, HasSubstr("invalid request"));
  EXPECT_THAT(message, HasSubstr("tgtd.log"));
  // The temp dir is kept for the log; this test removes it itself.
  const auto start = message.find("--- tail of ");
  ASSERT_NE(start, std::string::npos);
  const auto path_begin = start + std::string("--- tail of ").size();
  const std::filesystem::path log = message.substr(path_begin, message.find(' ', path_begin) - path_begin);
  EXPECT_TRUE(std::filesystem::exists(log));
  std::filesystem::remove_all(log.parent_path());
}

TEST(TgtdTarget, IsAvailableHere) {
  // CI runs the net tests as root with tgt installed; anything else should say why.
  const auto reason = TgtdTarget::unavailable_reason();
  EXPECT_FALSE(reason.has_value()) << *reason;
}

// Not an assertion: records what every net test pays for its target.
TEST(TgtdTarget, StartConfigureTeardownCost) {
  using Clock = std::chrono::steady_clock;
  constexpr int kRounds = 5;
  std::chrono::microseconds up{0};
  std::chrono::microseconds down{0};
  for (int i = 0; i < kRounds; ++i) {
    const auto t0 = Clock::now();
    auto t = std::make_unique<TgtdTarget>();
    const auto t1 = Clock::now();
    t.reset();
    const auto t2 = Clock::now();
    up += std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0);
    down += std::chrono::duration_cast<std::chrono::microseconds>(t2 - t1);
  }
  const auto up_ms = static_cast<double>(up.count()) / 1000.0 / kRounds;
  const auto down_ms = static_cast<double>(down.count()) / 1000.0 / kRounds;
  RecordProperty("start_configure_ms", std::to_string(up_ms));
  RecordProperty("teardown_ms", std::to_string(down_ms));
  std::cout << "tgtd start+configure " << up_ms << " ms, teardown " << down_ms
            << " ms (mean of " << kRounds << ")\n";
}

}  // namespace
}  // namespace iscsi::test
