// Option parsing for lab-iscsiadm (see adm_options.hpp), on the shared tokenizer.
#include "cli/adm_options.hpp"

#include <algorithm>
#include <limits>

#include "cli/cli_error.hpp"
#include "cli/option_scan.hpp"

namespace iscsi::cli {

namespace {

enum class Opt : int {
  mode, type, portal, target, iface, op, name, value, login, logout, rescan, stats, discover,
  show, no_wait, login_all, logout_all, print, sid, debug, version, help, root, socket
};
constexpr int id(Opt o) { return static_cast<int>(o); }

// iscsiadm's letters and long names (its getopt table), plus --root and --socket.
constexpr OptionSpec kOpts[] = {
    {'m', "mode", true, id(Opt::mode)},
    {'t', "type", true, id(Opt::type)},
    {'p', "portal", true, id(Opt::portal)},
    {'T', "targetname", true, id(Opt::target)},
    {'I', "interface", true, id(Opt::iface)},
    {'o', "op", true, id(Opt::op)},
    {'n', "name", true, id(Opt::name)},
    {'v', "value", true, id(Opt::value)},
    {'l', "login", false, id(Opt::login)},
    {'u', "logout", false, id(Opt::logout)},
    {'R', "rescan", false, id(Opt::rescan)},
    {'s', "stats", false, id(Opt::stats)},
    {'D', "discover", false, id(Opt::discover)},
    {'S', "show", false, id(Opt::show)},
    {'W', "no_wait", false, id(Opt::no_wait)},
    {'L', "loginall", true, id(Opt::login_all)},
    {'U', "logoutall", true, id(Opt::logout_all)},
    {'P', "print", true, id(Opt::print)},
    {'r', "sid", true, id(Opt::sid)},
    {'d', "debug", true, id(Opt::debug)},
    {'V', "version", false, id(Opt::version)},
    {'h', "help", false, id(Opt::help)},
    {0, "root", true, id(Opt::root)},
    {0, "socket", true, id(Opt::socket)},
};

AdmMode mode_from(const OptionSpec& s, std::string_view v) {
  if (v == "discoverydb") return AdmMode::discoverydb;
  if (v == "discovery") return AdmMode::discovery;
  if (v == "node") return AdmMode::node;
  if (v == "session") return AdmMode::session;
  if (v == "iface") return AdmMode::iface;
  if (v == "fw" || v == "host") {
    throw UsageError(option_name(s) + ": mode '" + std::string(v) +
                     "' is about offload HBAs and firmware boot tables, which a userspace "
                     "initiator does not have");
  }
  throw UsageError(option_name(s) + ": expected discoverydb, discovery, node, session or iface, got '" +
                   std::string(v) + "'");
}

DbOp op_from(const OptionSpec& s, std::string_view v) {
  std::string lower(v);
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "new") return DbOp::create;
  if (lower == "update") return DbOp::update;
  if (lower == "delete") return DbOp::remove;
  if (lower == "show") return DbOp::show;
  if (lower == "nonpersistent") return DbOp::nonpersistent;
  throw UsageError(option_name(s) + ": expected new, update, delete, show or nonpersistent, got '" +
                   std::string(v) + "'");
}

std::string startup_class(const OptionSpec& s, std::string_view v) {
  if (v == "all" || v == "manual" || v == "automatic" || v == "onboot") return std::string(v);
  throw UsageError(option_name(s) + ": expected all, manual, automatic or onboot, got '" +
                   std::string(v) + "'");
}

}  // namespace

std::string_view to_string(AdmMode m) noexcept {
  switch (m) {
    case AdmMode::none: return "none";
    case AdmMode::discoverydb: return "discoverydb";
    case AdmMode::discovery: return "discovery";
    case AdmMode::node: return "node";
    case AdmMode::session: return "session";
    case AdmMode::iface: return "iface";
  }
  return "?";
}

std::string_view to_string(DbOp op) noexcept {
  switch (op) {
    case DbOp::create: return "new";
    case DbOp::update: return "update";
    case DbOp::remove: return "delete";
    case DbOp::show: return "show";
    case DbOp::nonpersistent: return "nonpersistent";
  }
  return "?";
}

bool AdmOptions::has_op(DbOp op) const { return std::ranges::find(ops, op) != ops.end(); }

AdmOptions parse_adm_options(std::span<const std::string_view> args) {
  AdmOptions o;
  std::optional<std::string> pending_name;  // a -n still waiting for its -v
  auto take = [&](const OptionSpec& s, std::string_view v) {
    switch (static_cast<Opt>(s.id)) {
      case Opt::mode: o.mode = mode_from(s, v); break;
      case Opt::type:
        if (v == "st" || v == "sendtargets") {
          o.type = DiscoveryType::sendtargets;
        } else if (v == "isns") {
          o.type = DiscoveryType::isns;
        } else {
          throw UsageError(option_name(s) + ": expected st, sendtargets or isns, got '" +
                           std::string(v) + "' (fw and slp are not supported)");
        }
        break;
      case Opt::portal:
        if (v.empty()) throw UsageError(option_name(s) + ": the portal is empty");
        o.portal = std::string(v);
        break;
      case Opt::target:
        if (v.empty()) throw UsageError(option_name(s) + ": the target name is empty");
        o.target = std::string(v);
        break;
      case Opt::iface:
        if (v.empty()) throw UsageError(option_name(s) + ": the iface name is empty");
        o.ifaces.emplace_back(v);
        break;
      case Opt::op: o.ops.push_back(op_from(s, v)); break;
      case Opt::name:
        if (pending_name) throw UsageError("-n " + *pending_name + " needs a -v value before the next -n");
        if (v.empty()) throw UsageError(option_name(s) + ": the setting name is empty");
        pending_name = std::string(v);
        break;
      case Opt::value:
        if (!pending_name) throw UsageError("-v " + std::string(v) + " has no -n name before it");
        o.settings.push_back({std::move(*pending_name), std::string(v)});
        pending_name.reset();
        break;
      case Opt::login: o.login = true; break;
      case Opt::logout: o.logout = true; break;
      case Opt::rescan: o.rescan = true; break;
      case Opt::stats: o.stats = true; break;
      case Opt::discover: o.discover = true; break;
      case Opt::show: o.show_secrets = true; break;
      case Opt::no_wait: o.no_wait = true; break;
      case Opt::login_all: o.login_all = startup_class(s, v); break;
      case Opt::logout_all: o.logout_all = startup_class(s, v); break;
      case Opt::print: o.print_level = static_cast<int>(option_number(s, v, 0, 3, "a print level")); break;
      case Opt::sid:
        o.sid = static_cast<std::uint32_t>(
            option_number(s, v, 1, std::numeric_limits<std::int32_t>::max(), "a session id"));
        break;
      case Opt::debug: o.debug = static_cast<int>(option_number(s, v, 0, 8, "a debug level")); break;
      case Opt::version: o.version = true; break;
      case Opt::help: o.help = true; break;
      case Opt::root:
        if (v.empty()) throw UsageError(option_name(s) + ": the directory is empty");
        o.root = std::string(v);
        break;
      case Opt::socket:
        if (v.empty()) throw UsageError(option_name(s) + ": the path is empty");
        o.socket = std::string(v);
        break;
    }
  };
  scan_options(args, kOpts, take, [](std::string_view a) {
    throw UsageError("unexpected argument '" + std::string(a) + "' (options only; see -h)");
  });
  if (pending_name) throw UsageError("-n " + *pending_name + " needs a -v value");
  if (o.help || o.version) return o;
  if (o.mode == AdmMode::none) {
    throw UsageError("no mode given: -m discoverydb, discovery, node, session or iface");
  }
  if (o.print_level && *o.print_level > 1 && o.mode != AdmMode::session) {
    throw UsageError("-P " + std::to_string(*o.print_level) + ": levels 2 and 3 are for -m session; " +
                     std::string(to_string(o.mode)) + " takes 0 or 1");
  }
  const int actions = int(o.login) + int(o.logout) + int(o.rescan) + int(o.stats);
  if (actions > 1) throw UsageError("-l, -u, -R and -s exclude each other");
  if (o.sid && o.mode != AdmMode::session) throw UsageError("-r is for -m session");
  if ((o.login_all || o.logout_all) && o.mode != AdmMode::node) {
    throw UsageError("-L and -U are for -m node");
  }
  if (o.root.empty()) {
    const char* env = std::getenv("ISCSILAB_ROOT");
    o.root = env != nullptr && *env != '\0' ? env : "/var/lib/iscsi-lab";
  }
  if (o.socket.empty()) o.socket = o.root + "/lab-iscsid.sock";
  return o;
}

std::string adm_usage() {
  return "Usage: lab-iscsiadm -m MODE [OPTIONS]   (open-iscsi iscsiadm's modes and options)\n"
         "  -m discoverydb -t st|isns -p ip[:port] [-I iface]... [-o new|update|delete|show|\n"
         "                 nonpersistent]... [-n name -v value]... [-D|--discover [-l]] [-S]\n"
         "  -m discovery   [-t st|isns -p ip[:port] [-l] [-o ...]] [-P 0|1]\n"
         "  -m node        [-T name] [-p ip[:port]] [-I iface] [-l|-u|-R|-s] [-o op]\n"
         "                 [-n name -v value]... [-L|-U all|manual|automatic|onboot] [-W] [-P 0|1]\n"
         "  -m session     [-r sid] [-P 0..3] [-R|-u|-s]\n"
         "  -m iface       [-I name] [-o new|update|delete|show] [-n name -v value]...\n"
         "  -S, --show     print CHAP secrets in records (hidden otherwise)\n"
         "  -d, --debug N  debug messages on stderr;  -V, --version;  -h, --help\n"
         "  --root DIR     the record database (default /var/lib/iscsi-lab or $ISCSILAB_ROOT;\n"
         "                 never /etc/iscsi unless given)\n"
         "  --socket PATH  lab-iscsid's control socket (default <root>/lab-iscsid.sock)\n"
         "Session operations (-l, -u, -R, -s, -m session) go through lab-iscsid; record and\n"
         "discovery operations work without it.\n";
}

}  // namespace iscsi::cli
