// Parsing of the plugin's key=value parameters (see export_config.hpp).
#include "nbd/export_config.hpp"

#include <charconv>

#include "cli/iscsi_url.hpp"
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

}  // namespace

std::string ExportConfig::describe() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "iscsi://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + target +
         "/" + std::to_string(lun);
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
    try {
      const auto p = net::Portal::parse(value);
      c_.host = p.host;
      c_.port = p.port;
    } catch (const std::exception& e) {
      throw ConfigError("portal: " + std::string(e.what()));
    }
    have_portal_ = true;
  } else if (key == "target") {
    c_.target = value;
  } else if (key == "lun") {
    c_.lun = parse_lun(value);
    lun_given_ = true;
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
                      "' (url, portal, target, lun, initiator, user, password, node.*, iface.*)");
  }
}

ExportConfig ExportConfigParser::finish() {
  if (!have_portal_) throw ConfigError("missing url= or portal=");
  if (c_.target.empty()) throw ConfigError("missing target= (or a target in the url)");
  if (!c_.password.empty() && c_.user.empty()) throw ConfigError("password= without user=");
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
         "node.*=VALUE, iface.*=VALUE   open-iscsi settings, e.g.\n"
         "                              node.session.timeo.replacement_timeout=15\n"
         "                              (node.conn0.* for node.conn[0].*: nbdkit keys have no [])";
}

net::SessionOptions session_options(const ExportConfig& c) {
  auto checked = net::session_options_from_settings(c.settings, c.initiator_name);
  if (!checked) throw ConfigError(checked.message());
  net::SessionOptions s = std::move(checked).value();
  if (!c.header_digest.empty()) s.iscsi.header_digest = c.header_digest;
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
