// lab-iscsiadm's modes end to end against a real tgtd on loopback, with the daemon's requests
// answered in process by an IscsidServer (the socket is tested in test_adm_binaries.cpp): the
// workflow a new user types (discover, login, session -P 0..3, stats, rescan, logout), records
// with secrets hidden unless --show, discovery's node database steps, CHAP failures in words.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include "adm/adm_test_helpers.hpp"
#include "cli/adm_commands.hpp"
#include "cli/iscsid_server.hpp"
#include "config/record_db.hpp"
#include "net/isns_client.hpp"
#include "support/isnsd_fixture.hpp"
#include "support/scripted_isns.hpp"
#include "support/tgtd_fixture.hpp"

namespace iscsi::cli {
namespace {

namespace fs = std::filesystem;
using test::TgtdFixture;
using test::TgtdOptions;

struct Outcome {
  AdmStatus status;
  std::string out, err;
};

class AdmTgtd : public TgtdFixture {
 protected:
  void SetUp() override {
    TgtdFixture::SetUp();
    root_ = test::make_temp_root("iscsi-lab-adm");
    ASSERT_FALSE(root_.empty());
    IscsidConfig cfg;
    cfg.root = root_;
    cfg.conf = root_ / "iscsid.conf";
    cfg.initiatorname_file = root_ / "initiatorname.iscsi";
    server_ = std::make_unique<IscsidServer>(std::move(cfg));
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(root_);
    TgtdFixture::TearDown();
  }

  Outcome adm(std::vector<std::string> args) {
    args.push_back("--root");
    args.push_back(root_.string());
    const std::vector<std::string_view> views(args.begin(), args.end());
    const AdmOptions o = parse_adm_options(views);
    std::ostringstream out, err;
    const DaemonCall call = [this](const ControlMessage& m) {
      if (daemon_down_) throw std::runtime_error("cannot connect to lab-iscsid at test.sock: Connection refused");
      auto answer = server_->handle(m);
      server_->run_pending();
      return answer;
    };
    const AdmStatus s = run_adm(o, call, out, err);
    return {s, test::without_port(out.str(), tgtd().port()), test::without_port(err.str(), tgtd().port())};
  }
  std::string target() { return tgtd().iqn(); }
  std::string portal() { return tgtd().portal(); }

  fs::path root_;
  std::unique_ptr<IscsidServer> server_;
  bool daemon_down_ = false;
};

TEST_F(AdmTgtd, NewUsersWorkflowDiscoverLoginListStatsRescanLogout) {
  auto d = adm({"-m", "discovery", "-t", "st", "-p", portal()});
  ASSERT_EQ(d.status, AdmStatus::success) << d.err;
  EXPECT_EQ(d.out, "127.0.0.1:PORT,1 " + target() + "\n");

  auto n = adm({"-m", "node"});
  EXPECT_EQ(n.out, "127.0.0.1:PORT,1 " + target() + "\n");

  auto l = adm({"-m", "node", "-T", target(), "-p", portal(), "-l"});
  ASSERT_EQ(l.status, AdmStatus::success) << l.err;
  EXPECT_EQ(l.out, "Logging in to [iface: default, target: " + target() + ", portal: 127.0.0.1,PORT]\n"
                   "Login to [iface: default, target: " + target() + ", portal: 127.0.0.1,PORT] successful.\n");

  EXPECT_EQ(adm({"-m", "session"}).out, "tcp [1] 127.0.0.1:PORT,1 " + target() + "\n");
  auto p3 = adm({"-m", "session", "-P", "3"});
  EXPECT_NE(p3.out.find("\t\tiSCSI Session State: LOGGED_IN\n"), std::string::npos) << p3.out;
  EXPECT_NE(p3.out.find("\t\tLun: 2 Type: Direct-Access Vendor: IET Model: VIRTUAL-DISK"), std::string::npos)
      << p3.out;
  EXPECT_NE(p3.out.find("Size: 64 MiB (131072 x 512)"), std::string::npos) << p3.out;

  auto s = adm({"-m", "session", "-r", "1", "-s"});
  ASSERT_EQ(s.status, AdmStatus::success) << s.err;
  EXPECT_EQ(s.out.find("Stats for session [sid: 1, target: " + target() + ", portal: 127.0.0.1,PORT]\n"), 0u);
  EXPECT_EQ(s.out.find("\tscsicmd_pdus: 0\n"), std::string::npos);  // the login's LUN scan counted

  // A LUN added on the target shows up on the next rescan.
  const fs::path extra = tgtd().dir() / "lun3.img";
  { std::ofstream(extra.string()).close(); }
  fs::resize_file(extra, 16 << 20);
  tgtd().tgtadm({"--op", "new", "--mode", "logicalunit", "--tid", std::to_string(tgtd().tid()), "--lun",
                 "3", "-b", extra.string()});
  auto r = adm({"-m", "session", "-R"});
  ASSERT_EQ(r.status, AdmStatus::success) << r.err;
  EXPECT_EQ(r.out, "Rescanning session [sid: 1, target: " + target() + ", portal: 127.0.0.1,PORT]\n"
                   "\tLUN 3 added\n");
  EXPECT_NE(adm({"-m", "session", "-P", "3"}).out.find("Lun: 3 Type: Direct-Access"), std::string::npos);

  auto u = adm({"-m", "node", "-T", target(), "-p", portal(), "-u"});
  ASSERT_EQ(u.status, AdmStatus::success) << u.err;
  EXPECT_EQ(u.out, "Logging out of session [sid: 1, target: " + target() + ", portal: 127.0.0.1,PORT]\n"
                   "Logout of [sid: 1, target: " + target() + ", portal: 127.0.0.1,PORT] successful.\n");
  auto none = adm({"-m", "session"});
  EXPECT_EQ(none.status, AdmStatus::no_objects);
  EXPECT_EQ(none.err, "lab-iscsiadm: No active sessions.\n");
  EXPECT_EQ(tgtd().show().find("Connection:"), std::string::npos) << tgtd().show();
}

TEST_F(AdmTgtd, SecondLoginToTheSameNodeIsSessionExists) {
  ASSERT_EQ(adm({"-m", "discovery", "-t", "st", "-p", portal()}).status, AdmStatus::success);
  ASSERT_EQ(adm({"-m", "node", "-l"}).status, AdmStatus::success);
  auto again = adm({"-m", "node", "-l"});
  EXPECT_EQ(again.status, AdmStatus::session_exists);
  EXPECT_EQ(again.err, "lab-iscsiadm: default: 1 session requested, but 1 already present.\n");
  EXPECT_EQ(server_->session_count(), 1u);
}

TEST_F(AdmTgtd, NoWaitLoginIsAnsweredBeforeTheLoginRuns) {
  ASSERT_EQ(adm({"-m", "discovery", "-t", "st", "-p", portal()}).status, AdmStatus::success);
  ControlMessage req;
  req.add("op", "login").add("target", target()).add("address", "127.0.0.1");
  req.add("port", std::to_string(tgtd().port())).add("tpgt", "1").add("iface", "default").add("no_wait", "1");
  const auto answer = server_->handle(req);
  EXPECT_EQ(answer.get_or("status", "?"), "0");
  EXPECT_EQ(answer.get_or("out", ""), "Logging in to [iface: default, target: " + target() + ", portal: 127.0.0.1," +
                                          std::to_string(tgtd().port()) + "]\n");
  EXPECT_EQ(server_->session_count(), 0u);  // not yet: the daemon logs in after answering
  server_->run_pending();
  EXPECT_EQ(server_->session_count(), 1u);
  // With -W the answer comes first; the refusal (session exists) only reaches the daemon log.
  EXPECT_EQ(adm({"-m", "node", "-l", "-W"}).status, AdmStatus::success);
  EXPECT_EQ(server_->session_count(), 1u);
}

TEST_F(AdmTgtd, NoRecordsAndNoDaemonAreOpenIscsisStatuses) {
  auto none = adm({"-m", "node", "-l"});
  EXPECT_EQ(none.status, AdmStatus::no_objects);
  EXPECT_EQ(none.err, "lab-iscsiadm: No records found\n");
  ASSERT_EQ(adm({"-m", "discovery", "-t", "st", "-p", portal()}).status, AdmStatus::success);
  daemon_down_ = true;
  auto down = adm({"-m", "session"});
  EXPECT_EQ(down.status, AdmStatus::daemon_not_connected);
  EXPECT_NE(down.err.find("initiator reported error (20 - could not connect to lab-iscsid)"), std::string::npos)
      << down.err;
  // Record operations need no daemon.
  EXPECT_EQ(adm({"-m", "node"}).status, AdmStatus::success);
}

TEST_F(AdmTgtd, DiscoveryOfAnUnreachablePortalSaysSoWithConnectionFailure) {
  const auto p = tgtd().port();
  tgtd_ = std::make_unique<test::TgtdTarget>();  // a new one elsewhere; nobody listens on p now
  ASSERT_NE(tgtd().port(), p);
  auto d = adm({"-m", "discovery", "-t", "st", "-p", "127.0.0.1:" + std::to_string(p), "-n",
                "discovery.sendtargets.reopen_max", "-v", "0"});
  EXPECT_NE(d.status, AdmStatus::success);
  EXPECT_EQ(d.status, AdmStatus::transport) << d.err;
  EXPECT_NE(d.err.find("Could not perform SendTargets discovery"), std::string::npos) << d.err;
}

TEST_F(AdmTgtd, DiscoverydbRecordLifecycleAndDiscoverFromTheRecord) {
  auto n = adm({"-m", "discoverydb", "-t", "st", "-p", portal(), "-o", "new"});
  ASSERT_EQ(n.status, AdmStatus::success) << n.err;
  EXPECT_EQ(n.out, "New discovery record for [127.0.0.1,PORT] added.\n");
  ASSERT_EQ(adm({"-m", "discoverydb", "-t", "st", "-p", portal(), "-o", "update", "-n",
                 "discovery.sendtargets.auth.password", "-v", "hunter2hunter2"})
                .status,
            AdmStatus::success);
  auto shown = adm({"-m", "discoverydb", "-t", "st", "-p", portal(), "-o", "show"});
  EXPECT_NE(shown.out.find("discovery.sendtargets.auth.password = ********\n"), std::string::npos) << shown.out;
  EXPECT_EQ(shown.out.find("hunter2"), std::string::npos);
  auto secret = adm({"-m", "discoverydb", "-t", "st", "-p", portal(), "-o", "show", "--show"});
  EXPECT_NE(secret.out.find("discovery.sendtargets.auth.password = hunter2hunter2\n"), std::string::npos);
  ASSERT_EQ(adm({"-m", "discoverydb", "-t", "st", "-p", portal(), "-o", "update", "-n",
                 "discovery.sendtargets.auth.password", "-v", ""})
                .status,
            AdmStatus::success);
  auto d = adm({"-m", "discoverydb", "-t", "st", "-p", portal(), "--discover", "-P", "1"});
  ASSERT_EQ(d.status, AdmStatus::success) << d.err;
  EXPECT_EQ(d.out, "Target: " + target() + "\n\tPortal: 127.0.0.1:PORT,1\n\t\tIface Name: default\n");
  EXPECT_EQ(adm({"-m", "discovery"}).out, "127.0.0.1:PORT via sendtargets\n");
  // Deleting the discovery record deletes the nodes found through it.
  ASSERT_EQ(adm({"-m", "discoverydb", "-t", "st", "-p", portal(), "-o", "delete"}).status, AdmStatus::success);
  EXPECT_EQ(adm({"-m", "node"}).status, AdmStatus::no_objects);
}

class AdmTgtdTwoTargets : public AdmTgtd {
 protected:
  TgtdOptions options() const override {
    TgtdOptions o;
    o.targets.resize(2);
    return o;
  }
};

TEST_F(AdmTgtdTwoTargets, RediscoveryDeletesRecordsOfTargetsGoneUnlessOnlyNewIsAsked) {
  ASSERT_EQ(adm({"-m", "discovery", "-t", "st", "-p", portal()}).status, AdmStatus::success);
  EXPECT_EQ(adm({"-m", "node"}).out.size(), 2 * (std::string("127.0.0.1:PORT,1 \n").size()) +
                                                tgtd().iqn(0).size() + tgtd().iqn(1).size());
  tgtd().tgtadm({"--op", "delete", "--mode", "target", "--tid", std::to_string(tgtd().tid(1))});
  auto only_new = adm({"-m", "discovery", "-t", "st", "-p", portal(), "-o", "new"});
  ASSERT_EQ(only_new.status, AdmStatus::success) << only_new.err;
  EXPECT_NE(adm({"-m", "node"}).out.find(tgtd().iqn(1)), std::string::npos);  // kept
  ASSERT_EQ(adm({"-m", "discovery", "-t", "st", "-p", portal()}).status, AdmStatus::success);
  EXPECT_EQ(adm({"-m", "node"}).out, "127.0.0.1:PORT,1 " + tgtd().iqn(0) + "\n");  // gone
}

TEST_F(AdmTgtdTwoTargets, LoginAllAutomaticLogsInOnlyTheAutomaticNodes) {
  ASSERT_EQ(adm({"-m", "discovery", "-t", "st", "-p", portal()}).status, AdmStatus::success);
  ASSERT_EQ(adm({"-m", "node", "-T", tgtd().iqn(1), "-o", "update", "-n", "node.startup", "-v", "automatic"}).status,
            AdmStatus::success);
  auto l = adm({"-m", "node", "-L", "automatic"});
  ASSERT_EQ(l.status, AdmStatus::success) << l.err;
  EXPECT_EQ(adm({"-m", "session"}).out, "tcp [1] 127.0.0.1:PORT,1 " + tgtd().iqn(1) + "\n");
  ASSERT_EQ(adm({"-m", "node", "-L", "all"}).status, AdmStatus::success);  // the other; no error for the first
  EXPECT_EQ(server_->session_count(), 2u);
  ASSERT_EQ(adm({"-m", "node", "-U", "automatic"}).status, AdmStatus::success);
  EXPECT_EQ(adm({"-m", "session"}).out, "tcp [2] 127.0.0.1:PORT,1 " + tgtd().iqn(0) + "\n");
  ASSERT_EQ(adm({"-m", "session", "-r", "2", "-u"}).status, AdmStatus::success);
  EXPECT_EQ(server_->session_count(), 0u);
}

class AdmTgtdChap : public AdmTgtd {
 protected:
  TgtdOptions options() const override {
    TgtdOptions o;
    o.targets[0].chap = test::ChapCredentials{"labuser", "labsecret12345"};
    return o;
  }
};

TEST_F(AdmTgtdChap, ChapFromTheRecordLogsInAndAWrongSecretIsAnAuthorizationFailure) {
  ASSERT_EQ(adm({"-m", "discovery", "-t", "st", "-p", portal()}).status, AdmStatus::success);
  for (auto [k, v] : {std::pair{"node.session.auth.authmethod", "CHAP"},
                      std::pair{"node.session.auth.username", "labuser"},
                      std::pair{"node.session.auth.password", "wrongsecret123"},
                      std::pair{"node.session.initial_login_retry_max", "0"},
                      // tgt 1.0.85 offers SHA-256 but can only check MD5 responses.
                      std::pair{"node.session.auth.chap_algs", "MD5"}}) {
    ASSERT_EQ(adm({"-m", "node", "-T", target(), "-o", "update", "-n", k, "-v", v}).status, AdmStatus::success);
  }
  auto shown = adm({"-m", "node", "-T", target(), "-o", "show"});
  EXPECT_NE(shown.out.find("node.session.auth.password = ********\n"), std::string::npos);
  EXPECT_EQ(shown.out.find("wrongsecret123"), std::string::npos);
  // tgt answers a wrong CHAP response with 0x0201 (authentication failure): open-iscsi's 24.
  auto bad = adm({"-m", "node", "-T", target(), "-l"});
  EXPECT_EQ(bad.status, AdmStatus::login_auth) << bad.err;
  EXPECT_NE(bad.err.find("lab-iscsiadm: Could not login to [iface: default, target: " + target() +
                         ", portal: 127.0.0.1,PORT].\n"
                         "lab-iscsiadm: initiator reported error (24 - iSCSI login failed due to "
                         "authorization failure)\n"),
            std::string::npos)
      << bad.err;
  EXPECT_EQ(bad.err.find("wrongsecret123"), std::string::npos);
  ASSERT_EQ(adm({"-m", "node", "-T", target(), "-o", "update", "-n", "node.session.auth.password", "-v",
                 "labsecret12345"})
                .status,
            AdmStatus::success);
  auto good = adm({"-m", "node", "-T", target(), "-l"});
  ASSERT_EQ(good.status, AdmStatus::success) << good.err;
  auto p2 = adm({"-m", "session", "-P", "2"});
  EXPECT_NE(p2.out.find("\t\tusername: labuser\n\t\tpassword: ********\n"), std::string::npos) << p2.out;
  EXPECT_EQ(p2.out.find("labsecret"), std::string::npos);
}

TEST_F(AdmTgtd, NodeAndIfaceRecordOperations) {
  auto n = adm({"-m", "node", "-o", "new", "-T", "iqn.2026-12.org.example:manual", "-p", "127.0.0.1:3261,5"});
  ASSERT_EQ(n.status, AdmStatus::success) << n.err;
  EXPECT_EQ(n.out, "New iSCSI node [tcp:[hw=,ip=,net_if=,iscsi_if=default] 127.0.0.1,3261,5 "
                   "iqn.2026-12.org.example:manual] added\n");
  auto bad = adm({"-m", "node", "-T", "iqn.2026-12.org.example:manual", "-o", "update", "-n", "node.name", "-v", "x"});
  EXPECT_EQ(bad.status, AdmStatus::invalid);
  auto unknown = adm({"-m", "node", "-T", "iqn.2026-12.org.example:manual", "-o", "update", "-n",
                      "node.session.timeo.replacment_timeout", "-v", "5"});
  EXPECT_EQ(unknown.status, AdmStatus::invalid);
  EXPECT_NE(unknown.err.find("replacement_timeout"), std::string::npos) << unknown.err;  // did you mean
  ASSERT_EQ(adm({"-m", "node", "-T", "iqn.2026-12.org.example:manual", "-o", "delete"}).status, AdmStatus::success);
  EXPECT_EQ(adm({"-m", "node"}).status, AdmStatus::no_objects);

  EXPECT_EQ(adm({"-m", "iface", "-I", "iface0", "-o", "new"}).out, "iface0 added\n");
  EXPECT_EQ(adm({"-m", "iface", "-I", "iface0", "-o", "update", "-n", "iface.initiatorname", "-v",
                 "iqn.2026-12.org.example:other"})
                .out,
            "iface0 updated.\n");
  EXPECT_EQ(adm({"-m", "iface"}).out,
            "default tcp,<empty>,<empty>,<empty>,<empty>\n"
            "iface0 tcp,<empty>,<empty>,<empty>,iqn.2026-12.org.example:other\n");
  EXPECT_EQ(adm({"-m", "iface", "-I", "iface0", "-o", "delete"}).out, "iface0 unbound and deleted.\n");
}

TEST_F(AdmTgtd, IsnsDiscoveryFindsWhatSendTargetsFindsAndFollowsChanges) {
  std::optional<test::Isnsd> isnsd(std::in_place);
  const net::Portal server{isnsd->host(), isnsd->port()};
  net::isns_register_target(server, {"lab-t0", target(), {{"127.0.0.1", tgtd().port(), 1}}, std::nullopt});
  const std::string at = "127.0.0.1:" + std::to_string(isnsd->port());
  auto d = adm({"-m", "discovery", "-t", "isns", "-p", at});
  ASSERT_EQ(d.status, AdmStatus::success) << d.err;
  EXPECT_EQ(d.out, "127.0.0.1:PORT,1 " + target() + "\n");
  EXPECT_EQ(d.out, adm({"-m", "discovery", "-t", "st", "-p", portal(), "-o", "nonpersistent"}).out);
  auto rec = adm({"-m", "node", "-T", target()});
  EXPECT_NE(rec.out.find("node.discovery_type = isns\n"), std::string::npos) << rec.out;
  auto l = adm({"-m", "node", "-l"});
  ASSERT_EQ(l.status, AdmStatus::success) << l.err;
  ASSERT_EQ(adm({"-m", "node", "-u"}).status, AdmStatus::success);
  // The target leaves the server: the next discovery finds nothing and drops its record.
  net::isns_deregister_target(server, target(), "lab-t0");
  auto gone = adm({"-m", "discovery", "-t", "isns", "-p", at});
  EXPECT_EQ(gone.status, AdmStatus::no_objects) << gone.err;
  EXPECT_EQ(adm({"-m", "node"}).status, AdmStatus::no_objects);
  // No server there: iSNS unavailable, in words.
  isnsd.reset();
  auto none = adm({"-m", "discovery", "-t", "isns", "-p", at});
  EXPECT_EQ(none.status, AdmStatus::isns_unavailable) << none.err;
  EXPECT_NE(none.err.find("Could not perform iSNS discovery: iSNS server 127.0.0.1:"), std::string::npos) << none.err;
}

// -m discoverydb -t isns keeps the server's record as open-iscsi does (isns/<ip>,<port>/
// isns_config with only the keys iSNS uses), discovers through it, lists it, and its delete
// takes the nodes it found along.
TEST_F(AdmTgtd, IsnsDiscoverydbRecordLifecycleAsOpenIscsiKeepsIt) {
  test::Isnsd isnsd;
  const net::Portal server{isnsd.host(), isnsd.port()};
  net::isns_register_target(server, {"lab-t0", target(), {{"127.0.0.1", tgtd().port(), 1}}, std::nullopt});
  const std::string at = "127.0.0.1:" + std::to_string(isnsd.port());
  // The server's free port as "ISNS" (in "127.0.0.1:p", "127.0.0.1,p" and "port = p").
  auto golden = [&](std::string text) {
    text = test::without_port(std::move(text), isnsd.port(), "ISNS");
    const std::string from = "port = " + std::to_string(isnsd.port()) + "\n";
    for (auto i = text.find(from); i != std::string::npos; i = text.find(from, i)) text.replace(i, from.size(), "port = ISNS\n");
    return text;
  };
  auto run = [&](std::vector<std::string> args) {
    Outcome o = adm(std::move(args));
    o.out = golden(o.out);
    o.err = golden(o.err);
    return o;
  };
  auto shown_missing = run({"-m", "discoverydb", "-t", "isns", "-p", at});
  EXPECT_EQ(shown_missing.status, AdmStatus::no_objects);
  EXPECT_EQ(shown_missing.err, "lab-iscsiadm: Discovery record [127.0.0.1,ISNS] not found.\n");

  auto n = run({"-m", "discoverydb", "-t", "isns", "-p", at, "-o", "new"});
  ASSERT_EQ(n.status, AdmStatus::success) << n.err;
  EXPECT_EQ(n.out, "New discovery record for [127.0.0.1,ISNS] added.\n");
  const fs::path file = root_ / "isns" / ("127.0.0.1," + std::to_string(isnsd.port())) / "isns_config";
  ASSERT_TRUE(fs::is_regular_file(file));
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(fs::exists(root_ / "send_targets"));
  const std::string record_text =
      "# BEGIN RECORD 2.1.8\n"
      "discovery.startup = manual\n"
      "discovery.type = isns\n"
      "discovery.sendtargets.address = 127.0.0.1\n"
      "discovery.sendtargets.port = ISNS\n"
      "discovery.isns.use_discoveryd = No\n"
      "discovery.isns.discoveryd_poll_inval = -1\n"
      "# END RECORD\n";
  std::ifstream in(file);
  std::stringstream body;
  body << in.rdbuf();
  EXPECT_EQ(golden(body.str()), record_text);
  EXPECT_EQ(run({"-m", "discoverydb", "-t", "isns", "-p", at, "-o", "show"}).out, record_text);

  // Updates: the iSNS keys and discovery.startup; SendTargets keys are refused in words.
  ASSERT_EQ(run({"-m", "discoverydb", "-t", "isns", "-p", at, "-o", "update", "-n", "discovery.isns.use_discoveryd",
                 "-v", "yes", "-n", "discovery.isns.discoveryd_poll_inval", "-v", "5"})
                .status,
            AdmStatus::success);
  auto shown = run({"-m", "discoverydb", "-t", "isns", "-p", at});
  EXPECT_NE(shown.out.find("discovery.isns.use_discoveryd = Yes\ndiscovery.isns.discoveryd_poll_inval = 5\n"),
            std::string::npos)
      << shown.out;
  auto refused = run({"-m", "discoverydb", "-t", "isns", "-p", at, "-o", "update", "-n",
                      "discovery.sendtargets.auth.authmethod", "-v", "CHAP"});
  EXPECT_EQ(refused.status, AdmStatus::invalid);
  EXPECT_EQ(refused.err,
            "lab-iscsiadm: Could not update discovery record [127.0.0.1,ISNS]: discovery.sendtargets.auth.authmethod "
            "cannot be set in an iSNS discovery record (it holds discovery.startup and discovery.isns.*)\n");
  auto bad_value = run({"-m", "discoverydb", "-t", "isns", "-p", at, "-o", "update", "-n",
                        "discovery.isns.discoveryd_poll_inval", "-v", "-5"});
  EXPECT_EQ(bad_value.status, AdmStatus::invalid);
  EXPECT_NE(bad_value.err.find("discovery.isns.discoveryd_poll_inval: -5 is outside -1.."), std::string::npos)
      << bad_value.err;

  // --discover through the record: the listing, node records that name the server.
  auto d = run({"-m", "discoverydb", "-t", "isns", "-p", at, "--discover"});
  ASSERT_EQ(d.status, AdmStatus::success) << d.err;
  EXPECT_EQ(d.out, "127.0.0.1:PORT,1 " + target() + "\n");
  auto rec = run({"-m", "node", "-T", target(), "-o", "show"});
  EXPECT_NE(rec.out.find("node.discovery_address = 127.0.0.1\nnode.discovery_port = ISNS\nnode.discovery_type = isns\n"),
            std::string::npos)
      << rec.out;
  EXPECT_EQ(run({"-m", "discovery"}).out, "127.0.0.1:ISNS via isns\n");
  EXPECT_EQ(run({"-m", "discovery", "-P", "1"}).out,
            "SENDTARGETS:\nNo targets found.\n"
            "iSNS:\nDiscoveryAddress: 127.0.0.1,ISNS\nTarget: " + target() +
                "\n\tPortal: 127.0.0.1:PORT,1\n\t\tIface Name: default\n"
                "STATIC:\nNo targets found.\nFIRMWARE:\nNo targets found.\n");

  // --discover --login: the session comes from the iSNS-found record.
  auto l = run({"-m", "discoverydb", "-t", "isns", "-p", at, "--discover", "--login"});
  ASSERT_EQ(l.status, AdmStatus::success) << l.err;
  EXPECT_NE(l.out.find("Login to [iface: default, target: " + target() + ", portal: 127.0.0.1,PORT] successful."),
            std::string::npos)
      << l.out;
  ASSERT_EQ(run({"-m", "node", "-u"}).status, AdmStatus::success);

  // Deleting the server's record deletes the nodes found through it.
  ASSERT_EQ(run({"-m", "discoverydb", "-t", "isns", "-p", at, "-o", "delete"}).status, AdmStatus::success);
  EXPECT_FALSE(fs::exists(file));
  EXPECT_EQ(run({"-m", "node"}).status, AdmStatus::no_objects);
  EXPECT_EQ(run({"-m", "discovery"}).status, AdmStatus::no_objects);

  // -o nonpersistent --discover: the listing, and no record of any kind.
  auto np = run({"-m", "discoverydb", "-t", "isns", "-p", at, "--discover", "-o", "nonpersistent"});
  ASSERT_EQ(np.status, AdmStatus::success) << np.err;
  EXPECT_EQ(np.out, "127.0.0.1:PORT,1 " + target() + "\n");
  EXPECT_FALSE(fs::exists(root_ / "isns" / ("127.0.0.1," + std::to_string(isnsd.port()))));
  EXPECT_EQ(run({"-m", "node"}).status, AdmStatus::no_objects);
}

// lab-iscsid polls the iSNS records that ask for it (discovery.isns.use_discoveryd = Yes) every
// discoveryd_poll_inval seconds, adding node records for what is new; others are left alone.
TEST_F(AdmTgtd, DaemonPollsIsnsRecordsThatAskForIt) {
  test::Isnsd isnsd;
  const net::Portal server{isnsd.host(), isnsd.port()};
  const std::string at = "127.0.0.1:" + std::to_string(isnsd.port());
  ASSERT_EQ(adm({"-m", "discoverydb", "-t", "isns", "-p", at, "-o", "new"}).status, AdmStatus::success);
  net::isns_register_target(server, {"lab-t0", target(), {{"127.0.0.1", tgtd().port(), 1}}, std::nullopt});
  auto t0 = std::chrono::steady_clock::now();
  (void)server_->poll_discovery(t0);
  EXPECT_EQ(adm({"-m", "node"}).status, AdmStatus::no_objects);  // use_discoveryd = No: not polled

  ASSERT_EQ(adm({"-m", "discoverydb", "-t", "isns", "-p", at, "-o", "update", "-n", "discovery.isns.use_discoveryd",
                 "-v", "Yes", "-n", "discovery.isns.discoveryd_poll_inval", "-v", "5"})
                .status,
            AdmStatus::success);
  const auto wait = server_->poll_discovery(t0);
  EXPECT_LE(wait, std::chrono::milliseconds(5000));
  auto listed = adm({"-m", "node"});
  EXPECT_EQ(listed.out, "127.0.0.1:PORT,1 " + target() + "\n");
  auto rec = adm({"-m", "node", "-T", target(), "-o", "show"});
  EXPECT_NE(rec.out.find("node.discovery_type = isns\n"), std::string::npos) << rec.out;

  // A second portal registered: not before the interval, then on the next poll.
  net::isns_register_target(
      server, {"lab-t0", target(), {{"127.0.0.1", tgtd().port(), 1}, {"127.0.0.2", tgtd().port(), 2}}, std::nullopt});
  (void)server_->poll_discovery(t0 + std::chrono::seconds(2));
  EXPECT_EQ(adm({"-m", "node"}).out, "127.0.0.1:PORT,1 " + target() + "\n");
  (void)server_->poll_discovery(t0 + std::chrono::seconds(6));
  EXPECT_EQ(adm({"-m", "node"}).out,
            "127.0.0.1:PORT,1 " + target() + "\n127.0.0.2:" + std::to_string(tgtd().port()) + ",2 " + target() + "\n");
}

// Names from an iSNS server cannot escape the database or forge a record: an answer with a name
// that is not an iSCSI name ('/', control characters) is refused whole and writes nothing; a
// legal name that holds ".." stays one directory under nodes/.
TEST_F(AdmTgtd, HostileIsnsNamesAreRefusedWholeAndWriteNothing) {
  for (const std::string& name : {std::string("iqn.2026-12.org.example:t/../../../escaped"),
                                 std::string("iqn.2026-12.org.example:t\nnode.startup = automatic"),
                                 std::string("iqn.2026-12.org.example:t\x1b]0;pwned\x07")}) {
    test::ScriptedIsns scripted(test::query_answer(test::target_objects(name, 3260, 1)));
    auto d = adm({"-m", "discovery", "-t", "isns", "-p", scripted.portal().to_string()});
    EXPECT_EQ(d.status, AdmStatus::isns_query) << d.err;
    EXPECT_NE(d.err.find("lab-iscsiadm: Could not perform iSNS discovery: iSNS server 127.0.0.1:"), std::string::npos)
        << d.err;
    EXPECT_NE(d.err.find("tag 32"), std::string::npos) << d.err;  // the iSCSI Name attribute
    EXPECT_EQ(d.err.find('\x1b'), std::string::npos);
    EXPECT_EQ(d.out, "");
    EXPECT_FALSE(fs::exists(root_ / "nodes"));
    EXPECT_FALSE(fs::exists(root_.parent_path() / "escaped"));
  }
  const std::string dotted = "iqn.2026-12.org.example:..";
  test::ScriptedIsns scripted(test::query_answer(test::target_objects(dotted, 3260, 1)));
  auto d = adm({"-m", "discovery", "-t", "isns", "-p", scripted.portal().to_string()});
  ASSERT_EQ(d.status, AdmStatus::success) << d.err;
  EXPECT_EQ(d.out, "192.0.2.7:3260,1 " + dotted + "\n");
  EXPECT_TRUE(fs::is_regular_file(root_ / "nodes" / dotted / "192.0.2.7,3260,1" / "default"));
  std::vector<std::string> top;
  for (const auto& e : fs::directory_iterator(root_ / "nodes")) top.push_back(e.path().filename().string());
  EXPECT_EQ(top, std::vector<std::string>{dotted});
}

TEST_F(AdmTgtd, AnIfaceBindsTheSessionToASourceAddressAndDevice) {
  ASSERT_EQ(adm({"-m", "iface", "-I", "lo2", "-o", "new"}).status, AdmStatus::success);
  for (auto [k, v] : {std::pair{"iface.ipaddress", "127.0.0.2"}, std::pair{"iface.net_ifacename", "lo"}}) {
    ASSERT_EQ(adm({"-m", "iface", "-I", "lo2", "-o", "update", "-n", k, "-v", v}).status, AdmStatus::success);
  }
  auto d = adm({"-m", "discovery", "-t", "st", "-p", portal(), "-I", "lo2"});
  ASSERT_EQ(d.status, AdmStatus::success) << d.err;
  auto l = adm({"-m", "node", "-I", "lo2", "-l"});
  ASSERT_EQ(l.status, AdmStatus::success) << l.err;
  EXPECT_NE(tgtd().show().find("IP Address: 127.0.0.2"), std::string::npos) << tgtd().show();
  const auto p1 = adm({"-m", "session", "-P", "1"}).out;
  EXPECT_NE(p1.find("\t\tIface Name: lo2\n"), std::string::npos) << p1;
  EXPECT_NE(p1.find("\t\tIface IPaddress: 127.0.0.2\n"), std::string::npos) << p1;
  EXPECT_NE(p1.find("\t\tIface Netdev: lo\n"), std::string::npos) << p1;
  ASSERT_EQ(adm({"-m", "node", "-u"}).status, AdmStatus::success);
  // A device that does not exist: the login fails and says which setting.
  ASSERT_EQ(adm({"-m", "node", "-I", "lo2", "-o", "update", "-n", "iface.net_ifacename", "-v", "nosuchdev0"}).status,
            AdmStatus::success);
  auto bad = adm({"-m", "node", "-I", "lo2", "-l"});
  EXPECT_EQ(bad.status, AdmStatus::transport) << bad.err;
  EXPECT_NE(bad.err.find("iface.net_ifacename nosuchdev0: No such device"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace iscsi::cli
