// lab-iscsiadm's command line: iscsiadm's letters and long names, repeated -o and -n/-v pairs in
// order, and the errors a user gets for what iscsiadm would refuse.
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "cli/adm_options.hpp"
#include "cli/cli_error.hpp"

namespace iscsi::cli {
namespace {

AdmOptions parse(std::vector<std::string_view> args) { return parse_adm_options(args); }

TEST(AdmOptions, DiscoverydbWithRepeatedOpsAndPairsKeepsTheirOrder) {
  auto o = parse({"-m", "discoverydb", "-t", "st", "-p", "10.0.0.1:3260", "-o", "new", "-o",
                  "delete", "-n", "discovery.sendtargets.use_discoveryd", "-v", "Yes", "-n",
                  "discovery.sendtargets.discoveryd_poll_inval", "-v", "30", "--discover",
                  "--login", "--root", "/tmp/x"});
  EXPECT_EQ(o.mode, AdmMode::discoverydb);
  ASSERT_TRUE(o.type);
  EXPECT_EQ(*o.type, DiscoveryType::sendtargets);
  EXPECT_EQ(o.portal, "10.0.0.1:3260");
  ASSERT_EQ(o.ops.size(), 2u);
  EXPECT_EQ(o.ops[0], DbOp::create);
  EXPECT_EQ(o.ops[1], DbOp::remove);
  ASSERT_EQ(o.settings.size(), 2u);
  EXPECT_EQ(o.settings[0].name, "discovery.sendtargets.use_discoveryd");
  EXPECT_EQ(o.settings[1].value, "30");
  EXPECT_TRUE(o.discover);
  EXPECT_TRUE(o.login);
  EXPECT_EQ(o.root, "/tmp/x");
  EXPECT_EQ(o.socket, "/tmp/x/lab-iscsid.sock");
}

TEST(AdmOptions, LongNamesAsIscsiadmSpellsThem) {
  auto o = parse({"--mode=node", "--targetname=iqn.2026-12.org.example:t", "--portal",
                  "10.0.0.1", "--interface=iface0", "--op=UPDATE", "--name=node.startup",
                  "--value=automatic", "--no_wait"});
  EXPECT_EQ(o.mode, AdmMode::node);
  EXPECT_EQ(o.target, "iqn.2026-12.org.example:t");
  ASSERT_EQ(o.ifaces.size(), 1u);
  EXPECT_EQ(o.ifaces[0], "iface0");
  ASSERT_EQ(o.ops.size(), 1u);
  EXPECT_EQ(o.ops[0], DbOp::update);  // iscsiadm takes the op in any case
  EXPECT_TRUE(o.no_wait);
}

TEST(AdmOptions, SessionWithSidPrintLevelAndStats) {
  auto o = parse({"-m", "session", "-r", "3", "-P", "3"});
  EXPECT_EQ(o.sid, 3u);
  EXPECT_EQ(o.print_level, 3);
  auto s = parse({"-m", "session", "-r", "1", "-s"});
  EXPECT_TRUE(s.stats);
}

TEST(AdmOptions, LoginAllAndLogoutAllTakeAStartupClass) {
  EXPECT_EQ(parse({"-m", "node", "-L", "automatic"}).login_all, "automatic");
  EXPECT_EQ(parse({"-m", "node", "-U", "all"}).logout_all, "all");
  EXPECT_THROW(parse({"-m", "node", "-L", "sometimes"}), UsageError);
  EXPECT_THROW(parse({"-m", "session", "-U", "all"}), UsageError);
}

TEST(AdmOptions, RefusesWhatIscsiadmRefusesInWords) {
  auto message = [](std::vector<std::string_view> args) {
    try {
      (void)parse_adm_options(args);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message({"-p", "10.0.0.1"}), "no mode given: -m discoverydb, discovery, node, session or iface");
  EXPECT_EQ(message({"-m", "node", "-n", "node.startup"}), "-n node.startup needs a -v value");
  EXPECT_EQ(message({"-m", "node", "-n", "a", "-n", "b"}), "-n a needs a -v value before the next -n");
  EXPECT_EQ(message({"-m", "node", "-v", "x"}), "-v x has no -n name before it");
  EXPECT_EQ(message({"-m", "node", "-P", "3"}), "-P 3: levels 2 and 3 are for -m session; node takes 0 or 1");
  EXPECT_EQ(message({"-m", "session", "-P", "4"}),
            "-P/--print: expected a print level (a whole number from 0 to 3), got '4'");
  EXPECT_EQ(message({"-m", "node", "-o", "frobnicate"}),
            "-o/--op: expected new, update, delete, show or nonpersistent, got 'frobnicate'");
  EXPECT_EQ(message({"-m", "node", "-l", "-u"}), "-l, -u, -R and -s exclude each other");
  EXPECT_EQ(message({"-m", "discovery", "-t", "slp"}),
            "-t/--type: expected st, sendtargets or isns, got 'slp' (fw and slp are not supported)");
  EXPECT_NE(message({"-m", "fw"}).find("offload HBAs and firmware"), std::string::npos);
  EXPECT_EQ(message({"-m", "node", "extra"}), "unexpected argument 'extra' (options only; see -h)");
  EXPECT_EQ(message({"-m", "node", "-r", "1"}), "-r is for -m session");
}

TEST(AdmOptions, RootFromTheEnvironmentWhenNotGiven) {
  ::setenv("ISCSILAB_ROOT", "/tmp/env-root", 1);
  auto o = parse({"-m", "node"});
  ::unsetenv("ISCSILAB_ROOT");
  EXPECT_EQ(o.root, "/tmp/env-root");
  EXPECT_EQ(parse({"-m", "node"}).root, "/var/lib/iscsi-lab");  // never /etc/iscsi
}

}  // namespace
}  // namespace iscsi::cli

#include "cli/adm_status.hpp"
#include "net/errors.hpp"

namespace iscsi::cli {
namespace {

TEST(AdmStatus, LoginStatusesMapAsOpenIscsi) {
  using net::Errc;
  using net::NetError;
  EXPECT_EQ(status_for_error(NetError(Errc::login_rejected, "authentication failure (0x0201)")),
            AdmStatus::login_auth);
  EXPECT_EQ(status_for_error(NetError(Errc::login_rejected, "authorization failure (0x0202)")),
            AdmStatus::login_auth);
  EXPECT_EQ(status_for_error(NetError(Errc::login_rejected, "target not found (0x0203)")),
            AdmStatus::fatal_login);
  EXPECT_EQ(status_for_error(NetError(Errc::connect_failed, "refused")), AdmStatus::transport);
  EXPECT_EQ(status_for_error(NetError(Errc::login_timeout, "15 s")), AdmStatus::transport_timeout);
  EXPECT_EQ(status_for_error(std::runtime_error("x")), AdmStatus::internal);
  EXPECT_EQ(reported_error(AdmStatus::login_auth),
            "initiator reported error (24 - iSCSI login failed due to authorization failure)");
  EXPECT_EQ(adm_status_from(21), AdmStatus::no_objects);
  EXPECT_EQ(adm_status_from(3), AdmStatus::generic);  // a number we never send
  EXPECT_EQ(adm_status_from(-4), AdmStatus::generic);
}

}  // namespace
}  // namespace iscsi::cli
