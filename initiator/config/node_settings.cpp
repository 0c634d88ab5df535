// Layering (defaults <- iscsid.conf <- record <- overrides) and the typed, checked view.
#include "config/node_settings.hpp"

#include <algorithm>
#include <charconv>

#include "proto/text/values.hpp"

namespace iscsi::config {
namespace {

constexpr std::string_view kCommandLine = "command line";

std::vector<Diagnostic> apply_overrides(SettingMap& merged, std::span<const Override> overrides,
                                        std::initializer_list<Scope> scopes) {
  std::vector<Diagnostic> errors;
  for (const Override& o : overrides) {
    const SettingInfo* info = find_setting(o.name);
    std::optional<Diagnostic> problem;
    if (!info) {
      problem = Diagnostic{{}, 0, make_error_code(Errc::unknown_setting),
                           unknown_setting_message(o.name)};
    } else if (std::find(scopes.begin(), scopes.end(), info->scope) == scopes.end()) {
      problem = Diagnostic{{}, 0, make_error_code(Errc::wrong_scope),
                           o.name + " is a " + std::string(to_string(info->scope)) +
                               " setting and does not apply here"};
    } else if (info->identity) {
      problem = Diagnostic{{}, 0, make_error_code(Errc::read_only_setting),
                           o.name + " names the record and cannot be overridden"};
    } else {
      problem = merged.set(o.name, o.value);
    }
    if (problem) {
      problem->file = std::string(kCommandLine);
      problem->message = "-n " + o.name.substr(0, 80) + ": " + problem->message;
      errors.push_back(std::move(*problem));
    }
  }
  return errors;
}

Checked<SettingMap> merge(const SettingSources& sources, std::initializer_list<Scope> scopes) {
  SettingMap merged = defaults_for(scopes);
  if (sources.iscsid_conf) merged.merge_from(sources.iscsid_conf->only(scopes));
  if (sources.record) merged.merge_from(sources.record->only(scopes));
  auto errors = apply_overrides(merged, sources.overrides, scopes);
  if (!errors.empty()) return errors;
  return merged;
}

// Reads canonical values (already validated by the table) and collects consistency errors.
class Reader {
 public:
  explicit Reader(const SettingMap& m) : m_(m) {}
  std::int64_t integer(std::string_view key) const {
    const std::string_view v = m_.get_or_default(key);
    std::int64_t n = 0;
    std::from_chars(v.data(), v.data() + v.size(), n);
    return n;
  }
  template <class T>
  T as(std::string_view key) const { return static_cast<T>(integer(key)); }
  Seconds seconds(std::string_view key) const { return Seconds{integer(key)}; }
  bool yes(std::string_view key) const { return m_.get_or_default(key) == "Yes"; }
  std::string str(std::string_view key) const { return std::string(m_.get_or_default(key)); }
  auth::Secret secret(std::string_view key) const { return auth::Secret(m_.get_or_default(key)); }
  Startup startup(std::string_view key) const {
    const std::string_view v = m_.get_or_default(key);
    return v == "automatic" ? Startup::automatic : v == "onboot" ? Startup::onboot : Startup::manual;
  }
  void fail(std::string message) {
    errors_.push_back({{}, 0, make_error_code(Errc::inconsistent_settings), std::move(message)});
  }
  void fail(Errc code, std::string message) {
    errors_.push_back({{}, 0, make_error_code(code), std::move(message)});
  }
  std::vector<Diagnostic> take() { return std::move(errors_); }
  bool ok() const noexcept { return errors_.empty(); }

 private:
  const SettingMap& m_;
  std::vector<Diagnostic> errors_;
};

AuthSettings read_auth(Reader& r, std::string_view prefix) {
  const std::string p(prefix);
  AuthSettings a;
  a.authmethod = r.str(p + "authmethod") == "CHAP" ? AuthMethod::chap : AuthMethod::none;
  a.username = r.str(p + "username");
  a.password = r.secret(p + "password");
  a.username_in = r.str(p + "username_in");
  a.password_in = r.secret(p + "password_in");
  auto algs = auth::parse_chap_algs(r.str(p + "chap_algs"));
  if (algs) a.chap_algs = std::move(*algs);
  if (a.authmethod == AuthMethod::chap) {
    if (a.username.empty() || a.password.empty())
      r.fail(p + "authmethod is CHAP but " + p + "username or " + p + "password is empty");
    if (a.mutual() && (a.username_in.empty() || a.password_in.empty()))
      r.fail("mutual CHAP needs both " + p + "username_in and " + p + "password_in");
    if (a.mutual() && !a.password.empty() && a.password.same_as(a.password_in))
      r.fail(p + "password and " + p +
             "password_in are the same; RFC 7143 9.2.1 requires different secrets");
  }
  return a;
}

std::string pick_initiator_name(Reader& r, std::string_view from_iface,
                                std::string_view from_file) {
  const std::string_view name = !from_iface.empty() ? from_iface : from_file;
  if (name.empty()) {
    r.fail(Errc::missing_initiator_name,
           "no initiator name: set InitiatorName in initiatorname.iscsi or iface.initiatorname");
  } else if (text::validate_iscsi_name(name)) {
    r.fail(Errc::invalid_initiator_name,
           "initiator name '" + std::string(name.substr(0, 80)) + "' is not an iSCSI name");
  }
  return std::string(name);
}

}  // namespace

AuthSettings AuthSettings::clone() const {
  AuthSettings a;
  a.authmethod = authmethod;
  a.username = username;
  a.password = password.clone();
  a.username_in = username_in;
  a.password_in = password_in.clone();
  a.chap_algs = chap_algs;
  return a;
}

NodeSettings NodeSettings::clone() const {
  NodeSettings n;
  n.target_name = target_name; n.tpgt = tpgt; n.address = address; n.port = port;
  n.startup = startup; n.leading_login = leading_login;
  n.initiator_name = initiator_name; n.initiator_alias = initiator_alias;
  n.iface_name = iface_name; n.transport_name = transport_name; n.ipaddress = ipaddress;
  n.hwaddress = hwaddress; n.net_ifacename = net_ifacename; n.isid = isid;
  n.replacement_timeout = replacement_timeout; n.login_timeout = login_timeout;
  n.logout_timeout = logout_timeout; n.noop_out_interval = noop_out_interval;
  n.noop_out_timeout = noop_out_timeout; n.abort_timeout = abort_timeout;
  n.lu_reset_timeout = lu_reset_timeout; n.tgt_reset_timeout = tgt_reset_timeout;
  n.host_reset_timeout = host_reset_timeout;
  n.initial_login_retry_max = initial_login_retry_max; n.reopen_max = reopen_max;
  n.cmds_max = cmds_max; n.queue_depth = queue_depth; n.nr_sessions = nr_sessions;
  n.scan = scan; n.auth = auth.clone();
  n.initial_r2t = initial_r2t; n.immediate_data = immediate_data;
  n.first_burst_length = first_burst_length; n.max_burst_length = max_burst_length;
  n.default_time2wait = default_time2wait; n.default_time2retain = default_time2retain;
  n.max_connections = max_connections; n.max_outstanding_r2t = max_outstanding_r2t;
  n.error_recovery_level = error_recovery_level; n.fast_abort = fast_abort;
  n.max_recv_data_segment_length = max_recv_data_segment_length;
  n.max_xmit_data_segment_length = max_xmit_data_segment_length;
  n.header_digest = header_digest; n.data_digest = data_digest;
  n.tcp_window_size = tcp_window_size; n.tcp_type_of_service = tcp_type_of_service;
  return n;
}

DiscoverySettings DiscoverySettings::clone() const {
  DiscoverySettings d;
  d.address = address; d.port = port; d.startup = startup;
  d.initiator_name = initiator_name; d.initiator_alias = initiator_alias;
  d.auth = auth.clone(); d.login_timeout = login_timeout; d.reply_timeout = reply_timeout;
  d.reopen_max = reopen_max; d.max_recv_data_segment_length = max_recv_data_segment_length;
  return d;
}

Checked<SettingMap> merge_node_settings(const SettingSources& sources) {
  return merge(sources, {Scope::node, Scope::iface});
}

Checked<SettingMap> merge_discovery_settings(const SettingSources& sources) {
  return merge(sources, {Scope::discovery});
}

Checked<NodeSettings> node_settings_from(const SettingMap& merged, std::string_view initiator_name,
                                         std::string_view initiator_alias) {
  Reader r(merged);
  NodeSettings n;
  n.target_name = r.str("node.name");
  n.tpgt = r.as<int>("node.tpgt");
  n.address = r.str("node.conn[0].address");
  n.port = r.as<std::uint16_t>("node.conn[0].port");
  n.startup = r.startup("node.startup");
  n.leading_login = r.yes("node.leading_login");
  n.initiator_name = pick_initiator_name(r, merged.get_or_default("iface.initiatorname"),
                                         initiator_name);
  n.initiator_alias = std::string(initiator_alias);
  n.iface_name = r.str("iface.iscsi_ifacename");
  n.transport_name = r.str("iface.transport_name");
  n.ipaddress = r.str("iface.ipaddress");
  n.hwaddress = r.str("iface.hwaddress");
  n.net_ifacename = r.str("iface.net_ifacename");
  if (const std::string isid = r.str("iface.isid"); !isid.empty()) {
    std::uint64_t v = 0;
    std::from_chars(isid.data(), isid.data() + isid.size(), v, 16);
    n.isid = pdu::Isid::from_u48(v);
  }
  n.replacement_timeout = r.seconds("node.session.timeo.replacement_timeout");
  n.login_timeout = r.seconds("node.conn[0].timeo.login_timeout");
  n.logout_timeout = r.seconds("node.conn[0].timeo.logout_timeout");
  n.noop_out_interval = r.seconds("node.conn[0].timeo.noop_out_interval");
  n.noop_out_timeout = r.seconds("node.conn[0].timeo.noop_out_timeout");
  n.abort_timeout = r.seconds("node.session.err_timeo.abort_timeout");
  n.lu_reset_timeout = r.seconds("node.session.err_timeo.lu_reset_timeout");
  n.tgt_reset_timeout = r.seconds("node.session.err_timeo.tgt_reset_timeout");
  n.host_reset_timeout = r.seconds("node.session.err_timeo.host_reset_timeout");
  n.initial_login_retry_max = r.as<unsigned>("node.session.initial_login_retry_max");
  n.reopen_max = r.as<unsigned>("node.session.reopen_max");
  n.cmds_max = r.as<unsigned>("node.session.cmds_max");
  n.queue_depth = r.as<unsigned>("node.session.queue_depth");
  n.nr_sessions = r.as<unsigned>("node.session.nr_sessions");
  n.scan = r.str("node.session.scan") == "manual" ? ScanMode::manual : ScanMode::automatic;
  n.auth = read_auth(r, "node.session.auth.");
  n.initial_r2t = r.yes("node.session.iscsi.InitialR2T");
  n.immediate_data = r.yes("node.session.iscsi.ImmediateData");
  n.first_burst_length = r.as<std::uint32_t>("node.session.iscsi.FirstBurstLength");
  n.max_burst_length = r.as<std::uint32_t>("node.session.iscsi.MaxBurstLength");
  n.default_time2wait = r.as<std::uint32_t>("node.session.iscsi.DefaultTime2Wait");
  n.default_time2retain = r.as<std::uint32_t>("node.session.iscsi.DefaultTime2Retain");
  n.max_connections = r.as<std::uint32_t>("node.session.iscsi.MaxConnections");
  n.max_outstanding_r2t = r.as<std::uint32_t>("node.session.iscsi.MaxOutstandingR2T");
  n.error_recovery_level = r.as<std::uint8_t>("node.session.iscsi.ERL");
  n.fast_abort = r.yes("node.session.iscsi.FastAbort");
  n.max_recv_data_segment_length =
      r.as<std::uint32_t>("node.conn[0].iscsi.MaxRecvDataSegmentLength");
  n.max_xmit_data_segment_length =
      r.as<std::uint32_t>("node.conn[0].iscsi.MaxXmitDataSegmentLength");
  n.header_digest = r.str("node.conn[0].iscsi.HeaderDigest");
  n.data_digest = r.str("node.conn[0].iscsi.DataDigest");
  n.tcp_window_size = r.as<std::uint32_t>("node.conn[0].tcp.window_size");
  n.tcp_type_of_service = r.as<std::uint8_t>("node.conn[0].tcp.type_of_service");

  if (n.first_burst_length > n.max_burst_length)
    r.fail("node.session.iscsi.FirstBurstLength " + std::to_string(n.first_burst_length) +
           " exceeds node.session.iscsi.MaxBurstLength " + std::to_string(n.max_burst_length) +
           " (RFC 7143 13.14)");
  if (n.max_xmit_data_segment_length != 0 && n.max_xmit_data_segment_length < 512)
    r.fail("node.conn[0].iscsi.MaxXmitDataSegmentLength " +
           std::to_string(n.max_xmit_data_segment_length) + " must be 0 (as the target says) or "
           "at least 512");
  if (!r.ok()) return r.take();
  return n;
}

Checked<DiscoverySettings> discovery_settings_from(const SettingMap& merged,
                                                   std::string_view initiator_name,
                                                   std::string_view initiator_alias) {
  Reader r(merged);
  DiscoverySettings d;
  d.address = r.str("discovery.sendtargets.address");
  d.port = r.as<std::uint16_t>("discovery.sendtargets.port");
  d.startup = r.startup("discovery.startup");
  d.initiator_name = pick_initiator_name(r, {}, initiator_name);
  d.initiator_alias = std::string(initiator_alias);
  d.auth = read_auth(r, "discovery.sendtargets.auth.");
  d.login_timeout = r.seconds("discovery.sendtargets.timeo.login_timeout");
  d.reply_timeout = r.seconds("discovery.sendtargets.timeo.active_timeout");
  d.reopen_max = r.as<unsigned>("discovery.sendtargets.reopen_max");
  d.max_recv_data_segment_length =
      r.as<std::uint32_t>("discovery.sendtargets.iscsi.MaxRecvDataSegmentLength");
  if (!r.ok()) return r.take();
  return d;
}

Checked<NodeSettings> resolve_node_settings(const SettingSources& sources) {
  auto merged = merge_node_settings(sources);
  if (!merged) return merged.diagnostics();
  return node_settings_from(*merged, sources.initiator_name, sources.initiator_alias);
}

Checked<DiscoverySettings> resolve_discovery_settings(const SettingSources& sources) {
  auto merged = merge_discovery_settings(sources);
  if (!merged) return merged.diagnostics();
  return discovery_settings_from(*merged, sources.initiator_name, sources.initiator_alias);
}

}  // namespace iscsi::config
