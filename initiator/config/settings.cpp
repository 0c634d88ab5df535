// The settings table and what reads it: lookup, suggestions, value normalization, SettingMap.
// Defaults are open-iscsi's as shipped: etc/iscsid.conf where it sets a key, usr/idbm.c's
// built-in default otherwise (noted where they differ).
#include "config/settings.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>

#include "proto/auth/chap.hpp"
#include "proto/text/values.hpp"

namespace iscsi::config {
namespace {

constexpr std::int64_t kIntMax = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kMaxDataLength = 16777215;  // RFC 7143: 2^24 - 1

constexpr SettingInfo integer(std::string_view key, Scope scope, std::string_view def,
                              std::int64_t min, std::int64_t max, std::string_view about) {
  return {key, scope, Type::integer, def, min, max, {}, false, false, true, true, about};
}
constexpr SettingInfo boolean(std::string_view key, Scope scope, std::string_view def,
                              std::string_view about) {
  return {key, scope, Type::boolean, def, 0, 0, {}, false, false, true, true, about};
}
constexpr SettingInfo choice(std::string_view key, Scope scope, std::string_view def,
                             std::string_view choices, std::string_view about) {
  return {key, scope, Type::choice, def, 0, 0, choices, false, false, true, true, about};
}
constexpr SettingInfo text(std::string_view key, Scope scope, std::string_view def,
                           std::string_view about) {
  return {key, scope, Type::string, def, 0, 0, {}, false, false, true, true, about};
}
constexpr SettingInfo secret(std::string_view key, Scope scope, std::string_view about) {
  return {key, scope, Type::secret, "", 0, 0, {}, true, false, true, true, about};
}
constexpr SettingInfo typed(std::string_view key, Scope scope, Type type, std::string_view def,
                            std::string_view about) {
  return {key, scope, type, def, 0, 0, {}, false, false, true, true, about};
}
// Identity rows name the record (path components); -o update refuses them.
constexpr SettingInfo identity(SettingInfo info) {
  info.identity = true;
  return info;
}
// Kept for a faithful round trip of open-iscsi's files, not acted on by this initiator.
constexpr SettingInfo unused(SettingInfo info) {
  info.used = false;
  return info;
}
// Offload-HBA iface keys (qla4xxx, bnx2i, be2iscsi): accepted and kept as text when present,
// never written otherwise; a software initiator has nothing to do with them.
constexpr SettingInfo offload(std::string_view key) {
  return {key, Scope::iface, Type::string, "", 0, 0, {}, false, false, false, false,
          "offload HBA setting (kept, not used by a software initiator)"};
}
constexpr SettingInfo hidden(SettingInfo info) {
  info.always_written = false;
  return info;
}

constexpr auto N = Scope::node;
constexpr auto D = Scope::discovery;
constexpr auto F = Scope::iface;
constexpr auto G = Scope::iscsid;

constexpr std::string_view kStartup = "manual|automatic|onboot";

constexpr std::array kTable{
    // --- iscsid.conf only ----------------------------------------------------------------------
    unused(text("iscsid.startup", G, "", "command that starts iscsid (open-iscsi's daemon)")),
    unused(boolean("iscsid.safe_logout", G, "No", "refuse to log out of a session with mounts")),
    unused(boolean("iscsid.ipc_auth_uid", G, "No", "authenticate iscsiadm by uid")),
    // Older iscsid.conf files name the iSNS server (commented out in most distributions).
    hidden(unused(text("isns.address", G, "", "iSNS server (not supported)"))),
    hidden(unused(integer("isns.port", G, "3205", 1, 65535, "iSNS server port (not supported)"))),

    // --- node record: identity and startup -----------------------------------------------------
    identity(typed("node.name", N, Type::iscsi_name, "", "target name")),
    identity(integer("node.tpgt", N, "-1", -1, 65535, "target portal group tag (-1 unknown)")),
    choice("node.startup", N, "manual", kStartup, "log in at boot (automatic/onboot) or not"),
    boolean("node.leading_login", N, "No", "log in this portal first (multi-portal targets)"),

    // --- iface: the software iSCSI subset (open-iscsi prints these in node records) ------------
    identity(text("iface.iscsi_ifacename", F, "default", "iface record name")),
    text("iface.net_ifacename", F, "", "bind to this network interface (SO_BINDTODEVICE)"),
    text("iface.ipaddress", F, "", "source address to bind"),
    text("iface.hwaddress", F, "", "bind to the interface with this MAC address"),
    choice("iface.transport_name", F, "tcp", "tcp|iser", "transport"),
    typed("iface.initiatorname", F, Type::iscsi_name, "",
          "initiator name for sessions through this iface (overrides InitiatorName)"),
    hidden(typed("iface.isid", F, Type::isid, "",
                 "ISID as 12 hex digits (empty: a random-format ISID per session)")),
    offload("iface.bootproto"), offload("iface.prefix_len"), offload("iface.subnet_mask"),
    offload("iface.gateway"), offload("iface.primary_dns"), offload("iface.secondary_dns"),
    offload("iface.vlan_id"), offload("iface.vlan_priority"), offload("iface.vlan_state"),
    offload("iface.ipv6_linklocal"), offload("iface.ipv6_router"), offload("iface.ipv6_autocfg"),
    offload("iface.linklocal_autocfg"), offload("iface.router_autocfg"), offload("iface.state"),
    offload("iface.iface_num"), offload("iface.mtu"), offload("iface.port"),
    offload("iface.delayed_ack"), offload("iface.tcp_nagle"), offload("iface.tcp_wsf_state"),
    offload("iface.tcp_wsf"), offload("iface.tcp_timer_scale"), offload("iface.tcp_timestamp"),
    offload("iface.dhcp_dns"), offload("iface.dhcp_slp_da"), offload("iface.tos_state"),
    offload("iface.tos"), offload("iface.gratuitous_arp"),
    offload("iface.dhcp_alt_client_id_state"), offload("iface.dhcp_alt_client_id"),
    offload("iface.dhcp_req_vendor_id_state"), offload("iface.dhcp_vendor_id_state"),
    offload("iface.dhcp_vendor_id"), offload("iface.dhcp_learn_iqn"),
    offload("iface.fragmentation"), offload("iface.incoming_forwarding"), offload("iface.ttl"),
    offload("iface.gratuitous_neighbor_adv"), offload("iface.redirect"),
    offload("iface.ignore_icmp_echo_request"), offload("iface.mld"), offload("iface.flow_label"),
    offload("iface.traffic_class"), offload("iface.hop_limit"), offload("iface.nd_reachable_tmo"),
    offload("iface.nd_rexmit_time"), offload("iface.nd_stale_tmo"),
    offload("iface.dup_addr_detect_cnt"), offload("iface.router_adv_link_mtu"),
    offload("iface.def_task_mgmt_timeout"), offload("iface.header_digest"),
    offload("iface.data_digest"), offload("iface.immediate_data"), offload("iface.initial_r2t"),
    offload("iface.data_seq_inorder"), offload("iface.data_pdu_inorder"), offload("iface.erl"),
    offload("iface.max_receive_data_len"), offload("iface.first_burst_len"),
    offload("iface.max_outstanding_r2t"), offload("iface.max_burst_len"),
    offload("iface.chap_auth"), offload("iface.bidi_chap"),
    offload("iface.strict_login_compliance"), offload("iface.discovery_auth"),
    offload("iface.discovery_logout"), offload("iface.vlan"),

    // --- node record: where it was discovered --------------------------------------------------
    identity(text("node.discovery_address", N, "", "portal that reported this target")),
    identity(integer("node.discovery_port", N, "0", 0, 65535, "port of that portal")),
    identity(choice("node.discovery_type", N, "static",
                    "static|send_targets|isns|offload_send_targets|slp|fw",
                    "how this record was found")),
    hidden(unused(text("node.boot_lun", N, "", "boot LUN (firmware records)"))),

    // --- node.session --------------------------------------------------------------------------
    unused(integer("node.session.initial_cmdsn", N, "0", 0, 4294967295, "first CmdSN (kernel picks)")),
    // idbm.c default 4; iscsid.conf ships 8.
    integer("node.session.initial_login_retry_max", N, "8", 0, kIntMax,
            "login attempts at the first login (each login_timeout long)"),
    unused(integer("node.session.xmit_thread_priority", N, "-20", -20, 20,
                   "nice value of open-iscsi's xmit thread")),
    integer("node.session.cmds_max", N, "128", 16, 2048, "commands queued per session"),
    integer("node.session.queue_depth", N, "32", 1, 1024, "commands queued per LUN"),
    integer("node.session.nr_sessions", N, "1", 1, 1024, "sessions to open to this portal"),
    choice("node.session.auth.authmethod", N, "None", "None|CHAP", "authentication"),
    text("node.session.auth.username", N, "", "CHAP name we send (CHAP_N)"),
    secret("node.session.auth.password", N, "CHAP secret the target checks"),
    text("node.session.auth.username_in", N, "", "mutual CHAP: the target's CHAP name"),
    secret("node.session.auth.password_in", N, "mutual CHAP: the target's secret"),
    // idbm.c default MD5; we offer iscsid.conf's recommended list (MD5 still last).
    typed("node.session.auth.chap_algs", N, Type::chap_algs, "SHA3-256,SHA256,SHA1,MD5",
          "CHAP algorithms offered, preferred first"),
    hidden(unused(integer("node.session.auth.password_length", N, "0", 0, 256, "legacy"))),
    hidden(unused(integer("node.session.auth.password_in_length", N, "0", 0, 256, "legacy"))),
    integer("node.session.timeo.replacement_timeout", N, "120", -1, kIntMax,
            "seconds to wait for a relogin before failing commands (0 at once, -1 never)"),
    integer("node.session.err_timeo.abort_timeout", N, "15", 0, kIntMax, "ABORT TASK timeout"),
    integer("node.session.err_timeo.lu_reset_timeout", N, "30", 0, kIntMax,
            "LOGICAL UNIT RESET timeout"),
    integer("node.session.err_timeo.tgt_reset_timeout", N, "30", 0, kIntMax,
            "TARGET WARM/COLD RESET timeout"),
    integer("node.session.err_timeo.host_reset_timeout", N, "60", 0, kIntMax,
            "host reset timeout (session drop and relogin)"),
    boolean("node.session.iscsi.FastAbort", N, "Yes",
            "stop sending data for an aborted task at once"),
    boolean("node.session.iscsi.InitialR2T", N, "No", "InitialR2T offered"),
    boolean("node.session.iscsi.ImmediateData", N, "Yes", "ImmediateData offered"),
    integer("node.session.iscsi.FirstBurstLength", N, "262144", 512, kMaxDataLength,
            "FirstBurstLength offered"),
    integer("node.session.iscsi.MaxBurstLength", N, "16776192", 512, kMaxDataLength,
            "MaxBurstLength offered"),
    integer("node.session.iscsi.DefaultTime2Retain", N, "0", 0, 3600, "DefaultTime2Retain offered"),
    integer("node.session.iscsi.DefaultTime2Wait", N, "2", 0, 3600, "DefaultTime2Wait offered"),
    integer("node.session.iscsi.MaxConnections", N, "1", 1, 65535, "MaxConnections offered"),
    integer("node.session.iscsi.MaxOutstandingR2T", N, "1", 1, 65535, "MaxOutstandingR2T offered"),
    integer("node.session.iscsi.ERL", N, "0", 0, 2, "ErrorRecoveryLevel offered"),
    choice("node.session.scan", N, "auto", "auto|manual", "scan LUNs after login"),
    integer("node.session.reopen_max", N, "0", 0, kIntMax,
            "relogin attempts after a failure (0 = no limit)"),

    // --- node.conn[0] --------------------------------------------------------------------------
    identity(text("node.conn[0].address", N, "", "portal address")),
    identity(integer("node.conn[0].port", N, "3260", 1, 65535, "portal port")),
    choice("node.conn[0].startup", N, "manual", kStartup, "connection startup"),
    integer("node.conn[0].tcp.window_size", N, "524288", 0, kIntMax,
            "socket buffer size in bytes (0 = kernel default)"),
    integer("node.conn[0].tcp.type_of_service", N, "0", 0, 255, "IP TOS byte"),
    integer("node.conn[0].timeo.logout_timeout", N, "15", 0, kIntMax, "seconds for a logout"),
    // idbm.c default 30; iscsid.conf ships 15.
    integer("node.conn[0].timeo.login_timeout", N, "15", 1, kIntMax, "seconds for one login"),
    unused(integer("node.conn[0].timeo.auth_timeout", N, "45", 0, kIntMax, "deprecated")),
    integer("node.conn[0].timeo.noop_out_interval", N, "5", 0, kIntMax,
            "seconds between NOP-Out pings (0 = none)"),
    integer("node.conn[0].timeo.noop_out_timeout", N, "5", 0, kIntMax,
            "seconds a NOP-Out may wait for its NOP-In (then ISCSI_ERR_NOP_TIMEDOUT)"),
    integer("node.conn[0].iscsi.MaxXmitDataSegmentLength", N, "0", 0, kMaxDataLength,
            "largest data segment we send (0 = as the target declares)"),
    integer("node.conn[0].iscsi.MaxRecvDataSegmentLength", N, "262144", 512, kMaxDataLength,
            "MaxRecvDataSegmentLength declared"),
    typed("node.conn[0].iscsi.HeaderDigest", N, Type::digest_list, "None", "HeaderDigest offered"),
    typed("node.conn[0].iscsi.DataDigest", N, Type::digest_list, "None", "DataDigest offered"),
    unused(boolean("node.conn[0].iscsi.IFMarker", N, "No", "markers (obsolete in RFC 7143)")),
    unused(boolean("node.conn[0].iscsi.OFMarker", N, "No", "markers (obsolete in RFC 7143)")),

    // --- discovery (send_targets/<ip>,<port>/st_config) ---------------------------------------
    choice("discovery.startup", D, "manual", "manual|automatic", "rediscover at iscsid start"),
    identity(choice("discovery.type", D, "sendtargets", "sendtargets|isns|static|fw|slp",
                    "discovery method")),
    identity(text("discovery.sendtargets.address", D, "", "discovery portal address")),
    identity(integer("discovery.sendtargets.port", D, "3260", 1, 65535, "discovery portal port")),
    choice("discovery.sendtargets.auth.authmethod", D, "None", "None|CHAP", "authentication"),
    text("discovery.sendtargets.auth.username", D, "", "CHAP name we send"),
    secret("discovery.sendtargets.auth.password", D, "CHAP secret the target checks"),
    text("discovery.sendtargets.auth.username_in", D, "", "mutual CHAP: the target's CHAP name"),
    secret("discovery.sendtargets.auth.password_in", D, "mutual CHAP: the target's secret"),
    typed("discovery.sendtargets.auth.chap_algs", D, Type::chap_algs, "SHA3-256,SHA256,SHA1,MD5",
          "CHAP algorithms offered (our addition; open-iscsi uses the node list)"),
    hidden(unused(integer("discovery.sendtargets.auth.password_length", D, "0", 0, 256, "legacy"))),
    hidden(unused(integer("discovery.sendtargets.auth.password_in_length", D, "0", 0, 256,
                          "legacy"))),
    integer("discovery.sendtargets.timeo.login_timeout", D, "15", 1, kIntMax,
            "seconds for the discovery login"),
    boolean("discovery.sendtargets.use_discoveryd", D, "No", "lab-iscsid rediscovers at each poll"),
    integer("discovery.sendtargets.discoveryd_poll_inval", D, "30", 0, kIntMax,
            "seconds between lab-iscsid's rediscoveries"),
    integer("discovery.sendtargets.reopen_max", D, "5", 0, kIntMax,
            "reconnect attempts during discovery"),
    unused(integer("discovery.sendtargets.timeo.auth_timeout", D, "45", 0, kIntMax, "deprecated")),
    integer("discovery.sendtargets.timeo.active_timeout", D, "30", 1, kIntMax,
            "seconds to wait for the SendTargets reply"),
    integer("discovery.sendtargets.iscsi.MaxRecvDataSegmentLength", D, "32768", 512,
            kMaxDataLength, "MaxRecvDataSegmentLength declared in discovery"),
    // --- iSNS discovery records (isns/<ip>,<port>/isns_config) -------------------------------
    // Hidden: never written to a SendTargets record; an iSNS record always has both.
    hidden(boolean("discovery.isns.use_discoveryd", D, "No",
                   "lab-iscsid queries the iSNS server at each poll")),
    hidden(integer("discovery.isns.discoveryd_poll_inval", D, "-1", -1, kIntMax,
                   "seconds between lab-iscsid's iSNS queries (-1: 30, as no SCNs; 0: once)")),
};

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

char lower(char c) noexcept {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// Levenshtein distance of two lower-cased strings when it is at most `limit`, else limit + 1.
// Only the diagonal band |i - j| <= limit can hold such paths, so only it is computed.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit) {
  const std::size_t too_far = limit + 1;
  std::vector<std::size_t> prev(b.size() + 1, too_far);
  std::vector<std::size_t> cur(b.size() + 1, too_far);
  for (std::size_t j = 0; j <= std::min(b.size(), limit); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    const std::size_t lo = i > limit ? i - limit : 1;
    const std::size_t hi = std::min(b.size(), i + limit);
    std::fill(cur.begin(), cur.end(), too_far);
    if (i <= limit) cur[0] = i;
    std::size_t best = cur[0];
    for (std::size_t j = lo; j <= hi; ++j) {
      std::size_t v = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      if (prev[j] + 1 < v) v = prev[j] + 1;
      if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
      cur[j] = v < too_far ? v : too_far;
      if (cur[j] < best) best = cur[j];
    }
    if (best >= too_far) return too_far;
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

NormalizeOutcome fail(Errc code, std::string why) {
  return {{}, make_error_code(code), std::move(why)};
}

NormalizeOutcome normalize_integer(const SettingInfo& info, std::string_view value) {
  std::string_view digits = value;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size())
    return fail(Errc::invalid_value, "expected a decimal number, got " + quoted(value));
  if (ec == std::errc::result_out_of_range || n < info.min || n > info.max)
    return fail(Errc::out_of_range, std::string(value) + " is outside " +
                                        std::to_string(info.min) + ".." + std::to_string(info.max));
  return {std::to_string(n), {}, {}};
}

NormalizeOutcome normalize_choice(std::string_view choices, std::string_view value) {
  std::string listed;
  while (!choices.empty()) {
    const std::size_t bar = choices.find('|');
    const std::string_view option = choices.substr(0, bar);
    if (iequals(option, value)) return {std::string(option), {}, {}};
    listed += (listed.empty() ? "" : ", ") + std::string(option);
    choices = bar == std::string_view::npos ? std::string_view{} : choices.substr(bar + 1);
  }
  return fail(Errc::invalid_value, "expected one of " + listed + ", got " + quoted(value));
}

NormalizeOutcome normalize_digests(std::string_view value) {
  std::string out;
  bool seen_none = false;
  bool seen_crc = false;
  std::string_view rest = value;
  while (true) {
    const std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    bool* seen = nullptr;
    std::string_view canonical;
    if (iequals(item, "None")) { seen = &seen_none; canonical = "None"; }
    else if (iequals(item, "CRC32C")) { seen = &seen_crc; canonical = "CRC32C"; }
    else return fail(Errc::invalid_value,
                     "expected None, CRC32C, CRC32C,None or None,CRC32C, got " + quoted(value));
    if (*seen) return fail(Errc::invalid_value, "digest " + std::string(canonical) +
                                                    " listed twice in " + quoted(value));
    *seen = true;
    out += (out.empty() ? "" : ",") + std::string(canonical);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return {out, {}, {}};
}

NormalizeOutcome normalize_chap_algs(std::string_view value) {
  auto parsed = auth::parse_chap_algs(value);
  if (!parsed)
    return fail(Errc::invalid_value, "expected a list of SHA3-256, SHA256, SHA1, MD5 (" +
                                         parsed.error().message() + "), got " + quoted(value));
  std::string out;
  for (auto a : *parsed) out += (out.empty() ? "" : ",") + std::string(auth::to_string(a));
  return {out, {}, {}};
}

}  // namespace

std::string_view to_string(Type t) noexcept {
  switch (t) {
    case Type::integer: return "integer";
    case Type::boolean: return "Yes/No";
    case Type::choice: return "choice";
    case Type::string: return "string";
    case Type::secret: return "secret";
    case Type::digest_list: return "digest list";
    case Type::chap_algs: return "CHAP algorithm list";
    case Type::iscsi_name: return "iSCSI name";
    case Type::isid: return "ISID (12 hex digits)";
  }
  return "?";
}

std::string_view to_string(Scope s) noexcept {
  switch (s) {
    case Scope::iscsid: return "iscsid";
    case Scope::node: return "node";
    case Scope::discovery: return "discovery";
    case Scope::iface: return "iface";
  }
  return "?";
}

std::span<const SettingInfo> all_settings() noexcept { return kTable; }

const SettingInfo* find_setting(std::string_view key) noexcept {
  for (const auto& row : kTable)
    if (row.key == key) return &row;
  return nullptr;
}

std::size_t index_of(const SettingInfo& info) noexcept {
  return static_cast<std::size_t>(&info - kTable.data());
}

std::vector<std::string_view> suggest_settings(std::string_view key) {
  std::vector<std::string_view> out;
  for (const auto& row : kTable)
    if (iequals(row.key, key)) out.push_back(row.key);
  // Keys are at most ~60 bytes; a longer "key" is no typo of one (and would cost a quadratic
  // edit distance against every row).
  if (!out.empty() || key.size() > 96) return out;
  const std::size_t limit = std::max<std::size_t>(3, key.size() / 6);
  std::string wanted(key);
  for (char& c : wanted) c = lower(c);
  std::vector<std::pair<std::size_t, std::string_view>> scored;
  std::string candidate;
  for (const auto& row : kTable) {
    const std::size_t gap = row.key.size() > wanted.size() ? row.key.size() - wanted.size()
                                                            : wanted.size() - row.key.size();
    if (gap > limit) continue;  // the distance is at least the length difference
    candidate.assign(row.key);
    for (char& c : candidate) c = lower(c);
    const std::size_t d = edit_distance(wanted, candidate, limit);
    if (d <= limit) scored.emplace_back(d, row.key);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < scored.size() && i < 3; ++i) out.push_back(scored[i].second);
  return out;
}

std::string unknown_setting_message(std::string_view key, bool suggest) {
  std::string out = "unknown setting " + quoted(key.size() > 96 ? key.substr(0, 96) : key);
  if (key.size() > 96) out.insert(out.size() - 1, "...");
  if (!suggest) return out;
  const auto near = suggest_settings(key);
  for (std::size_t i = 0; i < near.size(); ++i)
    out += (i == 0 ? "; did you mean " : " or ") + quoted(near[i]);
  if (!near.empty()) out += '?';
  return out;
}

NormalizeOutcome normalize_value(const SettingInfo& info, std::string_view value) {
  // Files trim blanks around a value, so a value kept with them would not survive a round trip.
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  // open-iscsi prints empty strings as "<empty>" and reads them back as empty.
  if (value == "<empty>") value = {};
  if (value.size() > 255)
    return fail(Errc::value_too_long,
                std::to_string(value.size()) + " bytes; open-iscsi values hold at most 255");
  for (char c : value)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return fail(Errc::invalid_value, "control character in value");
  switch (info.type) {
    case Type::integer: return normalize_integer(info, value);
    case Type::boolean: return normalize_choice("Yes|No", value);
    case Type::choice: return normalize_choice(info.choices, value);
    case Type::string:
    case Type::secret: return {std::string(value), {}, {}};
    case Type::digest_list: return normalize_digests(value);
    case Type::chap_algs: return normalize_chap_algs(value);
    case Type::iscsi_name:
      if (value.empty() && info.default_value.empty()) return {{}, {}, {}};
      if (text::validate_iscsi_name(value))
        return fail(Errc::invalid_value, "expected an iSCSI name (iqn.yyyy-mm.domain[:id], eui., "
                                         "naa.), got " + quoted(value));
      return {std::string(value), {}, {}};
    case Type::isid: {
      if (value.empty()) return {{}, {}, {}};
      std::string_view hex = value;
      if (hex.starts_with("0x") || hex.starts_with("0X")) hex.remove_prefix(2);
      std::string out;
      for (char c : hex) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) { out.clear(); break; }
        out += lower(c);
      }
      if (hex.size() != 12 || out.size() != 12)
        return fail(Errc::invalid_value, "expected 12 hex digits (a 48-bit ISID), got " +
                                             quoted(value));
      return {out, {}, {}};
    }
  }
  return fail(Errc::invalid_value, "unknown type");
}

std::string Diagnostic::to_string() const {
  std::string out;
  if (!file.empty()) {
    out = file;
    if (line != 0) out += ':' + std::to_string(line);
    out += ": ";
  }
  return out + message;
}

// --- SettingMap ----------------------------------------------------------------------------------

SettingMap& SettingMap::operator=(const SettingMap& other) {
  if (this != &other) {
    wipe();
    values_ = other.values_;
  }
  return *this;
}

SettingMap& SettingMap::operator=(SettingMap&& other) noexcept {
  if (this != &other) {
    wipe();
    values_ = std::move(other.values_);
  }
  return *this;
}

SettingMap::~SettingMap() { wipe(); }

void SettingMap::wipe() noexcept {
  for (auto& v : values_)
    if (v && !v->empty()) OPENSSL_cleanse(v->data(), v->size());
}

std::optional<Diagnostic> SettingMap::set(std::string_view key, std::string_view value) {
  const SettingInfo* info = find_setting(key);
  if (!info)
    return Diagnostic{{}, 0, make_error_code(Errc::unknown_setting), unknown_setting_message(key)};
  auto outcome = normalize_value(*info, value);
  if (outcome.error) {
    // Never echo a secret's value into a message.
    std::string why = info->secret ? std::string(describe(static_cast<Errc>(outcome.error.value())))
                                   : outcome.why;
    return Diagnostic{{}, 0, outcome.error, std::string(info->key) + ": " + why};
  }
  set_canonical(*info, std::move(outcome.value));
  return std::nullopt;
}

void SettingMap::set_canonical(const SettingInfo& info, std::string value) {
  if (values_.empty()) values_.resize(kTable.size());
  auto& slot = values_[index_of(info)];
  if (slot && !slot->empty()) OPENSSL_cleanse(slot->data(), slot->size());
  slot = std::move(value);
}

void SettingMap::erase(std::string_view key) {
  const SettingInfo* info = find_setting(key);
  if (!info || values_.empty()) return;
  auto& slot = values_[index_of(*info)];
  if (slot && !slot->empty()) OPENSSL_cleanse(slot->data(), slot->size());
  slot.reset();
}

const std::string* SettingMap::get(std::string_view key) const noexcept {
  const SettingInfo* info = find_setting(key);
  if (!info || values_.empty()) return nullptr;
  const auto& slot = values_[index_of(*info)];
  return slot ? &*slot : nullptr;
}

std::string_view SettingMap::get_or_default(std::string_view key) const noexcept {
  if (const std::string* v = get(key)) return *v;
  const SettingInfo* info = find_setting(key);
  return info ? info->default_value : std::string_view{};
}

std::size_t SettingMap::size() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(values_.begin(), values_.end(), [](const auto& v) { return v.has_value(); }));
}

void SettingMap::merge_from(const SettingMap& upper) {
  for (std::size_t i = 0; i < upper.values_.size(); ++i)
    if (upper.values_[i]) set_canonical(kTable[i], *upper.values_[i]);
}

SettingMap SettingMap::only(std::initializer_list<Scope> scopes) const {
  SettingMap out;
  for (std::size_t i = 0; i < values_.size(); ++i)
    if (values_[i] && std::find(scopes.begin(), scopes.end(), kTable[i].scope) != scopes.end())
      out.set_canonical(kTable[i], *values_[i]);
  return out;
}

std::vector<std::pair<const SettingInfo*, const std::string*>> SettingMap::entries() const {
  std::vector<std::pair<const SettingInfo*, const std::string*>> out;
  for (std::size_t i = 0; i < values_.size(); ++i)
    if (values_[i]) out.emplace_back(&kTable[i], &*values_[i]);
  return out;
}

SettingMap defaults_for(std::initializer_list<Scope> scopes) {
  SettingMap out;
  for (const auto& row : kTable)
    if (row.always_written && std::find(scopes.begin(), scopes.end(), row.scope) != scopes.end())
      out.set_canonical(row, std::string(row.default_value));
  return out;
}

}  // namespace iscsi::config
