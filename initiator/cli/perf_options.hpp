// Command line of lab-iscsi-perf: libiscsi iscsi-perf's options (same letters, long names and
// defaults), plus --write, which iscsi-perf does not have.
//
//   lab-iscsi-perf [-i <initiator-name>] [-m <max_requests>] [-b <blocks_per_request>]
//                  [-t <seconds>] [-r|--random] [-R|--random-blocks] [-l|--logging]
//                  [-n|--ignore-errors] [-x <max_reconnects>] [-w|--write]
//                  [--sessions N [--login-concurrency C]] <iscsi-url>...
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iscsi::cli {

struct PerfOptions {
  std::string initiator_name = "iqn.2026-11.org.iscsi-lab:lab-iscsi-perf";  // -i
  std::uint32_t max_in_flight = 32;  // -m: commands kept in flight
  std::uint32_t blocks_per_io = 8;   // -b: logical blocks per READ(16)/WRITE(16)
  std::uint64_t runtime_s = 0;       // -t: seconds; 0 = until SIGINT/SIGTERM
  bool random = false;               // -r: random LBAs instead of sequential
  bool random_blocks = false;        // -R: 1..blocks_per_io blocks per command
  bool logging = false;              // -l: one progress line per second instead of \r
  bool ignore_errors = false;        // -n: count failed commands instead of stopping
  int max_reconnects = -1;           // -x: relogins allowed; -1 = unlimited
  bool write = false;                // -w: WRITE(16) instead of READ(16) (ours only)
  bool help = false;                 // -h/--help
  std::string url;                   // the first positional argument
  std::vector<std::string> urls;     // every one: more than one is a multipath run
  std::vector<std::pair<std::string, std::string>> mpath;  // -M key=value, in order
  // --sessions: N sessions to each URL (each its own ISID, -m commands in flight each), all on
  // the one Initiator; several URLs are then independent LUs, not paths. 0 = not given.
  std::uint32_t sessions = 0;
  std::uint32_t login_concurrency = 64;  // --login-concurrency: logins in progress at once
};

// `args` excludes argv[0]. Accepts "-m 8", "-m8", "--max 8", "--max=8" and grouped flags
// ("-rn"); "--" ends the options. Throws UsageError naming the option and what it needs.
PerfOptions parse_perf_options(std::span<const std::string_view> args);

// The usage text (ends with a newline).
std::string perf_usage();

}  // namespace iscsi::cli
