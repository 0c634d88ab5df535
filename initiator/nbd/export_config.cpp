// Parsing of the plugin's key=value parameters (see export_config.hpp).
#include "nbd/export_config.hpp"

#include <charconv>

#include "cli/iscsi_url.hpp"
#include "mpath/settings.hpp"
#include "net/from_settings.hpp"
#include "net/initiator.hpp"

namespace iscsi::nbd {

namespace {

constexpr std::string_view kConn0Alias = "node.conn0.";

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::uint16_t parse_lun(std::string_view v) {
  unsigned long n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size() || n > 0x3FFF) {
    throw ConfigError("lun: '" + std::string(v) + "' is not a LUN number (0..16383)");
  }
  return static_cast<std::uint16_t>(n);
}

// multipath.conf's names that the plugin passes to mpath::parse_settings (which checks them).
bool is_multipath_key(std::string_view k) {
  for (std::string_view m :
       {"polling_interval", "path_selector", "path_grouping_policy", "failback", "no_path_retry",
        "queue_if_no_path", "rr_min_io_rq", "fast_io_fail_tmo", "checker_timeout"}) {
    if (k == m) return true;
  }
  return false;
}

std::string describe_path(const PathAddress& p) {
  const bool v6 = p.host.find(':') != std::string::npos;
  return "iscsi://" + (v6 ? "[" + p.host + "]" : p.host) + ":" + std::to_string(p.port) + "/" +
         p.target + "/" + std::to_string(p.lun);
}

}  // namespace

std::vector<PathAddress> ExportConfig::paths() const {
  std::vector<PathAddress> out{{host, port, target, lun}};
  out.insert(out.end(), more_paths.begin(), more_paths.end());
  return out;
}

std::string ExportConfig::describe() const {
  if (!is_multipath()) return describe_path({host, port, target, lun});
  std::string s = "multipath of " + std::to_string(more_paths.size() + 1) + " paths:";
  for (const auto& p : paths()) s += " " + describe_path(p);
  return s;
}

void ExportConfigParser::set(std::string_view key, std::string_view value) {
  if (key == "url") {
    cli::IscsiUrl u;
    try {
      u = cli::parse_iscsi_url(value);
    } catch (const std::exception& e) {
      // The parser's messages quote part of the URL; one with credentials must not reach a log.
      if (value.find('@') != std::string_view::npos) {
        throw ConfigError("url: not a valid iscsi:// URL (not quoted: it holds credentials)");
      }
      throw ConfigError(std::string("url: ") + e.what());
    }
    if (have_url_) {
      // Another path to the same LU. Credentials and digests are the export's, not a path's.
      if ((!u.user.empty() && u.user != c_.user) ||
          (!u.target_user.empty() && u.target_user != c_.target_user) ||
          (!u.header_digest.empty() && u.header_digest != c_.header_digest)) {
        throw ConfigError("url: every path of a multipath export logs in alike: give the CHAP "
                          "user and digest in the first url= (or user=/password=) only");
      }
      c_.more_paths.push_back({u.host, u.port, u.target, lun_given_ ? c_.lun : u.lun});
      return;
    }
    have_url_ = true;
    c_.host = u.host;
    c_.port = u.port;
    c_.target = u.target;
    if (!lun_given_) c_.lun = u.lun;
    if (!u.user.empty()) {
      c_.user = u.user;
      c_.password = std::move(u.password);
    }
    if (!u.target_user.empty()) {
      c_.target_user = u.target_user;
      c_.target_password = std::move(u.target_password);
    }
    c_.header_digest = u.header_digest;
    have_portal_ = true;
  } else if (key == "portal") {
    portal_or_target_given_ = true;
    try {
      const auto p = net::Portal::parse(value);
      c_.host = p.host;
      c_.port = p.port;
    } catch (const std::exception& e) {
      throw ConfigError("portal: " + std::string(e.what()));
    }
    have_portal_ = true;
  } else if (key == "target") {
    portal_or_target_given_ = true;
    c_.target = value;
  } else if (key == "lun") {
    c_.lun = parse_lun(value);
    lun_given_ = true;
    for (auto& p : c_.more_paths) p.lun = c_.lun;
  } else if (is_multipath_key(key)) {
    c_.multipath[std::string(key)] = std::string(value);
  } else if (key == "initiator" || key == "InitiatorName") {
    c_.initiator_name = value;
  } else if (key == "user") {
    c_.user = value;
  } else if (key == "password") {
    c_.password = auth::Secret(value);
  } else if (starts_with(key, kConn0Alias)) {
    // nbdkit keys cannot hold brackets: node.conn0.X stands for open-iscsi's node.conn[0].X.
    c_.settings.push_back({"node.conn[0]." + std::string(key.substr(kConn0Alias.size())),
                           std::string(value)});
  } else if (starts_with(key, "node.") || starts_with(key, "iface.")) {
    c_.settings.push_back({std::string(key), std::string(value)});
  } else {
    throw ConfigError("unknown parameter '" + std::string(key) +
                      "' (url, portal, target, lun, initiator, user, password, node.*, iface.*, or "
                      "multipath.conf's polling_interval, path_selector, path_grouping_policy, "
                      "failback, no_path_retry, queue_if_no_path, rr_min_io_rq, "
                      "fast_io_fail_tmo, checker_timeout)");
  }
}

ExportConfig ExportConfigParser::finish() {
  if (!have_portal_) throw ConfigError("missing url= or portal=");
  if (c_.target.empty()) throw ConfigError("missing target= (or a target in the url)");
  if (!c_.password.empty() && c_.user.empty()) throw ConfigError("password= without user=");
  if (c_.is_multipath() && portal_or_target_given_) {
    throw ConfigError("portal= and target= name one path: with several url= (multipath), put "
                      "each path's portal and target in its url=");
  }
  if (!c_.multipath.empty() && !c_.is_multipath()) {
    throw ConfigError("'" + c_.multipath.begin()->first +
                      "' is a multipath setting: it needs two or more url= (one per path)");
  }
  try {
    (void)mpath::parse_settings(c_.multipath);
  } catch (const std::exception& e) {
    throw ConfigError(e.what());
  }
  // Fail at configuration time, before nbdkit serves anything, on settings the engine refuses.
  (void)session_options(c_);
  return std::move(c_);
}

const char* ExportConfigParser::help() noexcept {
  return "url=iscsi://[USER%PASSWORD@]HOST[:PORT]/TARGET/LUN  the LUN to export (libiscsi's form)\n"
         "portal=HOST[:PORT]            instead of the URL's host and port\n"
         "target=IQN                    instead of the URL's target\n"
         "lun=N                         instead of the URL's LUN (default 0)\n"
         "initiator=IQN                 our InitiatorName\n"
         "user=NAME password=SECRET|-|+FILE  one-way CHAP (- asks, +FILE reads it)\n"
         "url=... url=...               several: one multipath device over these paths\n"
         "path_selector=, no_path_retry=, path_grouping_policy=, failback=, polling_interval=,\n"
         "fast_io_fail_tmo=, ...        multipath.conf's settings of that device\n"
         "node.*=VALUE, iface.*=VALUE   open-iscsi settings, e.g.\n"
         "                              node.session.timeo.replacement_timeout=15\n"
         "                              (node.conn0.* for node.conn[0].*: nbdkit keys have no [])";
}

net::SessionOptions session_options(const ExportConfig& c) {
  auto checked = net::session_options_from_settings(c.settings, c.initiator_name);
  if (!checked) throw ConfigError(checked.message());
  net::SessionOptions s = std::move(checked).value();
  if (!c.header_digest.empty()) s.iscsi.header_digest = c.header_digest;
  if (c.is_multipath()) {
    // multipathd gives each path's session fast_io_fail_tmo as its replacement_timeout, so a
    // dead path's commands come back for another path after that long.
    if (auto tmo = mpath::fast_io_fail_tmo(mpath::parse_settings(c.multipath))) {
      s.replacement_timeout = net::Seconds{*tmo};
    }
  }
  if (!c.user.empty()) {
    s.auth.authmethod = net::AuthMethodSetting::chap;
    s.auth.username = c.user;
    s.auth.password = c.password.clone();
    if (!c.target_user.empty()) {
      s.auth.username_in = c.target_user;
      s.auth.password_in = c.target_password.clone();
    }
  }
  return s;
}

}  // namespace iscsi::nbd
