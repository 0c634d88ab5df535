// Names of the multipath events.
#include "mpath/events.hpp"

namespace iscsi::mpath {

std::string_view to_string(EventType t) noexcept {
  switch (t) {
    case EventType::path_failed: return "path_failed";
    case EventType::path_reinstated: return "path_reinstated";
    case EventType::path_alua_changed: return "path_alua_changed";
    case EventType::group_switched: return "group_switched";
    case EventType::io_failover: return "io_failover";
    case EventType::queueing_started: return "queueing_started";
    case EventType::queueing_ended: return "queueing_ended";
    case EventType::io_failed_no_path: return "io_failed_no_path";
  }
  return "unknown";
}

}  // namespace iscsi::mpath
