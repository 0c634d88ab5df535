// lab-iscsi-perf: libiscsi iscsi-perf's measurement (same options, URL and output) run through
// our initiator (net::Initiator / net::Session), so one script can time either tool. Several
// URLs (the paths of one LU) run over a multipath device (mpath::Device), so one run shows what
// a second path adds.
#include <algorithm>
#include <atomic>
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
  // Several URLs: multipath.conf's settings, multibus with round-robin 0 unless -M says.
  mpath::Settings mp;
  if (urls.size() > 1) {
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
  for (const auto& u : urls) {
    auto opts = session_options(o, u);
    // What multipathd does for iSCSI paths: fast_io_fail_tmo becomes replacement_timeout.
    if (urls.size() > 1) {
      if (auto tmo = mpath::fast_io_fail_tmo(mp)) opts.replacement_timeout = net::Seconds{*tmo};
    }
    try {
      sessions.push_back(initiator.login(u.target, net::Portal{u.host, u.port}, opts));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "Login Failed. %s\n", e.what());
      return kExitSetup;
    }
    std::printf("connected to %s\n", u.redacted().c_str());
  }
  std::shared_ptr<net::Session> session = sessions.front();
  std::shared_ptr<mpath::Device> device;
  net::Capacity cap;
  try {
    // READ CAPACITY on every path also consumes each new I_T nexus's power-on UNIT ATTENTION.
    for (std::size_t i = 0; i < sessions.size(); ++i) cap = sessions[i]->read_capacity(urls[i].lun);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "failed to send readcapacity command: %s\n", e.what());
    return kExitSetup;
  }
  if (sessions.size() > 1) {
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
  cli::EventWatch watch(sessions, device, stderr);
  const auto tick = [&watch] { watch.poll(); };
  cli::PerfTotals t;
  try {
    t = device ? cli::run_perf(device->submit_function(), url.lun, cap, o, g_interrupts, stdout,
                               stderr, tick)
               : cli::run_perf(*session, url.lun, cap, o, g_interrupts, stdout, stderr, tick);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\n%s\n", e.what());
    t.aborted = true;
  }
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
