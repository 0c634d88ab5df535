// Formatting and parsing of iscsi-perf style output lines (see perf_report.hpp).
#include "cli/perf_report.hpp"

#include <charconv>
#include <cstdio>

namespace iscsi::cli {

namespace {

std::string mb(std::uint64_t bytes_per_s) { return std::to_string(bytes_per_s >> 20) + " MB/s"; }

bool take_number(std::string_view& s, std::uint64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc{} || end == s.data()) return false;
  s.remove_prefix(static_cast<std::size_t>(end - s.data()));
  return true;
}

bool take(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

std::optional<FinalFigures> parse_one(std::string_view line) {
  FinalFigures f;
  if (!take(line, "iops average ") || !take_number(line, f.iops) || !take(line, " (") ||
      !take_number(line, f.mb_per_s) || !take(line, " MB/s)")) {
    return std::nullopt;
  }
  if (line.find_first_not_of(' ') != std::string_view::npos) return std::nullopt;
  return f;
}

}  // namespace

std::string progress_line(const ProgressFigures& f) {
  char clock[32];
  std::snprintf(clock, sizeof clock, "%02llu:%02llu:%02llu",
                static_cast<unsigned long long>(f.remaining_s / 3600),
                static_cast<unsigned long long>(f.remaining_s % 3600 / 60),
                static_cast<unsigned long long>(f.remaining_s % 60));
  return std::string(clock) + " - lba " + std::to_string(f.lba) + ", iops current " +
         std::to_string(f.iops_current) + " (" + mb(f.bytes_current) + "), iops average " +
         std::to_string(f.iops_average) + " (" + mb(f.bytes_average) + "), in_flight " +
         std::to_string(f.in_flight) + ", busy " + std::to_string(f.busy);
}

std::string final_line(std::uint64_t iops_average, std::uint64_t bytes_per_io) {
  return "iops average " + std::to_string(iops_average) + " (" + mb(iops_average * bytes_per_io) +
         ")";
}

std::optional<FinalFigures> parse_final_line(std::string_view output) {
  std::optional<FinalFigures> last;
  while (!output.empty()) {
    const auto end = output.find_first_of("\r\n");
    if (auto f = parse_one(output.substr(0, end))) last = f;
    if (end == std::string_view::npos) break;
    output.remove_prefix(end + 1);
  }
  return last;
}

std::string event_line(double seconds, std::string_view who, std::string_view type,
                       std::string_view detail) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "[%8.3f s] ", seconds);
  std::string line = stamp;
  line.append(who).append(": ").append(type);
  if (!detail.empty()) line.append(": ").append(detail);
  return line;
}

std::string verdict_line(const RunProblems& p) {
  if (p.clean()) return {};
  std::vector<std::string> parts;
  const auto count = [](std::uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  if (p.aborted) parts.push_back("aborted before its end");
  if (p.failed) parts.push_back(count(p.failed, "command failed", "commands failed"));
  if (p.unfinished) {
    char s[32];
    std::snprintf(s, sizeof s, "%.0f", p.drain_s);
    parts.push_back(count(p.unfinished, "command", "commands") + " unfinished " + s +
                    " s after the end");
  }
  if (p.conn_errors) {
    std::string c = count(p.conn_errors, "connection error", "connection errors");
    if (!p.first_conn_error.empty()) c += " (first " + p.first_conn_error + ")";
    parts.push_back(c);
  }
  if (p.recoveries) parts.push_back(count(p.recoveries, "session recovery", "session recoveries"));
  for (const auto& s : p.not_logged_in) parts.push_back("session " + s + " at the end");
  std::string line = "lab-iscsi-perf: run NOT clean: ";
  for (std::size_t i = 0; i < parts.size(); ++i) line += (i ? "; " : "") + parts[i];
  return line;
}

}  // namespace iscsi::cli
