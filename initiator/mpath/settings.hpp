// The settings of a multipath device, with multipath.conf's names, defaults and meanings
// (multipath-tools 0.9, multipath.conf(5)), parsed from a {key: value} string map as the Python
// layer and lab-iscsi-perf hand them over. Keys and values are spelled here and nowhere else.
//
//   polling_interval      5          seconds between two checks of a path (TEST UNIT READY, and
//                                    REPORT TARGET PORT GROUPS when the LU has ALUA)
//   path_selector         "service-time 0" | "round-robin 0" | "queue-length 0"
//   path_grouping_policy  failover   failover (one path per group) | multibus (one group) |
//                                    group_by_prio (one group per priority value)
//   failback              manual     immediate | manual | followover | N (seconds)
//   no_path_retry         fail       fail | queue | N (checks of polling_interval with no path)
//   queue_if_no_path      no         yes | no: the old form of no_path_retry queue (features
//                                    "1 queue_if_no_path" is also accepted); no_path_retry wins
//   rr_min_io_rq          1          commands sent to a path before round-robin moves on
//   fast_io_fail_tmo      5          seconds | off: what multipathd sets as each iSCSI path's
//                                    replacement_timeout (node.session.timeo.replacement_
//                                    timeout); this library does not touch sessions' settings,
//                                    whoever logs the paths in applies it (fast_io_fail_tmo())
//   checker_timeout       30         seconds a checker command may take before the path is down
//
// An unknown key or a value out of its domain throws SettingsError naming the key, the value
// and what is accepted.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace iscsi::mpath {

class SettingsError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

enum class SelectorKind : std::uint8_t { round_robin, queue_length, service_time };
enum class GroupingPolicy : std::uint8_t { failover, multibus, group_by_prio };

struct NoPathRetry {
  enum class Kind : std::uint8_t { fail, queue, checks };
  Kind kind = Kind::fail;
  unsigned checks = 0;  // Kind::checks: how many checker intervals I/O stays queued
  friend bool operator==(const NoPathRetry&, const NoPathRetry&) = default;
};

struct Failback {
  enum class Kind : std::uint8_t { immediate, manual, followover, deferred };
  Kind kind = Kind::manual;
  std::chrono::seconds delay{0};  // Kind::deferred
  friend bool operator==(const Failback&, const Failback&) = default;
};

struct Settings {
  std::chrono::milliseconds polling_interval{5000};
  SelectorKind path_selector = SelectorKind::service_time;
  GroupingPolicy path_grouping_policy = GroupingPolicy::failover;
  Failback failback;
  NoPathRetry no_path_retry;
  unsigned rr_min_io_rq = 1;
  std::optional<std::chrono::seconds> fast_io_fail_tmo = std::chrono::seconds{5};
  std::chrono::milliseconds checker_timeout{30000};
};

// Keys not given keep the defaults above. polling_interval and checker_timeout accept
// fractions of a second ("0.2") for tests; multipath.conf itself takes whole seconds.
Settings parse_settings(const std::map<std::string, std::string>& values);

// multipath.conf's spellings of the values, for status output and errors.
std::string_view to_string(SelectorKind k) noexcept;     // "service-time 0"
std::string_view to_string(GroupingPolicy p) noexcept;   // "group_by_prio"
std::string to_string(const NoPathRetry& n);             // "fail", "queue", "12"
std::string to_string(const Failback& f);                // "manual", "30"

// The replacement_timeout each path's session should have (seconds), nullopt when
// fast_io_fail_tmo is off (then the session's own replacement_timeout stays).
std::optional<std::int64_t> fast_io_fail_tmo(const Settings& s);

}  // namespace iscsi::mpath
