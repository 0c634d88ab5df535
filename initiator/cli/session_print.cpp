// iscsiadm -m session's formats (see session_print.hpp).
#include "cli/session_print.hpp"

#include <cstdio>
#include <map>

namespace iscsi::cli {

namespace {

std::string yes_no(bool b) { return b ? "Yes" : "No"; }
std::string digest(login::Digest d) { return d == login::Digest::crc32c ? "CRC32C" : "None"; }
std::string or_empty(const std::string& s) { return s.empty() ? "<empty>" : s; }

std::string device_type_name(std::uint8_t t) {
  switch (t) {
    case 0x00: return "Direct-Access";
    case 0x01: return "Sequential-Access";
    case 0x05: return "CD-ROM";
    case 0x08: return "Medium-Changer";
    case 0x0c: return "RAID";
    case 0x0d: return "Enclosure";
    case 0x1f: return "No-Device";
    default: {
      char buf[16];
      std::snprintf(buf, sizeof buf, "0x%02x", t);
      return buf;
    }
  }
}

std::string size_words(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (v == static_cast<double>(static_cast<std::uint64_t>(v))) {
    std::snprintf(buf, sizeof buf, "%llu %s", static_cast<unsigned long long>(v), kUnits[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

void session_block(std::string& out, const SessionView& s, int level) {
  const std::string portal = portal_text(s.address, s.port, s.tpgt);
  out += "\tCurrent Portal: " + portal + "\n";
  out += "\tPersistent Portal: " + portal + "\n";
  out += "\t\t**********\n\t\tInterface:\n\t\t**********\n";
  out += "\t\tIface Name: " + s.iface + "\n";
  out += "\t\tIface Transport: tcp\n";
  out += "\t\tIface Initiatorname: " + s.initiator_name + "\n";
  out += "\t\tIface IPaddress: " + (s.iface_ipaddress.empty() ? "default" : s.iface_ipaddress) + "\n";
  out += "\t\tIface HWaddress: default\n";
  out += "\t\tIface Netdev: " + (s.iface_netdev.empty() ? "default" : s.iface_netdev) + "\n";
  out += "\t\tSID: " + std::to_string(s.sid) + "\n";
  out += "\t\tiSCSI Connection State: " + connection_state_for(s.session_state) + "\n";
  out += "\t\tiSCSI Session State: " + s.session_state + "\n";
  out += "\t\tInternal iscsid Session State: NO CHANGE\n";
  if (level < 2) return;
  out += "\t\t*********\n\t\tTimeouts:\n\t\t*********\n";
  out += "\t\tRecovery Timeout: " + std::to_string(s.replacement_timeout) + "\n";
  out += "\t\tTarget Reset Timeout: " + std::to_string(s.tgt_reset_timeout) + "\n";
  out += "\t\tLUN Reset Timeout: " + std::to_string(s.lu_reset_timeout) + "\n";
  out += "\t\tAbort Timeout: " + std::to_string(s.abort_timeout) + "\n";
  out += "\t\t*****\n\t\tCHAP:\n\t\t*****\n";
  out += "\t\tusername: " + or_empty(s.chap_username) + "\n";
  out += "\t\tpassword: ********\n";
  out += "\t\tusername_in: " + or_empty(s.chap_username_in) + "\n";
  out += "\t\tpassword_in: ********\n";
  const auto& p = s.params;
  out += "\t\t************************\n\t\tNegotiated iSCSI params:\n\t\t************************\n";
  out += "\t\tHeaderDigest: " + digest(p.header_digest) + "\n";
  out += "\t\tDataDigest: " + digest(p.data_digest) + "\n";
  out += "\t\tMaxRecvDataSegmentLength: " + std::to_string(p.max_recv_data_segment_length) + "\n";
  out += "\t\tMaxXmitDataSegmentLength: " + std::to_string(p.max_send_data_segment_length) + "\n";
  out += "\t\tFirstBurstLength: " + std::to_string(p.first_burst_length) + "\n";
  out += "\t\tMaxBurstLength: " + std::to_string(p.max_burst_length) + "\n";
  out += "\t\tImmediateData: " + yes_no(p.immediate_data) + "\n";
  out += "\t\tInitialR2T: " + yes_no(p.initial_r2t) + "\n";
  out += "\t\tMaxOutstandingR2T: " + std::to_string(p.max_outstanding_r2t) + "\n";
  out += "\t\tErrorRecoveryLevel: " + std::to_string(p.error_recovery_level) + "\n";
  if (level < 3) return;
  out += "\t\t************************\n\t\tAttached LUNs:\n\t\t************************\n";
  if (s.luns.empty()) out += "\t\tnone\n";
  for (const auto& l : s.luns) out += "\t\t" + format_lun(l) + "\n";
}

}  // namespace

std::string portal_text(const std::string& address, std::uint16_t port, int tpgt) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port) + "," +
         std::to_string(tpgt);
}

std::string connection_state_for(const std::string& session_state) {
  if (session_state == "LOGGED_IN") return "LOGGED IN";
  if (session_state == "FAILED" || session_state == "IN_RECOVERY" ||
      session_state == "RECOVERY_FAILED") {
    return "TRANSPORT WAIT";
  }
  if (session_state == "LOGGING_OUT") return "IN LOGOUT";
  return "FREE";
}

std::string format_lun(const LunView& l) {
  std::string out = "Lun: " + std::to_string(l.lun) + " Type: " + device_type_name(l.device_type) +
                    " Vendor: " + or_empty(l.vendor) + " Model: " + or_empty(l.product) +
                    " Rev: " + or_empty(l.revision);
  if (l.block_length != 0) {
    out += " Size: " + size_words(l.blocks * l.block_length) + " (" + std::to_string(l.blocks) +
           " x " + std::to_string(l.block_length) + ")";
  }
  return out;
}

std::string format_sessions(std::span<const SessionView> sessions, int print_level) {
  std::string out;
  if (print_level <= 0) {
    for (const auto& s : sessions) {
      out += "tcp [" + std::to_string(s.sid) + "] " + portal_text(s.address, s.port, s.tpgt) +
             " " + s.target + "\n";
    }
    return out;
  }
  // Grouped by target, in order of each target's first session, as iscsiadm does.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const SessionView*>> by_target;
  for (const auto& s : sessions) {
    auto& list = by_target[s.target];
    if (list.empty()) order.push_back(s.target);
    list.push_back(&s);
  }
  if (print_level >= 1) out += "iSCSI Transport Class version 2.0-870\nversion 2.1.8 (lab-iscsid)\n";
  for (const auto& t : order) {
    out += "Target: " + t + "\n";
    for (const SessionView* s : by_target[t]) session_block(out, *s, print_level);
  }
  return out;
}

std::string format_session_stats(const SessionView& s) {
  const auto& st = s.stats;
  std::string out = "Stats for session [sid: " + std::to_string(s.sid) + ", target: " + s.target +
                    ", portal: " + s.address + "," + std::to_string(s.port) + "]\n";
  out += "iSCSI SNMP:\n";
  const std::pair<const char*, std::uint64_t> rows[] = {
      {"txdata_octets", st.txdata_octets}, {"rxdata_octets", st.rxdata_octets},
      {"noptx_pdus", st.noptx_pdus},       {"scsicmd_pdus", st.scsicmd_pdus},
      {"tmfcmd_pdus", st.tmfcmd_pdus},     {"login_pdus", st.login_pdus},
      {"text_pdus", st.text_pdus},         {"dataout_pdus", st.dataout_pdus},
      {"logout_pdus", st.logout_pdus},     {"snack_pdus", st.snack_pdus},
      {"noprx_pdus", st.noprx_pdus},       {"scsirsp_pdus", st.scsirsp_pdus},
      {"tmfrsp_pdus", st.tmfrsp_pdus},     {"textrsp_pdus", st.textrsp_pdus},
      {"datain_pdus", st.datain_pdus},     {"logoutrsp_pdus", st.logoutrsp_pdus},
      {"r2t_pdus", st.r2t_pdus},           {"async_pdus", st.async_pdus},
      {"rjt_pdus", st.rjt_pdus},           {"digest_err", st.digest_err},
      {"timeout_err", st.timeout_err},
  };
  for (const auto& [name, value] : rows) out += std::string("\t") + name + ": " + std::to_string(value) + "\n";
  // Ours (ERL 1 recovery), under their own heading so the SNMP block stays open-iscsi's.
  out += "iSCSI Extended Stats:\n";
  out += "\tdatain_discarded: " + std::to_string(st.datain_discarded) + "\n";
  out += "\tdatain_recovered: " + std::to_string(st.datain_recovered) + "\n";
  out += "\tstatus_recovered: " + std::to_string(st.status_recovered) + "\n";
  out += "\tr2t_recovered: " + std::to_string(st.r2t_recovered) + "\n";
  out += "\tr2t_replaced: " + std::to_string(st.r2t_replaced) + "\n";
  out += "\tconnection_reinstatements: " + std::to_string(st.connection_reinstatements) + "\n";
  out += "\ttasks_reassigned: " + std::to_string(st.tasks_reassigned) + "\n";
  out += "\tcommands_resent: " + std::to_string(st.commands_resent) + "\n";
  out += "\treassign_refused: " + std::to_string(st.reassign_refused) + "\n";
  return out;
}

}  // namespace iscsi::cli
