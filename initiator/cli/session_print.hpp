// iscsiadm -m session's output, from a plain description of each session (SessionView), so the
// formats are tested without a network and the daemon only has to fill the views:
//   -P 0   "tcp [1] 10.0.0.1:3260,1 iqn.2003-01.org.example:t1" (the seed README's form)
//   -P 1   the tree by target: portals, iface, SID, connection and session state
//   -P 2   + timeouts, CHAP user names (secrets never: "********"), negotiated parameters
//   -P 3   + the LUNs the session sees (open-iscsi lists the kernel's SCSI disks here; ours has
//          none, so each LUN is listed with its INQUIRY identity and capacity instead)
//   -s     the stats listing ("iSCSI SNMP:" counters)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "proto/login/negotiation.hpp"
#include "proto/session/types.hpp"

namespace iscsi::cli {

struct LunView {
  std::uint16_t lun = 0;
  std::uint8_t device_type = 0;  // INQUIRY peripheral device type
  std::string vendor, product, revision;
  std::uint64_t blocks = 0;
  std::uint32_t block_length = 0;
};

struct SessionView {
  std::uint32_t sid = 0;
  std::string target;
  std::string address;  // the portal logged in to (IPv6 without brackets)
  std::uint16_t port = 3260;
  int tpgt = 1;
  std::string iface = "default";
  std::string iface_ipaddress, iface_netdev;  // the iface binding; empty: "default"
  std::string initiator_name;
  std::string session_state = "LOGGED_IN";  // net::Session::state_name()
  // Timeouts (seconds) as the session runs with them.
  int replacement_timeout = 120, tgt_reset_timeout = 30, lu_reset_timeout = 30, abort_timeout = 15;
  std::string chap_username, chap_username_in;  // user names only; secrets never leave the daemon
  login::NegotiatedParams params;
  std::vector<LunView> luns;
  session::Stats stats;
};

// "10.0.0.1:3260,1", IPv6 as "[fe80::1]:3260,1".
std::string portal_text(const std::string& address, std::uint16_t port, int tpgt);
// open-iscsi's connection state words for a session state name ("LOGGED IN", "TRANSPORT WAIT").
std::string connection_state_for(const std::string& session_state);

std::string format_sessions(std::span<const SessionView> sessions, int print_level);
std::string format_session_stats(const SessionView& s);
// "Lun: 0 Type: Direct-Access Vendor: LIO-ORG Model: FILEIO Rev: 4.0 Size: 64 MiB (131072 x 512)"
std::string format_lun(const LunView& lun);

}  // namespace iscsi::cli
