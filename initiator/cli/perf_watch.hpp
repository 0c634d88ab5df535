// What lab-iscsi-perf tells about a run besides its figures: every event of its sessions (and of
// the multipath device over them) printed on stderr as it happens, with the time since the run
// started, and the counts the verdict needs (perf_report.hpp's RunProblems). Events logged
// before the watch began (the logins) are not repeated.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cli/perf_report.hpp"
#include "mpath/device.hpp"
#include "net/initiator.hpp"

namespace iscsi::cli {

class EventWatch {
 public:
  // `name_isid`: many sessions share a portal (--sessions), so each is named by portal and ISID.
  EventWatch(std::vector<std::shared_ptr<net::Session>> sessions,
             std::shared_ptr<mpath::Device> device, std::FILE* err, bool name_isid = false);

  // Prints what was logged since the last call. Any thread; calls do not interleave.
  void poll();
  // The counts of the run so far, and each session's state now.
  void fill(RunProblems& p) const;

 private:
  using Clock = std::chrono::steady_clock;
  double since_start(Clock::time_point t) const;

  std::vector<std::shared_ptr<net::Session>> sessions_;
  std::vector<std::string> names_;  // per session, for the event lines
  std::weak_ptr<mpath::Device> device_;  // not kept alive: the tool stops it before logging out
  std::FILE* err_;
  Clock::time_point t0_;
  mutable std::mutex mu_;
  std::vector<std::size_t> seen_;  // events already printed, per session
  Clock::time_point device_last_{};  // the newest device event printed (or from before)
  std::uint64_t conn_errors_ = 0;
  std::string first_conn_error_;
  std::uint64_t recoveries_ = 0;
};

}  // namespace iscsi::cli
