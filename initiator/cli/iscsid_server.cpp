// lab-iscsid's requests (see iscsid_server.hpp).
#include "cli/iscsid_server.hpp"

#include <algorithm>
#include <charconv>

#include "config/files.hpp"
#include "config/node_settings.hpp"
#include "net/errors.hpp"
#include "net/from_settings.hpp"
#include "net/isns_client.hpp"

namespace iscsi::cli {

struct IscsidServer::Answer {
  AdmStatus status = AdmStatus::success;
  std::string out, err;
  ControlMessage message() const {
    ControlMessage m;
    m.add("status", std::to_string(static_cast<int>(status)));
    if (!out.empty()) m.add("out", out);
    if (!err.empty()) m.add("err", err);
    return m;
  }
};

namespace {

constexpr std::string_view kProg = "lab-iscsiadm: ";

std::string node_words(const config::NodeId& id) {
  return "[iface: " + id.iface + ", target: " + id.target + ", portal: " + id.address + "," +
         std::to_string(id.port) + "]";
}

std::optional<std::uint64_t> number(std::string_view v) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size()) return std::nullopt;
  return n;
}


// "[sid: 1, target: iqn..., portal: 10.0.0.1,3260]" (iscsiadm's logout and rescan lines).
std::string session_words(std::uint32_t sid, const config::NodeId& n) {
  return "[sid: " + std::to_string(sid) + ", target: " + n.target + ", portal: " + n.address + "," +
         std::to_string(n.port) + "]";
}

std::vector<LunView> luns_of(const net::RescanReport& r) {
  std::vector<LunView> out;
  for (const auto& l : r.luns) {
    LunView v;
    v.lun = l.lun;
    v.device_type = l.inquiry.device_type;
    v.vendor = l.inquiry.vendor;
    v.product = l.inquiry.product;
    v.revision = l.inquiry.revision;
    v.blocks = l.capacity.blocks;
    v.block_length = l.capacity.block_length;
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

bool IscsidServer::Filter::matches(const Owned& o) const {
  return (!sid || *sid == o.sid) && (!target || *target == o.node.target) &&
         (!address || *address == o.node.address) && (!port || *port == o.node.port) &&
         (!iface || *iface == o.node.iface);
}

IscsidServer::IscsidServer(IscsidConfig config)
    : config_(std::move(config)),
      db_(config_.root),
      initiator_(net::InitiatorOptions{config_.log}) {}

IscsidServer::~IscsidServer() { logout_all(); }

void IscsidServer::log(const std::string& line) const {
  if (config_.log) config_.log(line);
}

std::size_t IscsidServer::session_count() const { return sessions_.size(); }

config::Checked<HostConfig> IscsidServer::host() const {
  auto h = load_host_config(config_.conf, config_.initiatorname_file, config_.initiator_name);
  if (h && !h->warning.empty()) log(h->warning);
  return h;
}

IscsidServer::Filter IscsidServer::filter_from(const ControlMessage& r, std::string& error) {
  Filter f;
  if (auto v = r.get("sid")) {
    auto n = number(*v);
    if (!n || *n == 0 || *n > 0x7fffffff) error = "sid '" + std::string(*v) + "' is not a session id";
    else f.sid = static_cast<std::uint32_t>(*n);
  }
  if (auto v = r.get("target")) f.target = std::string(*v);
  if (auto v = r.get("address")) f.address = std::string(*v);
  if (auto v = r.get("iface")) f.iface = std::string(*v);
  if (auto v = r.get("port")) {
    auto n = number(*v);
    if (!n || *n == 0 || *n > 65535) error = "port '" + std::string(*v) + "' is not a TCP port";
    else f.port = static_cast<std::uint16_t>(*n);
  }
  return f;
}

ControlMessage IscsidServer::handle(const ControlMessage& r) {
  const std::string op = r.get_or("op", "");
  std::string error;
  const Filter f = filter_from(r, error);
  if (!error.empty()) return Answer{AdmStatus::invalid, {}, std::string(kProg) + error + "\n"}.message();
  int level = 0;
  if (auto v = r.get("print_level")) level = static_cast<int>(number(*v).value_or(0) % 4);
  try {
    if (op == "ping") return Answer{}.message();
    if (op == "login") return login(r).message();
    if (op == "logout") return logout(f).message();
    if (op == "sessions") return sessions(f, level).message();
    if (op == "stats") return stats(f).message();
    if (op == "rescan") return rescan(f).message();
  } catch (const std::exception& e) {
    return Answer{status_for_error(e), {}, std::string(kProg) + e.what() + "\n"}.message();
  }
  return Answer{AdmStatus::invalid_request, {},
                std::string(kProg) + "unknown request '" + op + "' to lab-iscsid\n"}
      .message();
}

IscsidServer::Answer IscsidServer::login(const ControlMessage& r) {
  config::NodeId id;
  id.target = r.get_or("target", "");
  id.address = r.get_or("address", "");
  id.iface = r.get_or("iface", std::string(config::kDefaultIface));
  const auto port = number(r.get_or("port", "3260"));
  const auto tpgt = number(r.get_or("tpgt", "1"));
  if (id.target.empty() || id.address.empty() || !port || *port == 0 || *port > 65535 || !tpgt ||
      *tpgt > 65535) {
    return {AdmStatus::invalid, {}, std::string(kProg) + "login needs a target, a portal and a tpgt\n"};
  }
  id.port = static_cast<std::uint16_t>(*port);
  id.tpgt = static_cast<int>(*tpgt);
  // "setting" fields: the whole node record, from a discovery that stores nothing.
  std::optional<config::SettingMap> record;
  for (const auto& [k, v] : r.fields) {
    if (k != "setting") continue;
    if (!record) record.emplace();
    const auto eq = v.find('=');
    if (eq == std::string::npos) {
      return {AdmStatus::invalid, {}, std::string(kProg) + "setting without '=' in the login request\n"};
    }
    if (auto d = record->set(std::string_view(v).substr(0, eq), std::string_view(v).substr(eq + 1))) {
      return {AdmStatus::invalid, {}, std::string(kProg) + d->message + "\n"};
    }
  }
  if (r.get("no_wait")) {
    pending_.emplace_back(id, std::move(record));
    return {AdmStatus::success, "Logging in to " + node_words(id) + "\n", {}};
  }
  return login_node(id, record ? &*record : nullptr);
}

void IscsidServer::run_pending() {
  auto pending = std::exchange(pending_, {});
  for (auto& [id, record] : pending) {
    const auto a = login_node(id, record ? &*record : nullptr);
    log(a.status == AdmStatus::success ? "login to " + node_words(id) + ": done (no_wait)"
                                       : "login to " + node_words(id) + " (no_wait): " + a.err);
  }
}

IscsidServer::Answer IscsidServer::login_node(const config::NodeId& id, const config::SettingMap* given) {
  Answer a;
  const std::string words = node_words(id);
  for (const auto& o : sessions_) {
    if (o.node == id) {
      a.status = AdmStatus::session_exists;
      a.err = std::string(kProg) + id.iface + ": 1 session requested, but 1 already present.\n";
      return a;
    }
  }
  auto record = given != nullptr ? config::Checked<config::SettingMap>(*given) : db_.read_node(id);
  if (!record) {
    a.status = AdmStatus::no_objects;
    a.err = std::string(kProg) + "no record for " + words + ": " + record.message() + "\n";
    return a;
  }
  auto h = host();
  if (!h) {
    a.status = AdmStatus::invalid;
    a.err = std::string(kProg) + h.message() + "\n";
    return a;
  }
  config::SettingSources sources;
  sources.iscsid_conf = &h->conf;
  sources.record = &*record;
  sources.initiator_name = h->initiator_name;
  sources.initiator_alias = h->initiator_alias;
  auto settings = config::resolve_node_settings(sources);
  a.out = "Logging in to " + words + "\n";
  if (!settings) {
    a.status = AdmStatus::invalid;
    a.err = std::string(kProg) + "Could not login to " + words + ".\n" + std::string(kProg) +
            settings.message() + "\n";
    return a;
  }
  Owned o;
  o.node = id;
  o.options = net::session_options_from(*settings);
  o.initiator_name = o.options.initiator_name;
  try {
    o.session = initiator_.login(id.target, net::Portal{id.address, id.port}, o.options);
  } catch (const std::exception& e) {
    a.status = status_for_error(e);
    a.err = std::string(kProg) + "Could not login to " + words + ".\n" + std::string(kProg) +
            reported_error(a.status) + "\n" + std::string(kProg) + e.what() + "\n";
    log("login to " + words + " failed: " + e.what());
    return a;
  }
  try {
    o.luns = luns_of(o.session->rescan());
  } catch (const std::exception& e) {
    log("login to " + words + ": the first LUN scan failed: " + e.what());
  }
  o.sid = next_sid_++;
  log("session " + std::to_string(o.sid) + ": logged in to " + words);
  sessions_.push_back(std::move(o));
  a.out += "Login to " + words + " successful.\n";
  return a;
}

std::vector<IscsidServer::Owned*> IscsidServer::matching(const Filter& f) {
  std::vector<Owned*> out;
  for (auto& o : sessions_) {
    if (f.matches(o)) out.push_back(&o);
  }
  return out;
}

IscsidServer::Answer IscsidServer::no_match(AdmStatus status) {
  return {status, {}, std::string(kProg) + "No matching sessions found\n"};
}

IscsidServer::Answer IscsidServer::logout(const Filter& f) {
  Answer a;
  auto found = matching(f);
  if (found.empty()) return no_match(AdmStatus::no_objects);
  std::vector<std::uint32_t> gone;
  for (Owned* o : found) {
    const std::string words = session_words(o->sid, o->node);
    a.out += "Logging out of session " + words + "\n";
    try {
      o->session->logout();
      a.out += "Logout of " + words + " successful.\n";
    } catch (const std::exception& e) {
      // The session is gone either way (closed without a clean logout); say so, fail the run.
      a.status = AdmStatus::logout;
      a.err += std::string(kProg) + "Could not logout of " + words + ".\n" + std::string(kProg) +
               reported_error(a.status) + "\n" + std::string(kProg) + e.what() + "\n";
    }
    log("session " + std::to_string(o->sid) + ": logged out");
    gone.push_back(o->sid);
  }
  std::erase_if(sessions_, [&](const Owned& o) { return std::ranges::count(gone, o.sid) > 0; });
  return a;
}

SessionView IscsidServer::view_of(const Owned& o) const {
  SessionView v;
  v.sid = o.sid;
  v.target = o.node.target;
  v.address = o.node.address;
  v.port = o.node.port;
  const auto params = o.session->params();
  v.tpgt = params.target_portal_group_tag.value_or(static_cast<std::uint16_t>(o.node.tpgt));
  v.iface = o.node.iface;
  v.iface_ipaddress = o.options.source_address;
  v.iface_netdev = o.options.bind_device;
  v.initiator_name = o.initiator_name;
  v.session_state = o.session->state_name();
  v.replacement_timeout = static_cast<int>(o.options.replacement_timeout.count());
  v.tgt_reset_timeout = static_cast<int>(o.options.tgt_reset_timeout.count());
  v.lu_reset_timeout = static_cast<int>(o.options.lu_reset_timeout.count());
  v.abort_timeout = static_cast<int>(o.options.abort_timeout.count());
  v.chap_username = o.options.auth.username;
  v.chap_username_in = o.options.auth.username_in;
  v.params = params;
  v.luns = o.luns;
  v.stats = o.session->stats();
  return v;
}

IscsidServer::Answer IscsidServer::sessions(const Filter& f, int print_level) {
  Answer a;
  std::vector<SessionView> views;
  for (Owned* o : matching(f)) views.push_back(view_of(*o));
  if (views.empty()) {
    a.status = f.sid ? AdmStatus::session_not_found : AdmStatus::no_objects;
    a.err = f.sid ? std::string(kProg) + "Could not get session info for sid " + std::to_string(*f.sid) + "\n"
                  : std::string(kProg) + "No active sessions.\n";
    return a;
  }
  a.out = format_sessions(views, print_level);
  return a;
}

IscsidServer::Answer IscsidServer::stats(const Filter& f) {
  Answer a;
  for (Owned* o : matching(f)) a.out += format_session_stats(view_of(*o));
  return a.out.empty() ? no_match(AdmStatus::session_not_found) : a;
}

IscsidServer::Answer IscsidServer::rescan(const Filter& f) {
  Answer a;
  auto found = matching(f);
  if (found.empty()) return no_match(AdmStatus::session_not_found);
  for (Owned* o : found) {
    a.out += "Rescanning session " + session_words(o->sid, o->node) + "\n";
    try {
      const auto report = o->session->rescan();
      auto luns = luns_of(report);
      // What changed, one line each (open-iscsi leaves this to the kernel log).
      for (auto lun : report.added) a.out += "\tLUN " + std::to_string(lun) + " added\n";
      for (auto lun : report.removed) a.out += "\tLUN " + std::to_string(lun) + " removed\n";
      for (auto lun : report.resized) {
        for (const auto& l : luns) {
          if (l.lun == lun) a.out += "\tLUN " + std::to_string(lun) + " resized: " + format_lun(l) + "\n";
        }
      }
      o->luns = std::move(luns);
    } catch (const std::exception& e) {
      a.status = status_for_error(e);
      a.err += std::string(kProg) + "rescan of session " + std::to_string(o->sid) + " failed: " +
               e.what() + "\n";
    }
  }
  return a;
}

void IscsidServer::logout_all() {
  Filter any;
  if (!sessions_.empty()) (void)logout(any);
}

void IscsidServer::start_automatic() {
  auto nodes = db_.list_nodes();
  if (!nodes) {
    log("cannot list node records: " + nodes.message());
  } else {
    for (const auto& id : *nodes) {
      auto record = db_.read_node(id);
      if (!record) continue;
      const auto startup = record->get_or_default("node.startup");
      if (startup != "automatic" && startup != "onboot") continue;
      const auto a = login_node(id);
      log(a.status == AdmStatus::success ? "automatic login to " + node_words(id) + ": done"
                                         : "automatic login to " + node_words(id) + ": " + a.err);
    }
  }
  (void)poll_discovery(std::chrono::steady_clock::now());
}

std::chrono::milliseconds IscsidServer::poll_discovery(std::chrono::steady_clock::time_point now) {
  using namespace std::chrono;
  milliseconds next = minutes(1);
  auto records = db_.list_discovery();
  if (!records) return next;
  for (const auto& id : *records) {
    auto record = db_.read_discovery(id);
    const bool isns = id.kind == config::DiscoveryKind::isns;
    if (!record ||
        record->get_or_default(isns ? "discovery.isns.use_discoveryd" : "discovery.sendtargets.use_discoveryd") != "Yes") {
      continue;
    }
    // discoveryd_poll_inval: SendTargets 0..; iSNS -1 (open-iscsi: the server's SCNs, which we
    // do not take, so every 30 s as its SendTargets default) or 0 (once, at start).
    const std::string_view inval_text =
        record->get_or_default(isns ? "discovery.isns.discoveryd_poll_inval" : "discovery.sendtargets.discoveryd_poll_inval");
    const bool once = isns && inval_text == "0";
    const auto interval_s = number(inval_text);
    const seconds interval(std::max<std::uint64_t>(interval_s.value_or(30), 1));
    auto due = next_discovery_.find(id);
    if (due != next_discovery_.end() && (once || now < due->second)) {
      if (!once) next = std::min(next, duration_cast<milliseconds>(due->second - now) + milliseconds(1));
      continue;
    }
    next_discovery_[id] = now + interval;
    if (!once) next = std::min(next, duration_cast<milliseconds>(interval));
    auto h = host();
    if (!h) {
      log("discovery " + id.to_string() + ": " + h.message());
      continue;
    }
    std::vector<text::DiscoveredTarget> found;
    try {
      if (isns) {
        found = net::isns_discover(net::Portal{id.address, id.port}, h->initiator_name);
      } else {
        config::SettingSources sources;
        sources.iscsid_conf = &h->conf;
        sources.record = &*record;
        sources.initiator_name = h->initiator_name;
        sources.initiator_alias = h->initiator_alias;
        auto settings = config::resolve_discovery_settings(sources);
        if (!settings) {
          log("discovery " + id.to_string() + ": " + settings.message());
          continue;
        }
        found = initiator_.discover(net::Portal{id.address, id.port}, net::discovery_options_from(*settings));
      }
    } catch (const std::exception& e) {
      log(std::string(isns ? "iSNS discovery " : "discovery ") + id.to_string() + " failed: " + e.what());
      continue;
    }
    config::SettingMap base = h->conf.only({config::Scope::node, config::Scope::iface});
    (void)base.set("node.discovery_address", id.address);
    (void)base.set("node.discovery_port", std::to_string(id.port));
    (void)base.set("node.discovery_type", config::node_discovery_type(id.kind));
    for (const auto& t : found) {
      for (const auto& addr : t.addresses) {
        config::NodeId node;
        node.target = t.name;
        node.address = addr.host;
        node.port = addr.port;
        node.tpgt = addr.has_group_tag ? addr.portal_group_tag : 1;
        if (db_.read_node(node)) continue;  // known: leave the user's record alone
        if (auto st = db_.new_node(node, base); !st) {
          log("discovery " + id.to_string() + ": cannot add " + node_words(node) + ": " + st.message());
          continue;
        }
        log("discovery " + id.to_string() + ": new node " + node.to_string());
        auto rec = db_.read_node(node);
        if (rec && rec->get_or_default("node.startup") == "automatic") (void)login_node(node);
      }
    }
  }
  return next;
}

}  // namespace iscsi::cli
