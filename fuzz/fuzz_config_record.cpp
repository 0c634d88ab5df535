// libFuzzer target: the record parser (config::parse_record) for node, discovery and iface
// records (the first byte picks the kind). Invariants: an accepted record prints and re-reads to
// the same settings, and printing that again gives the same bytes; the masked `show` form also
// parses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace iscsi::config;
  if (size == 0) return 0;
  const RecordKind kind = data[0] % 3 == 0   ? RecordKind::node
                          : data[0] % 3 == 1 ? RecordKind::discovery
                                             : RecordKind::iface;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto parsed = parse_record(text, kind, "fuzz.rec");
  if (!parsed) {
    if (parsed.diagnostics().empty()) std::abort();
    return 0;
  }
  const std::string printed = format_record(parsed->settings, kind);
  auto back = parse_record(printed, kind, "fuzz.rec");
  if (!back || !(back->settings == parsed->settings)) std::abort();
  if (format_record(back->settings, kind) != printed) std::abort();
  const std::string shown = format_record(parsed->settings, kind, {.show_secrets = false});
  if (!parse_record(shown, kind, "fuzz.show")) std::abort();
  return 0;
}
