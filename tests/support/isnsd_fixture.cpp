// Runs open-isns's isnsd on loopback for the iSNS client's tests. See isnsd_fixture.hpp.
//
// Facts about isnsd 0.101 (Debian 12) this relies on, checked by hand:
// - `-f` keeps it in the foreground; `-c FILE` replaces /etc/isns/isnsd.conf entirely.
// - BindAddress = 127.0.0.1:PORT is where it listens; the control socket and the PID file go where
//   ControlSocket and PIDFile say, so instances do not share /var/run files.
// - `Security = 0` is written out although 0.101 also starts without it (no DSA keys needed);
//   SLPRegister = 0 keeps it off SLP; ESIRetries = 0 turns ESI off, so registered portals are
//   not probed (they need not exist).
// - DefaultDiscoveryDomain = 1: nodes in no discovery domain see each other; without it a
//   query from an unregistered initiator answers status 0 with no target (checked by hand).
// - A registration without Registration Period gets 3600 s.
// - SIGTERM ends it.
#include "support/isnsd_fixture.hpp"

#include "support/spawn_daemon.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace iscsi::test {
namespace {

std::string errno_text(int err) { return std::string(std::strerror(err)); }

std::uint16_t pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw IsnsdError("socket(): " + errno_text(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw IsnsdError("binding a loopback port: " + errno_text(err));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// True when `pid` owns the socket listening on 127.0.0.1:port (from /proc), so we never take
// someone else's listener for ours.
bool listens(pid_t pid, std::uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);
  char want[32];
  std::snprintf(want, sizeof want, "0100007F:%04X", static_cast<unsigned>(port));
  unsigned long inode = 0;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string slot, local, remote, state, queues, timer, retr, uid, timeout;
    unsigned long ino = 0;
    f >> slot >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> ino;
    if (state == "0A" && local == want) inode = ino;
  }
  if (inode == 0) return false;
  const std::string socket_link = "socket:[" + std::to_string(inode) + "]";
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code lec;
    if (std::filesystem::read_symlink(e.path(), lec).string() == socket_link) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> Isnsd::unavailable_reason() {
  if (::access(kIsnsd, X_OK) != 0) {
    return std::string(kIsnsd) + " missing (apt-get install open-isns-server)";
  }
  return std::nullopt;
}

Isnsd::Isnsd(std::chrono::milliseconds start_timeout) {
  if (auto why = unavailable_reason()) throw IsnsdError(*why);
  std::string templ = (std::filesystem::temp_directory_path() / "isnsd-fixture-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw IsnsdError("mkdtemp: " + errno_text(errno));
  dir_ = templ;
  std::filesystem::create_directory(dir_ / "db");
  std::string problem;
  for (int attempt = 0; attempt < 5 && pid_ < 0; ++attempt) {
    port_ = pick_free_port();
    {
      std::ofstream conf(dir_ / "isnsd.conf");
      conf << "BindAddress = " << host_ << ":" << port_ << "\n"
           << "SourceName = isns.server.test\n"
           << "Database = " << (dir_ / "db").string() << "\n"
           << "PIDFile = " << (dir_ / "isnsd.pid").string() << "\n"
           << "ControlSocket = " << (dir_ / "control").string() << "\n"
           << "Security = 0\nSLPRegister = 0\nESIRetries = 0\nDefaultDiscoveryDomain = 1\n";
    }
    const std::string conf = (dir_ / "isnsd.conf").string();
    const std::string log = log_path().string();
    std::vector<std::string> args = {kIsnsd, "-f", "-c", conf, "-d", "all"};
    const pid_t pid = spawn_daemon(args, log);
    if (pid < 0) throw IsnsdError("fork: " + errno_text(errno));
    const auto deadline = std::chrono::steady_clock::now() + start_timeout;
    for (;;) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        problem = "isnsd exited during start-up (status " + std::to_string(status) + ")";
        break;
      }
      if (listens(pid, port_)) {
        pid_ = pid;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::killpg(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        problem = "isnsd did not listen on " + host_ + ":" + std::to_string(port_) + " in time";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
  }
  if (pid_ < 0) {
    keep_dir_ = true;
    const std::string tail = log_tail();
    teardown();
    throw IsnsdError(problem + "\n--- tail of " + log_path().string() + " ---\n" + tail);
  }
}

Isnsd::~Isnsd() {
  if (::testing::Test::HasFailure()) keep_dir_ = true;
  teardown();
}

void Isnsd::teardown() noexcept {
  if (pid_ > 0) {
    ::killpg(pid_, SIGTERM);
    bool gone = false;
    for (int i = 0; i < 200 && !gone; ++i) {
      gone = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    if (!gone) {
      ::killpg(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }
  if (dir_.empty()) return;
  if (keep_dir_) {
    std::cerr << "isnsd fixture: kept " << dir_.string() << "\n";
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string Isnsd::log_tail(std::size_t lines) const {
  std::ifstream in(log_path());
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) out += l + "\n";
  return out;
}

ProcessResult Isnsd::isnsadm(const std::vector<std::string>& args, const std::string& source_name) {
  const auto conf = dir_ / "isnsadm.conf";
  {
    std::ofstream out(conf);
    out << "ServerAddress = " << host_ << ":" << port_ << "\nSourceName = " << source_name
        << "\nSecurity = 0\n";
  }
  std::vector<std::string> argv = {kIsnsadm, "-c", conf.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, {}, std::chrono::seconds{15});
}

}  // namespace iscsi::test
