// NodeSettings / DiscoverySettings -> SessionOptions / DiscoveryOptions, and key/value pairs
// checked against the settings table on the way.
#include "net/from_settings.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "net/errors.hpp"

namespace iscsi::net {
namespace {

using config::Diagnostic;
using config::Scope;

// initiatorname.iscsi's keys; not rows of the table (they live in their own file).
constexpr std::string_view kInitiatorName = "InitiatorName";
constexpr std::string_view kInitiatorAlias = "InitiatorAlias";

// The node and iface keys session_options_from reads. Keep in step with it.
constexpr std::array<std::string_view, 37> kSessionKeys = {
    "iface.initiatorname",
    "iface.isid",
    "node.session.timeo.replacement_timeout",
    "node.conn[0].timeo.login_timeout",
    "node.conn[0].timeo.logout_timeout",
    "node.conn[0].timeo.noop_out_interval",
    "node.conn[0].timeo.noop_out_timeout",
    "node.session.err_timeo.abort_timeout",
    "node.session.err_timeo.lu_reset_timeout",
    "node.session.err_timeo.tgt_reset_timeout",
    "node.session.initial_login_retry_max",
    "node.session.reopen_max",
    "node.session.cmds_max",
    "node.session.queue_depth",
    "node.session.auth.authmethod",
    "node.session.auth.username",
    "node.session.auth.password",
    "node.session.auth.username_in",
    "node.session.auth.password_in",
    "node.session.auth.chap_algs",
    "node.session.iscsi.InitialR2T",
    "node.session.iscsi.ImmediateData",
    "node.session.iscsi.FirstBurstLength",
    "node.session.iscsi.MaxBurstLength",
    "node.session.iscsi.DefaultTime2Wait",
    "node.session.iscsi.DefaultTime2Retain",
    "node.session.iscsi.MaxConnections",
    "node.session.iscsi.MaxOutstandingR2T",
    "node.session.iscsi.ERL",
    "node.session.iscsi.FastAbort",
    "node.conn[0].iscsi.MaxRecvDataSegmentLength",
    "node.conn[0].iscsi.MaxXmitDataSegmentLength",
    "node.conn[0].iscsi.HeaderDigest",
    "node.conn[0].iscsi.DataDigest",
    "iface.transport_name",  // "tcp" only (checked below)
    "iface.ipaddress",
    "iface.net_ifacename",
};

// The discovery keys discovery_options_from reads.
constexpr std::array<std::string_view, 9> kDiscoveryKeys = {
    "discovery.sendtargets.auth.authmethod",
    "discovery.sendtargets.auth.username",
    "discovery.sendtargets.auth.password",
    "discovery.sendtargets.auth.username_in",
    "discovery.sendtargets.auth.password_in",
    "discovery.sendtargets.auth.chap_algs",
    "discovery.sendtargets.timeo.login_timeout",
    "discovery.sendtargets.timeo.active_timeout",
    "discovery.sendtargets.iscsi.MaxRecvDataSegmentLength",
};

bool contains(std::span<const std::string_view> keys, std::string_view key) noexcept {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string quoted(std::string_view key) {
  return "'" + std::string(key.substr(0, 80)) + "'";
}

AuthMethodSetting method_of(config::AuthMethod m) noexcept {
  return m == config::AuthMethod::chap ? AuthMethodSetting::chap : AuthMethodSetting::none;
}

AuthOptions auth_from(const config::AuthSettings& a) {
  AuthOptions o;
  o.authmethod = method_of(a.authmethod);
  o.username = a.username;
  o.password = a.password.clone();
  o.username_in = a.username_in;
  o.password_in = a.password_in.clone();
  o.chap_algs = a.chap_algs;
  return o;
}

// Why `key` cannot be given for this kind of session, or nullopt when it can. `what` names the
// kind in messages ("a normal session", "a discovery session").
std::optional<Diagnostic> refuse(std::string_view key, std::initializer_list<Scope> scopes,
                                 bool supported, std::string_view what) {
  const config::SettingInfo* info = config::find_setting(key);
  if (info == nullptr) {
    return Diagnostic{{}, 0, make_error_code(config::Errc::unknown_setting),
                      config::unknown_setting_message(key)};
  }
  if (std::find(scopes.begin(), scopes.end(), info->scope) == scopes.end()) {
    return Diagnostic{{}, 0, make_error_code(config::Errc::wrong_scope),
                      quoted(key) + " is a " + std::string(config::to_string(info->scope)) +
                          " setting and does not apply to " + std::string(what)};
  }
  if (info->identity) {
    return Diagnostic{{}, 0, make_error_code(config::Errc::read_only_setting),
                      quoted(key) + " names the record: give the target and portal to the call "
                                    "instead of a setting"};
  }
  if (!supported) {
    return Diagnostic{{}, 0, make_error_code(Errc::invalid_argument),
                      quoted(key) + " is an open-iscsi setting this initiator does not act on "
                                    "in " + std::string(what) + " (not supported)"};
  }
  return std::nullopt;
}

std::optional<pdu::Isid> parse_isid(std::string_view canonical) {
  if (canonical.empty()) return std::nullopt;
  std::uint64_t v = 0;
  std::from_chars(canonical.data(), canonical.data() + canonical.size(), v, 16);
  return pdu::Isid::from_u48(v);
}

}  // namespace

bool session_key_supported(std::string_view key) noexcept {
  return key == kInitiatorName || key == kInitiatorAlias || contains(kSessionKeys, key);
}

bool discovery_key_supported(std::string_view key) noexcept {
  return key == kInitiatorName || key == kInitiatorAlias || key == "iface.initiatorname" ||
         key == "iface.isid" || contains(kDiscoveryKeys, key);
}

SessionOptions session_options_from(const config::NodeSettings& s) {
  SessionOptions o;
  o.initiator_name = s.initiator_name;
  o.initiator_alias = s.initiator_alias;
  o.isid = s.isid;
  o.replacement_timeout = s.replacement_timeout;
  o.login_timeout = s.login_timeout;
  o.logout_timeout = s.logout_timeout;
  o.noop_out_interval = s.noop_out_interval;
  o.noop_out_timeout = s.noop_out_timeout;
  o.abort_timeout = s.abort_timeout;
  o.lu_reset_timeout = s.lu_reset_timeout;
  o.tgt_reset_timeout = s.tgt_reset_timeout;
  o.initial_login_retry_max = s.initial_login_retry_max;
  o.reopen_max = s.reopen_max;
  o.cmds_max = s.cmds_max;
  o.queue_depth = s.queue_depth;
  o.source_address = s.ipaddress;
  o.bind_device = s.net_ifacename;
  o.auth = auth_from(s.auth);
  IscsiParamOptions& p = o.iscsi;
  p.initial_r2t = s.initial_r2t;
  p.immediate_data = s.immediate_data;
  p.first_burst_length = s.first_burst_length;
  p.max_burst_length = s.max_burst_length;
  p.default_time2wait = s.default_time2wait;
  p.default_time2retain = s.default_time2retain;
  p.max_connections = s.max_connections;
  p.max_outstanding_r2t = s.max_outstanding_r2t;
  p.error_recovery_level = s.error_recovery_level;
  p.fast_abort = s.fast_abort;
  p.max_recv_data_segment_length = s.max_recv_data_segment_length;
  p.max_xmit_data_segment_length = s.max_xmit_data_segment_length;
  p.header_digest = s.header_digest;
  p.data_digest = s.data_digest;
  return o;
}

DiscoveryOptions discovery_options_from(const config::DiscoverySettings& s) {
  DiscoveryOptions o;
  o.initiator_name = s.initiator_name;
  o.login_timeout = s.login_timeout;
  o.reply_timeout = s.reply_timeout;
  o.auth = auth_from(s.auth);
  o.max_recv_data_segment_length = s.max_recv_data_segment_length;
  return o;
}

config::Checked<SessionOptions> session_options_from_settings(
    std::span<const config::Override> settings, std::string_view initiator_name) {
  config::SettingMap map = config::defaults_for({Scope::node, Scope::iface});
  std::string name(initiator_name.empty() ? std::string_view(SessionOptions{}.initiator_name)
                                          : initiator_name);
  std::string alias;
  std::vector<Diagnostic> errors;
  for (const config::Override& kv : settings) {
    if (kv.name == kInitiatorName) {
      name = kv.value;
      continue;
    }
    if (kv.name == kInitiatorAlias) {
      alias = kv.value;
      continue;
    }
    auto problem = refuse(kv.name, {Scope::node, Scope::iface}, session_key_supported(kv.name),
                          "a normal session");
    if (!problem) problem = map.set(kv.name, kv.value);
    if (problem) errors.push_back(std::move(*problem));
  }
  // iSER would need an RDMA transport; the engine speaks TCP only.
  if (const std::string* t = map.get("iface.transport_name"); t != nullptr && *t != "tcp") {
    errors.push_back(Diagnostic{{}, 0, make_error_code(Errc::invalid_argument),
                                "'iface.transport_name' " + *t +
                                    " is not supported (this initiator speaks iSCSI over TCP)"});
  }
  if (!errors.empty()) return errors;
  auto typed = config::node_settings_from(map, name, alias);
  if (!typed) return typed.diagnostics();
  return session_options_from(*typed);
}

config::Checked<DiscoveryOptions> discovery_options_from_settings(
    std::span<const config::Override> settings, std::string_view initiator_name) {
  config::SettingMap map = config::defaults_for({Scope::discovery});
  config::SettingMap iface;  // iface.initiatorname / iface.isid, checked by their rows
  std::string name(initiator_name.empty() ? std::string_view(DiscoveryOptions{}.initiator_name)
                                          : initiator_name);
  std::string alias;
  std::vector<Diagnostic> errors;
  for (const config::Override& kv : settings) {
    std::optional<Diagnostic> problem;
    if (kv.name == kInitiatorName) {
      name = kv.value;
    } else if (kv.name == kInitiatorAlias) {
      alias = kv.value;
    } else if (kv.name == "iface.initiatorname" || kv.name == "iface.isid") {
      problem = iface.set(kv.name, kv.value);
    } else {
      problem = refuse(kv.name, {Scope::discovery}, discovery_key_supported(kv.name),
                       "a discovery session");
      if (!problem) problem = map.set(kv.name, kv.value);
    }
    if (problem) errors.push_back(std::move(*problem));
  }
  if (!errors.empty()) return errors;
  // iface.initiatorname wins over InitiatorName, as for a node.
  if (const std::string* n = iface.get("iface.initiatorname"); n != nullptr && !n->empty()) {
    name = *n;
  }
  auto typed = config::discovery_settings_from(map, name, alias);
  if (!typed) return typed.diagnostics();
  DiscoveryOptions o = discovery_options_from(*typed);
  if (const std::string* isid = iface.get("iface.isid"); isid != nullptr) o.isid = parse_isid(*isid);
  return o;
}

}  // namespace iscsi::net
