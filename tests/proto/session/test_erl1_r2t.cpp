// ERL 1 for writes in the session core (RFC 7143 7.1.4.1, 11.16): an R2T lost on the way is
// found by the next R2T's R2TSN and asked for with an R2T SNACK; the R2Ts after it wait, so the
// Data-Out sequences still go out in offset order (DataSequenceInOrder=Yes: LIO dumps data
// outside its current sequence); an unanswered SNACK is asked once more and then fails the
// connection; at ERL 0 the gap fails the connection. The target is the in-memory fake, which
// answers an R2T SNACK as LIO 6.1 does (iscsit_handle_r2t_snack: the same R2T again, same R2TSN
// and TTT) and reports a Data-Out outside the current sequence as a violation.
#include <gtest/gtest.h>

#include <set>

#include "fake_target.hpp"

namespace iscsi::session::test {
namespace {

// A 32 KiB write in four R2Ts of 8 KiB, all four outstanding at once (LIO sends up to
// MaxOutstandingR2T), no unsolicited data.
FakeTargetConfig four_r2ts(std::uint8_t erl = 1) {
  FakeTargetConfig cfg;
  cfg.error_recovery_level = erl;
  cfg.immediate_data = false;
  cfg.initial_r2t = true;
  cfg.max_burst_length = 8192;
  cfg.max_outstanding_r2t = 4;
  return cfg;
}

// Leaves out each listed R2TSN the first time it is sent (the lab proxy's drop_pdu: r2t).
std::function<bool(pdu::Pdu&)> lose_r2t_once(std::set<std::uint32_t> r2t_sns) {
  auto seen = std::make_shared<std::set<std::uint32_t>>();
  return [r2t_sns, seen](pdu::Pdu& p) {
    const auto* r = std::get_if<pdu::R2T>(&p);
    if (r == nullptr) return true;
    const std::uint32_t sn = r->r2t_sn.value();
    if (r2t_sns.count(sn) == 0 || seen->count(sn) != 0) return true;
    seen->insert(sn);
    return false;
  };
}

std::vector<pdu::SnackRequest> r2t_snacks(const Pair& pair) {
  std::vector<pdu::SnackRequest> out;
  for (const auto& s : pair.target.snacks) {
    if (s.type == pdu::SnackType::data_r2t) out.push_back(s);
  }
  return out;
}

void expect_written(Pair& pair, const ByteVector& data, std::uint64_t lba) {
  const auto& disk = pair.target.disk();
  EXPECT_TRUE(std::equal(data.begin(), data.end(),
                         disk.begin() + static_cast<std::ptrdiff_t>(lba * 512)));
}

// R2TSN 1 is lost; R2TSN 2 shows the gap. The initiator asks for R2TSN 1 alone, holds 2 and 3
// until it is in, and the write completes with every byte on the disk.
TEST(SessionErl1R2t, ALostR2tIsAskedForWithAnR2tSnackAndTheWriteCompletes) {
  Pair pair(four_r2ts());
  pair.target.tamper = lose_r2t_once({1});
  const ByteVector data = pattern(32768, 7);
  auto id = pair.session.submit(write_request(64, data), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
  EXPECT_EQ(done[0].scsi.status, 0);
  expect_written(pair, data, 64);
  const auto asked = r2t_snacks(pair);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].beg_run, 1u);
  EXPECT_EQ(asked[0].run_length, 1u);
  EXPECT_EQ(pair.target.r2ts_resent, 1u);
  EXPECT_EQ(pair.session.stats().r2t_recovered, 1u);
  EXPECT_EQ(pair.target.data_outs, 4u);  // 8 KiB each: nothing sent twice
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::none);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// Two R2Ts in a row are lost: one SNACK asks for the run of both.
TEST(SessionErl1R2t, ARunOfLostR2tsIsAskedForAsOneRun) {
  Pair pair(four_r2ts());
  pair.target.tamper = lose_r2t_once({0, 1});
  const ByteVector data = pattern(32768, 8);
  ASSERT_TRUE(pair.session.submit(write_request(0, data), pair.now));
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
  expect_written(pair, data, 0);
  const auto asked = r2t_snacks(pair);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].beg_run, 0u);
  EXPECT_EQ(asked[0].run_length, 2u);
  EXPECT_EQ(pair.session.stats().r2t_recovered, 2u);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// Without waiting, the R2Ts after a lost one would send data outside LIO's current sequence.
// The fake reports that as a violation; this checks that it does, so the tests above mean
// something: all four R2Ts are kept from the initiator, and a Data-Out for the third one
// (offset 16384) is handed to the fake while the first three wait.
TEST(SessionErl1R2t, TheFakeTargetReportsDataOutOfSequenceOrder) {
  Pair pair(four_r2ts());
  std::vector<pdu::R2T> kept;
  pair.target.tamper = [&kept](pdu::Pdu& p) {
    auto* r = std::get_if<pdu::R2T>(&p);
    if (r == nullptr) return true;
    kept.push_back(*r);
    return false;
  };
  const ByteVector data = pattern(32768, 9);
  ASSERT_TRUE(pair.session.submit(write_request(0, data), pair.now));
  pair.pump();
  ASSERT_EQ(kept.size(), 4u);
  ASSERT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
  pdu::DataOut d;
  d.itt = kept[2].itt;
  d.ttt = kept[2].ttt;
  d.lun = kept[2].lun;
  d.final_pdu = true;
  d.buffer_offset = kept[2].buffer_offset;
  d.data_sn = SerialNumber{0};
  d.data.assign(data.begin() + 16384, data.begin() + 24576);
  pair.target.receive(pdu::Pdu{d});
  const bool seen = std::any_of(pair.target.violations.begin(), pair.target.violations.end(),
                                [](const std::string& v) {
                                  return v.find("DataSequenceInOrder") != std::string::npos;
                                });
  EXPECT_TRUE(seen);
}

// The target answers each R2T SNACK twice (a second copy, as after a SNACK asked twice): the
// second copy is passed over, no data goes out twice.
TEST(SessionErl1R2t, ASecondCopyOfAnR2tAlreadyHadIsPassedOver) {
  Pair pair(four_r2ts());
  pair.target.tamper = lose_r2t_once({2});
  pair.target.resend_r2t_copies = 2;
  const ByteVector data = pattern(32768, 10);
  ASSERT_TRUE(pair.session.submit(write_request(8, data), pair.now));
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
  expect_written(pair, data, 8);
  EXPECT_EQ(pair.target.r2ts_resent, 2u);
  EXPECT_EQ(pair.session.stats().r2t_recovered, 1u);
  EXPECT_EQ(pair.target.data_outs, 4u);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

TEST(SessionErl1R2t, AnUnansweredR2tSnackIsSentOnceMoreThenTheConnectionFails) {
  Pair pair(four_r2ts());
  pair.target.tamper = lose_r2t_once({1});
  pair.target.answer_snacks = false;
  const ByteVector data = pattern(32768, 11);
  ASSERT_TRUE(pair.session.submit(write_request(0, data), pair.now));
  pair.pump();
  ASSERT_EQ(r2t_snacks(pair).size(), 1u);
  EXPECT_EQ(pair.target.data_outs, 1u);  // R2TSN 0's data; 2 and 3 wait for 1
  const Duration timeout = pair.session.config().snack_timeout;
  ASSERT_TRUE(pair.session.next_deadline());
  EXPECT_LE(*pair.session.next_deadline(), pair.now + timeout);
  pair.advance(timeout);
  pair.pump();
  const auto asked = r2t_snacks(pair);
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[1].beg_run, 1u);
  EXPECT_EQ(asked[1].run_length, 1u);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::none);
  pair.advance(timeout);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::r2tsn);
  EXPECT_NE(pair.session.connection_error_detail(Pair::kCid).find("R2T SNACKs"),
            std::string::npos)
      << pair.session.connection_error_detail(Pair::kCid);
}

// LIO's case at ERL 1, where it keeps MaxOutstandingR2T at 1: the one R2T outstanding is lost,
// and when its data does not come LIO sends a recovery R2T with the next R2TSN for the same
// data. The skipped R2TSN cannot still be outstanding beside it, so it is not asked for: the
// recovery R2T is answered, the write completes, the connection stays.
TEST(SessionErl1R2t, ARecoveryR2tThatReplacesALostOneIsAnsweredWithoutASnack) {
  FakeTargetConfig cfg = four_r2ts();
  cfg.max_outstanding_r2t = 1;
  Pair pair(cfg);
  std::optional<pdu::R2T> lost;
  pair.target.tamper = [&lost](pdu::Pdu& p) {
    auto* r = std::get_if<pdu::R2T>(&p);
    if (r == nullptr || r->r2t_sn.value() != 0 || lost) return true;
    lost = *r;
    return false;
  };
  const ByteVector data = pattern(8192, 14);
  ASSERT_TRUE(pair.session.submit(write_request(0, data), pair.now));
  pair.pump();
  ASSERT_TRUE(lost);
  EXPECT_EQ(pair.target.data_outs, 0u);
  // The target's recovery R2T: the same range and TTT (the fake knows it), the next R2TSN.
  pdu::R2T recovery = *lost;
  recovery.r2t_sn = lost->r2t_sn + 1;
  pair.deliver(pdu::Pdu{recovery});
  pair.pump();
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::none)
      << pair.session.connection_error_detail(Pair::kCid);
  EXPECT_TRUE(r2t_snacks(pair).empty());
  EXPECT_EQ(pair.session.stats().r2t_replaced, 1u);
  EXPECT_EQ(pair.session.stats().r2t_recovered, 0u);
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
  expect_written(pair, data, 0);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// At ERL 0 an R2TSN gap is still a protocol error that fails the connection.
TEST(SessionErl1R2t, AtErl0AnR2tSnGapFailsTheConnection) {
  Pair pair(four_r2ts(0));
  pair.target.tamper = lose_r2t_once({1});
  const ByteVector data = pattern(32768, 13);
  ASSERT_TRUE(pair.session.submit(write_request(0, data), pair.now));
  pair.pump();
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::r2tsn);
  EXPECT_TRUE(pair.target.snacks.empty());
}

}  // namespace
}  // namespace iscsi::session::test
