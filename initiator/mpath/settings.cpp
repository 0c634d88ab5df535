// multipath.conf's keys as one table: each row is a key and the function that applies its
// value; parse_settings() is generic over the rows.
#include "mpath/settings.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <vector>

namespace iscsi::mpath {

namespace {

[[noreturn]] void bad(std::string_view key, std::string_view value, std::string_view accepted) {
  throw SettingsError(std::string(key) + ": \"" + std::string(value) + "\" is not " +
                      std::string(accepted));
}

std::string trimmed(std::string_view v) {
  const auto first = v.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = v.find_last_not_of(" \t");
  return std::string(v.substr(first, last - first + 1));
}

// A whole number in [min, max], or nullopt when `v` is not one.
std::optional<unsigned long> whole(std::string_view v, unsigned long min, unsigned long max) {
  unsigned long n = 0;
  const auto* end = v.data() + v.size();
  auto [p, ec] = std::from_chars(v.data(), end, n);
  if (v.empty() || ec != std::errc{} || p != end || n < min || n > max) return std::nullopt;
  return n;
}

// Seconds, whole or with a fraction ("5", "0.25"), at least `min_ms` milliseconds.
std::chrono::milliseconds seconds_value(std::string_view key, std::string_view v,
                                        std::int64_t min_ms) {
  double s = 0;
  const auto* end = v.data() + v.size();
  auto [p, ec] = std::from_chars(v.data(), end, s);
  if (v.empty() || ec != std::errc{} || p != end || !std::isfinite(s) || s * 1000 < double(min_ms) ||
      s > 86400.0 * 365) {
    bad(key, v,
        "a number of seconds of at least " + std::to_string(double(min_ms) / 1000).substr(0, 5));
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(s * 1000)));
}

bool yes_no(std::string_view key, std::string_view v) {
  if (v == "yes" || v == "1") return true;
  if (v == "no" || v == "0") return false;
  bad(key, v, "yes or no");
}

struct Parsed {
  Settings s;
  std::optional<bool> queue_if_no_path;  // from queue_if_no_path or features
  bool no_path_retry_given = false;
};

struct Row {
  std::string_view key;
  std::function<void(Parsed&, const std::string&)> apply;
};

const std::vector<Row>& rows() {
  static const std::vector<Row> table = {
      {"polling_interval",
       [](Parsed& p, const std::string& v) {
         p.s.polling_interval = seconds_value("polling_interval", v, 10);
       }},
      {"path_selector",
       [](Parsed& p, const std::string& v) {
         // multipath.conf writes the selector with its argument count: "round-robin 0".
         if (v == "round-robin 0" || v == "round-robin") {
           p.s.path_selector = SelectorKind::round_robin;
         } else if (v == "queue-length 0" || v == "queue-length") {
           p.s.path_selector = SelectorKind::queue_length;
         } else if (v == "service-time 0" || v == "service-time") {
           p.s.path_selector = SelectorKind::service_time;
         } else {
           bad("path_selector", v,
               "one of \"round-robin 0\", \"queue-length 0\", \"service-time 0\"");
         }
       }},
      {"path_grouping_policy",
       [](Parsed& p, const std::string& v) {
         if (v == "failover") {
           p.s.path_grouping_policy = GroupingPolicy::failover;
         } else if (v == "multibus") {
           p.s.path_grouping_policy = GroupingPolicy::multibus;
         } else if (v == "group_by_prio") {
           p.s.path_grouping_policy = GroupingPolicy::group_by_prio;
         } else {
           bad("path_grouping_policy", v,
               "one of failover, multibus, group_by_prio (group_by_serial, group_by_node_name "
               "and group_by_tpg are not implemented)");
         }
       }},
      {"failback",
       [](Parsed& p, const std::string& v) {
         if (v == "immediate") {
           p.s.failback = {Failback::Kind::immediate, {}};
         } else if (v == "manual") {
           p.s.failback = {Failback::Kind::manual, {}};
         } else if (v == "followover") {
           p.s.failback = {Failback::Kind::followover, {}};
         } else if (auto n = whole(v, 1, 86400)) {
           p.s.failback = {Failback::Kind::deferred, std::chrono::seconds(*n)};
         } else {
           bad("failback", v, "immediate, manual, followover or a number of seconds (1-86400)");
         }
       }},
      {"no_path_retry",
       [](Parsed& p, const std::string& v) {
         p.no_path_retry_given = true;
         if (v == "fail") {
           p.s.no_path_retry = {NoPathRetry::Kind::fail, 0};
         } else if (v == "queue") {
           p.s.no_path_retry = {NoPathRetry::Kind::queue, 0};
         } else if (auto n = whole(v, 1, 1000000)) {
           p.s.no_path_retry = {NoPathRetry::Kind::checks, static_cast<unsigned>(*n)};
         } else {
           bad("no_path_retry", v, "fail, queue or a number of checks (1-1000000)");
         }
       }},
      {"queue_if_no_path",
       [](Parsed& p, const std::string& v) { p.queue_if_no_path = yes_no("queue_if_no_path", v); }},
      {"features",
       [](Parsed& p, const std::string& v) {
         if (v == "1 queue_if_no_path") {
           p.queue_if_no_path = true;
         } else if (v == "0") {
           p.queue_if_no_path = false;
         } else {
           bad("features", v, "\"1 queue_if_no_path\" or \"0\" (no other feature is implemented)");
         }
       }},
      {"rr_min_io_rq",
       [](Parsed& p, const std::string& v) {
         auto n = whole(v, 1, 1000000);
         if (!n) bad("rr_min_io_rq", v, "a number of commands (1-1000000)");
         p.s.rr_min_io_rq = static_cast<unsigned>(*n);
       }},
      {"fast_io_fail_tmo",
       [](Parsed& p, const std::string& v) {
         if (v == "off") {
           p.s.fast_io_fail_tmo.reset();
         } else if (auto n = whole(v, 0, 86400)) {
           p.s.fast_io_fail_tmo = std::chrono::seconds(*n);
         } else {
           bad("fast_io_fail_tmo", v, "off or a number of seconds (0-86400)");
         }
       }},
      {"checker_timeout",
       [](Parsed& p, const std::string& v) {
         p.s.checker_timeout = seconds_value("checker_timeout", v, 10);
       }},
  };
  return table;
}

}  // namespace

Settings parse_settings(const std::map<std::string, std::string>& values) {
  Parsed p;
  for (const auto& [key, raw] : values) {
    const Row* row = nullptr;
    for (const auto& r : rows()) {
      if (r.key == key) row = &r;
    }
    if (row == nullptr) {
      std::string known;
      for (const auto& r : rows()) known += (known.empty() ? "" : ", ") + std::string(r.key);
      throw SettingsError("unknown multipath setting \"" + key + "\" (known: " + known + ")");
    }
    row->apply(p, trimmed(raw));
  }
  // multipathd: no_path_retry overrides the queue_if_no_path feature when both are given.
  if (!p.no_path_retry_given && p.queue_if_no_path.value_or(false)) {
    p.s.no_path_retry = {NoPathRetry::Kind::queue, 0};
  }
  return p.s;
}

std::string_view to_string(SelectorKind k) noexcept {
  switch (k) {
    case SelectorKind::round_robin: return "round-robin 0";
    case SelectorKind::queue_length: return "queue-length 0";
    case SelectorKind::service_time: return "service-time 0";
  }
  return "unknown";
}

std::string_view to_string(GroupingPolicy p) noexcept {
  switch (p) {
    case GroupingPolicy::failover: return "failover";
    case GroupingPolicy::multibus: return "multibus";
    case GroupingPolicy::group_by_prio: return "group_by_prio";
  }
  return "unknown";
}

std::string to_string(const NoPathRetry& n) {
  switch (n.kind) {
    case NoPathRetry::Kind::fail: return "fail";
    case NoPathRetry::Kind::queue: return "queue";
    case NoPathRetry::Kind::checks: return std::to_string(n.checks);
  }
  return "unknown";
}

std::string to_string(const Failback& f) {
  switch (f.kind) {
    case Failback::Kind::immediate: return "immediate";
    case Failback::Kind::manual: return "manual";
    case Failback::Kind::followover: return "followover";
    case Failback::Kind::deferred: return std::to_string(f.delay.count());
  }
  return "unknown";
}

std::optional<std::int64_t> fast_io_fail_tmo(const Settings& s) {
  if (!s.fast_io_fail_tmo) return std::nullopt;
  return s.fast_io_fail_tmo->count();
}

}  // namespace iscsi::mpath
