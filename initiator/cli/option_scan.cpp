// The shared option tokenizer (see option_scan.hpp).
#include "cli/option_scan.hpp"

#include <charconv>
#include <optional>

#include "cli/cli_error.hpp"

namespace iscsi::cli {

namespace {

const OptionSpec* by_short(std::span<const OptionSpec> specs, char c) {
  for (const auto& s : specs) {
    if (s.short_name != 0 && s.short_name == c) return &s;
  }
  return nullptr;
}

const OptionSpec* by_long(std::span<const OptionSpec> specs, std::string_view n) {
  for (const auto& s : specs) {
    if (!s.long_name.empty() && s.long_name == n) return &s;
  }
  return nullptr;
}

}  // namespace

std::string option_name(const OptionSpec& s) {
  std::string out;
  if (s.short_name != 0) out = "-" + std::string(1, s.short_name);
  if (!s.long_name.empty()) {
    if (!out.empty()) out += '/';
    out += "--" + std::string(s.long_name);
  }
  return out;
}

long long option_number(const OptionSpec& s, std::string_view v, long long min, long long max,
                        std::string_view what) {
  long long n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || n < min || n > max) {
    throw UsageError(option_name(s) + ": expected " + std::string(what) + " (a whole number from " +
                     std::to_string(min) + " to " + std::to_string(max) + "), got '" +
                     std::string(v) + "'");
  }
  return n;
}

void scan_options(std::span<const std::string_view> args, std::span<const OptionSpec> specs,
                  const std::function<void(const OptionSpec&, std::string_view)>& on_option,
                  const std::function<void(std::string_view)>& on_positional) {
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (options_done || a.size() < 2 || a.front() != '-') {
      on_positional(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a.starts_with("--")) {
      std::string_view name = a.substr(2);
      std::optional<std::string_view> value;
      if (const auto eq = name.find('='); eq != std::string_view::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      const OptionSpec* s = by_long(specs, name);
      if (s == nullptr) throw UsageError("unknown option '--" + std::string(name) + "'");
      if (s->takes_value && !value) {
        if (i + 1 == args.size()) throw UsageError(option_name(*s) + " needs a value");
        value = args[++i];
      } else if (!s->takes_value && value) {
        throw UsageError(option_name(*s) + " takes no value");
      }
      on_option(*s, value.value_or(""));
      continue;
    }
    // One or more short options; one that takes a value ends the group ("-m8" or "-m 8").
    for (std::size_t k = 1; k < a.size(); ++k) {
      const OptionSpec* s = by_short(specs, a[k]);
      if (s == nullptr) throw UsageError("unknown option '-" + std::string(1, a[k]) + "'");
      if (!s->takes_value) {
        on_option(*s, "");
        continue;
      }
      std::string_view value = a.substr(k + 1);
      if (value.empty()) {
        if (i + 1 == args.size()) throw UsageError(option_name(*s) + " needs a value");
        value = args[++i];
      }
      on_option(*s, value);
      break;
    }
  }
}

}  // namespace iscsi::cli
