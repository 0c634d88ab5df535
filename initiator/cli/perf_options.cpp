// Option parsing for lab-iscsi-perf (see perf_options.hpp). Hand-written rather than getopt:
// getopt keeps global state, which would make the parser awkward to unit-test.
#include "cli/perf_options.hpp"

#include <charconv>
#include <limits>
#include <optional>
#include <vector>

#include "cli/cli_error.hpp"

namespace iscsi::cli {

namespace {

enum class Opt : std::uint8_t {
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
  help
};

struct OptSpec {
  char short_name;
  std::string_view long_name;
  bool takes_value;
  Opt opt;
};

constexpr OptSpec kOpts[] = {
    {'i', "initiator-name", true, Opt::initiator},
    {'m', "max", true, Opt::max},
    {'b', "blocks", true, Opt::blocks},
    {'t', "runtime", true, Opt::runtime},
    {'r', "random", false, Opt::random},
    {'R', "random-blocks", false, Opt::random_blocks},
    {'l', "logging", false, Opt::logging},
    {'n', "ignore-errors", false, Opt::ignore_errors},
    {'x', "max-reconnects", true, Opt::max_reconnects},
    {'w', "write", false, Opt::write},
    {'M', "mpath", true, Opt::mpath},
    {'h', "help", false, Opt::help},
};

std::string name_of(const OptSpec& s) {
  return "-" + std::string(1, s.short_name) + "/--" + std::string(s.long_name);
}

template <class T>
T number(const OptSpec& s, std::string_view v, long long min, long long max,
         std::string_view what) {
  long long n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || n < min || n > max) {
    throw UsageError(name_of(s) + ": expected " + std::string(what) + " (a whole number from " +
                     std::to_string(min) + " to " + std::to_string(max) + "), got '" +
                     std::string(v) + "'");
  }
  return static_cast<T>(n);
}

void apply(PerfOptions& o, const OptSpec& s, std::string_view v) {
  switch (s.opt) {
    case Opt::initiator:
      if (v.empty()) throw UsageError(name_of(s) + ": the initiator name is empty");
      o.initiator_name = std::string(v);
      break;
    // 1..65535: the cap keeps a typo from allocating millions of tasks.
    case Opt::max:
      o.max_in_flight = number<std::uint32_t>(s, v, 1, 65535, "requests in flight");
      break;
    // 2^24 blocks: 8 GiB at 512-byte blocks, past any target's MaxBurstLength use.
    case Opt::blocks:
      o.blocks_per_io = number<std::uint32_t>(s, v, 1, 1 << 24, "blocks per request");
      break;
    case Opt::runtime:
      o.runtime_s = number<std::uint64_t>(s, v, 0, 100LL * 365 * 24 * 3600,
                                          "seconds (0 = until interrupted)");
      break;
    case Opt::max_reconnects:
      o.max_reconnects =
          number<int>(s, v, -1, std::numeric_limits<int>::max(), "relogins (-1 = unlimited)");
      break;
    case Opt::random:
      o.random = true;
      break;
    case Opt::random_blocks:
      o.random_blocks = true;
      break;
    case Opt::logging:
      o.logging = true;
      break;
    case Opt::ignore_errors:
      o.ignore_errors = true;
      break;
    case Opt::write:
      o.write = true;
      break;
    case Opt::mpath: {
      const auto eq = v.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        throw UsageError(name_of(s) + ": expected key=value (a multipath.conf setting), got '" +
                         std::string(v) + "'");
      }
      o.mpath.emplace_back(std::string(v.substr(0, eq)), std::string(v.substr(eq + 1)));
      break;
    }
    case Opt::help:
      o.help = true;
      break;
  }
}

const OptSpec* by_short(char c) {
  for (const auto& s : kOpts) {
    if (s.short_name == c) return &s;
  }
  return nullptr;
}

const OptSpec* by_long(std::string_view n) {
  for (const auto& s : kOpts) {
    if (s.long_name == n) return &s;
  }
  return nullptr;
}

}  // namespace

PerfOptions parse_perf_options(std::span<const std::string_view> args) {
  PerfOptions o;
  std::vector<std::string_view> positional;
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (options_done || a.size() < 2 || a.front() != '-') {
      positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a.starts_with("--")) {
      std::string_view name = a.substr(2);
      std::optional<std::string_view> value;
      if (const auto eq = name.find('='); eq != std::string_view::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      const OptSpec* s = by_long(name);
      if (s == nullptr) throw UsageError("unknown option '--" + std::string(name) + "'");
      if (s->takes_value && !value) {
        if (i + 1 == args.size()) throw UsageError(name_of(*s) + " needs a value");
        value = args[++i];
      } else if (!s->takes_value && value) {
        throw UsageError(name_of(*s) + " takes no value");
      }
      apply(o, *s, value.value_or(""));
      continue;
    }
    // One or more short options; one that takes a value ends the group ("-m8" or "-m 8").
    for (std::size_t k = 1; k < a.size(); ++k) {
      const OptSpec* s = by_short(a[k]);
      if (s == nullptr) throw UsageError("unknown option '-" + std::string(1, a[k]) + "'");
      if (!s->takes_value) {
        apply(o, *s, "");
        continue;
      }
      std::string_view value = a.substr(k + 1);
      if (value.empty()) {
        if (i + 1 == args.size()) throw UsageError(name_of(*s) + " needs a value");
        value = args[++i];
      }
      apply(o, *s, value);
      break;
    }
  }
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
  for (const auto& p : positional) o.urls.emplace_back(p);
  o.url = std::string(positional.front());
  return o;
}

std::string perf_usage() {
  return "Usage: lab-iscsi-perf [-i <initiator-name>] [-m <max_requests>] [-b blocks_per_request] "
         "[-t timeout] [-r|--random] [-R|--random-blocks] [-l|--logging] [-n|--ignore-errors] "
         "[-x <max_reconnects>] [-w|--write] [-M key=value]... <LUN> [<LUN>...]\n"
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
         "Every connection error, session recovery, relogin, path event and failed command is\n"
         "printed on stderr as it happens, with the seconds since the start. The exit status is 1\n"
         "when the run was not clean (with -n too): commands failed, commands still unanswered\n"
         "5 s after the end, a connection error or recovery during the run, or a session not\n"
         "logged in at the end; the last line on stderr names which.\n";
}

}  // namespace iscsi::cli
