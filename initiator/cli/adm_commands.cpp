// lab-iscsiadm's modes (see adm_commands.hpp).
#include "cli/adm_commands.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "cli/host_config.hpp"
#include "cli/iscsid_server.hpp"
#include "config/db_lock.hpp"
#include "config/node_settings.hpp"
#include "config/record_db.hpp"
#include "net/from_settings.hpp"
#include "net/errors.hpp"
#include "net/initiator.hpp"
#include "net/isns_client.hpp"

namespace iscsi::cli {

namespace {

constexpr std::string_view kProg = "lab-iscsiadm: ";

// -p as the user gave it: the host, and the port only if one was written.
struct PortalArg {
  std::string host;
  std::optional<std::uint16_t> port;
  std::uint16_t port_or_default() const { return port.value_or(3260); }
};

PortalArg portal_arg(const std::string& text) {
  const net::Portal p = net::Portal::parse(text);  // throws std::invalid_argument in words
  PortalArg a;
  a.host = p.host;
  std::string_view rest = text;
  if (const auto comma = rest.find(','); comma != std::string_view::npos) rest = rest.substr(0, comma);
  const auto bracket = rest.rfind(']');
  const auto colon = rest.rfind(':');
  const bool v6_bare = std::count(rest.begin(), rest.end(), ':') > 1 && bracket == std::string_view::npos;
  if (colon != std::string_view::npos && !v6_bare && (bracket == std::string_view::npos || colon > bracket)) {
    a.port = p.port;
  }
  return a;
}

class Adm {
 public:
  Adm(const AdmOptions& o, const DaemonCall& call, std::ostream& out, std::ostream& err)
      : o_(o), call_(call), out_(out), err_(err), db_(o.root) {}

  AdmStatus run() {
    switch (o_.mode) {
      case AdmMode::iface: return iface();
      case AdmMode::discoverydb: return discoverydb();
      case AdmMode::discovery: return discovery();
      case AdmMode::node: return node();
      case AdmMode::session: return session();
      case AdmMode::none: break;
    }
    return fail(AdmStatus::invalid, "no mode given");
  }

 private:
  AdmStatus fail(AdmStatus s, const std::string& message) {
    err_ << kProg << message << '\n';
    return s;
  }
  AdmStatus db_fail(const std::string& what, const std::string& message) {
    return fail(AdmStatus::database, what + ": " + message);
  }

  std::optional<config::DbLock> lock(AdmStatus& status) {
    auto l = config::DbLock::acquire(o_.root);
    if (!l) {
      status = db_fail("cannot change records", l.message());
      return std::nullopt;
    }
    return std::move(*l);
  }

  config::Checked<HostConfig> host() const {
    return load_host_config(std::filesystem::path(o_.root) / "iscsid.conf",
                            std::filesystem::path(o_.root) / "initiatorname.iscsi");
  }

  // The daemon's answer printed as it is; the status it carries.
  AdmStatus relay(const ControlMessage& answer) {
    if (auto v = answer.get("out")) out_ << *v;
    if (auto v = answer.get("err")) err_ << *v;
    int n = 1;
    const auto s = answer.get_or("status", "1");
    std::from_chars(s.data(), s.data() + s.size(), n);
    return adm_status_from(n);
  }

  std::optional<ControlMessage> ask(const ControlMessage& request, AdmStatus& status) {
    try {
      return call_(request);
    } catch (const std::exception& e) {
      err_ << kProg << "can not connect to iSCSI daemon: " << e.what() << '\n'
           << kProg << reported_error(AdmStatus::daemon_not_connected) << '\n';
      status = AdmStatus::daemon_not_connected;
      return std::nullopt;
    }
  }

  // --- -m iface -------------------------------------------------------------------------------
  AdmStatus iface() {
    const std::string name = o_.ifaces.empty() ? "" : o_.ifaces.front();
    if (o_.ops.empty() && name.empty()) {
      auto names = db_.list_ifaces();
      if (!names) return db_fail("cannot list ifaces", names.message());
      std::vector<std::string> all{std::string(config::kDefaultIface)};
      for (auto& n : *names) {
        if (n != config::kDefaultIface) all.push_back(n);
      }
      for (const auto& n : all) {
        auto rec = db_.read_iface(n);
        if (!rec) return db_fail("iface " + n, rec.message());
        auto field = [&](std::string_view key) {
          const std::string v(rec->get_or_default(key));
          return v.empty() ? std::string("<empty>") : v;
        };
        out_ << n << ' ' << field("iface.transport_name") << ',' << field("iface.hwaddress") << ','
             << field("iface.ipaddress") << ',' << field("iface.net_ifacename") << ','
             << field("iface.initiatorname") << '\n';
      }
      return AdmStatus::success;
    }
    if (name.empty()) return fail(AdmStatus::invalid, "-m iface -o needs -I <iface name>");
    const DbOp op = o_.ops.empty() ? DbOp::show : o_.ops.front();
    AdmStatus st = AdmStatus::success;
    if (op == DbOp::show) {
      auto text = db_.show_iface(name, o_.show_secrets);
      if (!text) return fail(AdmStatus::no_objects, "Could not read iface " + name + ": " + text.message());
      out_ << *text;
      return st;
    }
    auto l = lock(st);
    if (!l) return st;
    switch (op) {
      case DbOp::create:
        if (auto r = db_.new_iface(name); !r) return db_fail("Could not create new interface " + name, r.message());
        out_ << name << " added\n";
        break;
      case DbOp::remove:
        if (name == config::kDefaultIface) return fail(AdmStatus::invalid, "the default iface cannot be deleted");
        if (auto r = db_.delete_iface(name); !r) return db_fail("Could not delete iface " + name, r.message());
        out_ << name << " unbound and deleted.\n";
        break;
      case DbOp::update:
        if (o_.settings.empty()) return fail(AdmStatus::invalid, "-o update needs -n name -v value");
        for (const auto& kv : o_.settings) {
          if (auto r = db_.update_iface(name, kv.name, kv.value); !r)
            return fail(AdmStatus::invalid, "Could not update " + name + ": " + r.message());
        }
        out_ << name << " updated.\n";
        break;
      default:
        return fail(AdmStatus::invalid, "-m iface takes -o new, update, delete or show");
    }
    return st;
  }

  // --- -m discoverydb / -m discovery ----------------------------------------------------------
  bool isns_requested() const { return o_.type && *o_.type == DiscoveryType::isns; }

  // -p and -t as a discovery record's name: SendTargets portals default to port 3260, iSNS
  // servers to 3205.
  std::optional<config::DiscoveryId> discovery_id(AdmStatus& st) {
    if (!o_.portal) {
      st = fail(AdmStatus::invalid, "discovery needs -p ip[:port]");
      return std::nullopt;
    }
    try {
      const auto p = portal_arg(*o_.portal);
      if (isns_requested()) {
        return config::DiscoveryId{p.host, p.port.value_or(config::kIsnsPort), config::DiscoveryKind::isns};
      }
      return config::DiscoveryId{p.host, p.port_or_default(), config::DiscoveryKind::sendtargets};
    } catch (const std::exception& e) {
      st = fail(AdmStatus::invalid, "-p " + *o_.portal + ": " + e.what());
      return std::nullopt;
    }
  }

  // iscsiadm's exec_disc2_op: without --discover, -o new | update | delete | show on the record
  // (SendTargets: send_targets/<ip>,<port>/st_config; iSNS: isns/<ip>,<port>/isns_config);
  // with it, discovery through the record (made with defaults first unless -o nonpersistent).
  AdmStatus discoverydb() {
    if (!o_.type) return fail(AdmStatus::invalid, "-m discoverydb needs -t st or -t isns");
    AdmStatus st = AdmStatus::success;
    auto id = discovery_id(st);
    if (!id) return st;
    const std::string words = "[" + id->address + "," + std::to_string(id->port) + "]";
    if (!o_.discover) {
      const DbOp op = o_.ops.empty() ? DbOp::show : o_.ops.front();
      if (op == DbOp::show) {
        auto text = db_.show_discovery(*id, o_.show_secrets);
        if (!text) return fail(AdmStatus::no_objects, "Discovery record " + words + " not found.");
        out_ << *text;
        return st;
      }
      auto l = lock(st);
      if (!l) return st;
      auto h = host();
      if (!h) return fail(AdmStatus::invalid, h.message());
      if (op == DbOp::create) {
        if (auto r = db_.new_discovery(*id, h->conf); !r) return db_fail("Could not add new discovery record", r.message());
        out_ << "New discovery record for " << words << " added.\n";
      } else if (op == DbOp::update) {
        if (o_.settings.empty()) return fail(AdmStatus::invalid, "-o update needs -n name -v value");
        for (const auto& kv : o_.settings) {
          if (auto r = db_.update_discovery(*id, kv.name, kv.value); !r) {
            return fail(r.error() == make_error_code(config::Errc::record_not_found) ? AdmStatus::no_objects
                                                                                    : AdmStatus::invalid,
                        "Could not update discovery record " + words + ": " + r.message());
          }
        }
      } else if (op == DbOp::remove) {
        if (auto r = db_.delete_discovery(*id); !r) {
          return fail(AdmStatus::no_objects, "Could not delete discovery record " + words + ": " + r.message());
        }
      } else {
        return fail(AdmStatus::invalid, "-o nonpersistent is for --discover");
      }
      return st;
    }
    // --discover: the record's settings (made from iscsid.conf if there is none yet and the
    // discovery is persistent, as iscsiadm's exec_discover).
    config::SettingMap record;
    {
      auto l = lock(st);
      if (!l) return st;
      auto existing = db_.read_discovery(*id);
      if (!existing && !o_.has_op(DbOp::nonpersistent)) {
        auto h = host();
        if (!h) return fail(AdmStatus::invalid, h.message());
        if (auto r = db_.new_discovery(*id, h->conf); !r) return db_fail("Could not add new discovery record", r.message());
        existing = db_.read_discovery(*id);
        if (!existing) return db_fail("discovery record", existing.message());
      }
      if (existing) record = std::move(*existing);
    }
    if (id->kind == config::DiscoveryKind::isns) return isns_discovery(net::Portal{id->address, id->port});
    return run_discovery(*id, record, {});
  }

  AdmStatus discovery() {
    if (!o_.portal && !o_.type) return list_discovery();
    if (!o_.type) return fail(AdmStatus::invalid, "-m discovery -p needs -t st or -t isns");
    if (isns_requested()) {
      // Like iscsiadm's exec_disc_op: no discovery record is kept for -m discovery -t isns.
      if (!o_.portal) return fail(AdmStatus::invalid, "iSNS discovery needs -p <server>[:port]");
      net::Portal server;
      try {
        server = net::isns_server(*o_.portal);
      } catch (const std::exception& e) {
        return fail(AdmStatus::invalid, "-p " + *o_.portal + ": " + e.what());
      }
      return isns_discovery(server);
    }
    AdmStatus st = AdmStatus::success;
    auto id = discovery_id(st);
    if (!id) return st;
    // This mode uses iscsid.conf's discovery settings and writes them over the record.
    auto h = host();
    if (!h) return fail(AdmStatus::invalid, h.message());
    config::SettingMap record;
    if (!o_.has_op(DbOp::nonpersistent)) {
      auto l = lock(st);
      if (!l) return st;
      if (auto r = db_.new_discovery(*id, h->conf); !r) return db_fail("Could not add discovery record", r.message());
      auto rec = db_.read_discovery(*id);
      if (!rec) return db_fail("discovery record", rec.message());
      record = std::move(*rec);
    } else {
      record = h->conf.only({config::Scope::discovery});
    }
    return run_discovery(*id, record, o_.settings);
  }

  // DevAttrQry at the iSNS server (port 3205 unless -p names one) as our initiator name; the
  // targets it shows us go through the same node database steps as a SendTargets answer.
  AdmStatus isns_discovery(const net::Portal& server) {
    auto h = host();
    if (!h) return fail(AdmStatus::invalid, h.message());
    std::vector<text::DiscoveredTarget> found;
    try {
      found = net::isns_discover(server, h->initiator_name);
    } catch (const std::exception& e) {
      const auto* ne = dynamic_cast<const net::NetError*>(&e);
      const AdmStatus s = ne != nullptr && ne->errc() == net::Errc::connect_failed ? AdmStatus::isns_unavailable
                                                                                  : AdmStatus::isns_query;
      return fail(s, std::string("Could not perform iSNS discovery: ") + e.what());
    }
    return apply_discovery({server.host, server.port, config::DiscoveryKind::isns}, found, o_.settings, *h);
  }

  // iscsiadm -m discovery with no -p: every discovery record (idbm_print_all_discovery).
  AdmStatus list_discovery() {
    auto ids = db_.list_discovery();
    if (!ids) return db_fail("cannot list discovery records", ids.message());
    if (o_.print_level.value_or(0) == 0) {
      if (ids->empty()) return fail(AdmStatus::no_objects, "No discovery found.");
      for (const auto& id : *ids) out_ << id.to_string() << " via " << config::to_string(id.kind) << '\n';
      return AdmStatus::success;
    }
    auto nodes = db_.list_nodes();
    if (!nodes) return db_fail("cannot list node records", nodes.message());
    // The node records a discovery of `kind` wrote; `from`: only those from that server.
    auto reported = [&](config::DiscoveryKind kind, const config::DiscoveryId* from) {
      std::vector<config::NodeId> out;
      for (const auto& n : *nodes) {
        auto rec = db_.read_node(n);
        if (!rec || rec->get_or_default("node.discovery_type") != config::node_discovery_type(kind)) continue;
        if (from != nullptr && (rec->get_or_default("node.discovery_address") != from->address ||
                                rec->get_or_default("node.discovery_port") != std::to_string(from->port))) {
          continue;
        }
        out.push_back(n);
      }
      return out;
    };
    for (const auto kind : {config::DiscoveryKind::sendtargets, config::DiscoveryKind::isns}) {
      out_ << (kind == config::DiscoveryKind::isns ? "iSNS:\n" : "SENDTARGETS:\n");
      bool any = false;
      for (const auto& id : *ids) {
        if (id.kind != kind) continue;
        any = true;
        out_ << "DiscoveryAddress: " << id.address << ',' << id.port << '\n';
        print_tree(reported(kind, &id));
      }
      if (!any && kind == config::DiscoveryKind::isns) {
        // No server record (-m discovery -t isns keeps none): its node records, as iscsiadm
        // lists those of tools that kept no server record.
        const auto loose = reported(kind, nullptr);
        any = !loose.empty();
        print_tree(loose);
      }
      if (!any) out_ << "No targets found.\n";
    }
    out_ << "STATIC:\nNo targets found.\nFIRMWARE:\nNo targets found.\n";
    return AdmStatus::success;
  }

  void print_tree(const std::vector<config::NodeId>& nodes) {
    std::string last_target, last_portal;
    for (const auto& n : nodes) {
      if (n.target != last_target) {
        out_ << "Target: " << n.target << '\n';
        last_target = n.target;
        last_portal.clear();
      }
      const std::string portal = portal_text(n.address, n.port, n.tpgt);
      if (portal != last_portal) {
        out_ << "\tPortal: " << portal << '\n';
        last_portal = portal;
      }
      out_ << "\t\tIface Name: " << n.iface << '\n';
    }
  }

  // SendTargets through `id` with the discovery record's settings, then iscsiadm's node
  // database steps (-o new/update/delete/nonpersistent; all but nonpersistent when none given),
  // the listing, and --login.
  AdmStatus run_discovery(const config::DiscoveryId& id, const config::SettingMap& record,
                          const std::vector<config::Override>& node_overrides) {
    auto h = host();
    if (!h) return fail(AdmStatus::invalid, h.message());
    if (!h->warning.empty()) err_ << kProg << h->warning << '\n';
    config::SettingSources sources;
    sources.iscsid_conf = &h->conf;
    sources.record = &record;
    sources.initiator_name = h->initiator_name;
    sources.initiator_alias = h->initiator_alias;
    auto settings = config::resolve_discovery_settings(sources);
    if (!settings) return fail(AdmStatus::invalid, settings.message());
    std::vector<text::DiscoveredTarget> found;
    try {
      net::Initiator ini;
      found = ini.discover(net::Portal{id.address, id.port}, net::discovery_options_from(*settings));
    } catch (const std::exception& e) {
      const AdmStatus s = status_for_error(e);
      err_ << kProg << "Could not perform SendTargets discovery: " << e.what() << '\n';
      return s;
    }
    return apply_discovery(id, found, node_overrides, *h);
  }

  // iscsiadm's node database steps for a discovery answer from `id` (a SendTargets portal or an
  // iSNS server; its kind gives node.discovery_type), then the listing and --login. `h`: the
  // iscsid.conf and initiator name the caller already read.
  AdmStatus apply_discovery(const config::DiscoveryId& id,
                            const std::vector<text::DiscoveredTarget>& found,
                            const std::vector<config::Override>& node_overrides, const HostConfig& h) {
    // The node records this answer stands for, one per portal and iface.
    const std::vector<std::string> ifaces =
        o_.ifaces.empty() ? std::vector<std::string>{std::string(config::kDefaultIface)} : o_.ifaces;
    std::vector<config::NodeId> nodes;
    for (const auto& t : found) {
      for (const auto& a : t.addresses) {
        for (const auto& iface : ifaces) {
          config::NodeId n;
          n.target = t.name;
          n.address = a.host;
          n.port = a.port;
          n.tpgt = a.has_group_tag ? a.portal_group_tag : 1;
          n.iface = iface;
          nodes.push_back(std::move(n));
        }
      }
    }
    const std::string type(config::node_discovery_type(id.kind));
    const bool persistent = !o_.has_op(DbOp::nonpersistent);
    config::SettingMap base;
    if (persistent || o_.login) {
      base = h.conf.only({config::Scope::node, config::Scope::iface});
      (void)base.set("node.discovery_address", id.address);
      (void)base.set("node.discovery_port", std::to_string(id.port));
      (void)base.set("node.discovery_type", type);
      for (const auto& kv : node_overrides) {
        const auto* info = config::find_setting(kv.name);
        if (info == nullptr || (info->scope != config::Scope::node && info->scope != config::Scope::iface) ||
            info->identity) {
          return fail(AdmStatus::invalid, "-n " + kv.name + ": " +
                                              (info == nullptr ? config::unknown_setting_message(kv.name)
                                                               : std::string("not a node setting one may change")));
        }
        if (auto d = base.set(kv.name, kv.value)) return fail(AdmStatus::invalid, "-n " + kv.name + ": " + d->message);
      }
    }
    AdmStatus st = AdmStatus::success;
    if (persistent) {
      const bool all = o_.ops.empty();
      const bool op_new = all || o_.has_op(DbOp::create);
      const bool op_update = all || o_.has_op(DbOp::update);
      const bool op_delete = all || o_.has_op(DbOp::remove);
      auto l = lock(st);
      if (!l) return st;
      for (const auto& n : nodes) {
        const bool exists = static_cast<bool>(db_.read_node(n));
        if ((exists && !op_update) || (!exists && !op_new)) continue;
        if (auto r = db_.new_node(n, base); !r) {
          // A hostile or broken name from the network: refused, named, the rest still written.
          err_ << kProg << "not adding " << n.to_string() << ": " << r.message() << '\n';
          st = AdmStatus::database;
        }
      }
      if (op_delete) {
        auto known = db_.list_nodes();
        if (!known) return db_fail("cannot list node records", known.message());
        for (const auto& n : *known) {
          if (std::ranges::find(nodes, n) != nodes.end()) continue;
          auto rec = db_.read_node(n);
          if (!rec || rec->get_or_default("node.discovery_address") != id.address ||
              rec->get_or_default("node.discovery_port") != std::to_string(id.port) ||
              rec->get_or_default("node.discovery_type") != type) {
            continue;
          }
          if (auto r = db_.delete_node(n); !r) st = db_fail("cannot delete " + n.to_string(), r.message());
        }
      }
    }
    if (nodes.empty()) {
      err_ << kProg << "No portals found\n";
      return st == AdmStatus::success ? AdmStatus::no_objects : st;
    }
    if (o_.print_level.value_or(0) >= 1) {
      print_tree(nodes);
    } else {
      for (const auto& n : nodes) out_ << n.to_string() << '\n';
    }
    if (o_.login) {
      for (const auto& n : nodes) {
        config::SettingMap record_for_login;
        if (!persistent) {
          record_for_login = config::defaults_for({config::Scope::node, config::Scope::iface});
          record_for_login.merge_from(base);
        }
        const AdmStatus s = login(n, persistent ? nullptr : &record_for_login);
        if (s != AdmStatus::success) st = s;
      }
    }
    return st;
  }

  // --- logins and the daemon ------------------------------------------------------------------
  AdmStatus login(const config::NodeId& n, const config::SettingMap* nonpersistent_record) {
    ControlMessage req;
    req.add("op", "login").add("target", n.target).add("address", n.address);
    req.add("port", std::to_string(n.port)).add("tpgt", std::to_string(n.tpgt)).add("iface", n.iface);
    if (nonpersistent_record != nullptr) {
      for (const auto& [info, value] : nonpersistent_record->entries()) {
        req.add("setting", std::string(info->key) + "=" + *value);
      }
    }
    if (o_.no_wait) req.add("no_wait", "1");
    AdmStatus st = AdmStatus::success;
    auto answer = ask(req, st);
    if (!answer) return st;
    return relay(*answer);
  }

  ControlMessage filter_request(std::string_view op, const config::NodeId* node) const {
    ControlMessage req;
    req.add("op", std::string(op));
    if (node != nullptr) {
      req.add("target", node->target).add("address", node->address);
      req.add("port", std::to_string(node->port)).add("iface", node->iface);
    }
    return req;
  }

  // --- -m node --------------------------------------------------------------------------------
  struct NodeFilter {
    std::optional<std::string> target;
    std::optional<PortalArg> portal;
    std::optional<std::string> iface;
    bool matches(const config::NodeId& n) const {
      return (!target || *target == n.target) && (!portal || (portal->host == n.address &&
                                                               (!portal->port || *portal->port == n.port))) &&
             (!iface || *iface == n.iface);
    }
  };

  AdmStatus node() {
    NodeFilter f;
    f.target = o_.target;
    if (!o_.ifaces.empty()) f.iface = o_.ifaces.front();
    if (o_.portal) {
      try {
        f.portal = portal_arg(*o_.portal);
      } catch (const std::exception& e) {
        return fail(AdmStatus::invalid, "-p " + *o_.portal + ": " + e.what());
      }
    }
    if (o_.login_all) return login_all(*o_.login_all);
    if (o_.logout_all) return logout_all(*o_.logout_all);
    const DbOp op = o_.ops.empty() ? DbOp::show : o_.ops.front();
    if (op == DbOp::create) return node_new(f);
    auto ids = db_.list_nodes();
    if (!ids) return db_fail("cannot list node records", ids.message());
    std::vector<config::NodeId> chosen;
    for (const auto& n : *ids) {
      if (f.matches(n)) chosen.push_back(n);
    }
    if (chosen.empty()) return fail(AdmStatus::no_objects, "No records found");
    const bool filtered = f.target || f.portal || f.iface;
    if (o_.login) {
      AdmStatus st = AdmStatus::success;
      for (const auto& n : chosen) {
        if (const AdmStatus s = login(n, nullptr); s != AdmStatus::success) st = s;
      }
      if (st != AdmStatus::success && chosen.size() > 1) err_ << kProg << "Could not log into all portals\n";
      return st;
    }
    if (o_.logout || o_.rescan || o_.stats) {
      const std::string_view what = o_.logout ? "logout" : o_.rescan ? "rescan" : "stats";
      AdmStatus st = AdmStatus::success;
      for (const auto& n : chosen) {
        auto answer = ask(filter_request(what, &n), st);
        if (!answer) return st;
        if (const AdmStatus s = relay(*answer); s != AdmStatus::success) st = s;
      }
      return st;
    }
    switch (op) {
      case DbOp::show:
        if (!filtered && o_.ops.empty()) {
          if (o_.print_level.value_or(0) >= 1) {
            print_tree(chosen);
          } else {
            for (const auto& n : chosen) out_ << n.to_string() << '\n';
          }
          return AdmStatus::success;
        }
        for (const auto& n : chosen) {
          auto text = db_.show_node(n, o_.show_secrets);
          if (!text) return db_fail("cannot read " + n.to_string(), text.message());
          out_ << *text;
        }
        return AdmStatus::success;
      case DbOp::update: {
        if (o_.settings.empty()) return fail(AdmStatus::invalid, "-o update needs -n name -v value");
        AdmStatus st = AdmStatus::success;
        auto l = lock(st);
        if (!l) return st;
        for (const auto& n : chosen) {
          for (const auto& kv : o_.settings) {
            if (auto r = db_.update_node(n, kv.name, kv.value); !r) {
              return fail(AdmStatus::invalid, "Could not update " + n.to_string() + ": " + r.message());
            }
          }
        }
        return st;
      }
      case DbOp::remove: {
        AdmStatus st = AdmStatus::success;
        auto l = lock(st);
        if (!l) return st;
        for (const auto& n : chosen) {
          if (auto r = db_.delete_node(n); !r) return db_fail("Could not delete " + n.to_string(), r.message());
        }
        return st;
      }
      default:
        return fail(AdmStatus::invalid, "-m node takes -o new, update, delete or show");
    }
  }

  AdmStatus node_new(const NodeFilter& f) {
    if (!f.target || !f.portal) return fail(AdmStatus::invalid, "-o new needs -T <target> and -p <ip:port>");
    config::NodeId n;
    n.target = *f.target;
    n.address = f.portal->host;
    n.port = f.portal->port_or_default();
    n.iface = f.iface.value_or(std::string(config::kDefaultIface));
    n.tpgt = -1;  // unknown until a login says (open-iscsi writes -1 too)
    // A ",tpgt" on -p names it.
    if (const auto comma = o_.portal->rfind(','); comma != std::string::npos) {
      int t = -1;
      const auto tail = std::string_view(*o_.portal).substr(comma + 1);
      if (std::from_chars(tail.data(), tail.data() + tail.size(), t).ec == std::errc{}) n.tpgt = t;
    }
    auto h = host();
    if (!h) return fail(AdmStatus::invalid, h.message());
    AdmStatus st = AdmStatus::success;
    auto l = lock(st);
    if (!l) return st;
    if (auto r = db_.new_node(n, h->conf); !r) return db_fail("Could not create new node record", r.message());
    for (const auto& kv : o_.settings) {
      if (auto r = db_.update_node(n, kv.name, kv.value); !r) {
        (void)db_.delete_node(n);
        return fail(AdmStatus::invalid, "Could not create new node record: " + r.message());
      }
    }
    out_ << "New iSCSI node [tcp:[hw=,ip=,net_if=,iscsi_if=" << n.iface << "] " << n.address << ','
         << n.port << ',' << n.tpgt << ' ' << n.target << "] added\n";
    return st;
  }

  bool startup_matches(const config::NodeId& n, const std::string& which) {
    if (which == "all") return true;
    auto rec = db_.read_node(n);
    return rec && rec->get_or_default("node.startup") == which;
  }

  AdmStatus login_all(const std::string& which) {
    auto ids = db_.list_nodes();
    if (!ids) return db_fail("cannot list node records", ids.message());
    AdmStatus st = AdmStatus::success;
    bool any = false;
    for (const auto& n : *ids) {
      if (!startup_matches(n, which)) continue;
      any = true;
      const AdmStatus s = login(n, nullptr);
      if (s != AdmStatus::success && s != AdmStatus::session_exists) st = s;
    }
    if (!any) return fail(AdmStatus::no_objects, "No records found");
    if (st != AdmStatus::success) err_ << kProg << "Could not log into all portals\n";
    return st;
  }

  AdmStatus logout_all(const std::string& which) {
    AdmStatus st = AdmStatus::success;
    if (which == "all") {
      auto answer = ask(filter_request("logout", nullptr), st);
      return answer ? relay(*answer) : st;
    }
    auto ids = db_.list_nodes();
    if (!ids) return db_fail("cannot list node records", ids.message());
    bool any = false;
    for (const auto& n : *ids) {
      if (!startup_matches(n, which)) continue;
      auto answer = ask(filter_request("logout", &n), st);
      if (!answer) return st;
      if (answer->get_or("status", "1") == "21") continue;  // no session for this record
      any = true;
      if (const AdmStatus s = relay(*answer); s != AdmStatus::success) st = s;
    }
    if (!any && st == AdmStatus::success) return fail(AdmStatus::no_objects, "No matching sessions found");
    return st;
  }

  // --- -m session -----------------------------------------------------------------------------
  AdmStatus session() {
    const std::string_view op = o_.logout ? "logout" : o_.rescan ? "rescan" : o_.stats ? "stats" : "sessions";
    if (o_.login) return fail(AdmStatus::invalid, "-m session cannot log in; use -m node -l");
    ControlMessage req = filter_request(op, nullptr);
    if (o_.sid) req.add("sid", std::to_string(*o_.sid));
    req.add("print_level", std::to_string(o_.print_level.value_or(0)));
    AdmStatus st = AdmStatus::success;
    auto answer = ask(req, st);
    return answer ? relay(*answer) : st;
  }

  const AdmOptions& o_;
  const DaemonCall& call_;
  std::ostream& out_;
  std::ostream& err_;
  config::RecordDb db_;
};

}  // namespace

AdmStatus run_adm(const AdmOptions& options, const DaemonCall& call, std::ostream& out,
                  std::ostream& err) {
  try {
    return Adm(options, call, out, err).run();
  } catch (const std::exception& e) {
    err << kProg << e.what() << '\n';
    return AdmStatus::internal;
  }
}

}  // namespace iscsi::cli
