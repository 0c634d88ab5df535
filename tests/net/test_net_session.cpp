// The Asio engine against a real target (tgtd on loopback, tests/support/tgtd_fixture.hpp):
// discovery, login, SCSI I/O, NOP, task management, logout, stats and events.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>
#include <thread>
#include <atomic>
#include <iostream>

#include "net/initiator.hpp"
#include "support/tgtd_fixture.hpp"

namespace iscsi::net {
namespace {

using test::TgtdTarget;

constexpr std::uint16_t kFileLun = TgtdTarget::kFileLun;
constexpr std::uint16_t kNullLun = TgtdTarget::kNullLun;

SessionOptions quick_options() {
  SessionOptions o;
  o.initiator_name = "iqn.2026-11.org.iscsi-lab:test-initiator";
  o.login_timeout = Seconds{5};
  o.initial_login_retry_max = 0;
  return o;
}

ByteVector pattern(std::size_t n, std::uint32_t seed) {
  ByteVector v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

bool has_event(const std::vector<EventRecord>& events, EventType t) {
  return std::any_of(events.begin(), events.end(), [&](const auto& e) { return e.type == t; });
}

TEST(NetPortal, ParsesHostsAndPorts) {
  EXPECT_EQ(Portal::parse("127.0.0.1"), (Portal{"127.0.0.1", 3260}));
  EXPECT_EQ(Portal::parse("127.0.0.1:3261"), (Portal{"127.0.0.1", 3261}));
  EXPECT_EQ(Portal::parse("[::1]:3262,1"), (Portal{"::1", 3262}));
  EXPECT_EQ(Portal::parse("[fe80::1]"), (Portal{"fe80::1", 3260}));
  EXPECT_EQ(Portal::parse("fe80::1"), (Portal{"fe80::1", 3260}));
  EXPECT_EQ(Portal::parse("target.example:3263"), (Portal{"target.example", 3263}));
  EXPECT_EQ((Portal{"::1", 3260}).to_string(), "[::1]:3260");
  EXPECT_THROW(Portal::parse("host:0"), NetError);
  EXPECT_THROW(Portal::parse("host:99999"), NetError);
  EXPECT_THROW(Portal::parse("[::1"), NetError);
}

TEST(NetErrors, ReplacementTimeoutWords) {
  NetError e(Errc::replacement_timeout, "replacement_timeout expired (120 s)");
  EXPECT_STREQ(e.what(), "replacement_timeout expired (120 s): replacement_timeout expired");
  EXPECT_EQ(e.code().category().name(), std::string("iscsi.net"));
}

TEST(NetLogin, ConnectRefusedFailsWithConnectFailed) {
  Initiator ini;
  auto o = quick_options();
  try {
    // Port 1 on loopback: nothing listens there.
    ini.login("iqn.2026-11.org.example:none", Portal{"127.0.0.1", 1}, o);
    FAIL() << "login succeeded";
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::connect_failed) << e.what();
  }
}

TEST(NetLogin, InitialLoginRetryMaxIsHonoured) {
  Initiator ini;
  auto o = quick_options();
  o.initial_login_retry_max = 2;
  try {
    ini.login("iqn.2026-11.org.example:none", Portal{"127.0.0.1", 1}, o);
    FAIL() << "login succeeded";
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::login_retries_exhausted) << e.what();
    EXPECT_NE(std::string(e.what()).find("initial_login_retry_max (2)"), std::string::npos);
  }
}

class NetTgtd : public test::TgtdFixture {};

TEST_F(NetTgtd, DiscoverySendTargetsAll) {
  Initiator ini;
  DiscoveryOptions d;
  auto targets = ini.discover(Portal::parse(tgtd().portal()), d);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].name, tgtd().iqn());
  ASSERT_FALSE(targets[0].addresses.empty());
  EXPECT_EQ(targets[0].addresses[0].port, tgtd().port());
}

class NetTgtdTwoTargets : public test::TgtdFixture {
  test::TgtdOptions options() const override {
    test::TgtdOptions o;
    o.targets = {test::TgtdTargetSpec{}, test::TgtdTargetSpec{}};
    return o;
  }
};

TEST_F(NetTgtdTwoTargets, DiscoverySendTargetsAllAndByName) {
  Initiator ini;
  auto all = ini.discover(Portal::parse(tgtd().portal()), DiscoveryOptions{});
  EXPECT_EQ(all.size(), 2u);
  DiscoveryOptions one;
  one.send_targets = tgtd().iqn(1);
  auto named = ini.discover(Portal::parse(tgtd().portal()), one);
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0].name, tgtd().iqn(1));
}

TEST_F(NetTgtd, LoginWriteReadBackLogout) {
  Initiator ini;
  auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), quick_options());
  EXPECT_EQ(s->state(), session::SessionState::logged_in);
  EXPECT_EQ(s->state_name(), "LOGGED_IN");
  EXPECT_NE(s->tsih(), 0);
  s->test_unit_ready(kFileLun);
  auto cap = s->read_capacity(kFileLun);
  EXPECT_EQ(cap.bytes(), tgtd().file_lun_bytes());
  EXPECT_EQ(cap.block_length, 512u);
  auto inq = s->inquiry(kFileLun);
  EXPECT_EQ(inq.device_type, 0);  // direct-access block device
  auto vpd = s->inquiry_vpd(0x00, kFileLun);
  ASSERT_GE(vpd.size(), 4u);
  EXPECT_EQ(vpd[1], 0x00);
  auto luns = s->report_luns();
  EXPECT_NE(std::find(luns.begin(), luns.end(), kFileLun), luns.end());
  EXPECT_NE(std::find(luns.begin(), luns.end(), kNullLun), luns.end());

  auto data = pattern(1 << 20, 7);
  s->write(100, data, kFileLun);
  EXPECT_EQ(s->read(100, static_cast<std::uint32_t>(data.size() / 512), kFileLun), data);

  auto rtt = s->nop();
  EXPECT_GT(rtt.count(), 0);
  const auto st = s->stats();
  EXPECT_GE(st.scsicmd_pdus, 8u);
  EXPECT_GE(st.txdata_octets, data.size());
  EXPECT_GE(st.rxdata_octets, data.size());
  EXPECT_GE(st.noptx_pdus, 1u);
  EXPECT_GE(st.login_pdus, 2u);
  s->logout();
  EXPECT_TRUE(has_event(s->events(), EventType::login));
  EXPECT_TRUE(has_event(s->events(), EventType::logout));
  EXPECT_THROW(s->read(0, 1, kFileLun), NetError);
}

TEST_F(NetTgtd, CheckConditionIsDataNotError) {
  Initiator ini;
  auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), quick_options());
  s->test_unit_ready(kFileLun);  // takes the power-on UNIT ATTENTION (the wrapper retries it)
  ScsiCommand bad;
  bad.lun = kFileLun;
  bad.cdb = {0xFF, 0, 0, 0, 0, 0};  // an opcode no device implements
  auto r = s->scsi(bad);
  EXPECT_EQ(r.status, 0x02);  // CHECK CONDITION
  ASSERT_TRUE(r.sense.has_value());
  EXPECT_EQ(r.sense->key, scsi::SenseKey::illegal_request);
  // The wrappers turn it into an error with words.
  try {
    s->read(s->read_capacity(kFileLun).blocks, 1, kFileLun);  // one past the end
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::scsi_error);
    EXPECT_NE(std::string(e.what()).find("READ(16)"), std::string::npos) << e.what();
  }
}

TEST_F(NetTgtd, TaskManagementFunctions) {
  Initiator ini;
  auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), quick_options());
  // tgtd answers these; the exact codes are its choice, we assert what it really does.
  EXPECT_EQ(s->abort_task_set(kFileLun), pdu::TmfResponse::function_complete);
  EXPECT_EQ(s->lun_reset(kFileLun), pdu::TmfResponse::function_complete);
  // tgt 1.0.85 implements ABORT TASK, ABORT TASK SET and LOGICAL UNIT RESET only.
  EXPECT_EQ(s->clear_task_set(kFileLun), pdu::TmfResponse::tmf_not_supported);
  EXPECT_EQ(s->target_warm_reset(), pdu::TmfResponse::tmf_not_supported);
  EXPECT_EQ(s->target_cold_reset(), pdu::TmfResponse::tmf_not_supported);
  // ABORT TASK for a command that already completed: the target says it does not exist (or
  // function complete, as RFC 7143 11.5.1 permits).
  ScsiCommand tur;  // TEST UNIT READY
  tur.lun = kFileLun;
  tur.cdb = {0, 0, 0, 0, 0, 0};
  auto t = s->start(std::move(tur));
  (void)t.result.get();
  try {
    (void)s->abort_task(t.handle, kFileLun);
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::invalid_argument);  // completed: no longer outstanding here
  }
  s->test_unit_ready(kFileLun);
  EXPECT_GE(s->stats().tmfcmd_pdus, 5u);
}

}  // namespace
}  // namespace iscsi::net

namespace iscsi::net {
namespace {

// --- CHAP ------------------------------------------------------------------------------------

const test::ChapCredentials kInitiatorChap{"lab-initiator", "initiator-secret-1"};
const test::ChapCredentials kTargetChap{"lab-target", "target-secret-22"};

class NetChap : public test::TgtdFixture {
  test::TgtdOptions options() const override {
    test::TgtdOptions o;
    o.targets[0].chap = kInitiatorChap;
    return o;
  }
};

SessionOptions chap_options(auth::ChapAlgorithmList algs) {
  SessionOptions o = quick_options();
  o.auth.authmethod = AuthMethodSetting::chap;
  o.auth.username = kInitiatorChap.user;
  o.auth.password = auth::Secret(std::string_view(kInitiatorChap.secret));
  o.auth.chap_algs = std::move(algs);
  return o;
}

TEST_F(NetChap, Md5LogsIn) {
  Initiator ini;
  auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()),
                     chap_options({auth::ChapAlgorithm::md5}));
  EXPECT_EQ(s->params().auth_method, "CHAP");
  s->test_unit_ready(kFileLun);
}

TEST_F(NetChap, DefaultPreferenceListIsRefusedByTgtd) {
  // Measured: tgt 1.0.85 answers CHAP_A=8,7,6,5 (open-iscsi's default list, strongest first)
  // with "initiator error (0x0200)" instead of picking 5, so against tgt node.session.auth.
  // chap_algs must be MD5. The failure must say so in words.
  Initiator ini;
  try {
    ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()),
              chap_options(auth::default_chap_algorithms()));
    FAIL() << "tgtd took the default CHAP_A list";
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::login_rejected);
    EXPECT_NE(std::string(e.what()).find("initiator error (0x0200)"), std::string::npos)
        << e.what();
  }
}

TEST_F(NetChap, AlgorithmsTgtdRefusesFailWithWords) {
  // tgt 1.0.85 implements CHAP_A=5 (MD5) only: offered SHA1/SHA256/SHA3-256 alone, it ends
  // the login with "initiator error (0x0200)" (measured), and the failure must say so.
  for (auto alg : {auth::ChapAlgorithm::sha1, auth::ChapAlgorithm::sha256,
                   auth::ChapAlgorithm::sha3_256}) {
    SCOPED_TRACE(std::string(auth::to_string(alg)));
    Initiator ini;
    try {
      ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), chap_options({alg}));
      ADD_FAILURE() << "tgtd accepted " << auth::to_string(alg);
    } catch (const NetError& e) {
      EXPECT_EQ(e.errc(), Errc::login_rejected) << e.what();
      EXPECT_NE(std::string(e.what()).find("initiator error (0x0200)"), std::string::npos)
          << e.what();
    }
  }
}

TEST_F(NetChap, WrongSecretIsAuthenticationFailure) {
  Initiator ini;
  auto o = chap_options({auth::ChapAlgorithm::md5});
  o.auth.password = auth::Secret(std::string_view("not-the-secret-1"));
  try {
    ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), o);
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::login_rejected);
    EXPECT_NE(std::string(e.what()).find("authentication failure (0x0201)"), std::string::npos)
        << e.what();
  }
}

class NetMutualChap : public test::TgtdFixture {
  test::TgtdOptions options() const override {
    test::TgtdOptions o;
    o.targets[0].chap = kInitiatorChap;
    o.targets[0].mutual_chap = kTargetChap;
    return o;
  }
};

TEST_F(NetMutualChap, LogsInAndVerifiesTheTarget) {
  Initiator ini;
  auto o = chap_options({auth::ChapAlgorithm::md5});
  o.auth.username_in = kTargetChap.user;
  o.auth.password_in = auth::Secret(std::string_view(kTargetChap.secret));
  auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), o);
  s->test_unit_ready(kFileLun);
}

TEST_F(NetMutualChap, WrongTargetSecretFailsTheLogin) {
  Initiator ini;
  auto o = chap_options({auth::ChapAlgorithm::md5});
  o.auth.username_in = kTargetChap.user;
  o.auth.password_in = auth::Secret(std::string_view("some-other-secret"));
  try {
    ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), o);
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::login_protocol_error) << e.what();
  }
}

class NetDiscoveryChap : public NetChap {};

TEST_F(NetDiscoveryChap, TgtdHasNoDiscoveryAccounts) {
  // tgt 1.0.85 cannot bind a CHAP account to discovery sessions (tgtadm --op bind --tid 0:
  // "can't find the target"), so a discovery login offering only CHAP is refused with
  // "authentication failure (0x0201)"; without CHAP discovery works even when the target's
  // normal sessions require it. Discovery CHAP itself uses the same login path as the CHAP
  // tests above.
  Initiator ini;
  DiscoveryOptions d;
  d.auth.authmethod = AuthMethodSetting::chap;
  d.auth.username = kInitiatorChap.user;
  d.auth.password = auth::Secret(std::string_view(kInitiatorChap.secret));
  d.auth.chap_algs = {auth::ChapAlgorithm::md5};
  try {
    ini.discover(Portal::parse(tgtd().portal()), d);
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::login_rejected);
    EXPECT_NE(std::string(e.what()).find("authentication failure (0x0201)"), std::string::npos)
        << e.what();
  }
  auto targets = ini.discover(Portal::parse(tgtd().portal()), DiscoveryOptions{});
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].name, tgtd().iqn());
}

// --- digests and the parameter matrix ------------------------------------------------------------

TEST_F(NetTgtd, HeaderAndDataDigests) {
  for (const auto& [hd, dd] : std::vector<std::pair<std::string, std::string>>{
           {"CRC32C", "CRC32C"}, {"CRC32C", "None"}, {"None", "CRC32C"}, {"None", "None"}}) {
    SCOPED_TRACE(hd + "/" + dd);
    Initiator ini;
    // tgtd offers digests only when told to accept them.
    tgtd().set_param("HeaderDigest", "CRC32C,None");
    tgtd().set_param("DataDigest", "CRC32C,None");
    auto o = quick_options();
    o.iscsi.header_digest = hd;
    o.iscsi.data_digest = dd;
    auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), o);
    EXPECT_EQ(s->params().header_digest,
              hd == "CRC32C" ? login::Digest::crc32c : login::Digest::none);
    EXPECT_EQ(s->params().data_digest,
              dd == "CRC32C" ? login::Digest::crc32c : login::Digest::none);
    auto data = pattern(300 * 1024, 3);
    s->write(10, data, kFileLun);
    EXPECT_EQ(s->read(10, 600, kFileLun), data);
    s->logout();
  }
}

TEST_F(NetTgtd, DigestOfferTgtdDoesNotAcceptFailsTheLogin) {
  // tgtd with its default HeaderDigest=None answers "None" to an offer of CRC32C alone: not one
  // of the offered values (RFC 7143 6.2 says it should have answered Reject), so the login fails
  // with the negotiation error rather than running without the digest the user asked for.
  Initiator ini;
  auto o = quick_options();
  o.iscsi.header_digest = "CRC32C";
  try {
    ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), o);
    FAIL() << "logged in without the required header digest";
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::login_protocol_error);
    EXPECT_NE(std::string(e.what()).find("HeaderDigest"), std::string::npos) << e.what();
  }
  // "CRC32C,None" (prefer, but accept None) logs in without digests.
  o.iscsi.header_digest = "CRC32C,None";
  auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), o);
  EXPECT_EQ(s->params().header_digest, login::Digest::none);
}

TEST_F(NetTgtd, WriteReadBackAcrossParameterMatrix) {
  struct Sizes {
    std::uint32_t first_burst, max_burst, mrdsl;
  };
  const std::vector<Sizes> sizes = {
      {512, 512, 512}, {65536, 262144, 8192}, {262144, 16776192, 262144}, {4096, 8192, 1024}};
  std::uint32_t seed = 100;
  for (bool imm : {true, false}) {
    for (bool r2t : {true, false}) {
      for (const auto& sz : sizes) {
        SCOPED_TRACE("ImmediateData=" + std::to_string(imm) + " InitialR2T=" + std::to_string(r2t) +
                     " FirstBurst=" + std::to_string(sz.first_burst) +
                     " MaxBurst=" + std::to_string(sz.max_burst) +
                     " MRDSL=" + std::to_string(sz.mrdsl));
        // The target's own receive limit bounds our Data-Out segments.
        tgtd().set_param("MaxRecvDataSegmentLength", std::to_string(sz.mrdsl));
        // The target's side of the OR/AND/min keys: let our offer decide.
        tgtd().set_param("InitialR2T", "No");
        tgtd().set_param("ImmediateData", "Yes");
        tgtd().set_param("FirstBurstLength", "16776192");
        tgtd().set_param("MaxBurstLength", "16776192");
        Initiator ini;
        auto o = quick_options();
        o.iscsi.immediate_data = imm;
        o.iscsi.initial_r2t = r2t;
        o.iscsi.first_burst_length = sz.first_burst;
        o.iscsi.max_burst_length = sz.max_burst;
        o.iscsi.max_recv_data_segment_length = sz.mrdsl;
        auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), o);
        const auto p = s->params();
        EXPECT_EQ(p.immediate_data, imm);
        EXPECT_EQ(p.initial_r2t, r2t);
        EXPECT_EQ(p.max_recv_data_segment_length, sz.mrdsl);
        EXPECT_EQ(p.first_burst_length, std::min(sz.first_burst, sz.max_burst));
        EXPECT_EQ(p.max_burst_length, sz.max_burst);
        // Odd sizes (1 block, 3 blocks, 129 KiB + 1 block) cross every boundary.
        for (std::size_t blocks : {std::size_t{1}, std::size_t{3}, std::size_t{259}, std::size_t{2048}}) {
          auto data = pattern(blocks * 512, ++seed);
          const std::uint64_t lba = seed * 64;
          s->write(lba, data, kFileLun);
          ASSERT_EQ(s->read(lba, static_cast<std::uint32_t>(blocks), kFileLun), data);
        }
        s->logout();
      }
    }
  }
}

// --- many sessions ---------------------------------------------------------------------------

TEST_F(NetTgtd, EightSessionsConcurrentIoFromSeveralThreads) {
  Initiator ini;
  std::vector<std::shared_ptr<Session>> sessions;
  std::vector<std::future<std::shared_ptr<Session>>> logins;
  for (int i = 0; i < 8; ++i) {
    logins.push_back(ini.login_async(tgtd().iqn(), Portal::parse(tgtd().portal()), quick_options()));
  }
  for (auto& f : logins) sessions.push_back(f.get());
  std::set<std::uint64_t> isids;
  for (auto& s : sessions) isids.insert(s->isid().to_u48());
  EXPECT_EQ(isids.size(), 8u);  // each session its own ISID
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int round = 0; round < 4; ++round) {
          for (std::size_t i = 0; i < sessions.size(); ++i) {
            const std::uint64_t lba = (static_cast<std::uint64_t>(t) * 8 + i) * 1024 + round * 128;
            auto data = pattern(64 * 1024, static_cast<std::uint32_t>(lba));
            auto w = sessions[i]->write_async(lba, data, kFileLun);
            w.get();
            if (sessions[(i + 1) % sessions.size()]->read(lba, 128, kFileLun) != data) ++failures;
          }
        }
      } catch (const std::exception& e) {
        std::cerr << "thread " << t << ": " << e.what() << "\n";
        ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (auto& s : sessions) EXPECT_EQ(s->state(), session::SessionState::logged_in);
}

TEST_F(NetTgtd, RescanReportsLunsAndChanges) {
  Initiator ini;
  auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), quick_options());
  auto first = s->rescan();
  std::vector<std::uint16_t> ids;
  for (const auto& l : first.luns) ids.push_back(l.lun);
  EXPECT_NE(std::find(ids.begin(), ids.end(), kFileLun), ids.end());
  EXPECT_EQ(first.added.size(), first.luns.size());
  auto second = s->rescan();
  EXPECT_TRUE(second.added.empty());
  EXPECT_TRUE(second.removed.empty());
  EXPECT_TRUE(second.resized.empty());
  // Remove the null LUN on the target: the next rescan reports it removed.
  tgtd().tgtadm({"--mode", "logicalunit", "--op", "delete", "--tid", std::to_string(tgtd().tid()),
                 "--lun", std::to_string(kNullLun)});
  auto third = s->rescan();
  EXPECT_EQ(third.removed, std::vector<std::uint16_t>{kNullLun});
}

}  // namespace
}  // namespace iscsi::net

namespace iscsi::net {
namespace {

}  // namespace
}  // namespace iscsi::net
