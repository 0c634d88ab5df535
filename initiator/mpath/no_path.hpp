// no_path_retry: what happens to I/O while no path can take it, as dm-multipath's
// queue_if_no_path and multipathd's no_path_retry countdown do it.
//   fail    commands fail at once (io_failed_no_path)
//   queue   commands wait, for ever, until a path is usable again
//   N       commands wait for N checker intervals; then the queue fails and new commands fail
//           at once, until a path is usable again (which re-arms the countdown)
//
// One table keyed by (state, event):
//   serving   some path is usable           paths_lost -> queueing | failing (per the setting)
//   queueing  no path; commands are held    tick -> queueing | failing (N reached); path_back -> serving
//   failing   no path; commands fail        path_back -> serving
// Unlisted pairs (a tick while serving, say) are errors that change nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "mpath/settings.hpp"

namespace iscsi::mpath {

class NoPathMachine {
 public:
  enum class State : std::uint8_t { serving, queueing, failing };
  enum class Event : std::uint8_t { paths_lost, tick, path_back };
  // What a transition asks of the device.
  enum class Action : std::uint8_t {
    none,
    start_queueing,  // queueing_started
    fail_now,        // no path and no queueing: commands fail (io_failed_no_path)
    give_up,         // no_path_retry N ran out: fail what is queued (queueing_ended)
    resume,          // a path is back: send what is queued (queueing_ended if queueing)
  };

  explicit NoPathMachine(NoPathRetry setting) : setting_(setting) {}

  State state() const noexcept { return state_; }
  // Checker intervals spent queueing so far (no_path_retry N).
  unsigned ticks() const noexcept { return ticks_; }
  std::optional<Action> on(Event e) noexcept;

 private:
  NoPathRetry setting_;
  State state_ = State::serving;
  unsigned ticks_ = 0;
};

std::string_view to_string(NoPathMachine::State s) noexcept;
std::string_view to_string(NoPathMachine::Event e) noexcept;

}  // namespace iscsi::mpath
