// The typed view: defaults equal open-iscsi's, layering order defaults <- iscsid.conf <- record
// <- overrides, override errors name the command line, consistency checks across keys, secrets
// end up as auth::Secret.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "config/files.hpp"
#include "config/node_settings.hpp"

namespace iscsi::config {
namespace {

using ::testing::HasSubstr;
using std::chrono::seconds;

constexpr std::string_view kInitiator = "iqn.2026-11.org.iscsi-lab:host";

SettingMap record_for(std::string_view target) {
  SettingMap m;
  EXPECT_FALSE(m.set("node.name", target));
  EXPECT_FALSE(m.set("node.tpgt", "1"));
  EXPECT_FALSE(m.set("node.conn[0].address", "127.0.0.1"));
  return m;
}

TEST(NodeSettings, DefaultsAreOpenIscsis) {
  const SettingMap rec = record_for("iqn.2003-01.org.linux-iscsi.lab:t1");
  const auto n = resolve_node_settings({.record = &rec, .initiator_name = kInitiator});
  ASSERT_TRUE(n.ok()) << n.message();
  EXPECT_EQ(n->target_name, "iqn.2003-01.org.linux-iscsi.lab:t1");
  EXPECT_EQ(n->tpgt, 1);
  EXPECT_EQ(n->port, 3260);
  EXPECT_EQ(n->initiator_name, kInitiator);
  EXPECT_EQ(n->replacement_timeout, seconds(120));
  EXPECT_EQ(n->login_timeout, seconds(15));
  EXPECT_EQ(n->noop_out_interval, seconds(5));
  EXPECT_EQ(n->noop_out_timeout, seconds(5));
  EXPECT_EQ(n->abort_timeout, seconds(15));
  EXPECT_EQ(n->lu_reset_timeout, seconds(30));
  EXPECT_EQ(n->tgt_reset_timeout, seconds(30));
  EXPECT_EQ(n->host_reset_timeout, seconds(60));
  EXPECT_EQ(n->initial_login_retry_max, 8u);
  EXPECT_EQ(n->cmds_max, 128u);
  EXPECT_EQ(n->queue_depth, 32u);
  EXPECT_FALSE(n->initial_r2t);
  EXPECT_TRUE(n->immediate_data);
  EXPECT_EQ(n->first_burst_length, 262144u);
  EXPECT_EQ(n->max_burst_length, 16776192u);
  EXPECT_EQ(n->max_recv_data_segment_length, 262144u);
  EXPECT_EQ(n->header_digest, "None");
  EXPECT_EQ(n->auth.authmethod, AuthMethod::none);
  EXPECT_EQ(n->auth.chap_algs, auth::default_chap_algorithms());
  EXPECT_EQ(n->iface_name, "default");
  EXPECT_EQ(n->transport_name, "tcp");
  EXPECT_EQ(n->scan, ScanMode::automatic);
  // A default NodeSettings agrees with what the table builds.
  const NodeSettings plain;
  EXPECT_EQ(plain.replacement_timeout, n->replacement_timeout);
  EXPECT_EQ(plain.max_burst_length, n->max_burst_length);
  EXPECT_EQ(plain.tcp_window_size, n->tcp_window_size);
}

TEST(NodeSettings, LayersApplyInOpenIscsiOrder) {
  SettingMap conf;
  ASSERT_FALSE(conf.set("node.session.timeo.replacement_timeout", "20"));
  ASSERT_FALSE(conf.set("node.conn[0].timeo.noop_out_interval", "7"));
  ASSERT_FALSE(conf.set("node.session.queue_depth", "8"));
  SettingMap rec = record_for("iqn.2003-01.org.linux-iscsi.lab:t1");
  ASSERT_FALSE(rec.set("node.conn[0].timeo.noop_out_interval", "9"));
  ASSERT_FALSE(rec.set("node.session.queue_depth", "16"));
  const std::vector<Override> overrides{{"node.session.queue_depth", "4"},
                                        {"node.session.queue_depth", "2"}};
  const auto n = resolve_node_settings(
      {.iscsid_conf = &conf, .record = &rec, .overrides = overrides, .initiator_name = kInitiator});
  ASSERT_TRUE(n.ok()) << n.message();
  EXPECT_EQ(n->replacement_timeout, seconds(20));  // conf over default
  EXPECT_EQ(n->noop_out_interval, seconds(9));     // record over conf
  EXPECT_EQ(n->queue_depth, 2u);                   // last override over everything
}

TEST(NodeSettings, ChapSecretsBecomeSecrets) {
  SettingMap rec = record_for("iqn.2003-01.org.linux-iscsi.lab:t1");
  ASSERT_FALSE(rec.set("node.session.auth.authmethod", "CHAP"));
  ASSERT_FALSE(rec.set("node.session.auth.username", "alice"));
  ASSERT_FALSE(rec.set("node.session.auth.password", "alice-secret-1"));
  ASSERT_FALSE(rec.set("node.session.auth.username_in", "target"));
  ASSERT_FALSE(rec.set("node.session.auth.password_in", "target-secret-2"));
  ASSERT_FALSE(rec.set("node.session.auth.chap_algs", "SHA256,MD5"));
  const auto n = resolve_node_settings({.record = &rec, .initiator_name = kInitiator});
  ASSERT_TRUE(n.ok()) << n.message();
  EXPECT_EQ(n->auth.authmethod, AuthMethod::chap);
  EXPECT_TRUE(n->auth.password.same_as(auth::Secret(std::string_view("alice-secret-1"))));
  EXPECT_TRUE(n->auth.mutual());
  EXPECT_EQ(n->auth.chap_algs,
            (auth::ChapAlgorithmList{auth::ChapAlgorithm::sha256, auth::ChapAlgorithm::md5}));
  const NodeSettings copy = n->clone();
  EXPECT_TRUE(copy.auth.password_in.same_as(n->auth.password_in));
}

TEST(NodeSettings, IsidFromIfaceOrRandomWhenUnset) {
  SettingMap rec = record_for("iqn.2003-01.org.linux-iscsi.lab:t1");
  const auto unset = resolve_node_settings({.record = &rec, .initiator_name = kInitiator});
  ASSERT_TRUE(unset.ok());
  EXPECT_FALSE(unset->isid.has_value());
  ASSERT_FALSE(rec.set("iface.isid", "80123456abcd"));
  const auto n = resolve_node_settings({.record = &rec, .initiator_name = kInitiator});
  ASSERT_TRUE(n.ok()) << n.message();
  ASSERT_TRUE(n->isid.has_value());
  EXPECT_EQ(n->isid->to_u48(), 0x80123456abcdull);
  EXPECT_EQ(n->isid->type, pdu::IsidType::random);
}

TEST(NodeSettings, IfaceInitiatorNameOverridesTheFile) {
  SettingMap rec = record_for("iqn.2003-01.org.linux-iscsi.lab:t1");
  ASSERT_FALSE(rec.set("iface.initiatorname", "iqn.2026-11.org.iscsi-lab:iface"));
  const auto n = resolve_node_settings({.record = &rec, .initiator_name = kInitiator});
  ASSERT_TRUE(n.ok()) << n.message();
  EXPECT_EQ(n->initiator_name, "iqn.2026-11.org.iscsi-lab:iface");
}

Diagnostic only_error(const Checked<NodeSettings>& r, Errc code) {
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics().size(), 1u) << r.message();
  if (r.diagnostics().empty()) return {};
  EXPECT_EQ(r.diagnostics().front().code, make_error_code(code)) << r.message();
  return r.diagnostics().front();
}

TEST(NodeSettings, OverrideErrorsNameTheCommandLine) {
  const SettingMap rec = record_for("iqn.2003-01.org.linux-iscsi.lab:t1");
  const std::vector<Override> typo{{"node.session.timeo.replacment_timeout", "5"}};
  const auto d = only_error(
      resolve_node_settings({.record = &rec, .overrides = typo, .initiator_name = kInitiator}),
      Errc::unknown_setting);
  EXPECT_EQ(d.to_string(),
            "command line: -n node.session.timeo.replacment_timeout: unknown setting "
            "'node.session.timeo.replacment_timeout'; did you mean "
            "'node.session.timeo.replacement_timeout'?");
  const std::vector<Override> range{{"node.session.iscsi.MaxBurstLength", "100"}};
  only_error(resolve_node_settings({.record = &rec, .overrides = range, .initiator_name = kInitiator}),
             Errc::out_of_range);
  const std::vector<Override> ident{{"node.tpgt", "2"}};
  only_error(resolve_node_settings({.record = &rec, .overrides = ident, .initiator_name = kInitiator}),
             Errc::read_only_setting);
  const std::vector<Override> scope{{"discovery.startup", "manual"}};
  only_error(resolve_node_settings({.record = &rec, .overrides = scope, .initiator_name = kInitiator}),
             Errc::wrong_scope);
}

TEST(NodeSettings, FirstBurstAboveMaxBurstIsInconsistent) {
  SettingMap rec = record_for("iqn.2003-01.org.linux-iscsi.lab:t1");
  ASSERT_FALSE(rec.set("node.session.iscsi.FirstBurstLength", "65536"));
  ASSERT_FALSE(rec.set("node.session.iscsi.MaxBurstLength", "8192"));
  const auto d = only_error(resolve_node_settings({.record = &rec, .initiator_name = kInitiator}),
                            Errc::inconsistent_settings);
  EXPECT_THAT(d.message, HasSubstr("FirstBurstLength 65536 exceeds"));
}

TEST(NodeSettings, SmallMaxXmitIsInconsistent) {
  SettingMap rec = record_for("iqn.2003-01.org.linux-iscsi.lab:t1");
  ASSERT_FALSE(rec.set("node.conn[0].iscsi.MaxXmitDataSegmentLength", "100"));
  only_error(resolve_node_settings({.record = &rec, .initiator_name = kInitiator}),
             Errc::inconsistent_settings);
}

TEST(NodeSettings, ChapWithoutSecretOrWithSameSecretBothWays) {
  SettingMap rec = record_for("iqn.2003-01.org.linux-iscsi.lab:t1");
  ASSERT_FALSE(rec.set("node.session.auth.authmethod", "CHAP"));
  ASSERT_FALSE(rec.set("node.session.auth.username", "alice"));
  const auto d = only_error(resolve_node_settings({.record = &rec, .initiator_name = kInitiator}),
                            Errc::inconsistent_settings);
  EXPECT_THAT(d.message, HasSubstr("password is empty"));
  ASSERT_FALSE(rec.set("node.session.auth.password", "same-secret-1"));
  ASSERT_FALSE(rec.set("node.session.auth.username_in", "tgt"));
  ASSERT_FALSE(rec.set("node.session.auth.password_in", "same-secret-1"));
  const auto same = only_error(resolve_node_settings({.record = &rec, .initiator_name = kInitiator}),
                               Errc::inconsistent_settings);
  EXPECT_THAT(same.message, HasSubstr("RFC 7143 9.2.1"));
  EXPECT_THAT(same.message, ::testing::Not(HasSubstr("same-secret-1")));
}

TEST(NodeSettings, InitiatorNameMissingOrInvalid) {
  const SettingMap rec = record_for("iqn.2003-01.org.linux-iscsi.lab:t1");
  only_error(resolve_node_settings({.record = &rec}), Errc::missing_initiator_name);
  only_error(resolve_node_settings({.record = &rec, .initiator_name = "host"}),
             Errc::invalid_initiator_name);
}

TEST(NodeSettings, FromOurIscsidConfFixtureAndARecordFile) {
  const auto conf = parse_iscsid_conf("node.session.timeo.replacement_timeout = 5\n"
                                      "node.conn[0].iscsi.HeaderDigest = CRC32C\n",
                                      "iscsid.conf");
  ASSERT_TRUE(conf.ok());
  const auto rec = parse_record("# BEGIN RECORD 2.1.8\n"
                                "node.name = iqn.2003-01.org.linux-iscsi.lab:t1\n"
                                "node.tpgt = 1\n"
                                "node.conn[0].address = 127.0.0.1\n"
                                "node.conn[0].port = 3261\n"
                                "node.conn[0].iscsi.DataDigest = CRC32C,None\n"
                                "# END RECORD\n",
                                RecordKind::node, "rec");
  ASSERT_TRUE(rec.ok()) << rec.message();
  const auto n = resolve_node_settings(
      {.iscsid_conf = &*conf, .record = &rec->settings, .initiator_name = kInitiator});
  ASSERT_TRUE(n.ok()) << n.message();
  EXPECT_EQ(n->replacement_timeout, seconds(5));
  EXPECT_EQ(n->header_digest, "CRC32C");
  EXPECT_EQ(n->data_digest, "CRC32C,None");
  EXPECT_EQ(n->port, 3261);
}

TEST(DiscoverySettings, DefaultsLayersAndErrors) {
  SettingMap conf;
  ASSERT_FALSE(conf.set("discovery.sendtargets.auth.authmethod", "CHAP"));
  ASSERT_FALSE(conf.set("discovery.sendtargets.auth.username", "disc"));
  ASSERT_FALSE(conf.set("discovery.sendtargets.auth.password", "disc-secret-1"));
  SettingMap rec;
  ASSERT_FALSE(rec.set("discovery.sendtargets.address", "127.0.0.1"));
  const std::vector<Override> o{{"discovery.sendtargets.timeo.active_timeout", "3"}};
  const auto d = resolve_discovery_settings(
      {.iscsid_conf = &conf, .record = &rec, .overrides = o, .initiator_name = kInitiator});
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->address, "127.0.0.1");
  EXPECT_EQ(d->port, 3260);
  EXPECT_EQ(d->auth.authmethod, AuthMethod::chap);
  EXPECT_EQ(d->login_timeout, seconds(15));
  EXPECT_EQ(d->reply_timeout, seconds(3));
  EXPECT_EQ(d->max_recv_data_segment_length, 32768u);
  EXPECT_EQ(d->reopen_max, 5u);
  const std::vector<Override> wrong{{"node.startup", "manual"}};
  const auto bad = resolve_discovery_settings({.record = &rec, .overrides = wrong,
                                               .initiator_name = kInitiator});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), make_error_code(Errc::wrong_scope));
}

}  // namespace
}  // namespace iscsi::config
