// Session::start_with_callback against a real tgtd: completions run on the engine's thread, a
// callback may start the next command there (how lab-iscsi-perf keeps its queue full), and a
// command on a closed session reports its error through the callback.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "net/initiator.hpp"
#include "proto/scsi/cdb.hpp"
#include "support/tgtd_fixture.hpp"

namespace iscsi::net {
namespace {

using test::TgtdTarget;

ScsiCommand read16(std::uint64_t lba, std::uint32_t blocks,
                   std::uint16_t lun = TgtdTarget::kNullLun) {
  ScsiCommand c;
  c.lun = lun;
  auto cdb = scsi::read16(lba, blocks);
  c.cdb.assign(cdb->bytes.begin(), cdb->bytes.begin() + cdb->length);
  c.direction = session::DataDirection::read;
  c.read_length = blocks * 512;
  return c;
}

class NetCallback : public test::TgtdFixture {
 protected:
  std::shared_ptr<Session> login(Initiator& ini) {
    SessionOptions o;
    o.initial_login_retry_max = 0;
    auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), o);
    // tgt answers the first command of a session on a LUN with UNIT ATTENTION (power on);
    // the blocking call retries it, so the raw commands below all see GOOD.
    (void)s->read_capacity(TgtdTarget::kNullLun);
    (void)s->read_capacity(TgtdTarget::kFileLun);
    return s;
  }
};

// A byte pattern that differs in every 512-byte block: byte i of the LUN is (i / 512 + i) & 0xFF.
std::uint8_t pattern_at(std::uint64_t offset) {
  return static_cast<std::uint8_t>(offset / 512 + offset);
}

// Four chains of 50 reads each on the file LUN, every read started from the previous one's
// callback; each must bring back exactly the bytes written there.
TEST_F(NetCallback, CallbacksRunOnTheEngineThreadAndMayStartTheNextCommand) {
  Initiator ini;
  auto s = login(ini);
  constexpr int kChains = 4;
  constexpr int kPerChain = 50;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  int good = 0;
  std::string why;  // the first bad completion, in words
  std::atomic<bool> on_caller_thread{false};
  const auto caller = std::this_thread::get_id();
  for (int c = 0; c < kChains; ++c) {
    const std::uint64_t first = static_cast<std::uint64_t>(c) * 1000;
    ByteVector region(64 * 512);
    for (std::size_t i = 0; i < region.size(); ++i) region[i] = pattern_at(first * 512 + i);
    s->write(first, std::move(region), TgtdTarget::kFileLun);
  }
  std::function<void(int, int)> start = [&](int chain, int left) {
    const std::uint64_t lba = static_cast<std::uint64_t>(chain) * 1000 + left;
    s->start_with_callback(read16(lba, 8, TgtdTarget::kFileLun),
                           [&, chain, left, lba](session::ScsiResult* r, std::exception_ptr e) {
                             if (std::this_thread::get_id() == caller) on_caller_thread = true;
                             std::lock_guard lock(mu);
                             ByteVector want(4096);
                             for (std::size_t i = 0; i < want.size(); ++i) {
                               want[i] = pattern_at(lba * 512 + i);
                             }
                             if (!e && r != nullptr && r->status == 0 && r->data == want) {
                               ++good;
                             } else if (why.empty()) {
                               why =
                                   e              ? "exception"
                                   : r == nullptr ? "no result"
                                   : r->status == 0 && r->data.size() == want.size()
                                       ? "LBA " + std::to_string(lba) + ": other bytes than written"
                                       : "status " + std::to_string(r->status) + " size " +
                                             std::to_string(r->data.size()) +
                                             (r->sense ? " " + scsi::to_string(*r->sense) : "");
                             }
                             ++done;
                             if (left > 1) start(chain, left - 1);
                             cv.notify_all();
                           });
  };
  for (int c = 0; c < kChains; ++c) start(c, kPerChain);
  std::unique_lock lock(mu);
  ASSERT_TRUE(
      cv.wait_for(lock, std::chrono::seconds(30), [&] { return done == kChains * kPerChain; }))
      << done << " of " << kChains * kPerChain << " completed";
  EXPECT_EQ(good, kChains * kPerChain) << why;
  EXPECT_FALSE(on_caller_thread.load());
}

TEST_F(NetCallback, CommandOnALoggedOutSessionFailsThroughTheCallback) {
  Initiator ini;
  auto s = login(ini);
  s->logout();
  std::promise<std::exception_ptr> failed;
  s->start_with_callback(read16(0, 1), [&](session::ScsiResult* r, std::exception_ptr e) {
    EXPECT_EQ(r, nullptr);
    failed.set_value(e);
  });
  auto f = failed.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto e = f.get();
  ASSERT_TRUE(e);
  try {
    std::rethrow_exception(e);
  } catch (const NetError& err) {
    EXPECT_EQ(err.errc(), Errc::session_closed) << err.what();
  }
}

}  // namespace
}  // namespace iscsi::net
