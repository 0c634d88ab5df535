// Command line of lab-iscsiadm: open-iscsi iscsiadm's modes, letters and long names.
//
//   lab-iscsiadm -m discoverydb -t st|isns -p ip[:port] [-I iface]... [-o new|update|delete|
//                nonpersistent|show]... [-n name -v value]... [--discover [--login]] [--show]
//   lab-iscsiadm -m discovery [-t st|isns -p ip[:port] [-l] [-o ...]] [-P 0|1]
//   lab-iscsiadm -m node [-T name] [-p ip[:port]] [-I iface] [-l|-u|-R|-s] [-o op] [-n -v]...
//                [-L|-U all|manual|automatic|onboot] [-W] [-P 0|1]
//   lab-iscsiadm -m session [-r sid] [-P 0..3] [-R|-u|-s]
//   lab-iscsiadm -m iface [-I name] [-o new|update|delete|show] [-n name -v value]...
// plus -d level, -V, -h, and two of ours: --root DIR (the record database; default
// /var/lib/iscsi-lab, or $ISCSILAB_ROOT) and --socket PATH (lab-iscsid's control socket;
// default <root>/lab-iscsid.sock).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/node_settings.hpp"

namespace iscsi::cli {

enum class AdmMode : std::uint8_t { none, discoverydb, discovery, node, session, iface };
std::string_view to_string(AdmMode m) noexcept;

// -o: iscsiadm's record operations (discovery also takes several of them to steer what it
// writes).
enum class DbOp : std::uint8_t { create, update, remove, show, nonpersistent };
std::string_view to_string(DbOp op) noexcept;

enum class DiscoveryType : std::uint8_t { sendtargets, isns };

struct AdmOptions {
  AdmMode mode = AdmMode::none;
  std::optional<DiscoveryType> type;       // -t st|sendtargets|isns
  std::optional<std::string> portal;       // -p as given ("10.0.0.1", "10.0.0.1:3260", "[::1]:3260")
  std::optional<std::string> target;       // -T
  std::vector<std::string> ifaces;         // -I, repeatable
  std::vector<DbOp> ops;                   // -o, repeatable, in order
  std::vector<config::Override> settings;  // -n name -v value pairs, in order
  bool login = false;                      // -l
  bool logout = false;                     // -u
  bool rescan = false;                     // -R
  bool stats = false;                      // -s
  bool discover = false;                   // -D/--discover
  bool show_secrets = false;               // -S/--show
  bool no_wait = false;                    // -W
  std::optional<std::string> login_all;    // -L all|manual|automatic|onboot
  std::optional<std::string> logout_all;   // -U all|manual|automatic|onboot
  std::optional<int> print_level;          // -P
  std::optional<std::uint32_t> sid;        // -r
  int debug = 0;                           // -d
  bool version = false;                    // -V
  bool help = false;                       // -h
  std::string root;                        // --root (ours)
  std::string socket;                      // --socket (ours)

  bool has_op(DbOp op) const;
};

// `args` excludes argv[0]. Checks what can be checked without the database: a mode is given,
// each -n has its -v, -P is in range for the mode, -L/-U values, the -o names; throws UsageError
// in iscsiadm's spirit ("-n name needs a -v value").
AdmOptions parse_adm_options(std::span<const std::string_view> args);

std::string adm_usage();

}  // namespace iscsi::cli
