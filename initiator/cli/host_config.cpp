#include "cli/host_config.hpp"

#include <system_error>

#include "config/atomic_file.hpp"
#include "config/files.hpp"

namespace iscsi::cli {

config::Checked<HostConfig> load_host_config(const std::filesystem::path& conf,
                                             const std::filesystem::path& initiatorname_file,
                                             std::string_view name_override) {
  HostConfig h;
  std::error_code ec;
  if (!conf.empty() && std::filesystem::exists(conf, ec)) {
    auto text = config::read_text_file(conf);
    if (!text) return text.diagnostics();
    auto parsed = config::parse_iscsid_conf(*text, conf.string());
    if (!parsed) return parsed.diagnostics();
    h.conf = std::move(*parsed);
  }
  if (!name_override.empty()) {
    h.initiator_name = std::string(name_override);
  } else if (!initiatorname_file.empty() && std::filesystem::exists(initiatorname_file, ec)) {
    auto text = config::read_text_file(initiatorname_file);
    auto parsed = text ? config::parse_initiatorname(*text, initiatorname_file.string())
                       : config::Checked<config::InitiatorNameFile>(text.diagnostics());
    if (parsed) {
      h.initiator_name = parsed->name;
      h.initiator_alias = parsed->alias;
    } else {
      h.warning = "ignoring " + initiatorname_file.string() + ": " + parsed.message();
    }
  }
  // No initiatorname.iscsi: the engine's default name, as lab-iscsi-perf uses one (open-iscsi's
  // package writes the file at install time; ours is optional).
  if (h.initiator_name.empty()) h.initiator_name = kDefaultInitiatorName;
  return h;
}

}  // namespace iscsi::cli
