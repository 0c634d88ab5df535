// Session and multipath events on stderr as they happen (see perf_watch.hpp).
#include "cli/perf_watch.hpp"

#include <algorithm>

#include "proto/recovery/conn_error.hpp"
#include "proto/session/session_state.hpp"

namespace iscsi::cli {

EventWatch::EventWatch(std::vector<std::shared_ptr<net::Session>> sessions,
                       std::shared_ptr<mpath::Device> device, std::FILE* err, bool name_isid)
    : sessions_(std::move(sessions)), device_(std::move(device)), err_(err), t0_(Clock::now()) {
  for (const auto& s : sessions_) {
    seen_.push_back(s->events().size());
    names_.push_back(s->portal().to_string() +
                     (name_isid ? " ISID " + pdu::to_string(s->isid()) : std::string()));
  }
  if (auto d = device_.lock()) {
    for (const auto& e : d->events()) device_last_ = std::max(device_last_, e.steady);
  }
}

double EventWatch::since_start(Clock::time_point t) const {
  return std::chrono::duration<double>(t - t0_).count();
}

void EventWatch::poll() {
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    const auto events = sessions_[i]->events();
    const std::string& who = names_[i];
    for (std::size_t k = seen_[i]; k < events.size(); ++k) {
      const auto& e = events[k];
      if (e.type == net::EventType::conn_error) {
        if (conn_errors_++ == 0) first_conn_error_ = std::string(kernel_name(e.conn_error));
      }
      if (e.type == net::EventType::recovery_started) ++recoveries_;
      const auto line = event_line(since_start(e.steady), who, net::to_string(e.type), e.detail);
      std::fprintf(err_, "%s\n", line.c_str());
    }
    seen_[i] = events.size();
  }
  if (auto d = device_.lock()) {
    // By time, not by index: the device trims its log when it grows long.
    for (const auto& e : d->events()) {
      if (e.steady <= device_last_) continue;
      device_last_ = e.steady;
      const std::string detail = e.path.empty() ? e.detail : e.path + ": " + e.detail;
      std::fprintf(err_, "%s\n",
                   event_line(since_start(e.steady), "multipath", mpath::to_string(e.type), detail)
                       .c_str());
    }
  }
  std::fflush(err_);
}

void EventWatch::fill(RunProblems& p) const {
  std::lock_guard lock(mu_);
  p.conn_errors = conn_errors_;
  p.first_conn_error = first_conn_error_;
  p.recoveries = recoveries_;
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    const auto& s = sessions_[i];
    if (s->state() != session::SessionState::logged_in) {
      p.not_logged_in.push_back(names_[i] + " was " + s->state_name());
    }
  }
}

}  // namespace iscsi::cli
