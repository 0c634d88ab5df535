// lab-iscsid: owns the sessions (one net::Initiator, one io_context) and answers lab-iscsiadm on
// a unix socket. open-iscsi iscsid's options; paths default under the record database's root, so
// a host's own /etc/iscsi is never read or written unless a path says so.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cli/cli_error.hpp"
#include "cli/control_socket.hpp"
#include "cli/iscsid_server.hpp"
#include "cli/option_scan.hpp"

namespace fs = std::filesystem;
using namespace iscsi::cli;

namespace {

enum class Opt : int { config, initiatorname, foreground, debug, pid, no_pid, help, version, root, socket };
constexpr int id(Opt o) { return static_cast<int>(o); }
constexpr OptionSpec kOpts[] = {
    {'c', "config", true, id(Opt::config)},
    {'i', "initiatorname", true, id(Opt::initiatorname)},
    {'f', "foreground", false, id(Opt::foreground)},
    {'d', "debug", true, id(Opt::debug)},
    {'p', "pid", true, id(Opt::pid)},
    {'n', "no-pid-file", false, id(Opt::no_pid)},
    {'h', "help", false, id(Opt::help)},
    {'v', "version", false, id(Opt::version)},
    {0, "root", true, id(Opt::root)},
    {0, "socket", true, id(Opt::socket)},
};

struct Options {
  std::string config, initiatorname, pid, root, socket;
  bool foreground = false, no_pid = false, help = false, version = false;
  int debug = 0;
};

constexpr const char* kUsage =
    "Usage: lab-iscsid [OPTION]\n"
    "  -c, --config=[path]         iscsid.conf to use (default <root>/iscsid.conf)\n"
    "  -i, --initiatorname=[path]  initiatorname file (default <root>/initiatorname.iscsi)\n"
    "  -f, --foreground            run in the foreground, log on stderr\n"
    "  -d, --debug debuglevel      print debugging information (0-8)\n"
    "  -p, --pid=pidfile           pid file (default <root>/lab-iscsid.pid)\n"
    "  -n, --no-pid-file           do not write a pid file\n"
    "  -h, --help                  display this help and exit\n"
    "  -v, --version               display version and exit\n"
    "      --root=DIR              record database (default /var/lib/iscsi-lab or $ISCSILAB_ROOT)\n"
    "      --socket=PATH           control socket (default <root>/lab-iscsid.sock)\n"
    "Without -f it detaches once the socket is listening and logs to <root>/lab-iscsid.log.\n"
    "SIGTERM or SIGINT: every session is logged out, the socket and pid file are removed.\n";

Options parse(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  Options o;
  scan_options(
      args, kOpts,
      [&](const OptionSpec& s, std::string_view v) {
        switch (static_cast<Opt>(s.id)) {
          case Opt::config: o.config = v; break;
          case Opt::initiatorname: o.initiatorname = v; break;
          case Opt::foreground: o.foreground = true; break;
          case Opt::debug: o.debug = static_cast<int>(option_number(s, v, 0, 8, "a debug level")); break;
          case Opt::pid: o.pid = v; break;
          case Opt::no_pid: o.no_pid = true; break;
          case Opt::help: o.help = true; break;
          case Opt::version: o.version = true; break;
          case Opt::root: o.root = v; break;
          case Opt::socket: o.socket = v; break;
        }
      },
      [](std::string_view a) { throw UsageError("unexpected argument '" + std::string(a) + "'"); });
  if (o.root.empty()) {
    const char* env = std::getenv("ISCSILAB_ROOT");
    o.root = env != nullptr && *env != '\0' ? env : "/var/lib/iscsi-lab";
  }
  if (o.config.empty()) o.config = o.root + "/iscsid.conf";
  if (o.initiatorname.empty()) o.initiatorname = o.root + "/initiatorname.iscsi";
  if (o.pid.empty()) o.pid = o.root + "/lab-iscsid.pid";
  if (o.socket.empty()) o.socket = o.root + "/lab-iscsid.sock";
  return o;
}

std::string stamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// The daemon's log: stderr in the foreground, a file otherwise; lines come from the engine's
// thread too, hence the lock.
class Log {
 public:
  explicit Log(std::ostream& out) : out_(out) {}
  void line(std::string_view text) {
    std::lock_guard lock(mu_);
    out_ << stamp() << " lab-iscsid: " << text << '\n' << std::flush;
  }

 private:
  std::mutex mu_;
  std::ostream& out_;
};

int run(const Options& o, int ready_fd) {
  std::error_code ec;
  // A root we create is 0700. One that exists keeps its mode (--root /tmp must not close /tmp);
  // the socket is 0600 and every caller's uid is checked either way.
  if (fs::create_directories(o.root, ec)) ::chmod(o.root.c_str(), 0700);
  std::unique_ptr<std::ofstream> file;
  std::ostream* out = &std::cerr;
  if (!o.foreground) {
    file = std::make_unique<std::ofstream>(o.root + "/lab-iscsid.log", std::ios::app);
    out = file.get();
  }
  Log log(*out);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);  // before the engine's thread exists: it inherits it
  ::signal(SIGPIPE, SIG_IGN);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);

  int listen_fd = -1;
  try {
    listen_fd = listen_control_socket(o.socket);
  } catch (const std::exception& e) {
    log.line(std::string("cannot start: ") + e.what());
    std::cerr << "lab-iscsid: " << e.what() << '\n';
    return 1;
  }
  if (!o.no_pid) {
    std::ofstream pid(o.pid, std::ios::trunc);
    pid << ::getpid() << '\n';
  }
  IscsidConfig cfg;
  cfg.root = o.root;
  cfg.conf = o.config;
  cfg.initiatorname_file = o.initiatorname;
  cfg.log = [&log](std::string_view l) { log.line(l); };
  int status = 0;
  {
    IscsidServer server(std::move(cfg));
    log.line("listening on " + o.socket + " (records in " + o.root + ")");
    if (ready_fd >= 0) {  // the parent returns now: the socket answers
      (void)::write(ready_fd, "1", 1);
      ::close(ready_fd);
      // Detached from here: let go of the caller's stderr (a pipe would never see its end).
      if (const int devnull = ::open("/dev/null", O_WRONLY); devnull >= 0) {
        ::dup2(devnull, STDERR_FILENO);
        ::close(devnull);
      }
    }
    server.start_automatic();
    bool stop = false;
    while (!stop) {
      const auto wait = server.poll_discovery(std::chrono::steady_clock::now());
      pollfd fds[2] = {{listen_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
      const int r = ::poll(fds, 2, static_cast<int>(wait.count()));
      if (r < 0 && errno != EINTR) {
        log.line(std::string("poll: ") + std::strerror(errno));
        status = 1;
        break;
      }
      if (r > 0 && (fds[1].revents & POLLIN) != 0) {
        signalfd_siginfo si{};
        (void)::read(sfd, &si, sizeof si);
        log.line("signal " + std::to_string(si.ssi_signo) + ": logging out " +
                 std::to_string(server.session_count()) + " session(s)");
        stop = true;
        continue;
      }
      if (r > 0 && (fds[0].revents & POLLIN) != 0) {
        const int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        std::string who;
        if (!peer_allowed(c, who)) {
          log.line("refused a request from " + who + ": not our user or root");
          ControlMessage no;
          no.add("status", std::to_string(static_cast<int>(AdmStatus::access)));
          no.add("err", "lab-iscsiadm: daemon access denied (" + who + ")\n");
          (void)write_control_frame(c, no);
          ::close(c);
          continue;
        }
        std::string error;
        auto request = read_control_frame(c, std::chrono::seconds(5), error);
        if (!request) {
          log.line("bad request from " + who + ": " + error);
          ControlMessage bad;
          bad.add("status", std::to_string(static_cast<int>(AdmStatus::invalid_request)));
          bad.add("err", "lab-iscsiadm: lab-iscsid could not read the request: " + error + "\n");
          (void)write_control_frame(c, bad);
          ::close(c);
          continue;
        }
        if (o.debug > 0) log.line("request from " + who + ": op=" + request->get_or("op", "?"));
        (void)write_control_frame(c, server.handle(*request));
        ::close(c);
        server.run_pending();  // -W logins: the caller has its answer already
      }
    }
    server.logout_all();
  }
  ::close(listen_fd);
  ::unlink(o.socket.c_str());
  if (!o.no_pid) ::unlink(o.pid.c_str());
  log.line("stopped");
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "lab-iscsid: " << e.what() << "\n" << kUsage;
    return 7;  // invalid parameter, as lab-iscsiadm
  }
  if (o.help) {
    std::cout << kUsage;
    return 0;
  }
  if (o.version) {
    std::cout << "lab-iscsid version 2.1.8 (iscsi-lab)\n";
    return 0;
  }
  if (o.foreground) return run(o, -1);
  // Detach, but return only once the child listens (or failed), so a script can go on with
  // lab-iscsiadm at once.
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    std::perror("lab-iscsid: pipe");
    return 1;
  }
  const pid_t child = ::fork();
  if (child < 0) {
    std::perror("lab-iscsid: fork");
    return 1;
  }
  if (child > 0) {
    ::close(ready[1]);
    char c = 0;
    const ssize_t n = ::read(ready[0], &c, 1);
    return n == 1 ? 0 : 1;  // the child wrote why on stderr
  }
  ::close(ready[0]);
  ::setsid();
  const int devnull = ::open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(devnull, STDOUT_FILENO);
    ::close(devnull);
  }
  // stderr stays until the socket listens, so a failure to start is printed by the child.
  return run(o, ready[1]);
}
