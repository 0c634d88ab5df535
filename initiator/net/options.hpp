// Typed settings of the Asio engine, one field per open-iscsi iscsid.conf / node-record key, with
// open-iscsi's defaults (usr/idbm.c, etc/iscsid.conf). initiator/config maps the textual keys
// onto these structs; the comment on each field names its key so the mapping is mechanical.
// Field names are stable: other areas (config, python, cli) depend on them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "proto/auth/chap.hpp"
#include "proto/auth/secret.hpp"
#include "proto/login/negotiation.hpp"
#include "proto/pdu/pdu.hpp"

namespace iscsi::net {

using Seconds = std::chrono::seconds;

// node.session.auth.authmethod / discovery.sendtargets.auth.authmethod: "None" or "CHAP".
enum class AuthMethodSetting : std::uint8_t { none, chap };

// CHAP settings shared by normal and discovery sessions.
struct AuthOptions {
  AuthMethodSetting authmethod = AuthMethodSetting::none;  // node.session.auth.authmethod
  std::string username;                                     // node.session.auth.username
  auth::Secret password;                                    // node.session.auth.password
  std::string username_in;   // node.session.auth.username_in (mutual CHAP: the target's name)
  auth::Secret password_in;  // node.session.auth.password_in (mutual CHAP: the target's secret)
  // node.session.auth.chap_algs (default "SHA3-256,SHA256,SHA1,MD5").
  auth::ChapAlgorithmList chap_algs = auth::default_chap_algorithms();

  bool mutual() const noexcept { return !username_in.empty() || !password_in.empty(); }
  [[nodiscard]] AuthOptions clone() const {
    return {authmethod, username, password.clone(), username_in, password_in.clone(), chap_algs};
  }
};

// Operational keys offered at login (node.session.iscsi.* and node.conn[0].iscsi.*).
struct IscsiParamOptions {
  bool initial_r2t = false;                           // node.session.iscsi.InitialR2T (No)
  bool immediate_data = true;                         // node.session.iscsi.ImmediateData (Yes)
  std::uint32_t first_burst_length = 262144;          // node.session.iscsi.FirstBurstLength
  std::uint32_t max_burst_length = 16776192;          // node.session.iscsi.MaxBurstLength
  std::uint32_t default_time2wait = 2;                // node.session.iscsi.DefaultTime2Wait
  std::uint32_t default_time2retain = 0;              // node.session.iscsi.DefaultTime2Retain
  std::uint32_t max_connections = 1;                  // node.session.iscsi.MaxConnections
  std::uint32_t max_outstanding_r2t = 1;              // node.session.iscsi.MaxOutstandingR2T
  std::uint8_t error_recovery_level = 0;              // node.session.iscsi.ERL
  bool fast_abort = true;                             // node.session.iscsi.FastAbort (Yes)
  std::uint32_t max_recv_data_segment_length = 262144;  // node.conn[0].iscsi.MaxRecvDataSegmentLength
  // node.conn[0].iscsi.MaxXmitDataSegmentLength: 0 = whatever the target declares. Otherwise
  // every data segment we send (immediate data, Data-Out, Text) is at most min(this, the
  // target's MaxRecvDataSegmentLength); under 512 counts as 512. Session::params()
  // .max_send_data_segment_length shows the limit in use.
  std::uint32_t max_xmit_data_segment_length = 0;
  // node.conn[0].iscsi.HeaderDigest / DataDigest: None, CRC32C, "CRC32C,None", "None,CRC32C".
  std::string header_digest = "None";
  std::string data_digest = "None";
};

// Login redirects (RFC 7143 11.13.5) are followed up to 8 deep. "Target moved temporarily"
// (0x0101) serves the login it answers: every later login of the session (relogin after a
// connection loss, after an async logout request) starts at the configured portal again.
// "Target moved permanently" (0x0102) moves the session: later logins go to the new portal (as
// open-iscsi updates the node record). Session::portal() is where the session is now.
struct SessionOptions {
  // InitiatorName (from /etc/iscsi/initiatorname.iscsi; iface.initiatorname overrides).
  std::string initiator_name = "iqn.2026-11.org.iscsi-lab:initiator";
  std::string initiator_alias;  // iface.initiator_alias / InitiatorAlias
  // node.session.isid: nullopt = draw a random-format (type 10) ISID per session.
  std::optional<pdu::Isid> isid;

  // Timers (seconds).
  // node.session.timeo.replacement_timeout: 0 fails I/O at once, -1 waits for ever.
  Seconds replacement_timeout{120};
  Seconds login_timeout{15};         // node.conn[0].timeo.login_timeout
  Seconds logout_timeout{15};        // node.conn[0].timeo.logout_timeout
  Seconds noop_out_interval{5};      // node.conn[0].timeo.noop_out_interval (0 = no pings)
  Seconds noop_out_timeout{5};       // node.conn[0].timeo.noop_out_timeout
  Seconds abort_timeout{15};         // node.session.err_timeo.abort_timeout
  Seconds lu_reset_timeout{30};      // node.session.err_timeo.lu_reset_timeout
  Seconds tgt_reset_timeout{30};     // node.session.err_timeo.tgt_reset_timeout

  // Retries.
  unsigned initial_login_retry_max = 8;  // node.session.initial_login_retry_max
  unsigned reopen_max = 0;               // node.session.reopen_max (0 = unlimited)

  // Queueing.
  // node.session.cmds_max: SCSI commands in flight per session (0 = no bound); more wait in
  // order in the engine and go as earlier ones complete, they do not fail.
  unsigned cmds_max = 128;
  // node.session.queue_depth: Linux applies it per LUN (the SCSI device queue). Carried for the
  // settings mapping; the engine bounds the session with cmds_max only.
  unsigned queue_depth = 32;

  // The iface binding (open-iscsi's iface record): the connection leaves from this source
  // address (iface.ipaddress) and/or through this network device (iface.net_ifacename,
  // SO_BINDTODEVICE, which needs CAP_NET_RAW). Empty: the kernel's choice.
  std::string source_address;
  std::string bind_device;

  AuthOptions auth;          // node.session.auth.*
  IscsiParamOptions iscsi;   // node.session.iscsi.* and node.conn[0].iscsi.*

  [[nodiscard]] SessionOptions clone() const {
    SessionOptions o;
    o.initiator_name = initiator_name;
    o.initiator_alias = initiator_alias;
    o.isid = isid;
    o.replacement_timeout = replacement_timeout;
    o.login_timeout = login_timeout;
    o.logout_timeout = logout_timeout;
    o.noop_out_interval = noop_out_interval;
    o.noop_out_timeout = noop_out_timeout;
    o.abort_timeout = abort_timeout;
    o.lu_reset_timeout = lu_reset_timeout;
    o.tgt_reset_timeout = tgt_reset_timeout;
    o.initial_login_retry_max = initial_login_retry_max;
    o.reopen_max = reopen_max;
    o.cmds_max = cmds_max;
    o.queue_depth = queue_depth;
    o.source_address = source_address;
    o.bind_device = bind_device;
    o.auth = auth.clone();
    o.iscsi = iscsi;
    return o;
  }
};

struct DiscoveryOptions {
  std::string initiator_name = "iqn.2026-11.org.iscsi-lab:initiator";  // InitiatorName
  std::optional<pdu::Isid> isid;
  Seconds login_timeout{15};  // discovery.sendtargets.timeo.login_timeout
  Seconds reply_timeout{30};  // discovery.sendtargets.timeo.reply_timeout
  // discovery.sendtargets.auth.{authmethod,username,password,username_in,password_in}
  AuthOptions auth;
  // SendTargets=All when empty, SendTargets=<target name> otherwise.
  std::string send_targets;
  // discovery.sendtargets.iscsi.MaxRecvDataSegmentLength
  std::uint32_t max_recv_data_segment_length = 32768;

  [[nodiscard]] DiscoveryOptions clone() const {
    return {initiator_name, isid,         login_timeout, reply_timeout,
            auth.clone(),   send_targets, max_recv_data_segment_length};
  }
};

}  // namespace iscsi::net
