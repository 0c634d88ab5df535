// Option parsing for lab-iscsi-perf (see perf_options.hpp), on the shared tokenizer.
#include "cli/perf_options.hpp"

#include <limits>
#include <vector>

#include "cli/cli_error.hpp"
#include "cli/option_scan.hpp"

namespace iscsi::cli {

namespace {

enum class Opt : int {
  initiator,
  max,
  blocks,
  runtime,
  random,
  random_blocks,
  logging,
  ignore_errors,
  max_reconnects,
  write,
  mpath,
  sessions,
  login_concurrency,
  help
};

constexpr int id(Opt o) { return static_cast<int>(o); }

constexpr OptionSpec kOpts[] = {
    {'i', "initiator-name", true, id(Opt::initiator)},
    {'m', "max", true, id(Opt::max)},
    {'b', "blocks", true, id(Opt::blocks)},
    {'t', "runtime", true, id(Opt::runtime)},
    {'r', "random", false, id(Opt::random)},
    {'R', "random-blocks", false, id(Opt::random_blocks)},
    {'l', "logging", false, id(Opt::logging)},
    {'n', "ignore-errors", false, id(Opt::ignore_errors)},
    {'x', "max-reconnects", true, id(Opt::max_reconnects)},
    {'w', "write", false, id(Opt::write)},
    {'M', "mpath", true, id(Opt::mpath)},
    {0, "sessions", true, id(Opt::sessions)},
    {0, "login-concurrency", true, id(Opt::login_concurrency)},
    {'h', "help", false, id(Opt::help)},
};

void apply(PerfOptions& o, const OptionSpec& s, std::string_view v) {
  switch (s.id) {
    case id(Opt::initiator):
      if (v.empty()) throw UsageError(option_name(s) + ": the initiator name is empty");
      o.initiator_name = std::string(v);
      break;
    // 1..65535: the cap keeps a typo from allocating millions of tasks.
    case id(Opt::max):
      o.max_in_flight = static_cast<std::uint32_t>(option_number(s, v, 1, 65535, "requests in flight"));
      break;
    // 2^24 blocks: 8 GiB at 512-byte blocks, past any target's MaxBurstLength use.
    case id(Opt::blocks):
      o.blocks_per_io = static_cast<std::uint32_t>(option_number(s, v, 1, 1 << 24, "blocks per request"));
      break;
    case id(Opt::runtime):
      o.runtime_s = static_cast<std::uint64_t>(
          option_number(s, v, 0, 100LL * 365 * 24 * 3600, "seconds (0 = until interrupted)"));
      break;
    case id(Opt::max_reconnects):
      o.max_reconnects = static_cast<int>(option_number(
          s, v, -1, std::numeric_limits<int>::max(), "relogins (-1 = unlimited)"));
      break;
    case id(Opt::random):
      o.random = true;
      break;
    case id(Opt::random_blocks):
      o.random_blocks = true;
      break;
    case id(Opt::logging):
      o.logging = true;
      break;
    case id(Opt::ignore_errors):
      o.ignore_errors = true;
      break;
    case id(Opt::write):
      o.write = true;
      break;
    case id(Opt::mpath): {
      const auto eq = v.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        throw UsageError(option_name(s) + ": expected key=value (a multipath.conf setting), got '" +
                         std::string(v) + "'");
      }
      o.mpath.emplace_back(std::string(v.substr(0, eq)), std::string(v.substr(eq + 1)));
      break;
    }
    // 65535: each session's ISID qualifier is its index (16 bits).
    case id(Opt::sessions):
      o.sessions = static_cast<std::uint32_t>(option_number(s, v, 1, 65535, "sessions per URL"));
      break;
    case id(Opt::login_concurrency):
      o.login_concurrency =
          static_cast<std::uint32_t>(option_number(s, v, 1, 65535, "logins at once"));
      break;
    case id(Opt::help):
      o.help = true;
      break;
    default:
      break;
  }
}

}  // namespace

PerfOptions parse_perf_options(std::span<const std::string_view> args) {
  PerfOptions o;
  std::vector<std::string_view> positional;
  scan_options(
      args, kOpts, [&](const OptionSpec& s, std::string_view v) { apply(o, s, v); },
      [&](std::string_view a) { positional.push_back(a); });
  if (o.help) return o;
  if (positional.empty())
    throw UsageError("missing the iSCSI URL (iscsi://host[:port]/target-iqn/lun)");
  // Several URLs are the paths of one multipath device; anything else after the first is extra.
  for (std::size_t i = 1; i < positional.size(); ++i) {
    if (positional[i].rfind("iscsi://", 0) != 0) {
      throw UsageError("one iSCSI URL expected, got " + std::to_string(positional.size()) +
                       " arguments ('" + std::string(positional[i]) + "' is extra)");
    }
  }
  if (o.sessions != 0 && !o.mpath.empty()) {
    throw UsageError("--sessions and -M do not mix: with --sessions, several URLs are separate "
                     "LUs, not the paths of one");
  }
  for (const auto& p : positional) o.urls.emplace_back(p);
  o.url = std::string(positional.front());
  return o;
}

std::string perf_usage() {
  return "Usage: lab-iscsi-perf [-i <initiator-name>] [-m <max_requests>] [-b blocks_per_request] "
         "[-t timeout] [-r|--random] [-R|--random-blocks] [-l|--logging] [-n|--ignore-errors] "
         "[-x <max_reconnects>] [-w|--write] [-M key=value]... "
         "[--sessions N [--login-concurrency C]] <LUN> [<LUN>...]\n"
         "  <LUN>  iscsi://[<user>[%<password>]@]<host>[:<port>]/<target-iqn>/<lun>\n"
         "         (or the CHAP password in LIBISCSI_CHAP_PASSWORD); several: the paths of one\n"
         "         LU, run over a multipath device (multibus, round-robin 0 unless -M says)\n"
         "  -i, --initiator-name  our IQN (default iqn.2026-11.org.iscsi-lab:lab-iscsi-perf)\n"
         "  -m, --max             commands kept in flight (default 32)\n"
         "  -b, --blocks          logical blocks per command (default 8)\n"
         "  -t, --runtime         seconds to run (default 0: until Ctrl-C)\n"
         "  -r, --random          random LBAs (default sequential)\n"
         "  -R, --random-blocks   1..<blocks> blocks per command\n"
         "  -l, --logging         a progress line per second instead of one updated line\n"
         "  -n, --ignore-errors   count failed commands and go on (the exit status is still 1)\n"
         "  -x, --max-reconnects  relogins allowed after a connection error (-1: unlimited)\n"
         "  -w, --write           WRITE(16) instead of READ(16) (not in libiscsi's iscsi-perf)\n"
         "  -M, --mpath key=value a multipath.conf setting for several URLs (path_selector,\n"
         "                        path_grouping_policy, rr_min_io_rq, fast_io_fail_tmo, ...)\n"
         "      --sessions N      N sessions to each URL (own ISIDs, -m in flight each), all on\n"
         "                        one initiator; several URLs are then separate LUs, not paths.\n"
         "                        Prints the time the logins took and logins per second\n"
         "      --login-concurrency C  logins in progress at once with --sessions (default 64)\n"
         "Every connection error, session recovery, relogin, path event and failed command is\n"
         "printed on stderr as it happens, with the seconds since the start. The exit status is 1\n"
         "when the run was not clean (with -n too): commands failed, commands still unanswered\n"
         "5 s after the end, a connection error or recovery during the run, or a session not\n"
         "logged in at the end; the last line on stderr names which.\n";
}

}  // namespace iscsi::cli
