// lab-iscsi-perf: libiscsi iscsi-perf's measurement (same options, URL and output) run through
// our initiator (net::Initiator / net::Session), so one script can time either tool. Several
// URLs (the paths of one LU) run over a multipath device (mpath::Device), so one run shows what
// a second path adds.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "cli/cli_error.hpp"
#include "cli/iscsi_url.hpp"
#include "cli/perf_loop.hpp"
#include "cli/perf_options.hpp"
#include "cli/perf_sessions.hpp"
#include "cli/perf_watch.hpp"
#include "mpath/device.hpp"
#include "mpath/settings.hpp"
#include "net/initiator.hpp"
#include "proto/session/session_state.hpp"

namespace {

using namespace iscsi;

// Exit codes as iscsi-perf: 1 usage or a run that was not clean (failed or unfinished commands,
// connection errors, session recovery: the verdict line says which), 10 setup (URL, login,
// READ CAPACITY).
constexpr int kExitUsage = 1;
constexpr int kExitIo = 1;
constexpr int kExitSetup = 10;

std::atomic<int> g_interrupts{0};

// The process's peak resident set (VmHWM in /proc/self/status), in KiB; 0 if unreadable.
unsigned long long peak_rss_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  unsigned long long kib = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "VmHWM: %llu kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

// User plus system time of the whole process so far.
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
  };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

extern "C" void on_signal(int) { g_interrupts.fetch_add(1); }

void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// libiscsi reads the CHAP credentials from the environment too; the URL wins.
void credentials_from_env(cli::IscsiUrl& url) {
  if (url.user.empty()) {
    if (const char* u = std::getenv("LIBISCSI_CHAP_USERNAME")) url.user = u;
  }
  if (!url.user.empty() && url.password.empty()) {
    if (const char* p = std::getenv("LIBISCSI_CHAP_PASSWORD"))
      url.password = auth::Secret(std::string_view(p));
  }
  if (url.target_user.empty()) {
    if (const char* u = std::getenv("LIBISCSI_CHAP_TARGET_USERNAME")) url.target_user = u;
  }
  if (!url.target_user.empty() && url.target_password.empty()) {
    if (const char* p = std::getenv("LIBISCSI_CHAP_TARGET_PASSWORD")) {
      url.target_password = auth::Secret(std::string_view(p));
    }
  }
}

net::SessionOptions session_options(const cli::PerfOptions& o, const cli::IscsiUrl& url) {
  net::SessionOptions s;
  s.initiator_name = o.initiator_name;
  // iscsi-perf offers "None,CRC32C" (ISCSI_HEADER_DIGEST_NONE_CRC32C): same here.
  s.iscsi.header_digest = url.header_digest.empty() ? "None,CRC32C" : url.header_digest;
  s.initial_login_retry_max = 0;  // fail at once, as iscsi-perf does
  // The host queue must not be what limits -m.
  s.cmds_max = std::max<unsigned>(s.cmds_max, o.max_in_flight);
  s.queue_depth = std::max<unsigned>(s.queue_depth, o.max_in_flight);
  if (o.max_reconnects == 0) {
    s.replacement_timeout = net::Seconds{0};  // no relogin: the first error fails the I/O
  } else if (o.max_reconnects > 0) {
    s.reopen_max = static_cast<unsigned>(o.max_reconnects);
  }
  if (!url.user.empty()) {
    s.auth.authmethod = net::AuthMethodSetting::chap;
    s.auth.username = url.user;
    s.auth.password = url.password.clone();
    s.auth.username_in = url.target_user;
    s.auth.password_in = url.target_password.clone();
  }
  return s;
}

int run(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  cli::PerfOptions o;
  try {
    o = cli::parse_perf_options(args);
  } catch (const cli::UsageError& e) {
    std::fprintf(stderr, "lab-iscsi-perf: %s\n\n%s", e.what(), cli::perf_usage().c_str());
    return kExitUsage;
  }
  if (o.help) {
    std::fputs(cli::perf_usage().c_str(), stdout);
    return 0;
  }
  std::printf("lab-iscsi-perf (iscsi-lab) - iscsi-perf compatible output\n\n");
  std::vector<cli::IscsiUrl> urls;
  for (const auto& text : o.urls) {
    try {
      urls.push_back(cli::parse_iscsi_url(text));
    } catch (const cli::UsageError& e) {
      std::fprintf(stderr, "Failed to parse URL: %s\n", e.what());
      return kExitSetup;
    }
    credentials_from_env(urls.back());
  }
  const cli::IscsiUrl& url = urls.front();
  // Several URLs without --sessions: the paths of one LU, over a multipath device.
  const bool multipath = o.sessions == 0 && urls.size() > 1;
  // multipath.conf's settings, multibus with round-robin 0 unless -M says.
  mpath::Settings mp;
  if (multipath) {
    std::map<std::string, std::string> conf = {{"path_grouping_policy", "multibus"},
                                               {"path_selector", "round-robin 0"}};
    for (const auto& [k, v] : o.mpath) conf[k] = v;
    try {
      mp = mpath::parse_settings(conf);
    } catch (const mpath::SettingsError& e) {
      std::fprintf(stderr, "lab-iscsi-perf: -M: %s\n", e.what());
      return kExitUsage;
    }
  } else if (!o.mpath.empty()) {
    std::fprintf(stderr, "lab-iscsi-perf: -M needs several URLs (the paths of one LU)\n");
    return kExitUsage;
  }

  net::Initiator initiator;
  std::vector<std::shared_ptr<net::Session>> sessions;
  std::vector<std::size_t> url_of;  // per session: index into urls
  if (o.sessions != 0) {
    const std::size_t total = std::size_t{o.sessions} * urls.size();
    if (total > 65535) {
      std::fprintf(stderr, "lab-iscsi-perf: --sessions %u x %zu URLs is more than 65535 sessions\n",
                   o.sessions, urls.size());
      return kExitUsage;
    }
    if (const auto why = cli::raise_fd_limit(total); !why.empty()) {
      std::fprintf(stderr, "lab-iscsi-perf: %s\n", why.c_str());
      return kExitSetup;
    }
    auto many = cli::login_sessions(initiator, urls, o.sessions, o.login_concurrency,
                                    [&o](const cli::IscsiUrl& u) { return session_options(o, u); });
    sessions = std::move(many.sessions);
    url_of = std::move(many.url_of);
    if (!many.failures.empty()) {
      for (const auto& f : many.failures) std::fprintf(stderr, "Login Failed: %s\n", f.c_str());
      std::fprintf(stderr, "Login Failed for %zu of %zu sessions (%zu logged in, %zu not tried)\n",
                   many.failures.size(), total, sessions.size(), many.not_started);
      for (auto& s : sessions) {
        try {
          s->logout();
        } catch (const std::exception&) {
          // The run is already a failure; the Session's destructor closes the connection.
        }
      }
      return kExitSetup;
    }
    for (const auto& u : urls) {
      std::printf("connected to %s (%u sessions)\n", u.redacted().c_str(), o.sessions);
    }
    std::printf("logged in %zu sessions in %.3f s (%.0f logins/s, at most %u at once)\n", total,
                many.seconds, static_cast<double>(total) / std::max(many.seconds, 1e-9),
                o.login_concurrency);
  } else {
    for (std::size_t i = 0; i < urls.size(); ++i) {
      const auto& u = urls[i];
      auto opts = session_options(o, u);
      // What multipathd does for iSCSI paths: fast_io_fail_tmo becomes replacement_timeout.
      if (multipath) {
        if (auto tmo = mpath::fast_io_fail_tmo(mp)) opts.replacement_timeout = net::Seconds{*tmo};
      }
      try {
        sessions.push_back(initiator.login(u.target, net::Portal{u.host, u.port}, opts));
        url_of.push_back(i);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "Login Failed. %s\n", e.what());
        return kExitSetup;
      }
      std::printf("connected to %s\n", u.redacted().c_str());
    }
  }
  std::shared_ptr<net::Session> session = sessions.front();
  std::shared_ptr<mpath::Device> device;
  net::Capacity cap;
  std::size_t asking = 0;  // the session READ CAPACITY is asked on, for the message
  try {
    // READ CAPACITY on every session also consumes each new I_T nexus's power-on UNIT
    // ATTENTION. With --sessions the LUs may differ: the run walks the smallest.
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      asking = i;
      const auto c = sessions[i]->read_capacity(urls[url_of[i]].lun);
      if (i != 0 && c.block_length != cap.block_length) {
        std::fprintf(stderr, "%s has %u-byte blocks, %s %u-byte ones\n",
                     urls[url_of[i]].redacted().c_str(), c.block_length,
                     urls[url_of[0]].redacted().c_str(), cap.block_length);
        return kExitSetup;
      }
      if (i == 0 || c.blocks < cap.blocks) cap = c;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "failed to send readcapacity command: %s\n", e.what());
    if (o.sessions != 0) {
      std::fprintf(stderr, "(on %s, ISID %s)\n", urls[url_of[asking]].redacted().c_str(),
                   pdu::to_string(sessions[asking]->isid()).c_str());
    }
    return kExitSetup;
  }
  if (multipath) {
    std::vector<mpath::PathSpec> paths;
    for (std::size_t i = 0; i < sessions.size(); ++i) paths.push_back({sessions[i], urls[i].lun});
    try {
      device = mpath::Device::create(std::move(paths), mp);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "multipath: %s\n", e.what());
      return kExitSetup;
    }
    cap = device->capacity();
    const auto d = device->device_status();
    std::printf("multipath %s over %zu paths (%s, %s)\n", d.wwid.c_str(), sessions.size(),
                d.grouping_policy.c_str(), d.selector.c_str());
  }
  if (cap.blocks == 0 || cap.block_length == 0) {
    std::fprintf(stderr, "the LUN reports no capacity\n");
    return kExitSetup;
  }
  std::printf("capacity is %llu blocks or %llu byte (%llu MB)\n",
              static_cast<unsigned long long>(cap.blocks),
              static_cast<unsigned long long>(cap.bytes()),
              static_cast<unsigned long long>(cap.bytes() >> 20));
  std::printf("performing %s %s with %u parallel requests\n", o.random ? "RANDOM" : "SEQUENTIAL",
              o.write ? "WRITE" : "READ", o.max_in_flight);
  if (o.random_blocks) {
    std::printf("RANDOM transfer size of 1 - %u blocks (%u - %llu byte)\n", o.blocks_per_io,
                cap.block_length,
                static_cast<unsigned long long>(o.blocks_per_io) * cap.block_length);
  } else {
    std::printf("FIXED transfer size of %u blocks (%llu byte)\n", o.blocks_per_io,
                static_cast<unsigned long long>(o.blocks_per_io) * cap.block_length);
  }
  if (o.runtime_s != 0) {
    std::printf("will run for %llu seconds.\n", static_cast<unsigned long long>(o.runtime_s));
  } else {
    std::printf("infinite runtime - press CTRL-C to abort.\n");
  }
  std::printf("\n");
  std::fflush(stdout);

  install_signals();
  // Every session and path event on stderr as it happens; the counts for the verdict.
  cli::EventWatch watch(sessions, device, stderr, /*name_isid=*/o.sessions != 0);
  const auto tick = [&watch] { watch.poll(); };
  cli::PerfTotals t;
  const double cpu_before = process_cpu_seconds();
  const auto run_started = std::chrono::steady_clock::now();
  try {
    if (device) {
      t = cli::run_perf(device->submit_function(), url.lun, cap, o, g_interrupts, stdout, stderr,
                        tick);
    } else if (o.sessions != 0) {
      // -m commands in flight on every session.
      std::vector<cli::PerfTarget> targets;
      for (std::size_t i = 0; i < sessions.size(); ++i) {
        net::Session* s = sessions[i].get();
        targets.push_back({[s](net::ScsiCommand cmd, net::Session::ScsiCallback done) {
                             return s->start_with_callback(std::move(cmd), std::move(done));
                           },
                           urls[url_of[i]].lun});
      }
      t = cli::run_perf(std::move(targets), cap, o, g_interrupts, stdout, stderr, tick);
    } else {
      t = cli::run_perf(*session, url.lun, cap, o, g_interrupts, stdout, stderr, tick);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\n%s\n", e.what());
    t.aborted = true;
  }
  const double run_cpu = process_cpu_seconds() - cpu_before;
  const double run_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_started).count();
  watch.poll();
  cli::RunProblems problems;
  problems.failed = t.errors;
  problems.unfinished = t.unfinished;
  problems.drain_s = static_cast<double>(cli::kDrainTimeout.count());
  problems.aborted = t.aborted;
  watch.fill(problems);
  const int status = problems.clean() ? 0 : kExitIo;
  if (t.aborted) {
    std::printf("\nABORTED!\n");
  } else {
    std::printf("\n\nfinished.\n");
  }
  if (device) {
    // Where the commands went (after "finished.", so scripts reading the iops line are not
    // disturbed).
    for (const auto& p : device->status()) {
      std::printf("path %s: %llu commands, %s, group %zu\n", p.path.c_str(),
                  static_cast<unsigned long long>(p.completed), p.dm_state.c_str(), p.group);
    }
    device.reset();
  }
  if (o.sessions != 0) {
    // The I/O phase's own cost, without the logins, READ CAPACITYs and logouts around it (the
    // process's user+system time over it: every thread, so the engine's too).
    std::printf(
        "I/O phase: %llu commands over %zu sessions (%llu to %llu each) in %.3f s, CPU %.3f s "
        "(%.2f us/IO), peak RSS %llu KiB\n",
        static_cast<unsigned long long>(t.ios), sessions.size(),
        static_cast<unsigned long long>(t.min_per_target),
        static_cast<unsigned long long>(t.max_per_target), run_s, run_cpu,
        t.ios == 0 ? 0.0 : run_cpu * 1e6 / static_cast<double>(t.ios), peak_rss_kib());
  }
  std::fflush(stdout);
  // A target that left commands unanswered will not answer a Logout either: those sessions
  // (and any not logged in) are closed without one.
  for (auto& s : sessions) {
    if (problems.unfinished != 0 || s->state() != session::SessionState::logged_in) continue;
    try {
      s->logout();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "logout: %s\n", e.what());
    }
  }
  // Last, so it is what a person sees at the end; stdout keeps iscsi-perf's format.
  if (const auto verdict = cli::verdict_line(problems); !verdict.empty()) {
    std::fprintf(stderr, "%s\n", verdict.c_str());
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
