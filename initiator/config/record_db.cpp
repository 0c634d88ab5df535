// The record database: paths, listing, and iscsiadm's new/update/delete/show on flat files.
#include "config/record_db.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

#include "config/atomic_file.hpp"

namespace iscsi::config {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kNodes = "nodes";
constexpr std::string_view kSendTargets = "send_targets";
constexpr std::string_view kIfaces = "ifaces";
constexpr std::string_view kStConfig = "st_config";
constexpr std::string_view kIsns = "isns";
constexpr std::string_view kIsnsConfig = "isns_config";

// The keys an iSNS discovery record holds (open-iscsi's idbm_recinfo_discovery for
// DISCOVERY_TYPE_ISNS); SendTargets records hold every other discovery key.
bool isns_record_key(std::string_view key) {
  return key == "discovery.startup" || key == "discovery.type" ||
         key == "discovery.sendtargets.address" || key == "discovery.sendtargets.port" ||
         key.starts_with("discovery.isns.");
}
bool kind_holds(DiscoveryKind kind, std::string_view key) {
  if (kind == DiscoveryKind::isns) return isns_record_key(key);
  return !key.starts_with("discovery.isns.");
}
SettingMap only_kind(const SettingMap& settings, DiscoveryKind kind) {
  SettingMap out;
  for (const auto& [info, value] : settings.entries()) {
    if (info->scope == Scope::discovery && kind_holds(kind, info->key))
      out.set_canonical(*info, *value);
  }
  return out;
}

Diagnostic bad_id(std::string_view what, std::string_view value, std::string_view why) {
  std::string shown(value.substr(0, 80));
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  return {{}, 0, make_error_code(Errc::invalid_record_id),
          std::string(what) + " '" + shown + "' " + std::string(why)};
}

// A name that becomes one path component: no separators, no "." or "..", nothing hidden (temp
// files start with '.'), no commas where the portal form uses them.
std::optional<Diagnostic> check_component(std::string_view what, std::string_view value,
                                          bool allow_comma = true) {
  if (value.empty()) return bad_id(what, value, "is empty");
  if (value.size() > 223) return bad_id(what, value, "is longer than 223 bytes");
  if (value.front() == '.') return bad_id(what, value, "starts with '.'");
  for (char c : value) {
    if (c == '/' || c == '\0' || static_cast<unsigned char>(c) < 0x20)
      return bad_id(what, value, "contains '/' or a control character");
    if (c == ',' && !allow_comma) return bad_id(what, value, "contains ','");
  }
  return std::nullopt;
}

std::string portal_dir(std::string_view address, std::uint16_t port) {
  return std::string(address) + ',' + std::to_string(port);
}

template <class T>
bool parse_number(std::string_view s, T& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

// "<address>,<port>" or "<address>,<port>,<tpgt>" (split from the right: IPv6 has no commas,
// but hostnames are opaque to us).
bool parse_portal(std::string_view name, std::string& address, std::uint16_t& port, int* tpgt) {
  if (tpgt) {
    const std::size_t comma = name.rfind(',');
    if (comma == std::string_view::npos || !parse_number(name.substr(comma + 1), *tpgt))
      return false;
    name = name.substr(0, comma);
  }
  const std::size_t comma = name.rfind(',');
  if (comma == std::string_view::npos || comma == 0 ||
      !parse_number(name.substr(comma + 1), port))
    return false;
  address = std::string(name.substr(0, comma));
  return true;
}

// Entries of a directory that are not hidden; a missing directory is an empty list.
Checked<std::vector<fs::directory_entry>> entries_of(const fs::path& dir) {
  std::vector<fs::directory_entry> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return Diagnostic{dir.string(), 0, make_error_code(Errc::io_error),
                      "cannot list: " + ec.message()};
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    if (!name.empty() && name.front() != '.') out.push_back(*it);
  }
  if (ec)
    return Diagnostic{dir.string(), 0, make_error_code(Errc::io_error),
                      "cannot list: " + ec.message()};
  return out;
}

// The non-throwing forms: a file vanishing under a listing is not an exception.
bool is_dir(const fs::directory_entry& e) {
  std::error_code ec;
  return e.is_directory(ec);
}
bool is_file(const fs::directory_entry& e) {
  std::error_code ec;
  return e.is_regular_file(ec);
}

void remove_if_empty(const fs::path& dir) { ::rmdir(dir.c_str()); }  // ENOTEMPTY is fine

Status unlink_record(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT)
      return Diagnostic{path.string(), 0, make_error_code(Errc::record_not_found),
                        "no such record"};
    return Diagnostic{path.string(), 0, make_error_code(Errc::io_error),
                      std::string("cannot delete: ") + std::strerror(errno)};
  }
  return ok_status();
}

void force_identity(SettingMap& settings, const NodeId& id) {
  (void)settings.set("node.name", id.target);
  (void)settings.set("node.tpgt", std::to_string(id.tpgt));
  (void)settings.set("node.conn[0].address", id.address);
  (void)settings.set("node.conn[0].port", std::to_string(id.port));
  (void)settings.set("iface.iscsi_ifacename", id.iface);
}

void force_identity(SettingMap& settings, const DiscoveryId& id) {
  (void)settings.set("discovery.type", to_string(id.kind));
  (void)settings.set("discovery.sendtargets.address", id.address);
  (void)settings.set("discovery.sendtargets.port", std::to_string(id.port));
}

}  // namespace

std::string_view to_string(DiscoveryKind k) noexcept {
  return k == DiscoveryKind::isns ? "isns" : "sendtargets";
}
std::string_view node_discovery_type(DiscoveryKind k) noexcept {
  return k == DiscoveryKind::isns ? "isns" : "send_targets";
}

std::string NodeId::to_string() const {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ':' + std::to_string(port) + ',' +
         std::to_string(tpgt) + ' ' + target;
}

std::string DiscoveryId::to_string() const {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ':' + std::to_string(port);
}

RecordDb::RecordDb(fs::path root) : root_(std::move(root)) {}

Checked<fs::path> RecordDb::node_path(const NodeId& id) const {
  if (auto d = check_component("target name", id.target)) return *d;
  if (auto d = check_component("portal address", id.address, false)) return *d;
  if (auto d = check_component("iface name", id.iface)) return *d;
  if (id.tpgt < -1 || id.tpgt > 65535 || id.port == 0)
    return bad_id("portal", id.to_string(), "has a port or tpgt out of range");
  return root_ / kNodes / id.target /
         (portal_dir(id.address, id.port) + ',' + std::to_string(id.tpgt)) / id.iface;
}

Checked<fs::path> RecordDb::discovery_path(const DiscoveryId& id) const {
  if (auto d = check_component("portal address", id.address, false)) return *d;
  if (id.port == 0) return bad_id("portal", id.to_string(), "has port 0");
  if (id.kind == DiscoveryKind::isns) return root_ / kIsns / portal_dir(id.address, id.port) / kIsnsConfig;
  return root_ / kSendTargets / portal_dir(id.address, id.port) / kStConfig;
}

Checked<fs::path> RecordDb::iface_path(std::string_view name) const {
  if (auto d = check_component("iface name", name)) return *d;
  return root_ / kIfaces / std::string(name);
}

Checked<SettingMap> RecordDb::read_record(const fs::path& path, RecordKind kind) const {
  auto text = read_text_file(path);
  if (!text) return text.diagnostics();
  auto parsed = parse_record(*text, kind, path.string());
  if (!parsed) return parsed.diagnostics();
  return std::move(parsed->settings);
}

Status RecordDb::write_record(const fs::path& path, const SettingMap& settings, RecordKind kind) {
  if (auto made = make_directories(path.parent_path()); !made) return made;
  const std::string text = format_record(settings, kind);
  return write_file_atomic(path, text, 0600);
}

Status RecordDb::update_record(const fs::path& path, RecordKind kind, std::string_view key,
                               std::string_view value) {
  const SettingInfo* info = find_setting(key);
  if (!info)
    return Diagnostic{{}, 0, make_error_code(Errc::unknown_setting), unknown_setting_message(key)};
  if (!record_holds(kind, info->scope))
    return Diagnostic{{}, 0, make_error_code(Errc::wrong_scope),
                      std::string(key) + " is a " + std::string(to_string(info->scope)) +
                          " setting and cannot be set in a " + std::string(to_string(kind)) +
                          " record"};
  if (info->identity)
    return Diagnostic{{}, 0, make_error_code(Errc::read_only_setting),
                      std::string(key) +
                          " names the record; delete it and make a new one instead"};
  auto settings = read_record(path, kind);
  if (!settings) return settings.diagnostics();
  if (auto problem = settings->set(key, value)) return *problem;
  return write_record(path, *settings, kind);
}

// --- nodes -----------------------------------------------------------------------------------------

Checked<std::vector<NodeId>> RecordDb::list_nodes() const {
  std::vector<NodeId> out;
  auto targets = entries_of(root_ / kNodes);
  if (!targets) return targets.diagnostics();
  for (const auto& target : *targets) {
    auto portals = entries_of(target.path());
    if (!portals) return portals.diagnostics();
    for (const auto& portal : *portals) {
      NodeId id;
      id.target = target.path().filename().string();
      // open-iscsi's pre-iface layout (the portal is itself the record file) is skipped.
      if (!is_dir(portal) ||
          !parse_portal(portal.path().filename().string(), id.address, id.port, &id.tpgt))
        continue;
      auto ifaces = entries_of(portal.path());
      if (!ifaces) return ifaces.diagnostics();
      for (const auto& iface : *ifaces) {
        if (!is_file(iface)) continue;
        id.iface = iface.path().filename().string();
        out.push_back(id);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Checked<SettingMap> RecordDb::read_node(const NodeId& id) const {
  auto path = node_path(id);
  if (!path) return path.diagnostics();
  return read_record(*path, RecordKind::node);
}

Status RecordDb::new_node(const NodeId& id, const SettingMap& base) {
  auto path = node_path(id);
  if (!path) return path.diagnostics();
  SettingMap record = defaults_for({Scope::node, Scope::iface});
  record.merge_from(base.only({Scope::node, Scope::iface}));
  if (id.iface != kDefaultIface) {
    auto iface = read_iface(id.iface);
    if (!iface) return iface.diagnostics();
    record.merge_from(*iface);
  }
  force_identity(record, id);
  return write_record(*path, record, RecordKind::node);
}

Status RecordDb::write_node(const NodeId& id, const SettingMap& settings) {
  auto path = node_path(id);
  if (!path) return path.diagnostics();
  SettingMap record = settings.only({Scope::node, Scope::iface});
  force_identity(record, id);
  return write_record(*path, record, RecordKind::node);
}

Status RecordDb::update_node(const NodeId& id, std::string_view key, std::string_view value) {
  auto path = node_path(id);
  if (!path) return path.diagnostics();
  return update_record(*path, RecordKind::node, key, value);
}

Status RecordDb::delete_node(const NodeId& id) {
  auto path = node_path(id);
  if (!path) return path.diagnostics();
  if (auto st = unlink_record(*path); !st) return st;
  remove_if_empty(path->parent_path());
  remove_if_empty(path->parent_path().parent_path());
  return ok_status();
}

Checked<std::string> RecordDb::show_node(const NodeId& id, bool show_secrets) const {
  auto settings = read_node(id);
  if (!settings) return settings.diagnostics();
  return format_record(*settings, RecordKind::node, {.show_secrets = show_secrets});
}

// --- discovery -------------------------------------------------------------------------------------

Checked<std::vector<DiscoveryId>> RecordDb::list_discovery() const {
  std::vector<DiscoveryId> out;
  for (const DiscoveryKind kind : {DiscoveryKind::sendtargets, DiscoveryKind::isns}) {
    const bool isns = kind == DiscoveryKind::isns;
    auto portals = entries_of(root_ / (isns ? kIsns : kSendTargets));
    if (!portals) return portals.diagnostics();
    std::vector<DiscoveryId> these;
    for (const auto& portal : *portals) {
      DiscoveryId id;
      id.kind = kind;
      // open-iscsi before 2.0-872 kept node links ("<target>,<ip>,<port>,<tpgt>,<iface>") right
      // in isns/: not directories, so skipped here.
      if (!is_dir(portal) ||
          !parse_portal(portal.path().filename().string(), id.address, id.port, nullptr))
        continue;
      std::error_code ec;
      if (fs::is_regular_file(portal.path() / (isns ? kIsnsConfig : kStConfig), ec))
        these.push_back(id);
    }
    std::sort(these.begin(), these.end());
    out.insert(out.end(), these.begin(), these.end());
  }
  return out;
}

Checked<SettingMap> RecordDb::read_discovery(const DiscoveryId& id) const {
  auto path = discovery_path(id);
  if (!path) return path.diagnostics();
  return read_record(*path, RecordKind::discovery);
}

Status RecordDb::new_discovery(const DiscoveryId& id, const SettingMap& base) {
  auto path = discovery_path(id);
  if (!path) return path.diagnostics();
  SettingMap record = only_kind(defaults_for({Scope::discovery}), id.kind);
  if (id.kind == DiscoveryKind::isns) {
    // Not written by default to a SendTargets record, always to an iSNS one.
    for (std::string_view key : {"discovery.isns.use_discoveryd", "discovery.isns.discoveryd_poll_inval"})
      (void)record.set(key, find_setting(key)->default_value);
  }
  record.merge_from(only_kind(base, id.kind));
  force_identity(record, id);
  return write_record(*path, record, RecordKind::discovery);
}

Status RecordDb::update_discovery(const DiscoveryId& id, std::string_view key,
                                  std::string_view value) {
  auto path = discovery_path(id);
  if (!path) return path.diagnostics();
  if (const SettingInfo* info = find_setting(key);
      info != nullptr && info->scope == Scope::discovery && !kind_holds(id.kind, key)) {
    return Diagnostic{{}, 0, make_error_code(Errc::wrong_scope),
                      std::string(key) + " cannot be set in " +
                          (id.kind == DiscoveryKind::isns
                               ? "an iSNS discovery record (it holds discovery.startup and "
                                 "discovery.isns.*)"
                               : "a SendTargets discovery record (discovery.isns.* belong in "
                                 "iSNS ones)")};
  }
  return update_record(*path, RecordKind::discovery, key, value);
}

Status RecordDb::delete_discovery(const DiscoveryId& id) {
  auto path = discovery_path(id);
  if (!path) return path.diagnostics();
  if (auto st = unlink_record(*path); !st) return st;
  remove_if_empty(path->parent_path());
  // The node records this portal (or server) reported go with it (iscsiadm -m discoverydb -o
  // delete).
  auto nodes = list_nodes();
  if (!nodes) return nodes.diagnostics();
  for (const NodeId& node : *nodes) {
    auto settings = read_node(node);
    if (!settings) continue;  // a damaged record is left for the user to look at
    if (settings->get_or_default("node.discovery_type") == node_discovery_type(id.kind) &&
        settings->get_or_default("node.discovery_address") == id.address &&
        settings->get_or_default("node.discovery_port") == std::to_string(id.port)) {
      if (auto st = delete_node(node); !st) return st;
    }
  }
  return ok_status();
}

Checked<std::string> RecordDb::show_discovery(const DiscoveryId& id, bool show_secrets) const {
  auto settings = read_discovery(id);
  if (!settings) return settings.diagnostics();
  return format_record(*settings, RecordKind::discovery, {.show_secrets = show_secrets});
}

// --- ifaces ----------------------------------------------------------------------------------------

Checked<std::vector<std::string>> RecordDb::list_ifaces() const {
  std::vector<std::string> out;
  auto files = entries_of(root_ / kIfaces);
  if (!files) return files.diagnostics();
  for (const auto& f : *files)
    if (is_file(f)) out.push_back(f.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

Checked<SettingMap> RecordDb::read_iface(std::string_view name) const {
  if (name == kDefaultIface) return defaults_for({Scope::iface});
  auto path = iface_path(name);
  if (!path) return path.diagnostics();
  return read_record(*path, RecordKind::iface);
}

Status RecordDb::new_iface(std::string_view name, const SettingMap& base) {
  if (name == kDefaultIface)
    return bad_id("iface name", name, "is built in and cannot be stored");
  auto path = iface_path(name);
  if (!path) return path.diagnostics();
  SettingMap record = defaults_for({Scope::iface});
  record.merge_from(base.only({Scope::iface}));
  (void)record.set("iface.iscsi_ifacename", name);
  return write_record(*path, record, RecordKind::iface);
}

Status RecordDb::update_iface(std::string_view name, std::string_view key,
                              std::string_view value) {
  if (name == kDefaultIface)
    return bad_id("iface name", name, "is built in and cannot be changed");
  auto path = iface_path(name);
  if (!path) return path.diagnostics();
  return update_record(*path, RecordKind::iface, key, value);
}

Status RecordDb::delete_iface(std::string_view name) {
  if (name == kDefaultIface)
    return bad_id("iface name", name, "is built in and cannot be deleted");
  auto path = iface_path(name);
  if (!path) return path.diagnostics();
  return unlink_record(*path);
}

Checked<std::string> RecordDb::show_iface(std::string_view name, bool show_secrets) const {
  auto settings = read_iface(name);
  if (!settings) return settings.diagnostics();
  return format_record(*settings, RecordKind::iface, {.show_secrets = show_secrets});
}

}  // namespace iscsi::config
