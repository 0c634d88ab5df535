// open-iscsi's record database over a root directory (open-iscsi: /etc/iscsi; ours is a
// parameter, e.g. /var/lib/iscsi-lab), in its flat-file layout:
//   nodes/<target name>/<address>,<port>,<tpgt>/<iface name>    node record
//   send_targets/<address>,<port>/st_config                     SendTargets discovery record
//   isns/<address>,<port>/isns_config                           iSNS discovery record (server)
//   ifaces/<iface name>                                         iface record
// The operations are iscsiadm's -o new | update | delete | show for -m node, -m discoverydb and
// -m iface. Writes are atomic and 0600 (records hold CHAP secrets); directories are 0700.
// Not thread-safe; one writer at a time (open-iscsi takes a lock file for that; the CLI will).
#pragma once

#include <compare>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/files.hpp"
#include "config/settings.hpp"

namespace iscsi::config {

inline constexpr std::string_view kDefaultIface = "default";
// Our database root when the caller names none (open-iscsi's is /etc/iscsi; ours must not touch
// it, so a host with open-iscsi installed keeps its records).
inline constexpr std::string_view kDefaultRoot = "/var/lib/iscsi-lab";

struct NodeId {
  std::string target;          // node.name
  std::string address;         // node.conn[0].address (IPv6 without brackets, as open-iscsi)
  std::uint16_t port = 3260;   // node.conn[0].port
  int tpgt = 1;                // node.tpgt
  std::string iface = std::string(kDefaultIface);  // iface.iscsi_ifacename
  // iscsiadm's one-line form: "10.0.0.1:3260,1 iqn.2003-01.org.example:t1"
  std::string to_string() const;
  auto operator<=>(const NodeId&) const = default;
};

// discovery.type of a discovery record (the two kinds that keep one).
enum class DiscoveryKind : std::uint8_t { sendtargets, isns };
std::string_view to_string(DiscoveryKind k) noexcept;  // "sendtargets", "isns" (discovery.type)
// node.discovery_type of the node records a discovery of this kind writes
// ("send_targets", "isns").
std::string_view node_discovery_type(DiscoveryKind k) noexcept;
inline constexpr std::uint16_t kIsnsPort = 3205;

struct DiscoveryId {
  // discovery.sendtargets.address and .port; open-iscsi keeps an iSNS server's address in the
  // same two keys (its DISC_ISNS_ADDR is "discovery.sendtargets.address").
  std::string address;
  std::uint16_t port = 3260;
  DiscoveryKind kind = DiscoveryKind::sendtargets;
  std::string to_string() const;  // "10.0.0.1:3260"
  auto operator<=>(const DiscoveryId&) const = default;
};

class RecordDb {
 public:
  explicit RecordDb(std::filesystem::path root);
  const std::filesystem::path& root() const noexcept { return root_; }

  Checked<std::filesystem::path> node_path(const NodeId& id) const;
  Checked<std::filesystem::path> discovery_path(const DiscoveryId& id) const;
  Checked<std::filesystem::path> iface_path(std::string_view name) const;

  // --- -m node ---------------------------------------------------------------------------------
  Checked<std::vector<NodeId>> list_nodes() const;  // sorted; stray temp files skipped
  Checked<SettingMap> read_node(const NodeId& id) const;
  // -o new: defaults <- `base` (node/iface keys of iscsid.conf) <- the iface record named by
  // id.iface (if not "default") <- the identity keys from `id`. Overwrites an existing record.
  Status new_node(const NodeId& id, const SettingMap& base = {});
  // Writes `settings` as the whole record, with the identity keys forced from `id`.
  Status write_node(const NodeId& id, const SettingMap& settings);
  // -o update -n key -v value. Errors: unknown_setting, wrong_scope, read_only_setting,
  // invalid_value/out_of_range, record_not_found.
  Status update_node(const NodeId& id, std::string_view key, std::string_view value);
  Status delete_node(const NodeId& id);  // prunes the emptied portal and target directories
  // -o show: the record, secrets masked ("********") unless show_secrets (iscsiadm --show).
  Checked<std::string> show_node(const NodeId& id, bool show_secrets = false) const;

  // --- -m discoverydb -t sendtargets | isns ----------------------------------------------------
  // A SendTargets record holds every discovery.sendtargets.* key; an iSNS record, as open-iscsi
  // writes it, only discovery.startup, discovery.type, the server's address and port and the
  // discovery.isns.* keys (update refuses the others with the reason).
  Checked<std::vector<DiscoveryId>> list_discovery() const;  // SendTargets first, then iSNS
  Checked<SettingMap> read_discovery(const DiscoveryId& id) const;
  Status new_discovery(const DiscoveryId& id, const SettingMap& base = {});
  Status update_discovery(const DiscoveryId& id, std::string_view key, std::string_view value);
  // Also deletes the node records found through this portal (or iSNS server), as iscsiadm does.
  Status delete_discovery(const DiscoveryId& id);
  Checked<std::string> show_discovery(const DiscoveryId& id, bool show_secrets = false) const;

  // --- -m iface --------------------------------------------------------------------------------
  Checked<std::vector<std::string>> list_ifaces() const;
  Checked<SettingMap> read_iface(std::string_view name) const;  // "default": built-in values
  Status new_iface(std::string_view name, const SettingMap& base = {});
  Status update_iface(std::string_view name, std::string_view key, std::string_view value);
  Status delete_iface(std::string_view name);
  Checked<std::string> show_iface(std::string_view name, bool show_secrets = false) const;

 private:
  Checked<SettingMap> read_record(const std::filesystem::path& path, RecordKind kind) const;
  Status write_record(const std::filesystem::path& path, const SettingMap& settings,
                      RecordKind kind);
  Status update_record(const std::filesystem::path& path, RecordKind kind, std::string_view key,
                       std::string_view value);

  std::filesystem::path root_;
};

}  // namespace iscsi::config
