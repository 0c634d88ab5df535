// The plugin's parameters (nbdkit's key=value arguments) and the session options they make.
// Kept apart from nbdkit so the tests can drive it without a server:
//
//   ExportConfigParser p;
//   p.set("url", "iscsi://alice%secret@127.0.0.1:3260/iqn.x:tgt/1");
//   p.set("node.session.timeo.replacement_timeout", "5");   // any open-iscsi node.* key
//   ExportConfig c = p.finish();                            // throws ConfigError
//   net::SessionOptions o = session_options(c);
//
// Keys: url, portal, target, lun, initiator (InitiatorName), user, password, node.* / iface.*
// (open-iscsi's names, through net::session_options_from_settings; node.conn0.* is accepted for
// node.conn[0].* because nbdkit keys cannot contain brackets). portal/target/lun/user/
// password override what the URL says. Secrets are kept as auth::Secret and never printed.
//
// Multipath: url= given twice or more names one path each (the same LU through other portals
// or targets; mpath::Device checks the identity at open). Every path logs in with the same
// InitiatorName, CHAP credentials and settings; portal=/target= then have no single meaning and
// are refused. multipath.conf's names (polling_interval, path_selector, path_grouping_policy,
// failback, no_path_retry, queue_if_no_path, rr_min_io_rq, fast_io_fail_tmo, checker_timeout)
// set the device; fast_io_fail_tmo becomes each path's replacement_timeout, as multipathd does.
#pragma once

#include <map>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/node_settings.hpp"
#include "net/options.hpp"
#include "proto/auth/secret.hpp"

namespace iscsi::nbd {

// A parameter nbdkit should refuse; what() names the key, never a secret value.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A further path of a multipath export (the first path is ExportConfig's own host/port/...).
struct PathAddress {
  std::string host;
  std::uint16_t port = 3260;
  std::string target;
  std::uint16_t lun = 0;
};

struct ExportConfig {
  std::string host;
  std::uint16_t port = 3260;
  std::string target;
  std::uint16_t lun = 0;
  std::string initiator_name;  // empty: SessionOptions' default
  std::string user;            // one-way CHAP when not empty
  auth::Secret password;
  std::string target_user;  // mutual CHAP
  auth::Secret target_password;
  std::string header_digest;                // empty: the engine's default
  std::vector<config::Override> settings;   // open-iscsi keys, in the order given
  std::vector<PathAddress> more_paths;      // url= given again: a multipath device
  std::map<std::string, std::string> multipath;  // multipath.conf's keys, checked

  bool is_multipath() const noexcept { return !more_paths.empty(); }
  // Every path, the first one first.
  std::vector<PathAddress> paths() const;
  // "iscsi://host:port/target/lun" without credentials, for logs and errors; a multipath
  // export: "multipath of N paths: URL, URL".
  std::string describe() const;
};

class ExportConfigParser {
 public:
  // Throws ConfigError for an unknown key or a value that cannot be parsed.
  void set(std::string_view key, std::string_view value);
  // Checks that portal and target are known; throws ConfigError naming what is missing.
  ExportConfig finish();

  // One line per key, for nbdkit's --help (.config_help).
  static const char* help() noexcept;

 private:
  ExportConfig c_;
  bool have_portal_ = false;
  bool lun_given_ = false;
  bool have_url_ = false;
  bool portal_or_target_given_ = false;
};

// The session options: open-iscsi's defaults, then the node.* keys, then the URL's CHAP and
// digest (and, for a multipath export, fast_io_fail_tmo as replacement_timeout). Throws
// ConfigError with every problem with the settings (secrets never quoted).
net::SessionOptions session_options(const ExportConfig& c);

}  // namespace iscsi::nbd
