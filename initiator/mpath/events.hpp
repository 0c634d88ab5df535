// The multipath device's timestamped event log, on the same clocks as a session's
// (net::EventRecord): steady for intervals, system for wall time. Each entry names the path it
// is about ("127.0.0.1:3261 LUN 2") and says what happened in words.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace iscsi::mpath {

enum class EventType : std::uint8_t {
  path_failed,         // a path went down (checker, transport error on I/O, session not logged in)
  path_reinstated,     // a failed path answers its checker again
  path_alua_changed,   // a path's ALUA access state (or priority) changed
  group_switched,      // I/O now goes to another path group (detail: from, to, why)
  io_failover,         // a command is sent again on another path (detail: the command, why)
  queueing_started,    // no usable path: I/O is held (no_path_retry queue or N)
  queueing_ended,      // a path is usable again, or no_path_retry N ran out (detail says which)
  io_failed_no_path,   // a command failed because no path could take it
};
// "path_failed", "path_reinstated", ...
std::string_view to_string(EventType t) noexcept;

struct EventRecord {
  EventType type = EventType::path_failed;
  std::chrono::steady_clock::time_point steady;
  std::chrono::system_clock::time_point system;
  std::string path;  // empty when about the device as a whole
  std::string detail;
};

}  // namespace iscsi::mpath
