// The typed view of a node's (and a discovery portal's) settings, built in open-iscsi's order:
// built-in defaults <- iscsid.conf <- the record <- command-line overrides (-n name -v value),
// each value checked against its row and the whole checked for consistency. This is what the
// net layer reads; each field names its key so the mapping to net::SessionOptions /
// net::DiscoveryOptions is mechanical.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "config/settings.hpp"
#include "proto/auth/chap.hpp"
#include "proto/auth/secret.hpp"
#include "proto/pdu/pdu.hpp"

namespace iscsi::config {

using Seconds = std::chrono::seconds;

enum class Startup : std::uint8_t { manual, automatic, onboot };  // node.startup
enum class ScanMode : std::uint8_t { automatic, manual };         // node.session.scan auto|manual
enum class AuthMethod : std::uint8_t { none, chap };              // *.auth.authmethod

struct AuthSettings {
  AuthMethod authmethod = AuthMethod::none;  // *.auth.authmethod
  std::string username;                      // *.auth.username
  auth::Secret password;                     // *.auth.password
  std::string username_in;                   // *.auth.username_in (mutual CHAP)
  auth::Secret password_in;                  // *.auth.password_in (mutual CHAP)
  auth::ChapAlgorithmList chap_algs;         // *.auth.chap_algs
  bool mutual() const noexcept { return !username_in.empty() || !password_in.empty(); }
  [[nodiscard]] AuthSettings clone() const;
};

struct NodeSettings {
  // Identity and startup.
  std::string target_name;           // node.name
  int tpgt = -1;                     // node.tpgt
  std::string address;               // node.conn[0].address
  std::uint16_t port = 3260;         // node.conn[0].port
  Startup startup = Startup::manual; // node.startup
  bool leading_login = false;        // node.leading_login
  // Initiator and iface.
  std::string initiator_name;        // iface.initiatorname, else InitiatorName
  std::string initiator_alias;       // InitiatorAlias (initiatorname.iscsi)
  std::string iface_name;            // iface.iscsi_ifacename
  std::string transport_name;        // iface.transport_name
  std::string ipaddress;             // iface.ipaddress
  std::string hwaddress;             // iface.hwaddress
  std::string net_ifacename;         // iface.net_ifacename
  std::optional<pdu::Isid> isid;     // iface.isid (nullopt: a random-format ISID per session)
  // Timers; replacement_timeout -1 = wait for ever.
  Seconds replacement_timeout{120};  // node.session.timeo.replacement_timeout
  Seconds login_timeout{15};         // node.conn[0].timeo.login_timeout
  Seconds logout_timeout{15};        // node.conn[0].timeo.logout_timeout
  Seconds noop_out_interval{5};      // node.conn[0].timeo.noop_out_interval (0 = no pings)
  Seconds noop_out_timeout{5};       // node.conn[0].timeo.noop_out_timeout
  Seconds abort_timeout{15};         // node.session.err_timeo.abort_timeout
  Seconds lu_reset_timeout{30};      // node.session.err_timeo.lu_reset_timeout
  Seconds tgt_reset_timeout{30};     // node.session.err_timeo.tgt_reset_timeout
  Seconds host_reset_timeout{60};    // node.session.err_timeo.host_reset_timeout
  // Retries and queueing.
  unsigned initial_login_retry_max = 8;  // node.session.initial_login_retry_max
  unsigned reopen_max = 0;               // node.session.reopen_max (0 = no limit)
  unsigned cmds_max = 128;               // node.session.cmds_max
  unsigned queue_depth = 32;             // node.session.queue_depth
  unsigned nr_sessions = 1;              // node.session.nr_sessions
  ScanMode scan = ScanMode::automatic;   // node.session.scan
  AuthSettings auth;                     // node.session.auth.*
  // Operational keys offered at login.
  bool initial_r2t = false;                           // node.session.iscsi.InitialR2T
  bool immediate_data = true;                         // node.session.iscsi.ImmediateData
  std::uint32_t first_burst_length = 262144;          // node.session.iscsi.FirstBurstLength
  std::uint32_t max_burst_length = 16776192;          // node.session.iscsi.MaxBurstLength
  std::uint32_t default_time2wait = 2;                // node.session.iscsi.DefaultTime2Wait
  std::uint32_t default_time2retain = 0;              // node.session.iscsi.DefaultTime2Retain
  std::uint32_t max_connections = 1;                  // node.session.iscsi.MaxConnections
  std::uint32_t max_outstanding_r2t = 1;              // node.session.iscsi.MaxOutstandingR2T
  std::uint8_t error_recovery_level = 0;              // node.session.iscsi.ERL
  bool fast_abort = true;                             // node.session.iscsi.FastAbort
  std::uint32_t max_recv_data_segment_length = 262144;  // node.conn[0].iscsi.MaxRecvDataSegmentLength
  std::uint32_t max_xmit_data_segment_length = 0;     // node.conn[0].iscsi.MaxXmitDataSegmentLength
  std::string header_digest = "None";                 // node.conn[0].iscsi.HeaderDigest
  std::string data_digest = "None";                   // node.conn[0].iscsi.DataDigest
  // TCP.
  std::uint32_t tcp_window_size = 524288;             // node.conn[0].tcp.window_size
  std::uint8_t tcp_type_of_service = 0;               // node.conn[0].tcp.type_of_service

  [[nodiscard]] NodeSettings clone() const;
};

struct DiscoverySettings {
  std::string address;                 // discovery.sendtargets.address
  std::uint16_t port = 3260;           // discovery.sendtargets.port
  Startup startup = Startup::manual;   // discovery.startup
  std::string initiator_name;          // InitiatorName
  std::string initiator_alias;         // InitiatorAlias
  AuthSettings auth;                   // discovery.sendtargets.auth.*
  Seconds login_timeout{15};           // discovery.sendtargets.timeo.login_timeout
  Seconds reply_timeout{30};           // discovery.sendtargets.timeo.active_timeout
  unsigned reopen_max = 5;             // discovery.sendtargets.reopen_max
  std::uint32_t max_recv_data_segment_length = 32768;  // discovery.sendtargets.iscsi.MaxRecvDataSegmentLength
  [[nodiscard]] DiscoverySettings clone() const;
};

// One "-n name -v value" from the command line (or the Python API's keyword settings).
struct Override {
  std::string name;
  std::string value;
};

struct SettingSources {
  const SettingMap* iscsid_conf = nullptr;  // parse_iscsid_conf
  const SettingMap* record = nullptr;       // the node or discovery record
  std::span<const Override> overrides{};    // applied last, in order (a repeat wins)
  std::string_view initiator_name{};        // initiatorname.iscsi's InitiatorName
  std::string_view initiator_alias{};       // initiatorname.iscsi's InitiatorAlias
};

// defaults <- conf <- record <- overrides, restricted to the node+iface (or discovery) keys.
// Override errors are reported against "command line" with the name given.
Checked<SettingMap> merge_node_settings(const SettingSources& sources);
Checked<SettingMap> merge_discovery_settings(const SettingSources& sources);

// The typed view of merged settings, checked for consistency: an iSCSI initiator name present,
// FirstBurstLength <= MaxBurstLength, MaxXmitDataSegmentLength 0 or >= 512, CHAP with a name and
// a secret, mutual CHAP with both and a secret different from ours (RFC 7143 9.2.1).
Checked<NodeSettings> node_settings_from(const SettingMap& merged, std::string_view initiator_name,
                                         std::string_view initiator_alias = {});
Checked<DiscoverySettings> discovery_settings_from(const SettingMap& merged,
                                                   std::string_view initiator_name,
                                                   std::string_view initiator_alias = {});

// merge + typed view in one call.
Checked<NodeSettings> resolve_node_settings(const SettingSources& sources);
Checked<DiscoverySettings> resolve_discovery_settings(const SettingSources& sources);

}  // namespace iscsi::config
