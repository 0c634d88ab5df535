// open-iscsi's text files: iscsid.conf ("key = value" lines with comments), initiatorname.iscsi
// ("InitiatorName=iqn..."), and the flat-file records of its database, framed by
// "# BEGIN RECORD <version>" / "# END RECORD". Parsers take the text and the file's name (for
// messages) and report every problem as "file:line: what was expected"; printers produce the
// bytes the parsers read back unchanged.
#pragma once

#include <string>
#include <string_view>

#include "config/settings.hpp"

namespace iscsi::config {

// The record version we write: the open-iscsi release whose layout we follow. Readers (ours and
// open-iscsi's) do not interpret it.
inline constexpr std::string_view kRecordVersion = "2.1.8";
inline constexpr std::string_view kMasked = "********";

// node: nodes/<target>/<ip>,<port>,<tpgt>/<iface> (node.* and iface.* keys);
// discovery: send_targets/<ip>,<port>/st_config or isns/<ip>,<port>/isns_config (discovery.*);
// iface: ifaces/<name> (iface.*).
enum class RecordKind : std::uint8_t { node, discovery, iface };
std::string_view to_string(RecordKind k) noexcept;
bool record_holds(RecordKind kind, Scope scope) noexcept;

// iscsid.conf: blank lines and '#' comments; "key = value" with the value running to the end of
// the line (spaces kept inside, trimmed at both ends); a repeated key: the last one wins, as in
// open-iscsi. Keys are iscsid.*, node.* and discovery.* (not iface.*, not identity keys such as
// node.name). Every error is reported, each with its line.
Checked<SettingMap> parse_iscsid_conf(std::string_view text, std::string_view file_name);

struct ParsedRecord {
  std::string version;  // from "# BEGIN RECORD <version>"
  SettingMap settings;  // exactly the keys in the file
};
// A record: "# BEGIN RECORD <version>" first, "# END RECORD" last (a missing END means the file
// was cut short), "key = value" lines between, "<empty>" for an empty value.
Checked<ParsedRecord> parse_record(std::string_view text, RecordKind kind,
                                   std::string_view file_name);

struct FormatOptions {
  bool show_secrets = true;  // files hold secrets in clear (0600); `show` passes false
  std::string_view version = kRecordVersion;
};
// The record holding exactly `settings` (keys of other scopes are left out), in table order.
std::string format_record(const SettingMap& settings, RecordKind kind,
                          const FormatOptions& options = {});

struct InitiatorNameFile {
  std::string name;   // InitiatorName=
  std::string alias;  // InitiatorAlias= (optional)
};
// initiatorname.iscsi: '#' comments, "InitiatorName=<iSCSI name>", optional "InitiatorAlias=".
Checked<InitiatorNameFile> parse_initiatorname(std::string_view text, std::string_view file_name);
std::string format_initiatorname(const InitiatorNameFile& file);

}  // namespace iscsi::config
