// The text lab-iscsi-perf prints, in libiscsi iscsi-perf's format so scripts can parse either
// tool's output the same way: a progress line each second and a final
//
//   iops average <N> (<M> MB/s)
//
// where MB is 2^20 bytes and M = N * blocks per request * block length >> 20, as iscsi-perf
// computes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iscsi::cli {

struct ProgressFigures {
  std::uint64_t remaining_s = 0;    // what is left of -t (or the elapsed time without -t)
  std::uint64_t lba = 0;            // next LBA of the sequential walk
  std::uint64_t iops_current = 0;   // over the last interval
  std::uint64_t bytes_current = 0;  // bytes per second over the last interval
  std::uint64_t iops_average = 0;
  std::uint64_t bytes_average = 0;  // bytes per second since the start
  std::uint32_t in_flight = 0;
  std::uint32_t busy = 0;  // commands the target answered with BUSY (retried)
};

// "00:00:01 - lba 875080, iops current 109352 (427 MB/s), iops average 109352 (427 MB/s),
// in_flight 32, busy 0" (no \r, no padding).
std::string progress_line(const ProgressFigures& f);

// "iops average 110019 (429 MB/s)".
std::string final_line(std::uint64_t iops_average, std::uint64_t bytes_per_io);

struct FinalFigures {
  std::uint64_t iops = 0;
  std::uint64_t mb_per_s = 0;
};

// The figures of the last "iops average N (M MB/s)" that stands alone on its line (lines end at
// \n or \r; trailing spaces allowed), as both tools print it last; nullopt when there is none.
std::optional<FinalFigures> parse_final_line(std::string_view output);

// What lab-iscsi-perf says beyond iscsi-perf's output, on stderr: each session or path event as
// it happens, and a verdict when the run was not clean.

// "[   3.214 s] 127.0.0.1:3260: conn_error: detected conn error (1011) ISCSI_ERR_BAD_ITT: ..."
// (`seconds` since the run started; `who` is the portal or "multipath").
std::string event_line(double seconds, std::string_view who, std::string_view type,
                       std::string_view detail);

// What made a run not clean. Any of it makes the exit status non-zero: a figure measured while
// commands failed, hung or the session was being recovered is not a measurement of the target
// doing its job.
struct RunProblems {
  std::uint64_t failed = 0;       // commands that ended in an error (-n counts them)
  std::uint64_t unfinished = 0;   // commands still in flight when the run gave up waiting
  double drain_s = 0;             // how long it waited for them after the run's end
  std::uint64_t conn_errors = 0;  // connection errors during the run
  std::string first_conn_error;   // the first one's ISCSI_ERR name, e.g. ISCSI_ERR_BAD_ITT
  std::uint64_t recoveries = 0;   // session recoveries started during the run
  std::vector<std::string> not_logged_in;  // "127.0.0.1:3260 was FAILED": not LOGGED_IN at the end
  bool aborted = false;           // stopped early: an error without -n, or a second signal

  bool clean() const {
    return failed == 0 && unfinished == 0 && conn_errors == 0 && recoveries == 0 &&
           not_logged_in.empty() && !aborted;
  }
};

// "" for a clean run; otherwise one line naming every problem, e.g. "lab-iscsi-perf: run NOT
// clean: 3 commands failed; 2 connection errors (first ISCSI_ERR_BAD_ITT); 2 session
// recoveries; session 127.0.0.1:3260 was FAILED at the end".
std::string verdict_line(const RunProblems& p);

}  // namespace iscsi::cli
