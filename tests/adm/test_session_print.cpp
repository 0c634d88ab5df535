// iscsiadm -m session's formats, from a SessionView: the seed README's one-line form, the -P
// trees level by level, the stats listing, and CHAP secrets that never appear.
#include <gtest/gtest.h>

#include "cli/session_print.hpp"

namespace iscsi::cli {
namespace {

SessionView sample() {
  SessionView s;
  s.sid = 2;
  s.target = "iqn.1992-08.com.netapp:sn.33615311";
  s.address = "10.15.84.19";
  s.port = 3260;
  s.tpgt = 2;
  s.initiator_name = "iqn.2026-12.org.example:host";
  s.chap_username = "alice";
  s.params.header_digest = login::Digest::crc32c;
  s.params.max_recv_data_segment_length = 262144;
  s.params.max_send_data_segment_length = 65536;
  s.luns.push_back({1, 0, "LIO-ORG", "disk0", "4.0", 131072, 512});
  s.stats.scsicmd_pdus = 7;
  s.stats.digest_err = 1;
  return s;
}

TEST(SessionPrint, LevelZeroIsTheSeedsOneLineForm) {
  SessionView v6 = sample();
  v6.sid = 3;
  v6.address = "fe80::1";
  const SessionView list[] = {sample(), v6};
  EXPECT_EQ(format_sessions(list, 0),
            "tcp [2] 10.15.84.19:3260,2 iqn.1992-08.com.netapp:sn.33615311\n"
            "tcp [3] [fe80::1]:3260,2 iqn.1992-08.com.netapp:sn.33615311\n");
}

TEST(SessionPrint, LevelOneGroupsByTargetWithStates) {
  const SessionView list[] = {sample()};
  EXPECT_EQ(format_sessions(list, 1),
            "iSCSI Transport Class version 2.0-870\n"
            "version 2.1.8 (lab-iscsid)\n"
            "Target: iqn.1992-08.com.netapp:sn.33615311\n"
            "\tCurrent Portal: 10.15.84.19:3260,2\n"
            "\tPersistent Portal: 10.15.84.19:3260,2\n"
            "\t\t**********\n\t\tInterface:\n\t\t**********\n"
            "\t\tIface Name: default\n"
            "\t\tIface Transport: tcp\n"
            "\t\tIface Initiatorname: iqn.2026-12.org.example:host\n"
            "\t\tIface IPaddress: default\n"
            "\t\tIface HWaddress: default\n"
            "\t\tIface Netdev: default\n"
            "\t\tSID: 2\n"
            "\t\tiSCSI Connection State: LOGGED IN\n"
            "\t\tiSCSI Session State: LOGGED_IN\n"
            "\t\tInternal iscsid Session State: NO CHANGE\n");
}

TEST(SessionPrint, LevelTwoAddsTimeoutsChapNamesAndNegotiatedParamsNeverSecrets) {
  const SessionView list[] = {sample()};
  const std::string out = format_sessions(list, 2);
  EXPECT_NE(out.find("\t\tRecovery Timeout: 120\n"), std::string::npos);
  EXPECT_NE(out.find("\t\tusername: alice\n\t\tpassword: ********\n\t\tusername_in: <empty>\n"),
            std::string::npos);
  EXPECT_NE(out.find("\t\tHeaderDigest: CRC32C\n\t\tDataDigest: None\n"), std::string::npos);
  EXPECT_NE(out.find("\t\tMaxXmitDataSegmentLength: 65536\n"), std::string::npos);
  EXPECT_EQ(out.find("Attached"), std::string::npos);  // level 3 only
}

TEST(SessionPrint, LevelThreeListsTheLunsWithIdentityAndSize) {
  const SessionView list[] = {sample()};
  const std::string out = format_sessions(list, 3);
  EXPECT_NE(out.find("\t\tLun: 1 Type: Direct-Access Vendor: LIO-ORG Model: disk0 Rev: 4.0 "
                     "Size: 64 MiB (131072 x 512)\n"),
            std::string::npos);
}

TEST(SessionPrint, StatsListOpenIscsisCountersInItsOrder) {
  const std::string out = format_session_stats(sample());
  EXPECT_EQ(out.rfind("Stats for session [sid: 2, target: iqn.1992-08.com.netapp:sn.33615311, "
                      "portal: 10.15.84.19,3260]\niSCSI SNMP:\n\ttxdata_octets: 0\n",
                      0),
            0u);
  EXPECT_NE(out.find("\tscsicmd_pdus: 7\n"), std::string::npos);
  EXPECT_NE(out.find("\tdigest_err: 1\n\ttimeout_err: 0\niSCSI Extended Stats:\n"), std::string::npos);
}

TEST(SessionPrint, ConnectionStateWordsFollowTheSessionState) {
  EXPECT_EQ(connection_state_for("LOGGED_IN"), "LOGGED IN");
  EXPECT_EQ(connection_state_for("FAILED"), "TRANSPORT WAIT");
  EXPECT_EQ(connection_state_for("LOGGING_OUT"), "IN LOGOUT");
  EXPECT_EQ(connection_state_for("FREE"), "FREE");
}

}  // namespace
}  // namespace iscsi::cli
