// open-iscsi key/value settings -> net::SessionOptions / net::DiscoveryOptions: every key with a
// counterpart reaches its field, defaults equal the engine's, and every other key is refused
// with a message naming it (unknown, other scope, identity, not supported). Secrets never show.
#include "net/from_settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace iscsi::net {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using std::chrono::seconds;
using Settings = std::vector<config::Override>;

std::string text_of(ByteSpan bytes) { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }

TEST(NetFromSettings, NoSettingsGiveTheEngineDefaults) {
  const auto o = session_options_from_settings({});
  ASSERT_TRUE(o.ok()) << o.message();
  const SessionOptions d;
  EXPECT_EQ(o->initiator_name, d.initiator_name);
  EXPECT_EQ(o->isid, d.isid);
  EXPECT_EQ(o->replacement_timeout, d.replacement_timeout);
  EXPECT_EQ(o->login_timeout, d.login_timeout);
  EXPECT_EQ(o->logout_timeout, d.logout_timeout);
  EXPECT_EQ(o->noop_out_interval, d.noop_out_interval);
  EXPECT_EQ(o->noop_out_timeout, d.noop_out_timeout);
  EXPECT_EQ(o->abort_timeout, d.abort_timeout);
  EXPECT_EQ(o->lu_reset_timeout, d.lu_reset_timeout);
  EXPECT_EQ(o->tgt_reset_timeout, d.tgt_reset_timeout);
  EXPECT_EQ(o->initial_login_retry_max, d.initial_login_retry_max);
  EXPECT_EQ(o->reopen_max, d.reopen_max);
  EXPECT_EQ(o->cmds_max, d.cmds_max);
  EXPECT_EQ(o->queue_depth, d.queue_depth);
  EXPECT_EQ(o->auth.authmethod, d.auth.authmethod);
  EXPECT_EQ(o->auth.chap_algs, d.auth.chap_algs);
  EXPECT_EQ(o->iscsi.initial_r2t, d.iscsi.initial_r2t);
  EXPECT_EQ(o->iscsi.immediate_data, d.iscsi.immediate_data);
  EXPECT_EQ(o->iscsi.first_burst_length, d.iscsi.first_burst_length);
  EXPECT_EQ(o->iscsi.max_burst_length, d.iscsi.max_burst_length);
  EXPECT_EQ(o->iscsi.default_time2wait, d.iscsi.default_time2wait);
  EXPECT_EQ(o->iscsi.default_time2retain, d.iscsi.default_time2retain);
  EXPECT_EQ(o->iscsi.max_connections, d.iscsi.max_connections);
  EXPECT_EQ(o->iscsi.max_outstanding_r2t, d.iscsi.max_outstanding_r2t);
  EXPECT_EQ(o->iscsi.error_recovery_level, d.iscsi.error_recovery_level);
  EXPECT_EQ(o->iscsi.fast_abort, d.iscsi.fast_abort);
  EXPECT_EQ(o->iscsi.max_recv_data_segment_length, d.iscsi.max_recv_data_segment_length);
  EXPECT_EQ(o->iscsi.max_xmit_data_segment_length, d.iscsi.max_xmit_data_segment_length);
  EXPECT_EQ(o->iscsi.header_digest, d.iscsi.header_digest);
  EXPECT_EQ(o->iscsi.data_digest, d.iscsi.data_digest);
}

TEST(NetFromSettings, EverySessionKeyReachesItsField) {
  const Settings s = {
      {"iface.initiatorname", "iqn.2026-11.org.example:py"},
      {"iface.isid", "0x400001370000"},
      {"InitiatorAlias", "lab host"},
      {"node.session.timeo.replacement_timeout", "-1"},
      {"node.conn[0].timeo.login_timeout", "3"},
      {"node.conn[0].timeo.logout_timeout", "4"},
      {"node.conn[0].timeo.noop_out_interval", "0"},
      {"node.conn[0].timeo.noop_out_timeout", "7"},
      {"node.session.err_timeo.abort_timeout", "8"},
      {"node.session.err_timeo.lu_reset_timeout", "9"},
      {"node.session.err_timeo.tgt_reset_timeout", "10"},
      {"node.session.initial_login_retry_max", "2"},
      {"node.session.reopen_max", "11"},
      {"node.session.cmds_max", "256"},
      {"node.session.queue_depth", "64"},
      {"node.session.auth.authmethod", "CHAP"},
      {"node.session.auth.username", "alice"},
      {"node.session.auth.password", "secret-1234"},
      {"node.session.auth.username_in", "target"},
      {"node.session.auth.password_in", "secret-5678"},
      {"node.session.auth.chap_algs", "MD5"},
      {"node.session.iscsi.InitialR2T", "Yes"},
      {"node.session.iscsi.ImmediateData", "No"},
      {"node.session.iscsi.FirstBurstLength", "8192"},
      {"node.session.iscsi.MaxBurstLength", "65536"},
      {"node.session.iscsi.DefaultTime2Wait", "1"},
      {"node.session.iscsi.DefaultTime2Retain", "5"},
      {"node.session.iscsi.MaxConnections", "2"},
      {"node.session.iscsi.MaxOutstandingR2T", "4"},
      {"node.session.iscsi.ERL", "1"},
      {"node.session.iscsi.FastAbort", "No"},
      {"node.conn[0].iscsi.MaxRecvDataSegmentLength", "512"},
      {"node.conn[0].iscsi.MaxXmitDataSegmentLength", "4096"},
      {"node.conn[0].iscsi.HeaderDigest", "CRC32C"},
      {"node.conn[0].iscsi.DataDigest", "CRC32C,None"},
      {"iface.transport_name", "tcp"},
  };
  const auto o = session_options_from_settings(s);
  ASSERT_TRUE(o.ok()) << o.message();
  EXPECT_EQ(o->initiator_name, "iqn.2026-11.org.example:py");
  EXPECT_EQ(o->initiator_alias, "lab host");
  ASSERT_TRUE(o->isid.has_value());
  EXPECT_EQ(o->isid->to_u48(), 0x400001370000u);
  EXPECT_EQ(o->replacement_timeout, seconds(-1));
  EXPECT_EQ(o->login_timeout, seconds(3));
  EXPECT_EQ(o->logout_timeout, seconds(4));
  EXPECT_EQ(o->noop_out_interval, seconds(0));
  EXPECT_EQ(o->noop_out_timeout, seconds(7));
  EXPECT_EQ(o->abort_timeout, seconds(8));
  EXPECT_EQ(o->lu_reset_timeout, seconds(9));
  EXPECT_EQ(o->tgt_reset_timeout, seconds(10));
  EXPECT_EQ(o->initial_login_retry_max, 2u);
  EXPECT_EQ(o->reopen_max, 11u);
  EXPECT_EQ(o->cmds_max, 256u);
  EXPECT_EQ(o->queue_depth, 64u);
  EXPECT_EQ(o->auth.authmethod, AuthMethodSetting::chap);
  EXPECT_EQ(o->auth.username, "alice");
  EXPECT_EQ(text_of(o->auth.password.reveal()), "secret-1234");
  EXPECT_EQ(o->auth.username_in, "target");
  EXPECT_EQ(text_of(o->auth.password_in.reveal()), "secret-5678");
  EXPECT_EQ(o->auth.chap_algs, auth::ChapAlgorithmList{auth::ChapAlgorithm::md5});
  EXPECT_TRUE(o->iscsi.initial_r2t);
  EXPECT_FALSE(o->iscsi.immediate_data);
  EXPECT_EQ(o->iscsi.first_burst_length, 8192u);
  EXPECT_EQ(o->iscsi.max_burst_length, 65536u);
  EXPECT_EQ(o->iscsi.default_time2wait, 1u);
  EXPECT_EQ(o->iscsi.default_time2retain, 5u);
  EXPECT_EQ(o->iscsi.max_connections, 2u);
  EXPECT_EQ(o->iscsi.max_outstanding_r2t, 4u);
  EXPECT_EQ(o->iscsi.error_recovery_level, 1);
  EXPECT_FALSE(o->iscsi.fast_abort);
  EXPECT_EQ(o->iscsi.max_recv_data_segment_length, 512u);
  EXPECT_EQ(o->iscsi.max_xmit_data_segment_length, 4096u);
  EXPECT_EQ(o->iscsi.header_digest, "CRC32C");
  EXPECT_EQ(o->iscsi.data_digest, "CRC32C,None");
}

TEST(NetFromSettings, TypedNodeSettingsMapTheSameWay) {
  const std::vector<config::Override> overrides = {{"node.session.iscsi.MaxBurstLength", "524288"},
                                                   {"node.conn[0].timeo.noop_out_timeout", "2"}};
  const auto n = config::resolve_node_settings(
      {.overrides = overrides, .initiator_name = "iqn.2026-11.org.example:typed"});
  ASSERT_TRUE(n.ok()) << n.message();
  const SessionOptions o = session_options_from(*n);
  EXPECT_EQ(o.initiator_name, "iqn.2026-11.org.example:typed");
  EXPECT_EQ(o.iscsi.max_burst_length, 524288u);
  EXPECT_EQ(o.noop_out_timeout, seconds(2));
}

// Every row of the table is either mapped (accepted with its default) or refused by name.
TEST(NetFromSettings, EveryTableKeyIsMappedOrRefusedByName) {
  int mapped = 0;
  for (const config::SettingInfo& row : config::all_settings()) {
    const Settings one = {{std::string(row.key), std::string(row.default_value)}};
    const auto o = session_options_from_settings(one);
    const bool node_scope = row.scope == config::Scope::node || row.scope == config::Scope::iface;
    if (session_key_supported(row.key)) {
      ASSERT_TRUE(node_scope) << row.key;
      EXPECT_TRUE(o.ok()) << row.key << ": " << o.message();
      ++mapped;
    } else {
      ASSERT_FALSE(o.ok()) << row.key << " was accepted but has no counterpart";
      EXPECT_THAT(o.message(), HasSubstr("'" + std::string(row.key) + "'"));
    }
    const auto d = discovery_options_from_settings(one);
    EXPECT_EQ(d.ok(), discovery_key_supported(row.key)) << row.key << ": " << d.message();
  }
  EXPECT_EQ(mapped, 37);  // 35 + iface.ipaddress and iface.net_ifacename (the iface binding)
}

TEST(NetFromSettings, TheIfaceBindingMapsToSourceAddressAndDevice) {
  const auto o = session_options_from_settings(
      Settings{{"iface.ipaddress", "127.0.0.2"}, {"iface.net_ifacename", "lo"}});
  ASSERT_TRUE(o.ok()) << o.message();
  EXPECT_EQ(o->source_address, "127.0.0.2");
  EXPECT_EQ(o->bind_device, "lo");
  EXPECT_EQ(o->clone().source_address, "127.0.0.2");
  EXPECT_EQ(o->clone().bind_device, "lo");
}

TEST(NetFromSettings, UnknownKeyIsNamedWithASuggestion) {
  const auto o = session_options_from_settings(
      Settings{{"node.sesion.timeo.replacement_timeout", "5"}});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error(), config::Errc::unknown_setting);
  EXPECT_THAT(o.message(), HasSubstr("node.sesion.timeo.replacement_timeout"));
  EXPECT_THAT(o.message(), HasSubstr("did you mean 'node.session.timeo.replacement_timeout'"));
}

TEST(NetFromSettings, UnsupportedKeysSayTheInitiatorDoesNotActOnThem) {
  for (const char* key : {"node.session.scan", "node.conn[0].tcp.window_size", "iface.hwaddress",
                          "node.session.nr_sessions", "iface.vlan_id",
                          "node.session.err_timeo.host_reset_timeout"}) {
    const auto o = session_options_from_settings(Settings{{key, "1"}});
    ASSERT_FALSE(o.ok()) << key;
    EXPECT_THAT(o.message(), HasSubstr(std::string("'") + key + "'"));
    EXPECT_THAT(o.message(), HasSubstr("not supported"));
  }
}

TEST(NetFromSettings, IdentityAndOtherScopeKeysAreRefused) {
  auto o = session_options_from_settings(Settings{{"node.name", "iqn.2026-11.org.example:t"}});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error(), config::Errc::read_only_setting);
  EXPECT_THAT(o.message(), HasSubstr("'node.name' names the record"));

  o = session_options_from_settings(Settings{{"discovery.sendtargets.auth.username", "x"}});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error(), config::Errc::wrong_scope);
  EXPECT_THAT(o.message(), HasSubstr("is a discovery setting"));

  const auto d = discovery_options_from_settings(Settings{{"node.session.auth.username", "x"}});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), config::Errc::wrong_scope);
  EXPECT_THAT(d.message(), HasSubstr("'node.session.auth.username' is a node setting"));
}

TEST(NetFromSettings, EveryProblemIsReportedEachNamingItsKey) {
  const auto o = session_options_from_settings(
      Settings{{"node.session.iscsi.ImmediateData", "maybe"},
               {"node.session.cmds_max", "1"},
               {"node.bogus", "1"}});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.diagnostics().size(), 3u);
  EXPECT_THAT(o.message(), HasSubstr("node.session.iscsi.ImmediateData"));
  EXPECT_THAT(o.message(), HasSubstr("node.session.cmds_max"));
  EXPECT_THAT(o.message(), HasSubstr("node.bogus"));
}

TEST(NetFromSettings, InconsistentValuesAreCaughtAfterMapping) {
  const auto o = session_options_from_settings(
      Settings{{"node.session.iscsi.FirstBurstLength", "131072"},
               {"node.session.iscsi.MaxBurstLength", "65536"}});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.message(), HasSubstr("FirstBurstLength 131072 exceeds"));
}

TEST(NetFromSettings, SecretsNeverAppearInMessages) {
  const std::string secret = "hunter2-\x01-topsecret";  // a control character: invalid
  auto o = session_options_from_settings(Settings{{"node.session.auth.password", secret}});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.message(), HasSubstr("node.session.auth.password"));
  EXPECT_THAT(o.message(), Not(HasSubstr("topsecret")));

  // Mutual CHAP with the same secret both ways is refused without quoting it.
  o = session_options_from_settings(Settings{{"node.session.auth.authmethod", "CHAP"},
                                             {"node.session.auth.username", "a"},
                                             {"node.session.auth.password", "same-secret-1"},
                                             {"node.session.auth.username_in", "b"},
                                             {"node.session.auth.password_in", "same-secret-1"}});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.message(), Not(HasSubstr("same-secret-1")));
}

TEST(NetFromSettings, InitiatorNameFromFileKeyOrIfaceAndValidated) {
  auto o = session_options_from_settings(Settings{{"InitiatorName", "iqn.2026-11.org.example:f"}});
  ASSERT_TRUE(o.ok()) << o.message();
  EXPECT_EQ(o->initiator_name, "iqn.2026-11.org.example:f");
  o = session_options_from_settings(Settings{{"InitiatorName", "iqn.2026-11.org.example:f"},
                                             {"iface.initiatorname", "iqn.2026-11.org.example:i"}});
  ASSERT_TRUE(o.ok()) << o.message();
  EXPECT_EQ(o->initiator_name, "iqn.2026-11.org.example:i");  // iface wins, as in open-iscsi
  o = session_options_from_settings({}, "iqn.2026-11.org.example:caller");
  ASSERT_TRUE(o.ok()) << o.message();
  EXPECT_EQ(o->initiator_name, "iqn.2026-11.org.example:caller");
  o = session_options_from_settings(Settings{{"InitiatorName", "not a name"}});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error(), config::Errc::invalid_initiator_name);
}

TEST(NetFromSettings, IserTransportIsRefused) {
  const auto o = session_options_from_settings(Settings{{"iface.transport_name", "iser"}});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.message(), HasSubstr("'iface.transport_name' iser is not supported"));
}

TEST(NetFromSettings, EveryDiscoveryKeyReachesItsField) {
  const Settings s = {
      {"discovery.sendtargets.auth.authmethod", "CHAP"},
      {"discovery.sendtargets.auth.username", "disc"},
      {"discovery.sendtargets.auth.password", "disc-secret-12"},
      {"discovery.sendtargets.auth.username_in", "tgt"},
      {"discovery.sendtargets.auth.password_in", "tgt-secret-345"},
      {"discovery.sendtargets.auth.chap_algs", "SHA256,MD5"},
      {"discovery.sendtargets.timeo.login_timeout", "4"},
      {"discovery.sendtargets.timeo.active_timeout", "6"},
      {"discovery.sendtargets.iscsi.MaxRecvDataSegmentLength", "8192"},
      {"iface.initiatorname", "iqn.2026-11.org.example:disc"},
      {"iface.isid", "400001370001"},
  };
  const auto d = discovery_options_from_settings(s);
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->initiator_name, "iqn.2026-11.org.example:disc");
  ASSERT_TRUE(d->isid.has_value());
  EXPECT_EQ(d->isid->to_u48(), 0x400001370001u);
  EXPECT_EQ(d->auth.authmethod, AuthMethodSetting::chap);
  EXPECT_EQ(d->auth.username, "disc");
  EXPECT_EQ(text_of(d->auth.password.reveal()), "disc-secret-12");
  EXPECT_EQ(d->auth.username_in, "tgt");
  EXPECT_EQ(text_of(d->auth.password_in.reveal()), "tgt-secret-345");
  EXPECT_EQ(d->auth.chap_algs,
            (auth::ChapAlgorithmList{auth::ChapAlgorithm::sha256, auth::ChapAlgorithm::md5}));
  EXPECT_EQ(d->login_timeout, seconds(4));
  EXPECT_EQ(d->reply_timeout, seconds(6));
  EXPECT_EQ(d->max_recv_data_segment_length, 8192u);
  EXPECT_TRUE(d->send_targets.empty());
}

TEST(NetFromSettings, DiscoveryRefusesWhatItDoesNotActOn) {
  const auto d = discovery_options_from_settings(
      Settings{{"discovery.sendtargets.reopen_max", "3"}, {"discovery.startup", "automatic"}});
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.message(), HasSubstr("'discovery.sendtargets.reopen_max'"));
  EXPECT_THAT(d.message(), HasSubstr("'discovery.startup'"));
  EXPECT_THAT(d.message(), HasSubstr("not supported"));
}

}  // namespace
}  // namespace iscsi::net
