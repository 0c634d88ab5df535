// The measuring loop of lab-iscsi-perf: keeps -m READ(16)/WRITE(16) commands in flight on one
// session (or any submit function: a multipath device of several sessions; or -m on each of
// many sessions, --sessions), walks the LUN
// sequentially (wrapping at its end) or at random, prints a progress line each second and the
// final "iops average N (M MB/s)" when -t runs out or on SIGINT.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <vector>

#include "cli/perf_options.hpp"
#include "net/initiator.hpp"

namespace iscsi::cli {

struct PerfTotals {
  std::uint64_t ios = 0;  // commands completed with GOOD status
  std::uint64_t bytes = 0;
  std::uint64_t busy = 0;        // BUSY answers (the command was sent again)
  std::uint64_t errors = 0;      // failed commands (with -n they are counted, not fatal)
  std::uint64_t unfinished = 0;  // still in flight kDrainTimeout after the end: given up
  bool aborted = false;          // stopped by an error (without -n) or a second signal
  // Commands completed with GOOD status by the least and the busiest target (session): with
  // --sessions, 0 means some session did no I/O at all.
  std::uint64_t min_per_target = 0;
  std::uint64_t max_per_target = 0;
};

// How long the commands in flight at the end of a run (-t or the first signal) may take to
// complete. A target that answers at all answers in far less; one that does not is reported.
constexpr std::chrono::seconds kDrainTimeout{5};

// `interrupts` counts SIGINT/SIGTERM: the first ends the run as -t would, the second aborts
// without waiting for the commands in flight. Output goes to `out` (stdout), each failed
// command (with the time since the start) to `err`. `tick`, when set, is called about every
// 100 ms from the calling thread while the run waits (lab-iscsi-perf prints session events).
PerfTotals run_perf(net::Session& session, std::uint16_t lun, const net::Capacity& capacity,
                    const PerfOptions& options, const std::atomic<int>& interrupts, std::FILE* out,
                    std::FILE* err, const std::function<void()>& tick = {});

// The same over any function with Session::start_with_callback's shape (workload::Submit's,
// mpath::Device::submit_function()). A callback may run before the function returns.
using PerfSubmit = std::function<std::uint64_t(net::ScsiCommand, net::Session::ScsiCallback)>;
PerfTotals run_perf(PerfSubmit submit, std::uint16_t lun, const net::Capacity& capacity,
                    const PerfOptions& options, const std::atomic<int>& interrupts, std::FILE* out,
                    std::FILE* err, const std::function<void()>& tick = {});

// -m commands in flight on each of `targets` (--sessions: one per session, each with its own
// LUN number), all walking one sequence of LBAs of `capacity` (the smallest LU's).
struct PerfTarget {
  PerfSubmit submit;
  std::uint16_t lun = 0;
};
PerfTotals run_perf(std::vector<PerfTarget> targets, const net::Capacity& capacity,
                    const PerfOptions& options, const std::atomic<int>& interrupts, std::FILE* out,
                    std::FILE* err, const std::function<void()>& tick = {});

}  // namespace iscsi::cli
