// Test helper: runs a real iSCSI target (Debian's user-space tgtd, package `tgt`) on loopback for
// the initiator's network tests, configured through tgtadm, and tears it down completely.
//
//   iscsi::test::TgtdTarget tgt;                      // one target, LUN 1 null, LUN 2 64 MiB file
//   connect_to(tgt.host(), tgt.port()); login(tgt.iqn()); read(TgtdTarget::kFileLun, ...);
//
//   class MyNetTest : public iscsi::test::TgtdFixture {
//     iscsi::test::TgtdOptions options() const override {
//       auto o = TgtdFixture::options(); o.targets[0].chap = {{"alice", "secret-1234"}}; return o;
//     }
//   };
//   TEST_F(MyNetTest, LogsIn) { ... tgtd().portal() ... }
//
// Every instance has its own tgtd process (own iSCSI port and control port, both picked free on
// 127.0.0.1), its own temp dir (tgtd.log + backing files) and its own process group. The
// destructor deletes the targets, sends SIGTERM then SIGKILL to the group and removes the temp
// dir; the dir (with tgtd.log) is kept only when the current gtest test has failed, and its path
// is printed. tgtd also gets PR_SET_PDEATHSIG=SIGKILL, so it dies with the thread that created the
// TgtdTarget even if the test binary crashes: create it on the test's own thread (gtest's main
// thread), not on a short-lived worker thread.
//
// Needs root and /usr/sbin/tgtd + /usr/sbin/tgtadm; otherwise the constructor throws TgtdError
// with a message saying what is missing (`apt-get install tgt`). Start+configure takes ~15-30 ms
// and teardown ~25 ms (TgtdTarget.StartConfigureTeardownCost in tests/net/test_tgtd_fixture.cpp).
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace iscsi::test {

// Thrown by TgtdTarget for everything that stops the target from coming up (missing package, not
// root, tgtd exited, tgtadm rejected a command); what() includes the tail of tgtd.log.
class TgtdError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// CHAP user name and secret exactly as the test gave them to tgtadm. tgt wants secrets of 12-16
// characters for interop with other initiators, but accepts others.
struct ChapCredentials {
  std::string user;
  std::string secret;
};

// One iSCSI target on the tgtd instance.
struct TgtdTargetSpec {
  // Empty: generated as iqn.2026-11.org.example:tgt-<pid>-<n> (unique per process).
  std::string iqn;
  // LUN 1: null backing store (reads return zeros, writes are discarded; no data kept).
  bool null_lun = true;
  // LUN 2: a sparse temp file of this size; 0 = no LUN 2.
  std::uint64_t file_lun_bytes = 64ull << 20;
  // Initiator ACL: "ALL", an initiator address ("127.0.0.1") or an initiator IQN.
  std::string acl = "ALL";
  // One-way CHAP: the target authenticates the initiator with these.
  std::optional<ChapCredentials> chap;
  // Mutual CHAP: the initiator authenticates the target with these (tgtadm --outgoing).
  std::optional<ChapCredentials> mutual_chap;
  // iSCSI session keys set with `tgtadm --mode target --op update --name K --value V` before any
  // login, e.g. {"MaxRecvDataSegmentLength", "8192"}. See kTgtdParameters for what tgt honours.
  std::vector<std::pair<std::string, std::string>> params;
};

struct TgtdOptions {
  std::vector<TgtdTargetSpec> targets{TgtdTargetSpec{}};  // tid = index + 1
  // Bound on waiting for tgtd to accept connections on its iSCSI port.
  std::chrono::milliseconds start_timeout{10'000};
  // Keep the temp dir (tgtd.log) even when the test passed.
  bool keep_dir = false;
  // tgtd -d <level> (0 = off); debug output goes to tgtd.log.
  int debug_level = 0;
};

// Result of run_process: exit code (-1 when killed by a signal or the timeout), stdout, stderr.
struct ProcessResult {
  int exit_code = -1;
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with argv, the current environment plus `extra_env` ("NAME=value"; use it
// for secrets, e.g. LIBISCSI_CHAP_PASSWORD, so they stay off command lines), and collects its
// output; kills it after `timeout`. Throws TgtdError only if it cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds{30});

// The keys tgt 1.0.85 accepts through `--op update`: the RFC 7143 operational keys (all of them
// reach the login negotiation) plus tgt's own MaxQueueCmd, nop_interval, nop_count. Details and
// how tgt combines each with the initiator's offer: tgtd_fixture.cpp.
extern const std::vector<std::string> kTgtdParameters;

class TgtdTarget {
 public:
  static constexpr int kNullLun = 1;
  static constexpr int kFileLun = 2;

  // Starts and configures tgtd; throws TgtdError on any failure (and cleans up what it started).
  explicit TgtdTarget(TgtdOptions options = {});
  ~TgtdTarget();
  TgtdTarget(const TgtdTarget&) = delete;
  TgtdTarget& operator=(const TgtdTarget&) = delete;
  TgtdTarget(TgtdTarget&&) = delete;
  TgtdTarget& operator=(TgtdTarget&&) = delete;

  // Returns why a TgtdTarget cannot run here (not root, tgt not installed), or nullopt.
  static std::optional<std::string> unavailable_reason();

  const std::string& host() const { return host_; }  // "127.0.0.1"
  std::uint16_t port() const { return port_; }
  std::string portal() const;  // "127.0.0.1:<port>"
  std::uint16_t control_port() const { return control_port_; }
  pid_t pid() const { return pid_; }

  std::size_t target_count() const { return options_.targets.size(); }
  const std::string& iqn(std::size_t target = 0) const;
  int tid(std::size_t target = 0) const;
  const TgtdTargetSpec& spec(std::size_t target = 0) const;
  std::vector<int> luns(std::size_t target = 0) const;  // {1, 2}, {1} or {2}
  std::uint64_t file_lun_bytes(std::size_t target = 0) const;
  std::filesystem::path backing_file(std::size_t target = 0) const;  // LUN 2's file
  const std::optional<ChapCredentials>& chap(std::size_t target = 0) const;
  const std::optional<ChapCredentials>& mutual_chap(std::size_t target = 0) const;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path log_path() const { return dir_ / "tgtd.log"; }
  std::string log_tail(std::size_t lines = 40) const;

  // Changes an iSCSI key of a target (applies to logins after this call). Throws TgtdError.
  void set_param(const std::string& name, const std::string& value, std::size_t target = 0);
  // Runs `tgtadm -C <control_port> --lld iscsi <args...>`; returns its stdout, throws TgtdError
  // (with stderr) when it exits non-zero. For what the helpers above do not cover.
  std::string tgtadm(const std::vector<std::string>& args);
  // `tgtadm --mode target --op show` (targets, LUNs, ACLs, accounts, connected sessions).
  std::string show();
  // Adds a second (third, ...) portal on a free loopback port (`tgtadm --mode portal --op new`):
  // every target is reachable through it, as through the first, so sessions over two portals
  // reach the same LUs (multipath tests). Returns "127.0.0.1:<port>" once tgtd listens there.
  std::string add_portal();
  // Removes a portal added by add_portal(): new connections to it are refused; sessions already
  // connected through it stay.
  void remove_portal(const std::string& portal);

  // Keep the temp dir at teardown (called automatically when the gtest test has failed).
  void keep_dir() { keep_dir_ = true; }

 private:
  void start();
  void configure();
  void teardown() noexcept;
  void teardown_process_only() noexcept;

  TgtdOptions options_;
  std::vector<std::string> iqns_;
  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 0;
  std::uint16_t control_port_ = 0;
  pid_t pid_ = -1;
  std::filesystem::path dir_;
  bool keep_dir_ = false;
};

// gtest fixture owning one TgtdTarget per test. Override options() to change the setup. A test
// fails (not skips) with the reason when tgtd cannot run: CI runs as root with tgt installed.
class TgtdFixture : public ::testing::Test {
 protected:
  virtual TgtdOptions options() const { return {}; }
  void SetUp() override;
  void TearDown() override;
  TgtdTarget& tgtd() { return *tgtd_; }

  std::unique_ptr<TgtdTarget> tgtd_;
};

}  // namespace iscsi::test
