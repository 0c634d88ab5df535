// The settings table: every key the brief and open-iscsi's files name is a row, defaults are
// canonical and valid, value normalization and its errors, "did you mean", SettingMap layering.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "config/settings.hpp"

namespace iscsi::config {
namespace {

using ::testing::HasSubstr;

TEST(SettingsTable, KeysAreUniqueAndDefaultsAreCanonical) {
  std::set<std::string_view> seen;
  for (const auto& row : all_settings()) {
    EXPECT_TRUE(seen.insert(row.key).second) << row.key;
    const auto out = normalize_value(row, row.default_value);
    EXPECT_FALSE(out.error) << row.key << ": " << out.why;
    EXPECT_EQ(out.value, row.default_value) << row.key;
    EXPECT_EQ(find_setting(row.key), &row);
  }
}

TEST(SettingsTable, HasEveryKeyOpenIscsiUsers) {
  for (std::string_view key : {
           "node.startup", "node.leading_login", "node.session.timeo.replacement_timeout",
           "node.conn[0].timeo.login_timeout", "node.conn[0].timeo.logout_timeout",
           "node.conn[0].timeo.noop_out_interval", "node.conn[0].timeo.noop_out_timeout",
           "node.session.err_timeo.abort_timeout", "node.session.err_timeo.lu_reset_timeout",
           "node.session.err_timeo.tgt_reset_timeout", "node.session.err_timeo.host_reset_timeout",
           "node.session.initial_login_retry_max", "node.session.reopen_max",
           "node.session.cmds_max", "node.session.queue_depth", "node.session.nr_sessions",
           "node.session.auth.authmethod", "node.session.auth.username",
           "node.session.auth.password", "node.session.auth.username_in",
           "node.session.auth.password_in", "node.session.auth.chap_algs",
           "discovery.sendtargets.auth.authmethod", "discovery.sendtargets.auth.username",
           "discovery.sendtargets.auth.password", "discovery.sendtargets.auth.username_in",
           "discovery.sendtargets.auth.password_in", "discovery.sendtargets.timeo.login_timeout",
           "discovery.sendtargets.timeo.active_timeout", "node.session.iscsi.InitialR2T",
           "node.session.iscsi.ImmediateData", "node.session.iscsi.FirstBurstLength",
           "node.session.iscsi.MaxBurstLength", "node.session.iscsi.DefaultTime2Wait",
           "node.session.iscsi.DefaultTime2Retain", "node.session.iscsi.MaxConnections",
           "node.session.iscsi.MaxOutstandingR2T", "node.session.iscsi.ERL",
           "node.session.iscsi.FastAbort", "node.conn[0].iscsi.MaxRecvDataSegmentLength",
           "node.conn[0].iscsi.MaxXmitDataSegmentLength", "node.conn[0].iscsi.HeaderDigest",
           "node.conn[0].iscsi.DataDigest", "node.conn[0].iscsi.IFMarker",
           "node.conn[0].iscsi.OFMarker", "node.conn[0].tcp.window_size",
           "node.conn[0].tcp.type_of_service", "node.session.scan", "node.name", "node.tpgt",
           "node.conn[0].address", "node.conn[0].port", "iface.iscsi_ifacename",
           "iface.transport_name", "iface.initiatorname", "iface.ipaddress", "iface.hwaddress",
           "iface.net_ifacename", "iscsid.startup", "node.session.xmit_thread_priority",
           "discovery.sendtargets.iscsi.MaxRecvDataSegmentLength"}) {
    EXPECT_NE(find_setting(key), nullptr) << key;
  }
}

TEST(SettingsTable, ExactlyThePasswordsAreSecret) {
  std::set<std::string_view> secrets;
  for (const auto& row : all_settings())
    if (row.secret) secrets.insert(row.key);
  EXPECT_EQ(secrets, (std::set<std::string_view>{
                         "node.session.auth.password", "node.session.auth.password_in",
                         "discovery.sendtargets.auth.password",
                         "discovery.sendtargets.auth.password_in"}));
}

TEST(SettingsTable, OpenIscsiShippedDefaults) {
  auto d = [](std::string_view k) { return find_setting(k)->default_value; };
  EXPECT_EQ(d("node.session.timeo.replacement_timeout"), "120");
  EXPECT_EQ(d("node.conn[0].timeo.noop_out_interval"), "5");
  EXPECT_EQ(d("node.conn[0].timeo.noop_out_timeout"), "5");
  EXPECT_EQ(d("node.session.iscsi.MaxBurstLength"), "16776192");
  EXPECT_EQ(d("node.session.iscsi.ImmediateData"), "Yes");
  EXPECT_EQ(d("node.session.iscsi.InitialR2T"), "No");
  EXPECT_EQ(d("node.conn[0].iscsi.HeaderDigest"), "None");
  EXPECT_EQ(d("node.session.cmds_max"), "128");
  EXPECT_EQ(d("node.session.queue_depth"), "32");
  EXPECT_EQ(d("node.conn[0].port"), "3260");
}

const SettingInfo& row(std::string_view key) { return *find_setting(key); }

TEST(Normalize, CanonicalSpellings) {
  EXPECT_EQ(normalize_value(row("node.session.iscsi.ImmediateData"), "yes").value, "Yes");
  EXPECT_EQ(normalize_value(row("node.startup"), "AUTOMATIC").value, "automatic");
  EXPECT_EQ(normalize_value(row("node.session.cmds_max"), "+0256").value, "256");
  EXPECT_EQ(normalize_value(row("node.conn[0].iscsi.HeaderDigest"), "crc32c, none").value,
            "CRC32C,None");
  EXPECT_EQ(normalize_value(row("node.session.auth.chap_algs"), "md5,sha256").value,
            "MD5,SHA256");
  EXPECT_EQ(normalize_value(row("node.session.auth.username"), "<empty>").value, "");
  EXPECT_EQ(normalize_value(row("node.session.timeo.replacement_timeout"), "-1").value, "-1");
  EXPECT_EQ(normalize_value(row("iface.isid"), "0x80123456ABCD").value, "80123456abcd");
}

struct BadValue {
  std::string_view key;
  std::string_view value;
  Errc code;
  std::string_view words;
};

class NormalizeRejects : public ::testing::TestWithParam<BadValue> {};

TEST_P(NormalizeRejects, WithTheSpecificCode) {
  const auto& p = GetParam();
  const auto out = normalize_value(row(p.key), p.value);
  EXPECT_EQ(out.error, make_error_code(p.code)) << p.key << " = " << p.value;
  EXPECT_THAT(out.why, HasSubstr(std::string(p.words)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NormalizeRejects,
    ::testing::Values(
        BadValue{"node.session.iscsi.ImmediateData", "maybe", Errc::invalid_value, "Yes, No"},
        BadValue{"node.session.cmds_max", "12x", Errc::invalid_value, "decimal"},
        BadValue{"node.session.cmds_max", "", Errc::invalid_value, "decimal"},
        BadValue{"node.session.cmds_max", "4096", Errc::out_of_range, "16..2048"},
        BadValue{"node.session.iscsi.MaxBurstLength", "16777216", Errc::out_of_range,
                 "512..16777215"},
        BadValue{"node.session.iscsi.ERL", "3", Errc::out_of_range, "0..2"},
        BadValue{"node.conn[0].port", "0", Errc::out_of_range, "1..65535"},
        BadValue{"node.session.timeo.replacement_timeout", "-2", Errc::out_of_range, "-1.."},
        BadValue{"node.session.timeo.replacement_timeout", "99999999999999999999",
                 Errc::out_of_range, "outside"},
        BadValue{"node.startup", "sometimes", Errc::invalid_value, "manual, automatic, onboot"},
        BadValue{"node.conn[0].iscsi.DataDigest", "CRC32", Errc::invalid_value, "CRC32C"},
        BadValue{"node.conn[0].iscsi.DataDigest", "None,None", Errc::invalid_value, "twice"},
        BadValue{"node.session.auth.chap_algs", "MD4", Errc::invalid_value, "SHA3-256"},
        BadValue{"node.name", "not-a-name", Errc::invalid_value, "iSCSI name"},
        BadValue{"iface.isid", "0x1234", Errc::invalid_value, "12 hex digits"},
        BadValue{"iface.isid", "80123456abcg", Errc::invalid_value, "12 hex digits"},
        BadValue{"node.session.auth.username", "a\tb", Errc::invalid_value, "control"},
        BadValue{"node.session.auth.username", std::string_view(
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                     "xxxxxxxxxx"),
                 Errc::value_too_long, "255"}));

TEST(Suggest, MisspelledKeyGetsTheRightOne) {
  EXPECT_EQ(unknown_setting_message("node.sesion.timeo.replacement_timeout"),
            "unknown setting 'node.sesion.timeo.replacement_timeout'; did you mean "
            "'node.session.timeo.replacement_timeout'?");
  const auto near = suggest_settings("node.session.iscsi.initialr2t");
  ASSERT_FALSE(near.empty());
  EXPECT_EQ(near.front(), "node.session.iscsi.InitialR2T");
  const auto conn1 = suggest_settings("node.conn[1].timeo.noop_out_interval");
  ASSERT_FALSE(conn1.empty());
  EXPECT_EQ(conn1.front(), "node.conn[0].timeo.noop_out_interval");
  EXPECT_EQ(unknown_setting_message("totally.unrelated"), "unknown setting 'totally.unrelated'");
}

TEST(SettingMap, SetGetMergeAndOrder) {
  SettingMap lower;
  EXPECT_FALSE(lower.set("node.session.queue_depth", "64"));
  EXPECT_FALSE(lower.set("node.startup", "manual"));
  SettingMap upper;
  EXPECT_FALSE(upper.set("node.session.queue_depth", "16"));
  lower.merge_from(upper);
  ASSERT_NE(lower.get("node.session.queue_depth"), nullptr);
  EXPECT_EQ(*lower.get("node.session.queue_depth"), "16");
  EXPECT_EQ(lower.get_or_default("node.session.cmds_max"), "128");
  EXPECT_EQ(lower.size(), 2u);
  const auto entries = lower.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].first->key, "node.startup");  // table order, not insertion order
  lower.erase("node.startup");
  EXPECT_FALSE(lower.contains("node.startup"));
}

TEST(SettingMap, SetReportsUnknownAndBadValuesWithoutEchoingSecrets) {
  SettingMap m;
  auto unknown = m.set("node.session.auth.pasword", "x");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->code, make_error_code(Errc::unknown_setting));
  EXPECT_THAT(unknown->message, HasSubstr("did you mean 'node.session.auth.password'"));
  auto bad_secret = m.set("node.session.auth.password", "topsecret\x01");
  ASSERT_TRUE(bad_secret);
  EXPECT_EQ(bad_secret->code, make_error_code(Errc::invalid_value));
  EXPECT_THAT(bad_secret->message, ::testing::Not(HasSubstr("topsecret")));
}

TEST(SettingMap, DefaultsForScope) {
  const SettingMap node = defaults_for({Scope::node, Scope::iface});
  EXPECT_TRUE(node.contains("node.session.cmds_max"));
  EXPECT_TRUE(node.contains("iface.transport_name"));
  EXPECT_FALSE(node.contains("iface.vlan_id"));  // offload keys only when set
  EXPECT_FALSE(node.contains("discovery.startup"));
}

TEST(Errors, CategoryAndWords) {
  const std::error_code ec = make_error_code(Errc::unknown_setting);
  EXPECT_STREQ(ec.category().name(), "iscsi.config");
  EXPECT_EQ(ec.message(), "unknown setting");
  Diagnostic d{"/etc/iscsi/iscsid.conf", 7, ec, "unknown setting 'x'"};
  EXPECT_EQ(d.to_string(), "/etc/iscsi/iscsid.conf:7: unknown setting 'x'");
  d.line = 0;
  EXPECT_EQ(d.to_string(), "/etc/iscsi/iscsid.conf: unknown setting 'x'");
}

}  // namespace
}  // namespace iscsi::config
