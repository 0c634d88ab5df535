// mpath::Device against a real tgtd on loopback with two portals (tests/support/tgtd_fixture):
// one LU over two sessions, LUs that differ refused in words, I/O spread by the selectors, a
// session logged out mid-run and a path that dies mid-run (through a FaultProxy) with no
// command lost and the data read back, the path reinstated when it returns, no_path_retry.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "mpath/device.hpp"
#include "net/fault_proxy.hpp"
#include "net/initiator.hpp"
#include "net/net_test_helpers.hpp"
#include "support/tgtd_fixture.hpp"
#include "workload/block_pattern.hpp"
#include "workload/io_job.hpp"

namespace iscsi::mpath {
namespace {

using namespace std::chrono_literals;
using test::TgtdTarget;
using workload::BlockState;
using workload::IoJob;
using workload::JobSpec;

constexpr std::uint32_t kBlockSize = 512;

class MpathTgtd : public test::TgtdFixture {
 protected:
  void SetUp() override {
    TgtdFixture::SetUp();
    if (HasFatalFailure()) return;
    second_ = tgtd().add_portal();
  }

  std::shared_ptr<net::Session> login(const std::string& portal, net::Seconds replacement = 120s) {
    auto o = net::test::quiet_options();
    o.replacement_timeout = replacement;
    auto s = ini_.login(tgtd().iqn(), net::Portal::parse(portal), o);
    // tgt's power-on UNIT ATTENTION for this I_T nexus, consumed here (READ CAPACITY retries it).
    (void)s->read_capacity(TgtdTarget::kFileLun);
    (void)s->read_capacity(TgtdTarget::kNullLun);
    return s;
  }

  static Settings settings(std::map<std::string, std::string> m) {
    m.emplace("polling_interval", "0.2");
    m.emplace("checker_timeout", "2");
    return parse_settings(m);
  }

  static std::size_t count(const std::vector<EventRecord>& events, EventType t) {
    return static_cast<std::size_t>(
        std::count_if(events.begin(), events.end(), [t](const auto& e) { return e.type == t; }));
  }

  static std::string log(const Device& d) {
    std::string out;
    for (const auto& e : d.events()) {
      out += "\n  " + std::string(to_string(e.type)) + " [" + e.path + "] " + e.detail;
    }
    return out;
  }

  static JobSpec write_spec(std::uint64_t first, std::uint64_t count, std::uint32_t qd) {
    JobSpec s;
    s.op = JobSpec::Op::write;
    s.lun = TgtdTarget::kFileLun;
    s.block_size = kBlockSize;
    s.first_lba = first;
    s.lba_count = count;
    s.queue_depth = qd;
    s.random = true;
    s.seed = 11;
    return s;
  }

  // Every acknowledged write reads back intact with the generation of the last acknowledged
  // write of its block (or a later, unacknowledged one).
  static void expect_read_back(Device& dev, const JobSpec& sp, const std::vector<workload::IoRecord>& recs) {
    std::map<std::uint64_t, std::uint64_t> last;
    for (const auto& r : recs) {
      if (!r.write || !r.ok) continue;
      for (std::uint32_t i = 0; i < r.blocks; ++i) last[r.lba + i] = r.generation;
    }
    ASSERT_FALSE(last.empty());
    const ByteVector back = dev.read(sp.first_lba, static_cast<std::uint32_t>(sp.lba_count));
    const auto states = workload::decode_blocks(back, kBlockSize);
    ASSERT_EQ(states.size(), sp.lba_count);
    for (std::size_t i = 0; i < states.size(); ++i) {
      const auto it = last.find(sp.first_lba + i);
      if (it == last.end()) continue;
      EXPECT_EQ(states[i].kind, BlockState::Kind::intact) << "LBA " << it->first;
      EXPECT_EQ(states[i].lba, it->first);
      EXPECT_GE(states[i].generation, it->second) << "LBA " << it->first << ": an acknowledged write was lost";
    }
  }

  net::Initiator ini_;
  std::string second_;
};

TEST_F(MpathTgtd, TwoPortalsAreOneLu) {
  auto a = login(tgtd().portal());
  auto b = login(second_);
  auto dev = Device::create({{a, TgtdTarget::kFileLun}, {b, TgtdTarget::kFileLun}}, settings({}));
  EXPECT_EQ(dev->identity().source, LuIdentity::Source::naa);
  EXPECT_EQ(dev->capacity().block_length, kBlockSize);
  const auto st = dev->status();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].path, tgtd().portal() + " LUN 2");
  EXPECT_EQ(st[1].path, second_ + " LUN 2");
  // failover (the default): one path per group, the first group in use.
  EXPECT_EQ(st[0].group, 1u);
  EXPECT_EQ(st[1].group, 2u);
  EXPECT_TRUE(st[0].group_active);
  EXPECT_FALSE(st[1].group_active);
  for (const auto& p : st) {
    EXPECT_EQ(p.dm_state, "active");
    EXPECT_EQ(p.priority, 1);
    EXPECT_EQ(p.alua, "no ALUA");  // tgt reports TPGS 0
    EXPECT_EQ(p.session_state, "LOGGED_IN");
  }
  ByteVector data(8 * kBlockSize);
  workload::encode_blocks(data, 100, kBlockSize, 7);
  dev->write(100, data);
  EXPECT_EQ(dev->read(100, 8), data);
  EXPECT_EQ(b->read(100, 8, TgtdTarget::kFileLun), data);  // the other path sees it too
  const auto after = dev->status();
  EXPECT_EQ(after[0].completed, 2u);
  EXPECT_EQ(after[1].completed, 0u);
  EXPECT_TRUE(dev->events().empty()) << log(*dev);
}

TEST_F(MpathTgtd, DifferentLusAreNeverGrouped) {
  auto a = login(tgtd().portal());
  auto b = login(second_);
  try {
    (void)Device::create({{a, TgtdTarget::kFileLun}, {b, TgtdTarget::kNullLun}}, settings({}));
    FAIL() << "LUN 2 and LUN 1 were grouped";
  } catch (const IdentityError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("the paths do not reach one logical unit"), std::string::npos) << what;
    EXPECT_NE(what.find(second_ + " LUN 1 (" + tgtd().iqn() + ") is not the LU of " +
                        tgtd().portal() + " LUN 2"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("(NAA) != naa."), std::string::npos) << what;
    EXPECT_NE(what.find("serial"), std::string::npos) << what;
  }
}

TEST_F(MpathTgtd, RoundRobinSpreadsOverBothPaths) {
  auto a = login(tgtd().portal());
  auto b = login(second_);
  auto dev = Device::create({{a, TgtdTarget::kFileLun}, {b, TgtdTarget::kFileLun}},
                            settings({{"path_grouping_policy", "multibus"},
                                      {"path_selector", "round-robin 0"},
                                      {"rr_min_io_rq", "1"}}));
  auto sp = write_spec(0, 1024, 8);
  sp.max_ios = 200;
  auto job = IoJob::start(dev->submit_function(), sp);
  ASSERT_TRUE(job->wait(60s));
  const auto recs = job->drain();
  for (const auto& r : recs) ASSERT_TRUE(r.ok) << r.error;
  const auto st = dev->status();
  EXPECT_EQ(st[0].group, st[1].group);
  EXPECT_EQ(st[0].completed + st[1].completed, 200u);
  // round-robin 0 with rr_min_io_rq 1 alternates.
  EXPECT_NEAR(double(st[0].completed), 100.0, 2.0);
  expect_read_back(*dev, sp, recs);
}

TEST_F(MpathTgtd, QueueLengthAndServiceTimeUseBothPaths) {
  for (const char* selector : {"queue-length 0", "service-time 0"}) {
    auto a = login(tgtd().portal());
    auto b = login(second_);
    auto dev = Device::create({{a, TgtdTarget::kFileLun}, {b, TgtdTarget::kFileLun}},
                              settings({{"path_grouping_policy", "multibus"}, {"path_selector", selector}}));
    auto sp = write_spec(2048, 1024, 16);
    sp.max_ios = 300;
    auto job = IoJob::start(dev->submit_function(), sp);
    ASSERT_TRUE(job->wait(60s));
    EXPECT_EQ(job->summary().completed_ok, 300u) << selector;
    const auto st = dev->status();
    EXPECT_GT(st[0].completed, 30u) << selector;
    EXPECT_GT(st[1].completed, 30u) << selector;
  }
}

// A session logged out under load: its commands either finish there or come back with
// session_closed and are sent again on the other path; the job sees no error.
TEST_F(MpathTgtd, SessionLoggedOutMidRunLosesNothing) {
  auto a = login(tgtd().portal());
  auto b = login(second_);
  auto dev = Device::create({{a, TgtdTarget::kFileLun}, {b, TgtdTarget::kFileLun}},
                            settings({{"path_grouping_policy", "multibus"},
                                      {"path_selector", "round-robin 0"}}));
  auto sp = write_spec(4096, 2048, 16);
  sp.seconds = 3;
  auto job = IoJob::start(dev->submit_function(), sp);
  std::this_thread::sleep_for(700ms);
  b->logout();
  ASSERT_TRUE(job->wait(60s));
  const auto recs = job->drain();
  for (const auto& r : recs) ASSERT_TRUE(r.ok) << r.error << log(*dev);
  const auto summary = job->summary();
  EXPECT_EQ(summary.failed, 0u);
  EXPECT_GT(summary.completed_ok, 100u);
  const auto events = dev->events();
  EXPECT_EQ(count(events, EventType::path_failed), 1u) << log(*dev);
  const auto st = dev->status();
  EXPECT_EQ(st[1].dm_state, "failed");
  EXPECT_EQ(st[0].dm_state, "active");
  expect_read_back(*dev, sp, recs);
}

// The second path goes through a proxy that resets its connections and refuses new ones: the
// session fails, its commands wait for fast_io_fail_tmo (replacement_timeout) and come back
// without status, and are sent again on the first path. When the proxy lets connections
// through again the session logs in, the checker answers and the path is reinstated.
TEST_F(MpathTgtd, PathDiesMidRunAndComesBack) {
  net::test::FaultProxy proxy("127.0.0.1", static_cast<std::uint16_t>(std::stoi(second_.substr(second_.find(':') + 1))));
  const Settings s = settings({{"path_grouping_policy", "multibus"},
                               {"path_selector", "round-robin 0"},
                               {"fast_io_fail_tmo", "1"}});
  auto a = login(tgtd().portal(), net::Seconds(*fast_io_fail_tmo(s)));
  auto b = login(proxy.portal(), net::Seconds(*fast_io_fail_tmo(s)));
  auto dev = Device::create({{a, TgtdTarget::kFileLun}, {b, TgtdTarget::kFileLun}}, s);
  auto sp = write_spec(8192, 2048, 16);
  sp.seconds = 4;
  auto job = IoJob::start(dev->submit_function(), sp);
  std::this_thread::sleep_for(700ms);
  proxy.refuse(true);
  proxy.cut();
  const auto cut_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(job->wait(60s));
  const auto recs = job->drain();
  for (const auto& r : recs) ASSERT_TRUE(r.ok) << r.error << log(*dev);
  EXPECT_EQ(job->summary().failed, 0u);
  auto events = dev->events();
  ASSERT_GE(count(events, EventType::path_failed), 1u) << log(*dev);
  // The path failed at once (the session watcher), not at the next check.
  const auto failed = std::find_if(events.begin(), events.end(),
                                   [](const auto& e) { return e.type == EventType::path_failed; });
  EXPECT_LT(failed->steady - cut_at, 500ms) << log(*dev);
  EXPECT_EQ(failed->path, proxy.portal() + " LUN 2");
  expect_read_back(*dev, sp, recs);
  // Back: relogin through the proxy, the checker reinstates the path.
  proxy.refuse(false);
  ASSERT_TRUE(net::test::wait_for(
      [&] { return count(dev->events(), EventType::path_reinstated) >= 1; }, 20s))
      << log(*dev) << net::test::event_log(*b);
  EXPECT_EQ(dev->status()[1].dm_state, "active");
  ByteVector data(8 * kBlockSize);
  workload::encode_blocks(data, 5, kBlockSize, 3);
  for (int i = 0; i < 4; ++i) dev->write(5, data);  // round-robin: both paths again
  EXPECT_GT(dev->status()[1].completed, 0u);
  events = dev->events();
  // The commands in flight on the dead path, if any were, were sent again.
  for (const auto& e : events) {
    if (e.type == EventType::io_failover) {
      EXPECT_NE(e.detail.find("got no status"), std::string::npos) << e.detail;
    }
  }
}

TEST_F(MpathTgtd, NoPathRetryFailQueueAndChecks) {
  net::test::FaultProxy proxy("127.0.0.1", static_cast<std::uint16_t>(std::stoi(second_.substr(second_.find(':') + 1))));
  // One path only, through the proxy.
  for (const char* npr : {"fail", "queue", "2"}) {
    auto b = login(proxy.portal(), 1s);
    auto dev = Device::create({{b, TgtdTarget::kFileLun}},
                              settings({{"no_path_retry", npr}, {"fast_io_fail_tmo", "1"}}));
    ByteVector data(8 * kBlockSize);
    workload::encode_blocks(data, 64, kBlockSize, 1);
    dev->write(64, data);
    proxy.refuse(true);
    proxy.cut();
    ASSERT_TRUE(net::test::wait_for([&] { return dev->status()[0].dm_state == "failed"; }, 5s))
        << npr << log(*dev);
    const auto t0 = std::chrono::steady_clock::now();
    if (std::string(npr) == "fail") {
      EXPECT_THROW(dev->write(64, data), net::NetError);
      EXPECT_EQ(count(dev->events(), EventType::io_failed_no_path), 1u) << log(*dev);
    } else if (std::string(npr) == "2") {
      // Held for two checks (0.2 s each) of no path, then failed. The checks tick on the
      // device's own period, not from the moment the path failed, so two of them end between
      // one and two periods after queueing started (not after t0, which is later).
      EXPECT_THROW(dev->write(64, data), net::NetError);
      const auto failed_at = std::chrono::steady_clock::now();
      EXPECT_EQ(count(dev->events(), EventType::queueing_started), 1u) << log(*dev);
      EXPECT_EQ(count(dev->events(), EventType::queueing_ended), 1u) << log(*dev);
      for (const auto& e : dev->events()) {
        if (e.type == EventType::queueing_started) EXPECT_GE(failed_at - e.steady, 190ms) << log(*dev);
      }
    } else {
      // Held until the path returns, then done.
      std::thread restore([&] {
        std::this_thread::sleep_for(1s);
        proxy.refuse(false);
      });
      dev->write(64, data);
      restore.join();
      EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
      EXPECT_EQ(count(dev->events(), EventType::queueing_started), 1u) << log(*dev);
      EXPECT_EQ(count(dev->events(), EventType::queueing_ended), 1u) << log(*dev);
      EXPECT_EQ(dev->read(64, 8), data);
    }
    proxy.refuse(false);
  }
}

}  // namespace
}  // namespace iscsi::mpath
