// ERL 0 recovery through FaultProxy in front of tgtd: a cut connection is detected, the session
// is reinstated (same ISID) and I/O outstanding at the failure is retried; a frozen target is
// found by the NOP timer, and replacement_timeout then fails queued and new I/O within its
// bound; reopen_max ends the retries. Timer tests check the bounds the timers imply, with slack
// (test::kSlack) on the upper ones for a loaded machine, and print what they measured.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "fault_proxy.hpp"
#include "net/initiator.hpp"
#include "net_test_helpers.hpp"
#include "support/tgtd_fixture.hpp"

namespace iscsi::net {
namespace {

using test::event_log;
using test::has_event;
using test::kSlack;
using test::report;
using test::wait_for;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
constexpr std::uint16_t kFileLun = iscsi::test::TgtdTarget::kFileLun;

SessionOptions session_options() {
  SessionOptions o;
  o.initiator_name = "iqn.2026-11.org.iscsi-lab:recovery";
  o.login_timeout = Seconds{2};
  o.initial_login_retry_max = 0;
  // Our offer; DefaultTime2Wait is the larger of both offers (RFC 7143 13.15) and tgtd offers
  // 2, so relogins here wait 2 s: the bounds below count from the failure, not from a relogin.
  o.iscsi.default_time2wait = 0;
  return o;
}

ByteVector pattern(std::size_t n, std::uint32_t seed) {
  ByteVector v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

std::optional<EventRecord> first_event(const Session& s, EventType t) {
  for (const auto& e : s.events()) {
    if (e.type == t) return e;
  }
  return std::nullopt;
}

class NetRecovery : public iscsi::test::TgtdFixture {
 protected:
  void SetUp() override {
    TgtdFixture::SetUp();
    proxy_ = std::make_unique<test::FaultProxy>(tgtd().host(), tgtd().port());
  }
  void TearDown() override {
    proxy_.reset();
    TgtdFixture::TearDown();
  }
  Portal portal() const { return Portal::parse(proxy_->portal()); }
  std::unique_ptr<test::FaultProxy> proxy_;
};

TEST_F(NetRecovery, CutConnectionReloginsAndRetriesOutstandingIo) {
  Initiator ini;
  auto s = ini.login(tgtd().iqn(), portal(), session_options());
  const auto isid = s->isid();
  auto data = pattern(256 * 1024, 1);
  s->write(0, data, kFileLun);

  // Freeze the path so the next write is outstanding when the connection dies: cut only once
  // both commands are on the wire (counted when the engine hands them to the connection).
  proxy_->blackhole(true);
  const auto sent_before = s->stats().scsicmd_pdus;
  auto data2 = pattern(128 * 1024, 2);
  auto pending = s->write_async(2048, data2, kFileLun);
  auto pending_read = s->read_async(0, 512, kFileLun);
  ASSERT_TRUE(wait_for([&] { return s->stats().scsicmd_pdus >= sent_before + 2; }, 10s))
      << "sent " << s->stats().scsicmd_pdus - sent_before << " of 2 commands" << event_log(*s);
  EXPECT_EQ(pending.wait_for(0s), std::future_status::timeout);  // nothing answers through it
  proxy_->cut();
  proxy_->blackhole(false);

  ASSERT_EQ(pending.wait_for(30s), std::future_status::ready);
  pending.get();  // retried after relogin
  ASSERT_EQ(pending_read.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(pending_read.get(), data);
  EXPECT_EQ(s->read(2048, 256, kFileLun), data2);
  EXPECT_EQ(s->state(), session::SessionState::logged_in);
  EXPECT_EQ(s->reinstatements(), 1u);
  EXPECT_EQ(s->isid(), isid);
  auto err = first_event(*s, EventType::conn_error);
  ASSERT_TRUE(err.has_value());
  EXPECT_TRUE(err->conn_error == ConnError::tcp_conn_close ||
              err->conn_error == ConnError::conn_failed)
      << err->detail;
  EXPECT_NE(err->detail.find("detected conn error ("), std::string::npos) << err->detail;
  EXPECT_TRUE(first_event(*s, EventType::recovery_started).has_value());
  EXPECT_TRUE(first_event(*s, EventType::recovery_ended).has_value());
  s->logout();
}

TEST_F(NetRecovery, BlackholeNopTimeoutThenReplacementTimeoutFailsIo) {
  Initiator ini;
  auto o = session_options();
  o.noop_out_interval = Seconds{1};
  o.noop_out_timeout = Seconds{2};
  o.replacement_timeout = Seconds{4};
  // The ping goes after noop_out_interval without a PDU received, and times out
  // noop_out_timeout later: never sooner than both after the last PDU received (which is after
  // the login started), nor much later than both after the path froze.
  const auto nop_bound = o.noop_out_interval + o.noop_out_timeout;
  const auto login_started = Clock::now();
  auto s = ini.login(tgtd().iqn(), portal(), o);
  s->nop();  // the last thing received: the NOP timer counts from here
  const auto frozen = Clock::now();
  proxy_->blackhole(true);

  ASSERT_TRUE(wait_for([&] { return first_event(*s, EventType::nop_timeout).has_value(); },
                       nop_bound + kSlack + 5s))
      << event_log(*s);
  const auto nop = *first_event(*s, EventType::nop_timeout);
  report("nop_timeout_after_freeze", nop.steady - frozen);
  EXPECT_GE(nop.steady - login_started, nop_bound) << "ping timed out before it was due";
  EXPECT_LE(nop.steady - frozen, nop_bound + kSlack);
  // The engine records nop_timeout, then the conn_error it leads to: under load this thread can
  // look in between (a clean-clone CI run beside an ASan build did), so wait for it.
  ASSERT_TRUE(wait_for([&] { return first_event(*s, EventType::conn_error).has_value(); }, kSlack))
      << event_log(*s);
  auto ce = first_event(*s, EventType::conn_error);
  ASSERT_TRUE(ce.has_value());
  EXPECT_EQ(ce->conn_error, ConnError::nop_timedout);
  EXPECT_NE(ce->detail.find("detected conn error (22)"), std::string::npos) << ce->detail;

  // I/O issued while the session is FAILED waits, then fails when replacement_timeout fires.
  auto queued = s->read_async(0, 8, kFileLun);
  ASSERT_EQ(queued.wait_for(o.replacement_timeout + kSlack + 5s), std::future_status::ready);
  try {
    queued.get();
    FAIL() << "read succeeded through a blackhole";
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::replacement_timeout) << e.what();
    EXPECT_NE(std::string(e.what()).find("replacement_timeout expired (4 s)"), std::string::npos)
        << e.what();
  }
  // replacement_timeout runs from the moment the session went FAILED (recovery_started).
  auto failed = first_event(*s, EventType::recovery_started);
  auto rt = first_event(*s, EventType::replacement_timeout);
  ASSERT_TRUE(failed.has_value() && rt.has_value()) << event_log(*s);
  const auto rt_after = rt->steady - failed->steady;
  report("replacement_timeout_after_failure", rt_after);
  EXPECT_GE(rt_after, o.replacement_timeout);
  EXPECT_LE(rt_after, o.replacement_timeout + kSlack);
  EXPECT_LE(failed->steady - nop.steady, kSlack) << "the NOP timeout did not fail the session";
  EXPECT_EQ(s->state_name(), "RECOVERY_FAILED");
  // New I/O fails at once with the same words.
  try {
    s->read(0, 8, kFileLun);
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::replacement_timeout);
  }
  // The path comes back: the session logs in again and I/O works.
  proxy_->blackhole(false);
  proxy_->cut();
  ASSERT_TRUE(wait_for([&] { return s->state() == session::SessionState::logged_in; }, 20s))
      << s->state_name();
  EXPECT_EQ(s->read(0, 8, kFileLun).size(), 8u * 512u);
}

TEST_F(NetRecovery, ReopenMaxEndsRetries) {
  Initiator ini;
  auto o = session_options();
  o.reopen_max = 2;
  auto s = ini.login(tgtd().iqn(), portal(), o);
  proxy_->refuse(true);
  proxy_->cut();
  auto r = s->read_async(0, 8, kFileLun);
  ASSERT_EQ(r.wait_for(30s), std::future_status::ready);
  try {
    r.get();
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::reopen_max_exceeded) << e.what();
  }
  EXPECT_GE(proxy_->accepted(), 3u);  // the first login + 2 reopen attempts
}

}  // namespace
}  // namespace iscsi::net

namespace iscsi::net {
namespace {

TEST_F(NetRecovery, CorruptedDataInIsCaughtByDigestAndRetried) {
  tgtd().set_param("HeaderDigest", "CRC32C,None");
  tgtd().set_param("DataDigest", "CRC32C,None");
  Initiator ini;
  auto o = session_options();
  o.iscsi.header_digest = "CRC32C";
  o.iscsi.data_digest = "CRC32C";
  o.replacement_timeout = Seconds{20};
  auto s = ini.login(tgtd().iqn(), portal(), o);
  auto data = pattern(512 * 1024, 9);
  s->write(4096, data, kFileLun);
  proxy_->corrupt_next_from_target(16 * 1024);
  // The read's Data-In is corrupted on the way: the digest check fails the connection
  // (ISCSI_ERR_DATA_DGST, or HDR_DGST if the flip hit a header), the session is reinstated and
  // the read retried, returning the right bytes.
  EXPECT_EQ(s->read(4096, 1024, kFileLun), data);
  auto ce = first_event(*s, EventType::conn_error);
  ASSERT_TRUE(ce.has_value());
  EXPECT_TRUE(ce->conn_error == ConnError::data_dgst || ce->conn_error == ConnError::hdr_dgst)
      << ce->detail;
  EXPECT_EQ(s->reinstatements(), 1u);
}

TEST_F(NetRecovery, CmdsMaxQueuesTheRest) {
  Initiator ini;
  auto o = session_options();
  o.cmds_max = 2;
  auto s = ini.login(tgtd().iqn(), portal(), o);
  std::vector<std::future<void>> writes;
  std::vector<ByteVector> blocks;
  for (int i = 0; i < 32; ++i) {
    blocks.push_back(pattern(8192, 50 + static_cast<std::uint32_t>(i)));
    writes.push_back(s->write_async(static_cast<std::uint64_t>(i) * 16, blocks.back(), kFileLun));
  }
  for (auto& w : writes) w.get();
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(s->read(static_cast<std::uint64_t>(i) * 16, 16, kFileLun), blocks[static_cast<std::size_t>(i)]);
  }
}

}  // namespace
}  // namespace iscsi::net

namespace iscsi::net {
namespace {

TEST_F(NetRecovery, ZeroReplacementTimeoutFailsIoAtOnce) {
  Initiator ini;
  auto o = session_options();
  o.replacement_timeout = Seconds{0};
  auto s = ini.login(tgtd().iqn(), portal(), o);
  proxy_->refuse(true);
  proxy_->cut();
  ASSERT_TRUE(wait_for([&] { return first_event(*s, EventType::replacement_timeout).has_value(); },
                       kSlack))
      << event_log(*s);
  report("zero_replacement_timeout_after_failure",
         first_event(*s, EventType::replacement_timeout)->steady -
             first_event(*s, EventType::recovery_started)->steady);
  try {
    s->read(0, 8, kFileLun);
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::replacement_timeout);
    EXPECT_NE(std::string(e.what()).find("replacement_timeout expired (0 s)"), std::string::npos);
  }
}

}  // namespace
}  // namespace iscsi::net

namespace iscsi::net {
namespace {

TEST_F(NetRecovery, LoginTimeoutOnASilentPortal) {
  proxy_->blackhole(true);  // TCP connects, the login request is never answered
  Initiator ini;
  auto o = session_options();
  o.login_timeout = Seconds{1};
  const auto t0 = Clock::now();
  try {
    ini.login(tgtd().iqn(), portal(), o);
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::login_timeout) << e.what();
    EXPECT_NE(std::string(e.what()).find("login_timeout expired (1 s)"), std::string::npos);
  }
  const auto took = Clock::now() - t0;
  report("login_timeout", took);
  EXPECT_GE(took, o.login_timeout);
  EXPECT_LE(took, o.login_timeout + kSlack);
}

TEST_F(NetRecovery, DestroyingTheInitiatorFailsPendingIoAndJoins) {
  std::shared_ptr<Session> keep;
  std::vector<std::future<ByteVector>> pending;
  {
    Initiator ini;
    for (int i = 0; i < 3; ++i) {
      auto s = ini.login(tgtd().iqn(), portal(), session_options());
      (void)s->read_capacity(kFileLun);
      if (i == 0) keep = s;
    }
    proxy_->blackhole(true);
    for (int i = 0; i < 8; ++i) pending.push_back(keep->read_async(0, 8, kFileLun));
  }  // joins the worker; every pending request must be failed, none left hanging
  for (auto& f : pending) {
    ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
    try {
      f.get();
      FAIL();
    } catch (const NetError& e) {
      EXPECT_EQ(e.errc(), Errc::session_closed) << e.what();
    }
  }
  // A Session that outlives its Initiator fails calls instead of touching a dead io_context.
  try {
    keep->read(0, 8, kFileLun);
    FAIL();
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::session_closed);
  }
  keep.reset();
}

}  // namespace
}  // namespace iscsi::net
