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

}  // namespace iscsi::cli
