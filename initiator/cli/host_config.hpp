// The two files iscsid and iscsiadm both read: iscsid.conf (the defaults new records start from
// and sessions fall back to) and initiatorname.iscsi (our iSCSI name). lab-iscsiadm and
// lab-iscsid read them from the same root, so both agree on what a login uses.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "config/settings.hpp"

namespace iscsi::cli {

inline constexpr std::string_view kDefaultInitiatorName = "iqn.2026-11.org.iscsi-lab:initiator";

struct HostConfig {
  config::SettingMap conf;          // empty when there is no iscsid.conf (open-iscsi defaults)
  std::string initiator_name;       // kDefaultInitiatorName when no file names one
  std::string initiator_alias;
  std::string warning;              // a problem that did not stop us (a bad initiatorname file)
};

// A missing file is no error; a malformed iscsid.conf is (file:line: what was expected).
config::Checked<HostConfig> load_host_config(const std::filesystem::path& conf,
                                             const std::filesystem::path& initiatorname_file,
                                             std::string_view name_override = {});

}  // namespace iscsi::cli
