// The measuring loop of lab-iscsi-perf: keeps -m READ(16)/WRITE(16) commands in flight on one
// session (or any submit function: a multipath device of several sessions), walks the LUN sequentially (wrapping at its end) or at random, prints a progress
// line each second and the final "iops average N (M MB/s)" when -t runs out or on SIGINT.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>

#include "cli/perf_options.hpp"
#include "net/initiator.hpp"

namespace iscsi::cli {

struct PerfTotals {
  std::uint64_t ios = 0;  // commands completed with GOOD status
  std::uint64_t bytes = 0;
  std::uint64_t busy = 0;    // BUSY answers (the command was sent again)
  std::uint64_t errors = 0;  // failed commands (with -n they are counted, not fatal)
  bool aborted = false;      // stopped by an error (without -n) or a second signal
};

// `interrupts` counts SIGINT/SIGTERM: the first ends the run as -t would, the second aborts
// without waiting for the commands in flight. Output goes to `out` (stdout), messages about
// failed commands to `err`.
PerfTotals run_perf(net::Session& session, std::uint16_t lun, const net::Capacity& capacity,
                    const PerfOptions& options, const std::atomic<int>& interrupts, std::FILE* out,
                    std::FILE* err);

// The same over any function with Session::start_with_callback's shape (workload::Submit's,
// mpath::Device::submit_function()). A callback may run before the function returns.
using PerfSubmit = std::function<std::uint64_t(net::ScsiCommand, net::Session::ScsiCallback)>;
PerfTotals run_perf(PerfSubmit submit, std::uint16_t lun, const net::Capacity& capacity,
                    const PerfOptions& options, const std::atomic<int>& interrupts, std::FILE* out,
                    std::FILE* err);

}  // namespace iscsi::cli
