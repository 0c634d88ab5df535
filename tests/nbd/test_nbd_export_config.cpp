// The plugin's parameters: URL and separate keys, open-iscsi settings passed through, and
// secrets that never reach a message.
#include <gtest/gtest.h>

#include "nbd/export_config.hpp"

namespace iscsi::nbd {
namespace {

TEST(NbdExportConfig, UrlGivesPortalTargetLunAndChap) {
  ExportConfigParser p;
  p.set("url", "iscsi://alice%s3cret-pass@127.0.0.1:3261/iqn.2026-11.x:tgt/2");
  auto c = p.finish();
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 3261);
  EXPECT_EQ(c.target, "iqn.2026-11.x:tgt");
  EXPECT_EQ(c.lun, 2);
  EXPECT_EQ(c.user, "alice");
  EXPECT_EQ(c.describe(), "iscsi://127.0.0.1:3261/iqn.2026-11.x:tgt/2");
  auto o = session_options(c);
  EXPECT_EQ(o.auth.authmethod, net::AuthMethodSetting::chap);
  EXPECT_EQ(o.auth.username, "alice");
  EXPECT_TRUE(o.auth.password.same_as(auth::Secret(std::string_view("s3cret-pass"))));
}

TEST(NbdExportConfig, SeparateKeysOverrideTheUrl) {
  ExportConfigParser p;
  p.set("lun", "5");  // before the URL: still wins
  p.set("url", "iscsi://[::1]/iqn.a:b/1");
  p.set("portal", "127.0.0.1:3262");
  p.set("initiator", "iqn.2026-11.org.example:nbd");
  auto c = p.finish();
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 3262);
  EXPECT_EQ(c.lun, 5);
  EXPECT_EQ(session_options(c).initiator_name, "iqn.2026-11.org.example:nbd");
}

TEST(NbdExportConfig, SeveralUrlsAreOneMultipathExport) {
  ExportConfigParser p;
  p.set("url", "iscsi://alice%pw@127.0.0.1:3260/iqn.2026-11.x:tgt/2");
  p.set("url", "iscsi://127.0.0.1:3261/iqn.2026-11.x:tgt/2");
  p.set("url", "iscsi://[::1]:3262/iqn.2026-11.x:other/4");
  p.set("no_path_retry", "queue");
  p.set("fast_io_fail_tmo", "3");
  auto c = p.finish();
  ASSERT_TRUE(c.is_multipath());
  const auto paths = c.paths();
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_EQ(paths[0].port, 3260);
  EXPECT_EQ(paths[1].port, 3261);
  EXPECT_EQ(paths[2].host, "::1");
  EXPECT_EQ(paths[2].target, "iqn.2026-11.x:other");
  EXPECT_EQ(paths[2].lun, 4);
  EXPECT_EQ(c.describe(), "multipath of 3 paths: iscsi://127.0.0.1:3260/iqn.2026-11.x:tgt/2 "
                          "iscsi://127.0.0.1:3261/iqn.2026-11.x:tgt/2 "
                          "iscsi://[::1]:3262/iqn.2026-11.x:other/4");
  auto o = session_options(c);
  EXPECT_EQ(o.auth.username, "alice");  // every path logs in alike
  EXPECT_EQ(o.replacement_timeout, net::Seconds{3});  // fast_io_fail_tmo, as multipathd sets
}

TEST(NbdExportConfig, LunKeyAppliesToEveryPath) {
  ExportConfigParser p;
  p.set("url", "iscsi://127.0.0.1/iqn.a:b/1");
  p.set("url", "iscsi://127.0.0.2/iqn.a:b/1");
  p.set("lun", "7");
  auto c = p.finish();
  for (const auto& path : c.paths()) EXPECT_EQ(path.lun, 7);
}

TEST(NbdExportConfig, MultipathMistakesAreRefusedByName) {
  {
    ExportConfigParser p;
    p.set("url", "iscsi://127.0.0.1/iqn.a:b/1");
    p.set("no_path_retry", "queue");
    try {
      (void)p.finish();
      FAIL() << "a multipath setting with one path was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("'no_path_retry' is a multipath setting: it needs two "
                                           "or more url="), std::string::npos) << e.what();
    }
  }
  {
    ExportConfigParser p;
    p.set("url", "iscsi://127.0.0.1/iqn.a:b/1");
    p.set("url", "iscsi://127.0.0.2/iqn.a:b/1");
    p.set("path_selector", "fastest 0");
    try {
      (void)p.finish();
      FAIL() << "an unknown path_selector was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("path_selector"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("round-robin 0"), std::string::npos) << e.what();
    }
  }
  {
    ExportConfigParser p;
    p.set("url", "iscsi://127.0.0.1/iqn.a:b/1");
    p.set("url", "iscsi://127.0.0.2/iqn.a:b/1");
    p.set("portal", "127.0.0.3");
    EXPECT_THROW((void)p.finish(), ConfigError);
  }
  {
    ExportConfigParser p;
    p.set("url", "iscsi://alice%pw@127.0.0.1/iqn.a:b/1");
    try {
      p.set("url", "iscsi://bob%other@127.0.0.2/iqn.a:b/1");
      FAIL() << "a second path with other credentials was accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).find("other"), std::string::npos) << "a secret leaked";
      EXPECT_NE(std::string(e.what()).find("every path"), std::string::npos) << e.what();
    }
  }
}

TEST(NbdExportConfig, PortalAndTargetWithoutUrl) {
  ExportConfigParser p;
  p.set("portal", "192.0.2.1");
  p.set("target", "iqn.a:b");
  auto c = p.finish();
  EXPECT_EQ(c.port, 3260);
  EXPECT_EQ(c.lun, 0);
  EXPECT_EQ(session_options(c).auth.authmethod, net::AuthMethodSetting::none);
}

TEST(NbdExportConfig, OpenIscsiSettingsReachTheSessionOptions) {
  ExportConfigParser p;
  p.set("url", "iscsi://127.0.0.1/iqn.a:b/1");
  p.set("node.session.timeo.replacement_timeout", "7");
  p.set("node.conn[0].timeo.noop_out_interval", "1");
  p.set("node.conn0.timeo.noop_out_timeout", "3");  // nbdkit's spelling of node.conn[0].
  auto o = session_options(p.finish());
  EXPECT_EQ(o.replacement_timeout, net::Seconds{7});
  EXPECT_EQ(o.noop_out_interval, net::Seconds{1});
  EXPECT_EQ(o.noop_out_timeout, net::Seconds{3});
}

TEST(NbdExportConfig, RefusesWhatItCannotUse) {
  {
    ExportConfigParser p;
    EXPECT_THROW(p.set("bogus", "1"), ConfigError);
    EXPECT_THROW(p.set("lun", "x"), ConfigError);
    EXPECT_THROW(p.set("lun", "16384"), ConfigError);
    EXPECT_THROW(p.set("url", "iscsi://host/iqn.a:b"), ConfigError);  // no LUN
  }
  {
    ExportConfigParser p;
    p.set("target", "iqn.a:b");
    EXPECT_THROW((void)p.finish(), ConfigError);  // no portal
  }
  {
    ExportConfigParser p;
    p.set("portal", "127.0.0.1");
    EXPECT_THROW((void)p.finish(), ConfigError);  // no target
  }
  {
    ExportConfigParser p;
    p.set("url", "iscsi://127.0.0.1/iqn.a:b/1");
    p.set("node.session.timeo.replacement_timeot", "7");  // misspelt: refused at config time
    EXPECT_THROW((void)p.finish(), ConfigError);
  }
}

TEST(NbdExportConfig, SecretsNeverAppearInMessages) {
  const std::string secret = "very-secret-77";
  ExportConfigParser p;
  p.set("url", "iscsi://bob%" + secret + "@127.0.0.1/iqn.a:b/1");
  p.set("node.session.auth.password", secret);
  p.set("node.session.auth.authmethod", "Bogus");  // makes the settings fail
  try {
    (void)p.finish();
    FAIL() << "an invalid authmethod was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos) << e.what();
  }
  {  // a URL the parser cannot split is not quoted when it holds credentials
    ExportConfigParser u;
    try {
      u.set("url", "bob%" + secret + "@127.0.0.1/iqn.a:b/1");
      FAIL() << "a URL without iscsi:// was accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).find(secret.substr(0, 6)), std::string::npos) << e.what();
    }
  }
  ExportConfigParser q;
  q.set("url", "iscsi://bob%" + secret + "@127.0.0.1/iqn.a:b/1");
  const auto c = q.finish();
  EXPECT_EQ(c.describe().find(secret), std::string::npos);
  EXPECT_EQ(std::string(ExportConfigParser::help()).find(secret), std::string::npos);
}

}  // namespace
}  // namespace iscsi::nbd
