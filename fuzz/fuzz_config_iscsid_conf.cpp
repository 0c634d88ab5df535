// libFuzzer target: the iscsid.conf parser (config::parse_iscsid_conf) on arbitrary text, then
// the layering into a typed NodeSettings. Invariants: every accepted value is already canonical
// (normalizing it again changes nothing); the node keys it holds, written as a record, read back
// to the same settings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/files.hpp"
#include "config/node_settings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace iscsi::config;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto conf = parse_iscsid_conf(text, "fuzz.conf");
  if (!conf) {
    if (conf.diagnostics().empty()) std::abort();
    for (const auto& d : conf.diagnostics())
      if (!d.code || d.line == 0 || d.to_string().empty()) std::abort();
    return 0;
  }
  for (const auto& [info, value] : conf->entries()) {
    const auto again = normalize_value(*info, *value);
    if (again.error || again.value != *value) std::abort();
  }
  const SettingMap node = conf->only({Scope::node});
  const std::string record = format_record(node, RecordKind::node);
  auto back = parse_record(record, RecordKind::node, "fuzz.rec");
  if (!back || !(back->settings == node)) std::abort();
  (void)resolve_node_settings({.iscsid_conf = &*conf, .initiator_name = "iqn.2026-11.org.x:y"});
  (void)resolve_discovery_settings({.iscsid_conf = &*conf, .initiator_name = "iqn.2026-11.org.x:y"});
  return 0;
}
