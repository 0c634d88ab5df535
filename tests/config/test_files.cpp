// iscsid.conf, initiatorname.iscsi and record files: our fixture in open-iscsi's shape parses
// with zero errors, every error names file:line and what was expected, duplicates (last wins),
// round trips byte-identical, a record cut at any byte offset is refused, secrets masked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/files.hpp"

namespace iscsi::config {
namespace {

using ::testing::HasSubstr;

std::string read_fixture(std::string_view name) {
  const auto path = std::filesystem::path(__FILE__).parent_path() / "data" / name;
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The one diagnostic of a failed parse, checked for code and "file:line: " prefix.
template <class T>
Diagnostic only_error(const Checked<T>& result, Errc code, std::string_view file, std::size_t line) {
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.diagnostics().size(), 1u) << result.message();
  if (result.diagnostics().empty()) return {};
  const Diagnostic& d = result.diagnostics().front();
  EXPECT_EQ(d.code, make_error_code(code)) << d.to_string();
  EXPECT_EQ(d.line, line) << d.to_string();
  const std::string prefix =
      std::string(file) + (line ? ":" + std::to_string(line) : std::string()) + ": ";
  EXPECT_THAT(d.to_string(), ::testing::StartsWith(prefix));
  return d;
}

// --- iscsid.conf -----------------------------------------------------------------------------

TEST(IscsidConf, FixtureInOpenIscsiShapeParsesCleanly) {
  const auto conf = parse_iscsid_conf(read_fixture("iscsid.conf"), "iscsid.conf");
  ASSERT_TRUE(conf.ok()) << conf.message();
  EXPECT_EQ(*conf->get("iscsid.startup"), "/bin/systemctl start iscsid.socket");
  EXPECT_EQ(*conf->get("node.conn[0].timeo.noop_out_interval"), "5");  // leading tab
  EXPECT_EQ(*conf->get("node.conn[0].timeo.noop_out_timeout"), "5");   // blanks around '='
  EXPECT_EQ(*conf->get("node.session.iscsi.MaxBurstLength"), "16776192");
  EXPECT_FALSE(conf->contains("node.session.auth.authmethod"));  // commented out
  EXPECT_EQ(conf->size(), 27u);
}

// Set ISCSI_LAB_REAL_ISCSID_CONF to a distribution's iscsid.conf (e.g. Debian's open-iscsi
// package extracted with dpkg-deb -x) to check that it reads with zero errors.
TEST(IscsidConf, RealDistributionFileWhenGiven) {
  const char* path = std::getenv("ISCSI_LAB_REAL_ISCSID_CONF");
  if (!path) GTEST_SKIP() << "ISCSI_LAB_REAL_ISCSID_CONF not set";
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  ASSERT_FALSE(ss.str().empty());
  const auto conf = parse_iscsid_conf(ss.str(), path);
  EXPECT_TRUE(conf.ok()) << conf.message();
}

TEST(IscsidConf, DuplicateKeyLastWins) {
  const auto conf = parse_iscsid_conf(
      "node.session.queue_depth = 16\nnode.session.queue_depth = 64\n", "c");
  ASSERT_TRUE(conf.ok()) << conf.message();
  EXPECT_EQ(*conf->get("node.session.queue_depth"), "64");
}

TEST(IscsidConf, ValueWithSpacesAndCrlf) {
  const auto conf = parse_iscsid_conf("iscsid.startup =  /usr/sbin/iscsid -f -d 1 \r\n", "c");
  ASSERT_TRUE(conf.ok()) << conf.message();
  EXPECT_EQ(*conf->get("iscsid.startup"), "/usr/sbin/iscsid -f -d 1");
}

TEST(IscsidConf, EmptyAndCommentOnlyFilesAreEmptySettings) {
  EXPECT_TRUE(parse_iscsid_conf("", "c")->empty());
  EXPECT_TRUE(parse_iscsid_conf("# nothing\n\n   \n", "c")->empty());
}

TEST(IscsidConf, UnknownKeyNamesFileLineAndSuggestion) {
  const auto conf = parse_iscsid_conf(
      "# ok\nnode.startup = manual\nnode.sesion.timeo.replacement_timeout = 5\n",
      "/etc/iscsi/iscsid.conf");
  const auto d = only_error(conf, Errc::unknown_setting, "/etc/iscsi/iscsid.conf", 3);
  EXPECT_EQ(d.to_string(),
            "/etc/iscsi/iscsid.conf:3: unknown setting 'node.sesion.timeo.replacement_timeout'; "
            "did you mean 'node.session.timeo.replacement_timeout'?");
}

TEST(IscsidConf, LineWithoutEquals) {
  const auto d = only_error(parse_iscsid_conf("\n\nnode.startup manual\n", "c"),
                            Errc::malformed_line, "c", 3);
  EXPECT_THAT(d.message, HasSubstr("expected 'key = value'"));
}

TEST(IscsidConf, LineWithoutKey) {
  only_error(parse_iscsid_conf(" = 5\n", "c"), Errc::malformed_line, "c", 1);
}

TEST(IscsidConf, KeyWithBlank) {
  only_error(parse_iscsid_conf("node startup = manual\n", "c"), Errc::malformed_line, "c", 1);
}

TEST(IscsidConf, MalformedLineDoesNotEchoASecret) {
  const auto conf = parse_iscsid_conf("node.session.auth.password hunter2hunter2\n", "c");
  const auto d = only_error(conf, Errc::malformed_line, "c", 1);
  EXPECT_THAT(d.message, ::testing::Not(HasSubstr("hunter2")));
}

TEST(IscsidConf, BadValueNamesKeyAndExpectation) {
  const auto d = only_error(parse_iscsid_conf("node.session.iscsi.InitialR2T = maybe\n", "c"),
                            Errc::invalid_value, "c", 1);
  EXPECT_EQ(d.to_string(),
            "c:1: node.session.iscsi.InitialR2T: expected one of Yes, No, got 'maybe'");
}

TEST(IscsidConf, OutOfRange) {
  const auto d = only_error(parse_iscsid_conf("node.session.iscsi.ERL = 7\n", "c"),
                            Errc::out_of_range, "c", 1);
  EXPECT_THAT(d.message, HasSubstr("0..2"));
}

TEST(IscsidConf, IfaceKeysAndIdentityKeysDoNotBelong) {
  only_error(parse_iscsid_conf("iface.ipaddress = 10.0.0.1\n", "c"), Errc::wrong_scope, "c", 1);
  only_error(parse_iscsid_conf("node.name = iqn.2003-01.org.example:t\n", "c"),
             Errc::wrong_scope, "c", 1);
}

TEST(IscsidConf, ReportsEveryErrorNotJustTheFirst) {
  const auto conf = parse_iscsid_conf("a = 1\nnode.startup = x\nnode.startup\n", "c");
  ASSERT_EQ(conf.diagnostics().size(), 3u);
  EXPECT_EQ(conf.diagnostics()[0].line, 1u);
  EXPECT_EQ(conf.diagnostics()[1].line, 2u);
  EXPECT_EQ(conf.diagnostics()[2].line, 3u);
  EXPECT_EQ(conf.error(), make_error_code(Errc::unknown_setting));
}

TEST(IscsidConf, BinaryGarbageIsBoundedErrors) {
  std::string junk;
  for (int i = 0; i < 500; ++i) junk += "\x01\xff=\n";
  const auto conf = parse_iscsid_conf(junk, "c");
  EXPECT_FALSE(conf.ok());
  EXPECT_LE(conf.diagnostics().size(), 50u);
}

// --- records ---------------------------------------------------------------------------------

SettingMap sample_node() {
  SettingMap m = defaults_for({Scope::node, Scope::iface});
  EXPECT_FALSE(m.set("node.name", "iqn.2003-01.org.linux-iscsi.lab:t1"));
  EXPECT_FALSE(m.set("node.tpgt", "1"));
  EXPECT_FALSE(m.set("node.conn[0].address", "127.0.0.1"));
  EXPECT_FALSE(m.set("node.session.auth.authmethod", "CHAP"));
  EXPECT_FALSE(m.set("node.session.auth.username", "user one"));
  EXPECT_FALSE(m.set("node.session.auth.password", "secret with spaces"));
  EXPECT_FALSE(m.set("node.conn[0].iscsi.HeaderDigest", "CRC32C,None"));
  EXPECT_FALSE(m.set("iface.vlan_id", "7"));  // an offload key: kept when present
  return m;
}

TEST(Record, RoundTripIsExactAndByteIdentical) {
  const SettingMap original = sample_node();
  const std::string text = format_record(original, RecordKind::node);
  EXPECT_THAT(text, ::testing::StartsWith("# BEGIN RECORD 2.1.8\nnode.name = iqn."));
  EXPECT_THAT(text, ::testing::EndsWith("# END RECORD\n"));
  EXPECT_THAT(text, HasSubstr("\nnode.session.auth.username_in = <empty>\n"));
  EXPECT_THAT(text, HasSubstr("\nnode.session.auth.password = secret with spaces\n"));
  const auto parsed = parse_record(text, RecordKind::node, "rec");
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  EXPECT_EQ(parsed->version, "2.1.8");
  EXPECT_TRUE(parsed->settings == original);
  EXPECT_EQ(format_record(parsed->settings, RecordKind::node), text);
}

// Every row, set to a value other than its default where it has one, survives its record.
std::string other_value(const SettingInfo& info) {
  switch (info.type) {
    case Type::integer: return std::to_string(info.max);
    case Type::boolean: return info.default_value == "Yes" ? "No" : "Yes";
    case Type::choice: {
      const auto bar = info.choices.rfind('|');
      return std::string(info.choices.substr(bar + 1));
    }
    case Type::string: return "a value, with spaces # and a hash";
    case Type::secret: return " s3cret with spaces ";
    case Type::digest_list: return "CRC32C,None";
    case Type::chap_algs: return "MD5,SHA3-256";
    case Type::iscsi_name: return "iqn.2003-01.org.example:name";
    case Type::isid: return "0x80123456ABCD";
  }
  return {};
}

TEST(Record, EveryRowRoundTripsInItsRecordKind) {
  for (const RecordKind kind : {RecordKind::node, RecordKind::discovery, RecordKind::iface}) {
    SettingMap m;
    for (const auto& info : all_settings()) {
      if (!record_holds(kind, info.scope)) continue;
      ASSERT_FALSE(m.set(info.key, other_value(info))) << info.key;
    }
    ASSERT_FALSE(m.empty());
    const std::string text = format_record(m, kind);
    const auto back = parse_record(text, kind, "r");
    ASSERT_TRUE(back.ok()) << back.message();
    EXPECT_TRUE(back->settings == m) << to_string(kind);
    EXPECT_EQ(format_record(back->settings, kind), text);
    EXPECT_EQ(*back->settings.get(kind == RecordKind::discovery
                                      ? "discovery.sendtargets.auth.password"
                                      : kind == RecordKind::node ? "node.session.auth.password"
                                                                 : "iface.isid"),
              kind == RecordKind::iface ? "80123456abcd" : "s3cret with spaces");
  }
}

TEST(Record, ShowMasksSecretsUnlessAsked) {
  const SettingMap m = sample_node();
  const std::string masked = format_record(m, RecordKind::node, {.show_secrets = false});
  EXPECT_THAT(masked, HasSubstr("\nnode.session.auth.password = ********\n"));
  EXPECT_THAT(masked, HasSubstr("\nnode.session.auth.password_in = <empty>\n"));
  EXPECT_THAT(masked, ::testing::Not(HasSubstr("secret with spaces")));
  EXPECT_THAT(format_record(m, RecordKind::node, {.show_secrets = true}),
              HasSubstr("secret with spaces"));
}

// A node record in the shape open-iscsi 2.1.x writes (its key set, offload iface keys, CHAP in
// clear) — our own fixture text. We print in our table's order, so the first reprint may order
// the iface keys differently; from then on it is a fixed point.
TEST(Record, OpenIscsiShapedNodeRecordParsesAndReprintsStably) {
  const std::string text = read_fixture("node_record_openiscsi_shape");
  ASSERT_FALSE(text.empty());
  const auto parsed = parse_record(text, RecordKind::node, "node_record_openiscsi_shape");
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  EXPECT_EQ(*parsed->settings.get("node.session.auth.password"), "lab-secret-0001");
  EXPECT_EQ(*parsed->settings.get("iface.max_burst_len"), "0");
  EXPECT_EQ(parsed->settings.size(), 68u);
  const std::string ours = format_record(parsed->settings, RecordKind::node);
  EXPECT_EQ(ours.size(), text.size());
  const auto again = parse_record(ours, RecordKind::node, "reprint");
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_TRUE(again->settings == parsed->settings);
  EXPECT_EQ(format_record(again->settings, RecordKind::node), ours);
}

TEST(Record, ParsesOpenIscsiSpellingsAndComments) {
  const auto parsed = parse_record(
      "# BEGIN RECORD 2.0-873\n"
      "node.name = iqn.2003-01.org.linux-iscsi.lab:t1\n"
      "# a comment inside\n"
      "node.session.auth.username = <empty>\n"
      "node.session.iscsi.ImmediateData = yes\n"
      "iface.bootproto = static\n"
      "# END RECORD\n\n",
      RecordKind::node, "rec");
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  EXPECT_EQ(parsed->version, "2.0-873");
  EXPECT_EQ(*parsed->settings.get("node.session.auth.username"), "");
  EXPECT_EQ(*parsed->settings.get("node.session.iscsi.ImmediateData"), "Yes");
  EXPECT_EQ(*parsed->settings.get("iface.bootproto"), "static");
}

TEST(Record, MissingBegin) {
  const auto d = only_error(parse_record("node.tpgt = 1\n# END RECORD\n", RecordKind::node, "r"),
                            Errc::missing_record_begin, "r", 1);
  EXPECT_THAT(d.message, HasSubstr("expected '# BEGIN RECORD <version>'"));
}

TEST(Record, EmptyFile) {
  only_error(parse_record("", RecordKind::node, "r"), Errc::missing_record_begin, "r", 0);
}

TEST(Record, MissingEndMeansTruncated) {
  const auto d = only_error(parse_record("# BEGIN RECORD 2.1.8\nnode.tpgt = 1\n",
                                         RecordKind::node, "r"),
                            Errc::missing_record_end, "r", 2);
  EXPECT_THAT(d.message, HasSubstr("cut short"));
}

TEST(Record, ContentAfterEnd) {
  only_error(parse_record("# BEGIN RECORD 2.1.8\n# END RECORD\nnode.tpgt = 1\n",
                          RecordKind::node, "r"),
             Errc::content_after_end, "r", 3);
}

TEST(Record, WrongScopeKey) {
  const auto d = only_error(
      parse_record("# BEGIN RECORD 2.1.8\ndiscovery.startup = manual\n# END RECORD\n",
                   RecordKind::node, "r"),
      Errc::wrong_scope, "r", 2);
  EXPECT_THAT(d.message, HasSubstr("discovery setting and cannot appear in a node record"));
  only_error(parse_record("# BEGIN RECORD 2.1.8\nnode.startup = manual\n# END RECORD\n",
                          RecordKind::iface, "r"),
             Errc::wrong_scope, "r", 2);
}

TEST(Record, UnknownKeyAndMalformedLineInside) {
  only_error(parse_record("# BEGIN RECORD 2.1.8\nnode.tgpt = 1\n# END RECORD\n",
                          RecordKind::node, "r"),
             Errc::unknown_setting, "r", 2);
  only_error(parse_record("# BEGIN RECORD 2.1.8\njunk\n# END RECORD\n", RecordKind::node, "r"),
             Errc::malformed_line, "r", 2);
}

TEST(Record, DuplicateKeyLastWins) {
  const auto parsed = parse_record(
      "# BEGIN RECORD 2.1.8\nnode.tpgt = 1\nnode.tpgt = 2\n# END RECORD\n", RecordKind::node, "r");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed->settings.get("node.tpgt"), "2");
}

// A write cut short at any byte leaves a file that is refused, never half-read as valid.
TEST(Record, EveryTruncationIsRefused) {
  const std::string text = format_record(sample_node(), RecordKind::node);
  for (std::size_t cut = 0; cut + 1 < text.size(); ++cut) {
    const auto parsed = parse_record(std::string_view(text).substr(0, cut), RecordKind::node, "r");
    ASSERT_FALSE(parsed.ok()) << "accepted a record cut at " << cut;
    // Cut inside the first line: no BEGIN (or a BEGIN with a cut version, then no END).
    bool found = false;
    for (const auto& d : parsed.diagnostics())
      found = found || d.code == make_error_code(Errc::missing_record_end) ||
              (cut < text.find('\n') && d.code == make_error_code(Errc::missing_record_begin));
    EXPECT_TRUE(found) << "cut " << cut << ": " << parsed.message();
  }
  // Only the full file (with or without its last newline) is accepted.
  EXPECT_TRUE(parse_record(std::string_view(text).substr(0, text.size() - 1), RecordKind::node,
                           "r").ok());
}

TEST(Record, DiscoveryAndIfaceRoundTrip) {
  SettingMap st = defaults_for({Scope::discovery});
  ASSERT_FALSE(st.set("discovery.sendtargets.address", "192.0.2.10"));
  ASSERT_FALSE(st.set("discovery.sendtargets.auth.password_in", "x"));
  const std::string st_text = format_record(st, RecordKind::discovery);
  const auto st_back = parse_record(st_text, RecordKind::discovery, "st_config");
  ASSERT_TRUE(st_back.ok()) << st_back.message();
  EXPECT_TRUE(st_back->settings == st);

  SettingMap iface = defaults_for({Scope::iface});
  ASSERT_FALSE(iface.set("iface.iscsi_ifacename", "iface0"));
  ASSERT_FALSE(iface.set("iface.net_ifacename", "eth1"));
  const std::string iface_text = format_record(iface, RecordKind::iface);
  const auto iface_back = parse_record(iface_text, RecordKind::iface, "iface0");
  ASSERT_TRUE(iface_back.ok()) << iface_back.message();
  EXPECT_EQ(format_record(iface_back->settings, RecordKind::iface), iface_text);
}

// --- initiatorname.iscsi -------------------------------------------------------------------------

TEST(InitiatorName, ParsesDebianShape) {
  const auto f = parse_initiatorname(
      "## DO NOT EDIT OR REMOVE THIS FILE!\n## If you remove this file, ...\n"
      "InitiatorName=iqn.1993-08.org.debian:01:abcdef123456\n",
      "initiatorname.iscsi");
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->name, "iqn.1993-08.org.debian:01:abcdef123456");
  EXPECT_EQ(format_initiatorname(*f), "InitiatorName=iqn.1993-08.org.debian:01:abcdef123456\n");
}

TEST(InitiatorName, AliasAndRoundTrip) {
  const InitiatorNameFile in{"iqn.2026-11.org.iscsi-lab:host1", "lab host"};
  const auto back = parse_initiatorname(format_initiatorname(in), "f");
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->name, in.name);
  EXPECT_EQ(back->alias, in.alias);
}

TEST(InitiatorName, Missing) {
  only_error(parse_initiatorname("# only a comment\n", "f"), Errc::missing_initiator_name, "f", 1);
}

TEST(InitiatorName, Invalid) {
  const auto d = only_error(parse_initiatorname("InitiatorName=host1\n", "f"),
                            Errc::invalid_initiator_name, "f", 1);
  EXPECT_THAT(d.message, HasSubstr("iqn.yyyy-mm"));
}

TEST(InitiatorName, UnknownKeyAndMalformed) {
  only_error(parse_initiatorname("InitiatorName=iqn.2026-11.org.x:y\nFoo=1\n", "f"),
             Errc::unknown_setting, "f", 2);
  only_error(parse_initiatorname("InitiatorName=iqn.2026-11.org.x:y\nhello\n", "f"),
             Errc::malformed_line, "f", 2);
}

}  // namespace
}  // namespace iscsi::config
