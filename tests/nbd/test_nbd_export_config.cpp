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
