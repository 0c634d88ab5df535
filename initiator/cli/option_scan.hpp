// The command-line tokenizer shared by the front ends (lab-iscsi-perf, lab-iscsiadm, lab-iscsid):
// short and long options from a table, "-m 8", "-m8", "--max 8", "--max=8", grouped flags
// ("-rn"), "--" ending the options. Hand-written rather than getopt: getopt keeps global state,
// which makes a parser awkward to unit-test, and iscsiadm's repeated options (-o, -n/-v pairs)
// need every occurrence in order, which the callback gives.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace iscsi::cli {

struct OptionSpec {
  char short_name = 0;         // 0: long form only
  std::string_view long_name;  // empty: short form only
  bool takes_value = false;
  int id = 0;                  // the caller's enum value
};

// "-x/--long", "-x" or "--long", for messages.
std::string option_name(const OptionSpec& spec);

// Calls on_option(spec, value) for each option in order (value empty for flags) and
// on_positional(arg) for each other argument. Throws UsageError for an unknown option, a
// missing value or a value given to a flag.
void scan_options(std::span<const std::string_view> args, std::span<const OptionSpec> specs,
                  const std::function<void(const OptionSpec&, std::string_view)>& on_option,
                  const std::function<void(std::string_view)>& on_positional);

// A whole number in [min, max], or UsageError naming the option and `what` it expected.
long long option_number(const OptionSpec& spec, std::string_view value, long long min,
                        long long max, std::string_view what);

}  // namespace iscsi::cli
