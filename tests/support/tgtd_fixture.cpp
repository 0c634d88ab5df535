// Runs Debian's tgtd on loopback for the network tests: picks ports, spawns tgtd in its own
// process group, waits until it listens, configures it with tgtadm and tears everything down.
//
// Facts about tgt 1.0.85 this relies on (checked by hand and by tests/net/test_tgtd_fixture.cpp):
// - `-C N` (0..32767) is not a TCP port: it names the unix control socket /var/run/tgtd/socket.N (and a lock
//   file socket.N.lock, which tgtd leaves behind; we remove both). /var/run/tgtd is root's, so
//   tgtd needs root.
// - If the portal port is taken, tgtd logs the bind error and keeps running without a listener, so
//   "it listens" is checked by finding the LISTEN socket in /proc/net/tcp and its inode among
//   tgtd's own fds, never by connecting (which could reach someone else's listener).
// - SIGTERM does not stop tgtd while it runs (it catches it); `tgtadm --mode system --op delete`
//   after deleting the targets makes it exit, ~100 ms later. Teardown deletes the targets, then
//   sends SIGTERM and (20 ms later) SIGKILL to the process group.
// - A null LUN (--bstype null) reports 2^40 bytes (512-byte blocks); there is no size option.
// - CHAP accounts are global to the tgtd instance and then bound to targets. Mutual CHAP works on
//   normal sessions; tgt does not answer the initiator's challenge in a SendTargets discovery
//   session (libiscsi: "did not return CHAP_N during SECNEG").
#include "support/tgtd_fixture.hpp"

#include "support/spawn_daemon.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace iscsi::test {

// Accepted by `tgtadm --mode target --op update` in tgt 1.0.85 (others give "invalid request";
// so do out-of-range values such as MaxRecvDataSegmentLength=100). A raw login against tgtd
// showed the RFC 7143 keys negotiated with the configured value as tgt's offer: HeaderDigest and
// DataDigest (tgt's value is its only choice, so "CRC32C" forces digests), MaxBurstLength,
// FirstBurstLength, MaxOutstandingR2T, MaxConnections, DefaultTime2Retain and ErrorRecoveryLevel
// (min), DefaultTime2Wait (max), ImmediateData (and), InitialR2T, DataPDUInOrder and
// DataSequenceInOrder (or), and MaxRecvDataSegmentLength declared as set. ErrorRecoveryLevel=1
// or 2 is negotiated although tgt implements only level 0 recovery. MaxXmitDataSegmentLength caps
// what tgt sends; MaxQueueCmd, nop_interval and nop_count are tgt's own (queue depth, NOP-In
// pings) and never reach the wire as keys.
const std::vector<std::string> kTgtdParameters = {
    "MaxRecvDataSegmentLength", "MaxBurstLength",    "FirstBurstLength",
    "ImmediateData",            "InitialR2T",        "HeaderDigest",
    "DataDigest",               "MaxOutstandingR2T", "MaxXmitDataSegmentLength",
    "DataPDUInOrder",           "DataSequenceInOrder", "ErrorRecoveryLevel",
    "DefaultTime2Wait",         "DefaultTime2Retain", "MaxConnections",
    "IFMarker",                 "OFMarker",          "MaxQueueCmd",
    "nop_interval",             "nop_count",
};

namespace {

constexpr const char* kTgtd = "/usr/sbin/tgtd";
constexpr const char* kTgtadm = "/usr/sbin/tgtadm";
constexpr const char* kControlDir = "/var/run/tgtd";
constexpr unsigned kControlMin = 20000;  // tgtd -C accepts 0..32767; others use small numbers
constexpr unsigned kControlSpan = 32767 - kControlMin + 1;

std::atomic<unsigned> g_instance_counter{0};

std::string errno_text(int err) { return std::string(std::strerror(err)); }

// Asks the kernel for a free loopback TCP port. Another process may take it before tgtd binds it;
// the caller detects that and retries.
std::uint16_t pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw TgtdError("socket(): " + errno_text(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw TgtdError("binding a loopback port: " + errno_text(err));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::filesystem::path control_socket(std::uint16_t control_port) {
  return std::filesystem::path(kControlDir) / ("socket." + std::to_string(control_port));
}

// The inode of the socket listening on 127.0.0.1:port (or 0.0.0.0:port), from /proc/net/tcp; 0
// when nothing listens there.
unsigned long listening_inode(std::uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  char want_lo[32];
  char want_any[32];
  std::snprintf(want_lo, sizeof want_lo, "0100007F:%04X", static_cast<unsigned>(port));
  std::snprintf(want_any, sizeof want_any, "00000000:%04X", static_cast<unsigned>(port));
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retr, uid, timeout;
    unsigned long inode = 0;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
    if (state == "0A" && (local == want_lo || local == want_any)) return inode;
  }
  return 0;
}

bool process_owns_socket(pid_t pid, unsigned long inode) {
  const std::string want = "socket:[" + std::to_string(inode) + "]";
  std::error_code ec;
  const std::filesystem::path fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : std::filesystem::directory_iterator(fd_dir, ec)) {
    std::error_code link_ec;
    const auto target = std::filesystem::read_symlink(entry.path(), link_ec);
    if (!link_ec && target.string() == want) return true;
  }
  return false;
}

// Waits up to `timeout` for `pid` (our child) to exit; true if it did (and was reaped).
bool wait_exit(pid_t pid, std::chrono::milliseconds timeout, int* status = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      if (status != nullptr) *status = st;
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
}

std::vector<char*> c_argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  out.reserve(args.size() + 1);
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

// Secrets never go into error messages: the value after --password is masked.
std::string printable(const std::vector<std::string>& argv) {
  std::string out;
  bool mask = false;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += mask ? std::string("***") : a;
    mask = (a == "--password" || a == "-w");
  }
  return out;
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env,
                          std::chrono::milliseconds timeout) {
  if (argv.empty()) throw TgtdError("run_process: empty argv");
  std::vector<std::string> args = argv;
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  for (const auto& kv : extra_env) {
    const auto name = kv.substr(0, kv.find('=') + 1);
    std::erase_if(env, [&](const std::string& s) { return s.rfind(name, 0) == 0; });
    env.push_back(kv);
  }
  auto cargv = c_argv(args);
  auto cenv = c_argv(env);

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw TgtdError("pipe2: " + errno_text(errno));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw TgtdError("pipe2: " + errno_text(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    throw TgtdError("fork: " + errno_text(err));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ProcessResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true;
  bool err_open = true;
  while (out_open || err_open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out_open ? out_pipe[0] : -1, POLLIN, 0},
                     {err_open ? err_pipe[0] : -1, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[4096];
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      std::string& into = (i == 0) ? result.out : result.err;
      if (got > 0) {
        into.append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        (i == 0 ? out_open : err_open) = false;
      }
    }
  }
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = (!result.timed_out && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  return result;
}

std::optional<std::string> TgtdTarget::unavailable_reason() {
  for (const char* tool : {kTgtd, kTgtadm}) {
    if (::access(tool, X_OK) != 0) {
      return std::string(tool) + " not found: install the tgt package (apt-get install tgt)";
    }
  }
  if (::geteuid() != 0) {
    return std::string("tgtd needs root (its control socket lives in ") + kControlDir +
           "); run the network tests as root";
  }
  return std::nullopt;
}

TgtdTarget::TgtdTarget(TgtdOptions options) : options_(std::move(options)) {
  if (auto reason = unavailable_reason()) throw TgtdError(*reason);
  if (options_.targets.empty()) throw TgtdError("TgtdOptions.targets is empty");
  for (const auto& spec : options_.targets) {
    if (!spec.iqn.empty()) {
      iqns_.push_back(spec.iqn);
    } else {
      iqns_.push_back("iqn.2026-11.org.example:tgt-" + std::to_string(::getpid()) + "-" +
                      std::to_string(g_instance_counter.fetch_add(1)));
    }
  }
  std::string templ = (std::filesystem::temp_directory_path() / "tgtd-fixture-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw TgtdError("mkdtemp: " + errno_text(errno));
  dir_ = templ;
  try {
    start();
    configure();
  } catch (const TgtdError& e) {
    keep_dir_ = true;
    const std::string tail = log_tail();
    teardown();
    throw TgtdError(std::string(e.what()) + "\n--- tail of " + log_path().string() + " ---\n" +
                    tail);
  }
}

TgtdTarget::~TgtdTarget() {
  if (::testing::Test::HasFailure()) keep_dir_ = true;
  teardown();
}

void TgtdTarget::start() {
  constexpr int kAttempts = 5;
  std::string last_problem;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    port_ = pick_free_port();
    // tgtd takes -C values up to 32767 only; derive one from a kernel-chosen port so parallel
    // test binaries rarely pick the same. A clash makes tgtd fail its lock and we retry.
    do {
      control_port_ = static_cast<std::uint16_t>(kControlMin + pick_free_port() % kControlSpan);
    } while (std::filesystem::exists(control_socket(control_port_)));

    std::vector<std::string> args = {kTgtd, "-f", "-C", std::to_string(control_port_), "--iscsi",
                                     "portal=" + portal()};
    if (options_.debug_level > 0) {
      args.insert(args.begin() + 1, {"-d", std::to_string(options_.debug_level)});
    }
    const std::string log = log_path().string();
    {
      std::ofstream(log, std::ios::app) << "=== fixture: " << printable(args) << "\n";
    }
    const pid_t pid = spawn_daemon(args, log);
    if (pid < 0) throw TgtdError("fork: " + errno_text(errno));
    pid_ = pid;

    const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
    for (;;) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        last_problem = "tgtd exited during start-up (status " + std::to_string(status) + ")";
        break;
      }
      const unsigned long inode = listening_inode(port_);
      if (inode != 0) {
        if (process_owns_socket(pid_, inode)) {
          if (std::filesystem::exists(control_socket(control_port_))) return;
        } else {
          last_problem = "port " + std::to_string(port_) + " was taken by another process";
          break;
        }
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        teardown_process_only();
        throw TgtdError("tgtd did not listen on " + portal() + " within " +
                        std::to_string(options_.start_timeout.count()) + " ms");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
    }
    teardown_process_only();  // retry with other ports
  }
  throw TgtdError("could not start tgtd after " + std::to_string(kAttempts) +
                  " attempts; last problem: " + last_problem);
}

void TgtdTarget::configure() {
  std::set<std::string> accounts;
  auto ensure_account = [&](const ChapCredentials& c) {
    if (accounts.insert(c.user).second) {
      tgtadm({"--mode", "account", "--op", "new", "--user", c.user, "--password", c.secret});
    }
  };
  for (std::size_t i = 0; i < options_.targets.size(); ++i) {
    const auto& spec = options_.targets[i];
    const std::string t = std::to_string(tid(i));
    tgtadm({"--mode", "target", "--op", "new", "--tid", t, "--targetname", iqns_[i]});
    if (spec.null_lun) {
      tgtadm({"--mode", "logicalunit", "--op", "new", "--tid", t, "--lun",
              std::to_string(kNullLun), "--bstype", "null", "--backing-store", "/dev/null"});
    }
    if (spec.file_lun_bytes > 0) {
      const auto file = backing_file(i);
      const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0) throw TgtdError("creating " + file.string() + ": " + errno_text(errno));
      const int rc = ::ftruncate(fd, static_cast<off_t>(spec.file_lun_bytes));
      const int err = errno;
      ::close(fd);
      if (rc != 0) throw TgtdError("ftruncate " + file.string() + ": " + errno_text(err));
      tgtadm({"--mode", "logicalunit", "--op", "new", "--tid", t, "--lun",
              std::to_string(kFileLun), "--backing-store", file.string()});
    }
    // An IQN/EUI/NAA names an initiator; anything else ("ALL", an address) is an address ACL.
    const bool by_name = spec.acl.rfind("iqn.", 0) == 0 || spec.acl.rfind("eui.", 0) == 0 ||
                         spec.acl.rfind("naa.", 0) == 0;
    tgtadm({"--mode", "target", "--op", "bind", "--tid", t,
            by_name ? "--initiator-name" : "--initiator-address", spec.acl});
    if (spec.chap) {
      ensure_account(*spec.chap);
      tgtadm({"--mode", "account", "--op", "bind", "--tid", t, "--user", spec.chap->user});
    }
    if (spec.mutual_chap) {
      ensure_account(*spec.mutual_chap);
      tgtadm({"--mode", "account", "--op", "bind", "--tid", t, "--user", spec.mutual_chap->user,
              "--outgoing"});
    }
    for (const auto& [name, value] : spec.params) set_param(name, value, i);
  }
}

void TgtdTarget::teardown_process_only() noexcept {
  if (pid_ > 0) {
    ::kill(-pid_, SIGTERM);
    // tgtd catches SIGTERM and does not exit while it runs, hence the short grace.
    if (!wait_exit(pid_, std::chrono::milliseconds{20})) {
      ::kill(-pid_, SIGKILL);
      wait_exit(pid_, std::chrono::seconds{10});
    }
    pid_ = -1;
  }
  if (control_port_ != 0) {
    std::error_code ec;
    const auto sock = control_socket(control_port_);
    std::filesystem::remove(sock, ec);
    std::filesystem::remove(sock.string() + ".lock", ec);
  }
}

void TgtdTarget::teardown() noexcept {
  if (pid_ > 0) {
    // Drop the targets first: sessions end with a clean close and the backing files are closed.
    // Then signals: `tgtadm --mode system --op delete` would also stop tgtd, but it takes ~100 ms
    // to exit that way, and this runs in every net test.
    for (std::size_t i = 0; i < options_.targets.size(); ++i) {
      try {
        run_process({kTgtadm, "-C", std::to_string(control_port_), "--lld", "iscsi", "--mode",
                     "target", "--op", "delete", "--force", "--tid", std::to_string(tid(i))},
                    {}, std::chrono::seconds{5});
      } catch (const std::exception&) {
        break;  // the signals below still stop tgtd
      }
    }
  }
  teardown_process_only();
  if (dir_.empty()) return;
  std::error_code ec;
  if (keep_dir_ || options_.keep_dir) {
    for (std::size_t i = 0; i < options_.targets.size(); ++i) {
      std::filesystem::remove(backing_file(i), ec);
    }
    std::cerr << "tgtd fixture: kept " << dir_.string() << " (tgtd.log)\n";
  } else {
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string TgtdTarget::portal() const { return host_ + ":" + std::to_string(port_); }

const std::string& TgtdTarget::iqn(std::size_t target) const { return iqns_.at(target); }
int TgtdTarget::tid(std::size_t target) const {
  if (target >= options_.targets.size()) throw std::out_of_range("TgtdTarget: no such target");
  return static_cast<int>(target) + 1;
}
const TgtdTargetSpec& TgtdTarget::spec(std::size_t target) const {
  return options_.targets.at(target);
}
std::vector<int> TgtdTarget::luns(std::size_t target) const {
  std::vector<int> out;
  if (spec(target).null_lun) out.push_back(kNullLun);
  if (spec(target).file_lun_bytes > 0) out.push_back(kFileLun);
  return out;
}
std::uint64_t TgtdTarget::file_lun_bytes(std::size_t target) const {
  return spec(target).file_lun_bytes;
}
std::filesystem::path TgtdTarget::backing_file(std::size_t target) const {
  return dir_ / ("lun2-tid" + std::to_string(tid(target)) + ".img");
}
const std::optional<ChapCredentials>& TgtdTarget::chap(std::size_t target) const {
  return spec(target).chap;
}
const std::optional<ChapCredentials>& TgtdTarget::mutual_chap(std::size_t target) const {
  return spec(target).mutual_chap;
}

std::string TgtdTarget::log_tail(std::size_t lines) const {
  std::ifstream in(log_path());
  std::vector<std::string> all;
  std::string line;
  while (std::getline(in, line)) all.push_back(line);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += all[i];
    out += '\n';
  }
  return out;
}

void TgtdTarget::set_param(const std::string& name, const std::string& value,
                           std::size_t target) {
  tgtadm({"--mode", "target", "--op", "update", "--tid", std::to_string(tid(target)), "--name",
          name, "--value", value});
}

std::string TgtdTarget::tgtadm(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kTgtadm, "-C", std::to_string(control_port_), "--lld", "iscsi"};
  argv.insert(argv.end(), args.begin(), args.end());
  const ProcessResult r = run_process(argv, {}, std::chrono::seconds{10});
  if (r.exit_code != 0) {
    throw TgtdError(printable(argv) + " failed (" +
                    (r.timed_out ? std::string("timed out") : "exit " + std::to_string(r.exit_code)) +
                    "): " + r.err + r.out);
  }
  return r.out;
}

std::string TgtdTarget::show() { return tgtadm({"--mode", "target", "--op", "show"}); }

std::string TgtdTarget::add_portal() {
  constexpr int kAttempts = 5;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const std::uint16_t port = pick_free_port();
    const std::string portal = host_ + ":" + std::to_string(port);
    try {
      tgtadm({"--mode", "portal", "--op", "new", "--param", "portal=" + portal});
    } catch (const TgtdError&) {
      continue;  // taken meanwhile: another port
    }
    const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const unsigned long inode = listening_inode(port);
      if (inode != 0 && process_owns_socket(pid_, inode)) return portal;
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
    }
    throw TgtdError("tgtd did not listen on the added portal " + portal);
  }
  throw TgtdError("could not add a portal after " + std::to_string(kAttempts) + " attempts");
}

void TgtdTarget::remove_portal(const std::string& portal) {
  tgtadm({"--mode", "portal", "--op", "delete", "--param", "portal=" + portal});
}

void TgtdFixture::SetUp() {
  if (auto reason = TgtdTarget::unavailable_reason()) GTEST_FAIL() << *reason;
  try {
    tgtd_ = std::make_unique<TgtdTarget>(options());
  } catch (const TgtdError& e) {
    GTEST_FAIL() << "tgtd fixture: " << e.what();
  }
}

void TgtdFixture::TearDown() {
  if (tgtd_ && HasFailure()) tgtd_->keep_dir();
  tgtd_.reset();
}

}  // namespace iscsi::test
