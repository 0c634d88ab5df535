// lab-iscsid and lab-iscsiadm as a user runs them: the daemon detaches once its socket answers,
// owns the sessions, logs them out and removes its socket and pid file on SIGTERM; other users
// cannot drive it; concurrent lab-iscsiadm runs keep every record; automatic nodes and
// use_discoveryd records act at start and on each poll; a target name that cannot be a record
// is refused in words.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "adm/adm_test_helpers.hpp"
#include "support/tgtd_fixture.hpp"

namespace iscsi::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path binary(const char* name) {
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "initiator" / "cli" / name;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

template <class F>
bool eventually(F f, std::chrono::milliseconds bound) {
  const auto end = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return f();
}

class AdmBinaries : public TgtdFixture {
 protected:
  void SetUp() override {
    TgtdFixture::SetUp();
    root_ = make_temp_root("iscsi-lab-admbin");
    ASSERT_FALSE(root_.empty());
  }
  void TearDown() override {
    stop_daemon();
    fs::remove_all(root_);
    TgtdFixture::TearDown();
  }

  ProcessResult adm(std::vector<std::string> args) {
    args.insert(args.begin(), binary("lab-iscsiadm").string());
    args.push_back("--root=" + root_.string());
    auto r = run_process(args, {}, 60s);
    r.out = without_port(r.out, tgtd().port());
    return r;
  }
  ProcessResult start_daemon() {
    auto r = run_process({binary("lab-iscsid").string(), "--root=" + root_.string()}, {}, 60s);
    if (r.exit_code == 0) pid_ = read_pid();
    return r;
  }
  pid_t read_pid() {
    std::ifstream in(root_ / "lab-iscsid.pid");
    pid_t p = -1;
    in >> p;
    return p;
  }
  void stop_daemon() {
    if (pid_ > 0 && alive(pid_)) {
      ::kill(pid_, SIGTERM);
      (void)eventually([&] { return !alive(pid_); }, 30s);
    }
    pid_ = -1;
  }
  bool target_has_connection() { return tgtd().show().find("Connection:") != std::string::npos; }

  fs::path root_;
  pid_t pid_ = -1;
};

TEST_F(AdmBinaries, DaemonOwnsTheSessionAndOnSigtermLogsOutAndRemovesSocketAndPidFile) {
  auto d = start_daemon();
  ASSERT_EQ(d.exit_code, 0) << d.err;
  ASSERT_GT(pid_, 0);
  struct stat st {};
  ASSERT_EQ(::stat((root_ / "lab-iscsid.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  ASSERT_EQ(adm({"-m", "discovery", "-t", "st", "-p", tgtd().portal()}).exit_code, 0);
  auto l = adm({"-m", "node", "-l"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_EQ(adm({"-m", "session"}).out, "tcp [1] 127.0.0.1:PORT,1 " + tgtd().iqn() + "\n");
  EXPECT_TRUE(target_has_connection()) << tgtd().show();

  ASSERT_EQ(::kill(pid_, SIGTERM), 0);
  ASSERT_TRUE(eventually([&] { return !alive(pid_); }, 30s)) << "lab-iscsid did not exit on SIGTERM";
  EXPECT_FALSE(fs::exists(root_ / "lab-iscsid.sock"));
  EXPECT_FALSE(fs::exists(root_ / "lab-iscsid.pid"));
  EXPECT_TRUE(eventually([&] { return !target_has_connection(); }, 10s)) << tgtd().show();
  std::ifstream log(root_ / "lab-iscsid.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("signal 15: logging out 1 session(s)"), std::string::npos) << text;
  EXPECT_NE(text.find("session 1: logged out"), std::string::npos) << text;
  auto after = adm({"-m", "session"});
  EXPECT_EQ(after.exit_code, 20) << after.err;  // could not connect to lab-iscsid
}

TEST_F(AdmBinaries, ASecondDaemonOnTheSameRootIsRefused) {
  ASSERT_EQ(start_daemon().exit_code, 0);
  auto second = run_process({binary("lab-iscsid").string(), "--root=" + root_.string(), "-n"}, {}, 30s);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("another lab-iscsid is listening on"), std::string::npos) << second.err;
  EXPECT_TRUE(alive(pid_));
}

TEST_F(AdmBinaries, OtherUsersCannotDriveTheDaemon) {
  ASSERT_EQ(start_daemon().exit_code, 0);
  // A copy nobody can execute wherever the build tree is (a CI clone may sit under a 0700 home).
  const fs::path bin_dir = make_temp_root("iscsi-lab-admbin-exe");
  ASSERT_FALSE(bin_dir.empty());
  ::chmod(bin_dir.c_str(), 0755);
  fs::copy_file(binary("lab-iscsiadm"), bin_dir / "lab-iscsiadm");
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { fs::remove_all(dir); }
  } cleanup{bin_dir};
  const std::vector<std::string> as_nobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                              "--clear-groups", (bin_dir / "lab-iscsiadm").string(),
                                              "-m", "session", "--root=" + root_.string()};
  // The 0700 root and the 0600 socket keep them out ...
  auto r = run_process(as_nobody, {}, 30s);
  EXPECT_EQ(r.exit_code, 20) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
  // ... and if someone opens them up, the daemon's own check (SO_PEERCRED) still does.
  ::chmod(root_.c_str(), 0755);
  ::chmod((root_ / "lab-iscsid.sock").c_str(), 0666);
  auto peer = run_process(as_nobody, {}, 30s);
  EXPECT_EQ(peer.exit_code, 13) << peer.err;  // daemon access denied
  EXPECT_NE(peer.err.find("daemon access denied (pid "), std::string::npos) << peer.err;
  EXPECT_NE(peer.err.find(" uid 65534)"), std::string::npos) << peer.err;
}

TEST_F(AdmBinaries, ConcurrentRunsKeepEveryRecord) {
  std::vector<std::thread> threads;
  std::vector<int> codes(12, -1);
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&, i] {
      if (i < 8) {
        codes[i] = adm({"-m", "node", "-o", "new", "-T", "iqn.2026-12.org.example:c" + std::to_string(i),
                        "-p", "127.0.0.1:3260"})
                       .exit_code;
      } else {
        codes[i] = adm({"-m", "discovery", "-t", "st", "-p", tgtd().portal()}).exit_code;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 12; ++i) EXPECT_EQ(codes[i], 0) << "run " << i;
  auto list = adm({"-m", "node"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (int i = 0; i < 8; ++i) {
    EXPECT_NE(list.out.find("127.0.0.1:3260,-1 iqn.2026-12.org.example:c" + std::to_string(i) + "\n"),
              std::string::npos)
        << list.out;
  }
  EXPECT_NE(list.out.find("127.0.0.1:PORT,1 " + tgtd().iqn() + "\n"), std::string::npos) << list.out;
  // Every record reads back whole.
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(adm({"-m", "node", "-T", "iqn.2026-12.org.example:c" + std::to_string(i)}).exit_code, 0);
  }
}

TEST_F(AdmBinaries, AtStartAutomaticNodesLogInAndUseDiscoverydPollsForNewTargets) {
  ASSERT_EQ(adm({"-m", "discoverydb", "-t", "st", "-p", tgtd().portal(), "-o", "new"}).exit_code, 0);
  for (auto [k, v] : {std::pair{"discovery.sendtargets.use_discoveryd", "Yes"},
                      std::pair{"discovery.sendtargets.discoveryd_poll_inval", "1"}}) {
    auto u = adm({"-m", "discoverydb", "-t", "st", "-p", tgtd().portal(), "-o", "update", "-n", k, "-v", v});
    ASSERT_EQ(u.exit_code, 0) << u.err;
  }
  ASSERT_EQ(adm({"-m", "discoverydb", "-t", "st", "-p", tgtd().portal(), "--discover"}).exit_code, 0);
  ASSERT_EQ(adm({"-m", "node", "-o", "update", "-n", "node.startup", "-v", "automatic"}).exit_code, 0);
  ASSERT_EQ(start_daemon().exit_code, 0);
  EXPECT_EQ(adm({"-m", "session"}).out, "tcp [1] 127.0.0.1:PORT,1 " + tgtd().iqn() + "\n");
  // A target added on the portal becomes a node record on a later poll (1 s interval).
  const std::string added = tgtd().iqn() + "-added";
  tgtd().tgtadm({"--op", "new", "--mode", "target", "--tid", "9", "-T", added});
  tgtd().tgtadm({"--op", "bind", "--mode", "target", "--tid", "9", "-I", "ALL"});
  EXPECT_TRUE(eventually([&] { return adm({"-m", "node"}).out.find(added) != std::string::npos; }, 15s))
      << adm({"-m", "node"}).out;
}

TEST_F(AdmBinaries, ATargetNameThatIsNotAnIscsiNameIsRefusedInWordsAndWritesNothing) {
  // tgt accepts ".." as a target name and reports it in SendTargets.
  tgtd().tgtadm({"--op", "new", "--mode", "target", "--tid", "7", "-T", ".."});
  tgtd().tgtadm({"--op", "bind", "--mode", "target", "--tid", "7", "-I", "ALL"});
  auto d = adm({"-m", "discovery", "-t", "st", "-p", tgtd().portal()});
  EXPECT_NE(d.exit_code, 0);
  EXPECT_NE(d.err.find("TargetName is not a valid iSCSI name"), std::string::npos) << d.err;
  EXPECT_FALSE(fs::exists(root_ / "nodes")) << "a node record was written";
  EXPECT_FALSE(fs::exists(root_.parent_path() / "nodes"));
}

}  // namespace
}  // namespace iscsi::test
