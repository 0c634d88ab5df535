// workload::IoJob against a real tgtd on loopback (tests/support/tgtd_fixture.hpp): writes at
// queue depth read back intact with the generation of the last acknowledged write, overlap,
// the ends of a job (max_ios, seconds, stop, a closed session), drain and in-flight handles,
// and tgt's power-on UNIT ATTENTION retried and recorded.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "net/initiator.hpp"
#include "net/net_test_helpers.hpp"
#include "support/tgtd_fixture.hpp"
#include "workload/block_pattern.hpp"
#include "workload/io_job.hpp"

namespace iscsi::workload {
namespace {

using test::TgtdTarget;
using Kind = BlockState::Kind;

constexpr std::uint32_t kBlockSize = 512;  // tgt's file LUN

class IoJobTgtd : public test::TgtdFixture {
 protected:
  // Logged in, with tgt's power-on UNIT ATTENTION of both LUNs consumed (READ CAPACITY
  // retries it) unless `fresh`.
  std::shared_ptr<net::Session> login(bool fresh = false) {
    auto s = ini_.login(tgtd().iqn(), net::Portal::parse(tgtd().portal()), net::test::quiet_options());
    if (!fresh) {
      EXPECT_EQ(s->read_capacity(TgtdTarget::kFileLun).block_length, kBlockSize);
      (void)s->read_capacity(TgtdTarget::kNullLun);
    }
    return s;
  }

  static JobSpec spec(JobSpec::Op op, std::uint16_t lun = TgtdTarget::kFileLun) {
    JobSpec s;
    s.op = op;
    s.lun = lun;
    s.block_size = kBlockSize;
    s.lba_count = 4096;
    return s;
  }

  net::Initiator ini_;
};

// For every LBA: the generation of the last acknowledged write there. Writes to one block are
// never in flight together, so completion order is the order they reached the medium.
std::map<std::uint64_t, std::uint64_t> last_acknowledged(const std::vector<IoRecord>& recs) {
  std::map<std::uint64_t, std::uint64_t> last;
  for (const auto& r : recs) {
    if (!r.write || !r.ok) continue;
    for (std::uint32_t i = 0; i < r.blocks; ++i) last[r.lba + i] = r.generation;
  }
  return last;
}

// Two writes of overlapping blocks whose lifetimes overlap; empty when none.
std::string overlapping_writes(const std::vector<IoRecord>& recs) {
  for (std::size_t i = 0; i < recs.size(); ++i) {
    for (std::size_t j = i + 1; j < recs.size(); ++j) {
      const auto& a = recs[i];
      const auto& b = recs[j];
      if (!a.write || !b.write) continue;
      const bool blocks = a.lba < b.lba + b.blocks && b.lba < a.lba + a.blocks;
      const bool times = a.start_ns < b.end_ns && b.start_ns < a.end_ns;
      if (blocks && times) {
        return "LBA " + std::to_string(a.lba) + "+" + std::to_string(a.blocks) + " and LBA " +
               std::to_string(b.lba) + "+" + std::to_string(b.blocks);
      }
    }
  }
  return {};
}

TEST_F(IoJobTgtd, WritesAtQueueDepth8ReadBackIntactWithTheLastGeneration) {
  auto s = login();
  auto sp = spec(JobSpec::Op::write);
  sp.first_lba = 1000;
  sp.lba_count = 512;
  sp.queue_depth = 8;
  sp.random = true;
  sp.seed = 3;
  sp.max_ios = 400;
  sp.writer_id = 9;
  auto job = IoJob::start(submit_to(s), sp);
  ASSERT_TRUE(job->wait(std::chrono::seconds(60))) << job->summary().completed_ok;
  const auto recs = job->drain();
  ASSERT_EQ(recs.size(), 400u);
  for (const auto& r : recs) ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(overlapping_writes(recs), "");
  const auto last = last_acknowledged(recs);
  const ByteVector back = s->read(sp.first_lba, static_cast<std::uint32_t>(sp.lba_count),
                                  TgtdTarget::kFileLun);
  const auto states = decode_blocks(back, kBlockSize);
  ASSERT_EQ(states.size(), sp.lba_count);
  std::size_t intact = 0;
  for (std::size_t i = 0; i < states.size(); ++i) {
    const std::uint64_t lba = sp.first_lba + i;
    auto it = last.find(lba);
    if (it == last.end()) {
      EXPECT_EQ(states[i].kind, Kind::unwritten) << "LBA " << lba;
      continue;
    }
    EXPECT_EQ(states[i], (BlockState{Kind::intact, lba, it->second})) << "LBA " << lba;
    EXPECT_EQ(it->second >> 48, 9u);
    ++intact;
  }
  EXPECT_GT(intact, 256u);  // 400 random 8-block writes over 64 chunks touch nearly all
  // Nothing outside the region was written.
  const auto before = decode_blocks(s->read(sp.first_lba - 8, 8, TgtdTarget::kFileLun), kBlockSize);
  const auto after = decode_blocks(s->read(sp.first_lba + sp.lba_count, 8, TgtdTarget::kFileLun), kBlockSize);
  for (const auto& st : before) EXPECT_EQ(st.kind, Kind::unwritten);
  for (const auto& st : after) EXPECT_EQ(st.kind, Kind::unwritten);
}

// A small region and a deep queue force the random picks to collide: the records must still
// show no two writes of a block at once.
TEST_F(IoJobTgtd, RandomWritesNeverOverlapInFlight) {
  auto s = login();
  auto sp = spec(JobSpec::Op::write);
  sp.lba_count = 64;  // 8 chunks
  sp.queue_depth = 16;
  sp.random = true;
  sp.max_ios = 500;
  auto job = IoJob::start(submit_to(s), sp);
  ASSERT_TRUE(job->wait(std::chrono::seconds(60)));
  const auto recs = job->drain();
  ASSERT_EQ(recs.size(), 500u);
  EXPECT_EQ(overlapping_writes(recs), "");
  EXPECT_EQ(job->summary().completed_ok, 500u);
}

TEST_F(IoJobTgtd, MixedJobReadsAndWritesAndTheWritesSurvive) {
  auto s = login();
  auto sp = spec(JobSpec::Op::mixed);
  sp.lba_count = 256;
  sp.queue_depth = 8;
  sp.random = true;
  sp.max_ios = 300;
  sp.read_percent = 50;
  auto job = IoJob::start(submit_to(s), sp);
  ASSERT_TRUE(job->wait(std::chrono::seconds(60)));
  const auto recs = job->drain();
  const auto sum = job->summary();
  EXPECT_EQ(sum.completed_ok, 300u);
  EXPECT_GT(sum.reads, 50u);
  EXPECT_GT(sum.writes, 50u);
  EXPECT_EQ(sum.bytes_read + sum.bytes_written, 300u * 8 * kBlockSize);
  EXPECT_EQ(overlapping_writes(recs), "");
  const auto states = decode_blocks(s->read(0, 256, TgtdTarget::kFileLun), kBlockSize);
  for (const auto& [lba, gen] : last_acknowledged(recs)) {
    EXPECT_EQ(states[lba], (BlockState{Kind::intact, lba, gen})) << "LBA " << lba;
  }
}

TEST_F(IoJobTgtd, MaxIosEndsTheJob) {
  auto s = login();
  auto sp = spec(JobSpec::Op::read);
  sp.queue_depth = 4;
  sp.max_ios = 37;
  auto job = IoJob::start(submit_to(s), sp);
  ASSERT_TRUE(job->wait(std::chrono::seconds(30)));
  EXPECT_TRUE(job->done());
  const auto sum = job->summary();
  EXPECT_EQ(sum.started, 37u);
  EXPECT_EQ(sum.completed_ok, 37u);
  EXPECT_EQ(sum.bytes_read, 37u * 8 * kBlockSize);
  EXPECT_EQ(sum.end_reason, "max_ios reached");
  EXPECT_EQ(job->drain().size(), 37u);
  EXPECT_TRUE(job->in_flight().empty());
}

TEST_F(IoJobTgtd, SecondsEndTheJob) {
  auto s = login();
  auto sp = spec(JobSpec::Op::write);
  sp.queue_depth = 4;
  sp.seconds = 0.3;
  const auto t0 = std::chrono::steady_clock::now();
  auto job = IoJob::start(submit_to(s), sp);
  ASSERT_TRUE(job->wait(std::chrono::seconds(30)));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(10));
  const auto sum = job->summary();
  EXPECT_EQ(sum.end_reason, "seconds elapsed");
  EXPECT_GT(sum.completed_ok, 10u);
  // No command started after the deadline.
  const auto deadline = sum.first_start_ns + 300'000'000;
  for (const auto& r : job->drain()) EXPECT_LT(r.start_ns, deadline + 1'000'000);
}

TEST_F(IoJobTgtd, StopEndsAnUnlimitedJob) {
  auto s = login();
  auto sp = spec(JobSpec::Op::read, TgtdTarget::kNullLun);
  sp.queue_depth = 8;
  auto job = IoJob::start(submit_to(s), sp);
  EXPECT_FALSE(job->wait(std::chrono::milliseconds(200)));
  job->stop();
  ASSERT_TRUE(job->wait(std::chrono::seconds(10)));
  const auto sum = job->summary();
  EXPECT_EQ(sum.end_reason, "stopped");
  EXPECT_GT(sum.completed_ok, 8u);
  EXPECT_EQ(sum.failed, 0u);
  EXPECT_EQ(sum.started, sum.completed_ok);
  EXPECT_TRUE(job->in_flight().empty());
  EXPECT_EQ(job->drain().size(), sum.started);
  EXPECT_GE(sum.last_end_ns, sum.first_start_ns);
}

// drain() from another thread while the job runs: every completion comes out exactly once, in
// completion order (end times never go back).
TEST_F(IoJobTgtd, DrainReturnsEachCompletionOnce) {
  auto s = login();
  auto sp = spec(JobSpec::Op::write);
  sp.queue_depth = 8;
  sp.random = true;
  sp.max_ios = 600;
  auto job = IoJob::start(submit_to(s), sp);
  std::vector<IoRecord> all;
  while (!job->wait(std::chrono::milliseconds(5))) {
    auto part = job->drain();
    all.insert(all.end(), part.begin(), part.end());
  }
  auto rest = job->drain();
  all.insert(all.end(), rest.begin(), rest.end());
  EXPECT_TRUE(job->drain().empty());
  ASSERT_EQ(all.size(), 600u);
  std::set<std::uint64_t> generations;
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_TRUE(generations.insert(all[i].generation).second) << all[i].generation;
    if (i > 0) {
      EXPECT_GE(all[i].end_ns, all[i - 1].end_ns);
    }
    EXPECT_GE(all[i].end_ns, all[i].start_ns);
  }
  EXPECT_EQ(*generations.begin(), (1ull << 48) | 1);
  EXPECT_EQ(*generations.rbegin(), (1ull << 48) | 600);
}

// The handles in_flight() reports are the ones the session returned, usable with abort_task.
TEST_F(IoJobTgtd, InFlightHandlesAreTheSessionsHandles) {
  auto s = login();
  std::mutex mu;
  std::set<std::uint64_t> returned;
  Submit recording = [s, &mu, &returned](net::ScsiCommand cmd, net::Session::ScsiCallback done) {
    const auto h = s->start_with_callback(std::move(cmd), std::move(done));
    std::lock_guard lock(mu);
    returned.insert(h);
    return h;
  };
  auto sp = spec(JobSpec::Op::read, TgtdTarget::kNullLun);
  sp.queue_depth = 8;
  sp.blocks_per_io = 256;  // 128 KiB reads: slow enough to be caught in flight
  sp.lba_count = 1 << 16;
  auto job = IoJob::start(recording, sp);
  int seen = 0;
  for (int i = 0; i < 200 && seen < 20; ++i) {
    const auto flight = job->in_flight();
    EXPECT_LE(flight.size(), 8u);
    std::lock_guard lock(mu);
    for (const auto& f : flight) {
      EXPECT_FALSE(f.write);
      EXPECT_EQ(f.blocks, 256u);
      EXPECT_GT(f.start_ns, 0);
      if (f.handle == 0) continue;  // its submission was under way
      EXPECT_TRUE(returned.count(f.handle)) << f.handle;
      ++seen;
    }
  }
  EXPECT_GT(seen, 0);
  // abort_task with a handle in flight: the engine knows it (or it finished meanwhile).
  const auto flight = job->in_flight();
  if (!flight.empty() && flight[0].handle != 0) {
    try {
      (void)s->abort_task(flight[0].handle, TgtdTarget::kNullLun);
    } catch (const net::NetError& e) {
      EXPECT_NE(std::string(e.what()).find("no longer outstanding"), std::string::npos) << e.what();
    }
  }
  job->stop();
  ASSERT_TRUE(job->wait(std::chrono::seconds(10)));
  for (const auto& r : job->drain()) {
    if (!r.ok) {
      EXPECT_NE(r.error, "");
    }
  }
}

// tgt answers the first command of a session on a LUN with UNIT ATTENTION (power on): the job
// sends it again and says so in the summary; without the retry that command fails in words.
TEST_F(IoJobTgtd, PowerOnUnitAttentionIsRetriedAndRecorded) {
  for (bool retry : {true, false}) {
    auto s = login(/*fresh=*/true);
    auto sp = spec(JobSpec::Op::write);
    sp.max_ios = 5;
    sp.retry_unit_attention = retry;
    auto job = IoJob::start(submit_to(s), sp);
    ASSERT_TRUE(job->wait(std::chrono::seconds(30)));
    const auto sum = job->summary();
    ASSERT_EQ(sum.unit_attentions.size(), 1u) << retry;
    EXPECT_NE(sum.unit_attentions[0].find("UNIT ATTENTION: POWER ON"), std::string::npos)
        << sum.unit_attentions[0];
    const auto recs = job->drain();
    ASSERT_EQ(recs.size(), 5u);
    if (retry) {
      EXPECT_EQ(sum.completed_ok, 5u);
      EXPECT_EQ(sum.ua_retries, 1u);
    } else {
      EXPECT_EQ(sum.completed_ok, 4u);
      EXPECT_FALSE(recs[0].ok);
      EXPECT_NE(recs[0].error.find("WRITE(16): SCSI status 0x02 CHECK CONDITION (UNIT ATTENTION"),
                std::string::npos)
          << recs[0].error;
    }
    s->logout();
  }
}

// A job on a logged-out session: every command fails with the engine's words, and the job ends
// by itself (nothing in flight, submissions refused) instead of hanging or spinning.
TEST_F(IoJobTgtd, ClosedSessionFailsItsCommandsAndTheJobEnds) {
  auto s = login();
  s->logout();
  auto sp = spec(JobSpec::Op::write);
  sp.queue_depth = 8;  // unlimited otherwise
  auto job = IoJob::start(submit_to(s), sp);
  ASSERT_TRUE(job->wait(std::chrono::seconds(10)));
  const auto recs = job->drain();
  ASSERT_FALSE(recs.empty());
  // A handful, not a spin: the first batch (which the starting thread may refill while the
  // engine fails it), then one refusal at once per freed slot.
  EXPECT_LT(recs.size(), 1000u);
  for (const auto& r : recs) {
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("logged out"), std::string::npos) << r.error;
  }
  const auto sum = job->summary();
  EXPECT_EQ(sum.completed_ok, 0u);
  EXPECT_EQ(sum.end_reason.rfind("submissions refused: ", 0), 0u) << sum.end_reason;
}

// Logged out while the job runs: the commands in flight fail, the job ends by itself.
TEST_F(IoJobTgtd, LogoutDuringTheJobEndsIt) {
  auto s = login();
  auto sp = spec(JobSpec::Op::write);
  sp.queue_depth = 8;
  sp.random = true;
  auto job = IoJob::start(submit_to(s), sp);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  s->logout();
  ASSERT_TRUE(job->wait(std::chrono::seconds(10)));
  const auto sum = job->summary();
  EXPECT_GT(sum.completed_ok, 0u);
  EXPECT_GT(sum.failed, 0u);
  EXPECT_EQ(sum.in_flight, 0u);
}

// The caller may drop a running job: its callbacks keep it alive, and once the session closes
// it ends and frees itself.
TEST_F(IoJobTgtd, DroppingARunningJobIsSafe) {
  auto s = login();
  std::weak_ptr<IoJob> weak;
  {
    auto sp = spec(JobSpec::Op::write);
    sp.queue_depth = 8;
    weak = IoJob::start(submit_to(s), sp);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(weak.expired());
  s->logout();
  EXPECT_TRUE(net::test::wait_for([&] { return weak.expired(); }, std::chrono::seconds(10)));
}

}  // namespace
}  // namespace iscsi::workload
