// workload::IoJob without a network: spec validation, and the queue logic against an in-memory
// fake whose commands complete only when the test says so (or at once, as a closed session
// refuses), so queue depth, ordering, overlap, UNIT ATTENTION retries and refusals are checked
// step by step.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <stdexcept>
#include <string>

#include "net/errors.hpp"
#include "proto/common/bytes.hpp"
#include "proto/scsi/sense.hpp"
#include "workload/block_pattern.hpp"
#include "workload/io_job.hpp"

namespace iscsi::workload {
namespace {

JobSpec base_spec() {
  JobSpec s;
  s.op = JobSpec::Op::write;
  s.lba_count = 64;
  s.blocks_per_io = 8;
  s.block_size = 512;
  return s;
}

std::string spec_error(const JobSpec& s) {
  try {
    validate(s);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

TEST(IoJobSpec, ValidSpecPasses) { EXPECT_EQ(spec_error(base_spec()), ""); }

TEST(IoJobSpec, EachBadFieldIsNamed) {
  auto s = base_spec();
  s.lba_count = 7;
  EXPECT_NE(spec_error(s).find("smaller than one I/O"), std::string::npos) << spec_error(s);
  s = base_spec();
  s.block_size = 100;
  EXPECT_NE(spec_error(s).find("block_size 100"), std::string::npos) << spec_error(s);
  s.block_size = 56;
  EXPECT_NE(spec_error(s).find("block_size 56"), std::string::npos) << spec_error(s);
  s = base_spec();
  s.queue_depth = 0;
  EXPECT_NE(spec_error(s).find("queue_depth is 0"), std::string::npos);
  s = base_spec();
  s.blocks_per_io = 0;
  EXPECT_NE(spec_error(s).find("blocks_per_io is 0"), std::string::npos);
  s = base_spec();
  s.read_percent = 101;
  EXPECT_NE(spec_error(s).find("read_percent"), std::string::npos);
  s = base_spec();
  s.seconds = -1;
  EXPECT_NE(spec_error(s).find("seconds"), std::string::npos);
  s = base_spec();
  s.first_lba = ~0ull - 10;
  EXPECT_NE(spec_error(s).find("overflows"), std::string::npos);
  s = base_spec();
  s.queue_depth = 1 << 20;
  EXPECT_NE(spec_error(s).find("1 GiB"), std::string::npos);
  s = base_spec();
  s.lun = 20000;
  EXPECT_NE(spec_error(s).find("LUN 20000"), std::string::npos) << spec_error(s);
}

TEST(IoJobSpec, StartValidatesAndRefusesAnEmptySubmit) {
  auto s = base_spec();
  s.queue_depth = 0;
  EXPECT_THROW(IoJob::start([](net::ScsiCommand, net::Session::ScsiCallback) { return 1ull; }, s),
               std::invalid_argument);
  EXPECT_THROW(IoJob::start(Submit{}, base_spec()), std::invalid_argument);
}

// Commands wait here until the test completes them; writes land in `blocks` (by LBA).
struct FakeTarget {
  struct Pending {
    std::uint64_t handle;
    net::ScsiCommand cmd;
    net::Session::ScsiCallback done;
  };
  std::deque<Pending> pending;
  std::uint64_t next_handle = 100;
  std::map<std::uint64_t, ByteVector> blocks;
  std::uint32_t block_size = 512;
  int unit_attentions_left = 0;  // answer this many commands with UNIT ATTENTION first
  bool refuse = false;           // fail every command inside submit, as a closed session does
  std::size_t max_pending = 0;

  Submit submit() {
    return [this](net::ScsiCommand cmd, net::Session::ScsiCallback done) {
      const auto h = next_handle++;
      if (refuse) {
        done(nullptr, std::make_exception_ptr(net::NetError(net::Errc::session_closed, "fake closed")));
        return h;
      }
      pending.push_back({h, std::move(cmd), std::move(done)});
      max_pending = std::max(max_pending, pending.size());
      return h;
    };
  }

  static std::uint64_t lba_of(const net::ScsiCommand& c) { return load_be64(c.cdb.data() + 2); }
  static std::uint32_t blocks_of(const net::ScsiCommand& c) { return load_be32(c.cdb.data() + 10); }

  // Completes the oldest (or the index-th) pending command with GOOD (or UA while any are left).
  void complete(std::size_t index = 0) {
    auto p = std::move(pending[index]);
    pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(index));
    session::ScsiResult r;
    if (unit_attentions_left > 0) {
      --unit_attentions_left;
      r.status = 0x02;
      r.sense_raw = scsi::build_fixed_sense(scsi::SenseKey::unit_attention, 0x2A, 0x09);
      r.sense = *scsi::decode_sense(r.sense_raw);
      p.done(&r, nullptr);
      return;
    }
    const std::uint64_t lba = lba_of(p.cmd);
    const std::uint32_t n = blocks_of(p.cmd);
    if (p.cmd.direction == session::DataDirection::write) {
      for (std::uint32_t i = 0; i < n; ++i) {
        auto b = p.cmd.write_view.subspan(std::size_t{i} * block_size, block_size);
        blocks[lba + i].assign(b.begin(), b.end());
      }
    } else {
      r.read_bytes = p.cmd.read_length;
    }
    p.done(&r, nullptr);
  }
  void complete_all() {
    while (!pending.empty()) complete();
  }
};

TEST(IoJobFake, KeepsQueueDepthCommandsInFlightAndWalksTheRegionInOrder) {
  FakeTarget t;
  auto spec = base_spec();
  spec.op = JobSpec::Op::read;
  spec.queue_depth = 3;
  spec.max_ios = 10;
  auto job = IoJob::start(t.submit(), spec);
  ASSERT_EQ(t.pending.size(), 3u);
  std::vector<std::uint64_t> lbas;
  while (!t.pending.empty()) {
    lbas.push_back(FakeTarget::lba_of(t.pending.front().cmd));
    t.complete();
    EXPECT_LE(t.pending.size(), 3u);
  }
  EXPECT_EQ(lbas, (std::vector<std::uint64_t>{0, 8, 16, 24, 32, 40, 48, 56, 0, 8}));
  EXPECT_TRUE(job->done());
  EXPECT_TRUE(job->wait(std::chrono::seconds(0)));
  const auto sum = job->summary();
  EXPECT_EQ(sum.started, 10u);
  EXPECT_EQ(sum.completed_ok, 10u);
  EXPECT_EQ(sum.reads, 10u);
  EXPECT_EQ(sum.bytes_read, 10u * 8 * 512);
  EXPECT_EQ(sum.end_reason, "max_ios reached");
  EXPECT_EQ(job->drain().size(), 10u);
  EXPECT_TRUE(job->drain().empty());
}

TEST(IoJobFake, ARegionNotAMultipleOfTheIoSizeIsCoveredToItsEnd) {
  FakeTarget t;
  auto spec = base_spec();
  spec.first_lba = 100;
  spec.lba_count = 20;  // chunks 100+8, 108+8, 116+4
  spec.max_ios = 3;
  auto job = IoJob::start(t.submit(), spec);
  t.complete_all();
  auto recs = job->drain();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[2].lba, 116u);
  EXPECT_EQ(recs[2].blocks, 4u);
  EXPECT_EQ(t.blocks.size(), 20u);
  EXPECT_EQ(t.blocks.begin()->first, 100u);
  EXPECT_EQ(t.blocks.rbegin()->first, 119u);
}

TEST(IoJobFake, WritesCarryTheBlockPatternAndUniqueGenerations) {
  FakeTarget t;
  auto spec = base_spec();
  spec.writer_id = 7;
  spec.queue_depth = 4;
  spec.max_ios = 8;
  auto job = IoJob::start(t.submit(), spec);
  t.complete_all();
  auto recs = job->drain();
  ASSERT_EQ(recs.size(), 8u);
  std::uint64_t seq = 0;
  for (const auto& r : recs) {
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.write);
    EXPECT_EQ(r.generation >> 48, 7u);
    EXPECT_EQ(r.generation & ((1ull << 48) - 1), ++seq);  // completed in submission order here
    for (std::uint32_t i = 0; i < r.blocks; ++i) {
      EXPECT_EQ(decode_block(t.blocks[r.lba + i]),
                (BlockState{BlockState::Kind::intact, r.lba + i, r.generation}));
    }
  }
}

// A sequential write whose chunk is still being written waits (the queue runs below its depth)
// rather than write the same blocks twice at once.
TEST(IoJobFake, OverlappingWritesWaitForTheOneInFlight) {
  FakeTarget t;
  auto spec = base_spec();
  spec.lba_count = 16;  // two chunks
  spec.queue_depth = 4;
  spec.max_ios = 6;
  auto job = IoJob::start(t.submit(), spec);
  EXPECT_EQ(t.pending.size(), 2u);
  t.complete_all();
  EXPECT_EQ(t.max_pending, 2u);
  EXPECT_TRUE(job->done());
  // Reads may overlap anything: the same spec as reads fills the queue.
  FakeTarget r;
  spec.op = JobSpec::Op::read;
  auto reads = IoJob::start(r.submit(), spec);
  EXPECT_EQ(r.pending.size(), 4u);
  r.complete_all();
}

TEST(IoJobFake, RandomWritesPickAnotherChunkOrWait) {
  FakeTarget t;
  auto spec = base_spec();
  spec.random = true;
  spec.seed = 42;
  spec.lba_count = 32;  // four chunks, queue depth eight
  spec.queue_depth = 8;
  spec.max_ios = 200;
  auto job = IoJob::start(t.submit(), spec);
  while (!t.pending.empty()) {
    // No two pending writes share a block.
    std::map<std::uint64_t, int> used;
    for (const auto& p : t.pending) {
      for (std::uint32_t i = 0; i < FakeTarget::blocks_of(p.cmd); ++i) {
        EXPECT_EQ(++used[FakeTarget::lba_of(p.cmd) + i], 1);
      }
    }
    EXPECT_LE(t.pending.size(), 4u);
    t.complete(t.pending.size() - 1);  // out of order
  }
  EXPECT_TRUE(job->done());
  EXPECT_EQ(job->summary().completed_ok, 200u);
}

TEST(IoJobFake, SameSeedSameSequenceOfRandomChoices) {
  auto run = [](std::uint64_t seed) {
    FakeTarget t;
    auto spec = base_spec();
    spec.op = JobSpec::Op::mixed;
    spec.random = true;
    spec.seed = seed;
    spec.lba_count = 1024;
    spec.max_ios = 50;
    auto job = IoJob::start(t.submit(), spec);
    t.complete_all();
    std::vector<std::pair<bool, std::uint64_t>> out;
    for (const auto& r : job->drain()) out.emplace_back(r.write, r.lba);
    return out;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(IoJobFake, MixedHonoursReadPercent) {
  for (std::uint32_t pct : {0u, 100u, 30u}) {
    FakeTarget t;
    auto spec = base_spec();
    spec.op = JobSpec::Op::mixed;
    spec.read_percent = pct;
    spec.random = true;
    spec.lba_count = 4096;
    spec.max_ios = 1000;
    auto job = IoJob::start(t.submit(), spec);
    t.complete_all();
    const auto s = job->summary();
    EXPECT_EQ(s.reads + s.writes, 1000u);
    if (pct == 0) {
      EXPECT_EQ(s.reads, 0u);
    } else if (pct == 100) {
      EXPECT_EQ(s.writes, 0u);
    } else {
      EXPECT_GT(s.reads, 230u);
      EXPECT_LT(s.reads, 370u);
    }
  }
}

TEST(IoJobFake, UnitAttentionIsRetriedOnceAndRecordedInWords) {
  FakeTarget t;
  t.unit_attentions_left = 1;
  auto spec = base_spec();
  spec.max_ios = 2;
  auto job = IoJob::start(t.submit(), spec);
  const auto first_handle = t.pending.front().handle;
  t.complete();  // UNIT ATTENTION: sent again, still in flight
  ASSERT_EQ(t.pending.size(), 1u);
  EXPECT_NE(t.pending.front().handle, first_handle);
  auto flight = job->in_flight();
  ASSERT_EQ(flight.size(), 1u);
  EXPECT_EQ(flight[0].handle, t.pending.front().handle);  // the retry's handle
  t.complete_all();
  const auto s = job->summary();
  EXPECT_EQ(s.completed_ok, 2u);
  EXPECT_EQ(s.ua_retries, 1u);
  ASSERT_EQ(s.unit_attentions.size(), 1u);
  EXPECT_NE(s.unit_attentions[0].find("CAPACITY DATA HAS CHANGED"), std::string::npos)
      << s.unit_attentions[0];
}

TEST(IoJobFake, ASecondUnitAttentionOrNoRetryFailsTheCommandWithTheSense) {
  for (bool retry : {true, false}) {
    FakeTarget t;
    t.unit_attentions_left = 2;
    auto spec = base_spec();
    spec.max_ios = 1;
    spec.retry_unit_attention = retry;
    auto job = IoJob::start(t.submit(), spec);
    t.complete_all();
    auto recs = job->drain();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_FALSE(recs[0].ok);
    EXPECT_NE(recs[0].error.find("CHECK CONDITION"), std::string::npos) << recs[0].error;
    EXPECT_NE(recs[0].error.find("(0x6/0x2a/0x09)"), std::string::npos) << recs[0].error;
    EXPECT_EQ(job->summary().unit_attentions.size(), retry ? 2u : 1u);
    EXPECT_EQ(job->summary().failed, 1u);
  }
}

// A submit function that fails every command before returning (a closed session) must not make
// the job spin: it records the failures and ends, with no command in flight.
TEST(IoJobFake, RefusalsAtOnceEndTheJobInsteadOfSpinning) {
  FakeTarget t;
  t.refuse = true;
  auto spec = base_spec();
  spec.queue_depth = 8;  // unlimited: no max_ios, no seconds
  auto job = IoJob::start(t.submit(), spec);
  EXPECT_TRUE(job->done());
  const auto recs = job->drain();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_FALSE(recs[0].ok);
  EXPECT_NE(recs[0].error.find("fake closed"), std::string::npos) << recs[0].error;
  EXPECT_EQ(job->summary().end_reason.rfind("submissions refused: ", 0), 0u)
      << job->summary().end_reason;
}

// The same when the refusal starts mid-run: completions of the commands in flight each try
// once more, then the job ends.
TEST(IoJobFake, RefusalsMidRunEndTheJobOnceNothingIsInFlight) {
  FakeTarget t;
  auto spec = base_spec();
  spec.op = JobSpec::Op::read;
  spec.queue_depth = 4;
  auto job = IoJob::start(t.submit(), spec);
  t.complete();
  t.refuse = true;
  t.complete_all();
  EXPECT_TRUE(job->done());
  const auto s = job->summary();
  // The four in flight completed, and each freed slot was refused once.
  EXPECT_EQ(s.completed_ok, 5u);
  EXPECT_EQ(s.failed, 4u);
  EXPECT_EQ(s.in_flight, 0u);
}

TEST(IoJobFake, ASubmitThatThrowsIsAFailedCommand) {
  auto spec = base_spec();
  spec.max_ios = 3;
  auto job = IoJob::start(
      [](net::ScsiCommand, net::Session::ScsiCallback) -> std::uint64_t {
        throw net::NetError(net::Errc::session_closed, "initiator shut down");
      },
      spec);
  EXPECT_TRUE(job->done());
  auto recs = job->drain();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_NE(recs[0].error.find("initiator shut down"), std::string::npos);
}

TEST(IoJobFake, StopLetsCommandsInFlightFinishAndStartsNoMore) {
  FakeTarget t;
  auto spec = base_spec();
  spec.op = JobSpec::Op::read;
  spec.queue_depth = 4;
  auto job = IoJob::start(t.submit(), spec);
  job->stop();
  EXPECT_FALSE(job->done());
  EXPECT_FALSE(job->wait(std::chrono::milliseconds(10)));
  EXPECT_EQ(job->in_flight().size(), 4u);
  t.complete_all();
  EXPECT_TRUE(job->wait(std::chrono::seconds(1)));
  EXPECT_EQ(job->summary().started, 4u);
  EXPECT_EQ(job->summary().end_reason, "stopped");
}

TEST(IoJobFake, InFlightNamesTheHandlesTheSubmitReturned) {
  FakeTarget t;
  auto spec = base_spec();
  spec.op = JobSpec::Op::read;
  spec.queue_depth = 3;
  auto job = IoJob::start(t.submit(), spec);
  auto flight = job->in_flight();
  ASSERT_EQ(flight.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(flight[i].handle, t.pending[i].handle);
    EXPECT_EQ(flight[i].lba, FakeTarget::lba_of(t.pending[i].cmd));
    EXPECT_FALSE(flight[i].write);
    EXPECT_GT(flight[i].start_ns, 0);
  }
  job->stop();
  t.complete_all();
}

// The job owns itself while commands are in flight: the caller may drop it at any time.
TEST(IoJobFake, DroppingTheJobWhileCommandsAreInFlightIsSafe) {
  FakeTarget t;
  auto spec = base_spec();
  spec.max_ios = 20;
  std::weak_ptr<IoJob> weak;
  {
    auto job = IoJob::start(t.submit(), spec);
    weak = job;
  }
  EXPECT_FALSE(weak.expired());
  t.complete_all();
  EXPECT_TRUE(weak.expired());  // the last callback released it
}

}  // namespace
}  // namespace iscsi::workload
