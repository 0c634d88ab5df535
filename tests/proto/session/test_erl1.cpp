// ERL 1 within-command recovery of reads in the session core (RFC 7143 7.1.4.1, 11.16): a
// Data-In whose data digest failed, or which never came, is asked for again with a Data SNACK
// and the read completes byte-exact without a connection drop; a DataACK answers the A bit;
// an unanswered SNACK is asked once more and then fails the connection. The target is the
// in-memory fake, which resends what a Data SNACK names as LIO does (same StatSN on the final
// PDU). The framer's half (a damaged Data-In that does not fail the stream) is tested in
// tests/proto/pdu/test_framer_erl1.cpp.
#include <gtest/gtest.h>

#include <set>

#include "fake_target.hpp"

namespace iscsi::session::test {
namespace {

FakeTargetConfig erl1() {
  FakeTargetConfig cfg;
  cfg.error_recovery_level = 1;
  cfg.initiator_mrdsl = 8192;  // a 32 KiB read is 4 Data-In PDUs, DataSN 0..3
  return cfg;
}

// Damages each listed DataSN of the first read the first time it is sent.
std::function<bool(const pdu::DataIn&)> damage_once(std::set<std::uint32_t> data_sns) {
  auto seen = std::make_shared<std::set<std::uint32_t>>();
  return [data_sns, seen](const pdu::DataIn& d) {
    const std::uint32_t sn = d.data_sn.value();
    if (data_sns.count(sn) == 0 || seen->count(sn) != 0) return false;
    seen->insert(sn);
    return true;
  };
}

void expect_read_of_disk(Pair& pair, const Completion& c, std::uint64_t lba, std::size_t n) {
  EXPECT_EQ(c.outcome, TaskOutcome::completed);
  EXPECT_EQ(c.scsi.status, 0);
  ASSERT_EQ(c.scsi.data.size(), n);
  const auto& disk = pair.target.disk();
  EXPECT_TRUE(std::equal(c.scsi.data.begin(), c.scsi.data.end(),
                         disk.begin() + static_cast<std::ptrdiff_t>(lba * 512)));
}

TEST(SessionErl1, ADamagedDataInIsAskedForAgainAndTheReadCompletesWhole) {
  Pair pair(erl1());
  pair.target.disk() = pattern(pair.target.disk().size(), 7);
  pair.damage = damage_once({1});
  auto id = pair.session.submit(read_request(8, 32768), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  expect_read_of_disk(pair, done[0], 8, 32768);
  ASSERT_EQ(pair.target.snacks.size(), 1u);
  EXPECT_EQ(pair.target.snacks[0].type, pdu::SnackType::data_r2t);
  EXPECT_EQ(pair.target.snacks[0].beg_run, 1u);
  EXPECT_EQ(pair.target.snacks[0].run_length, 1u);
  const Stats& st = pair.session.stats();
  EXPECT_EQ(st.snack_pdus, 1u);
  EXPECT_EQ(st.digest_err, 1u);
  EXPECT_EQ(st.datain_discarded, 1u);
  EXPECT_EQ(st.datain_recovered, 1u);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::none);
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
  EXPECT_TRUE(pair.receive_errors.empty());
}

// The damaged PDU carried the status: the task waits for its data, and the resent PDU repeats
// the status with the StatSN already acknowledged, which is not a StatSN error at ERL 1.
TEST(SessionErl1, TheStatusWaitsForTheDataItCameWith) {
  Pair pair(erl1());
  pair.target.disk() = pattern(pair.target.disk().size(), 9);
  pair.damage = damage_once({3});
  auto id = pair.session.submit(read_request(0, 32768), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  expect_read_of_disk(pair, done[0], 0, 32768);
  EXPECT_EQ(pair.session.stats().datain_recovered, 1u);
  // Asked for as "DataSN 3 and all after it": the fake target rejects RunLength 1 for the last
  // DataSN sent, as LIO 6.1 does.
  ASSERT_EQ(pair.target.snacks.size(), 1u);
  EXPECT_EQ(pair.target.snacks[0].beg_run, 3u);
  EXPECT_EQ(pair.target.snacks[0].run_length, 0u);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::none);
  // One status, one StatSN: the next command's status is the next number.
  EXPECT_EQ(pair.session.exp_stat_sn(Pair::kCid), pair.target.stat_sn());
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

TEST(SessionErl1, SeveralDamagedPdusAndTheReadIntoBufferAreRecovered) {
  Pair pair(erl1());
  pair.target.disk() = pattern(pair.target.disk().size(), 11);
  pair.damage = damage_once({0, 2});
  ByteVector buf(32768, 0xEE);
  ScsiRequest r = read_request(16, 32768);
  r.read_into = MutableByteSpan(buf);
  ASSERT_TRUE(pair.session.submit(r, pair.now));
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
  EXPECT_EQ(done[0].scsi.read_bytes, 32768u);
  const auto& disk = pair.target.disk();
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), disk.begin() + 16 * 512));
  EXPECT_EQ(pair.target.snacks.size(), 2u);
  EXPECT_EQ(pair.session.stats().datain_recovered, 2u);
}

TEST(SessionErl1, AtErl0ADamagedDataInFailsTheConnectionWithDataDigest) {
  FakeTargetConfig cfg = erl1();
  cfg.error_recovery_level = 0;
  Pair pair(cfg);
  pair.damage = damage_once({1});
  ASSERT_TRUE(pair.session.submit(read_request(0, 32768), pair.now));
  pair.pump();
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::data_dgst);
  EXPECT_EQ(pair.session.state(), SessionState::failed);
  EXPECT_TRUE(pair.target.snacks.empty());
}

TEST(SessionErl1, ADataSnGapIsAskedForAsARun) {
  Pair pair(erl1());
  pair.target.disk() = pattern(pair.target.disk().size(), 13);
  // DataSN 1 and 2 never arrive the first time they are sent.
  auto dropped = std::make_shared<std::set<std::uint32_t>>();
  pair.target.tamper = [dropped](pdu::Pdu& p) {
    auto* d = std::get_if<pdu::DataIn>(&p);
    if (d == nullptr) return true;
    const std::uint32_t sn = d->data_sn.value();
    if ((sn == 1 || sn == 2) && dropped->insert(sn).second) return false;
    return true;
  };
  ASSERT_TRUE(pair.session.submit(read_request(4, 32768), pair.now));
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  expect_read_of_disk(pair, done[0], 4, 32768);
  ASSERT_EQ(pair.target.snacks.size(), 1u);
  EXPECT_EQ(pair.target.snacks[0].beg_run, 1u);
  EXPECT_EQ(pair.target.snacks[0].run_length, 2u);
  EXPECT_EQ(pair.session.stats().datain_recovered, 2u);
  EXPECT_EQ(pair.session.stats().digest_err, 0u);
}

TEST(SessionErl1, AnUnansweredSnackIsSentOnceMoreThenTheConnectionFails) {
  Pair pair(erl1());
  pair.target.answer_snacks = false;
  pair.damage = damage_once({1});
  auto id = pair.session.submit(read_request(0, 32768), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  EXPECT_EQ(pair.completions().size(), 0u);
  ASSERT_EQ(pair.target.snacks.size(), 1u);
  const Duration timeout = pair.session.config().snack_timeout;
  ASSERT_TRUE(pair.session.next_deadline());
  EXPECT_LE(*pair.session.next_deadline(), pair.now + timeout);
  pair.advance(timeout);
  pair.pump();
  ASSERT_EQ(pair.target.snacks.size(), 2u);
  EXPECT_EQ(pair.target.snacks[1].beg_run, 1u);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::none);
  pair.advance(timeout);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::datasn);
  EXPECT_NE(pair.session.connection_error_detail(Pair::kCid).find("DataSN 1"), std::string::npos)
      << pair.session.connection_error_detail(Pair::kCid);
  // At ERL 1 with one connection the session fails, and the read waits for reinstatement.
  EXPECT_EQ(pair.session.retry_list(), std::vector<TaskId>{*id});
}

TEST(SessionErl1, TheABitIsAnsweredWithADataAck) {
  Pair pair(erl1());
  pair.target.tamper = [](pdu::Pdu& p) {
    if (auto* d = std::get_if<pdu::DataIn>(&p); d != nullptr && d->data_sn.value() == 1) {
      d->acknowledge = true;
      d->ttt = 0x777;
    }
    return true;
  };
  ASSERT_TRUE(pair.session.submit(read_request(0, 32768), pair.now));
  pair.pump();
  ASSERT_EQ(pair.completions().size(), 1u);
  ASSERT_EQ(pair.target.snacks.size(), 1u);
  EXPECT_EQ(pair.target.snacks[0].type, pdu::SnackType::data_ack);
  EXPECT_EQ(pair.target.snacks[0].ttt, 0x777u);
  EXPECT_EQ(pair.target.snacks[0].beg_run, 2u);  // DataSN 0 and 1 acknowledged
}

// DataSN 0 damaged and carrying the A bit: a DataACK could only say BegRun 0, which acknowledges
// nothing (and which LIO answers by closing the connection), so only the Data SNACK goes.
TEST(SessionErl1, NoDataAckWhileDataSnZeroIsMissing) {
  Pair pair(erl1());
  pair.target.disk() = pattern(pair.target.disk().size(), 5);
  pair.damage = damage_once({0});
  pair.target.tamper = [](pdu::Pdu& p) {
    if (auto* d = std::get_if<pdu::DataIn>(&p); d != nullptr && d->data_sn.value() <= 1) {
      d->acknowledge = true;
      d->ttt = 0x778;
    }
    return true;
  };
  auto id = pair.session.submit(read_request(0, 32768), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  expect_read_of_disk(pair, done[0], 0, 32768);
  std::vector<std::pair<pdu::SnackType, std::uint32_t>> sent;
  for (const auto& sn : pair.target.snacks) sent.emplace_back(sn.type, sn.beg_run);
  // The Data SNACK for DataSN 0; the A bit of DataSN 1 acknowledges nothing yet either (0 is
  // still missing when it comes); the resent DataSN 0 has the A bit again, and by then all four
  // PDUs are in: BegRun 4.
  const std::vector<std::pair<pdu::SnackType, std::uint32_t>> expected = {
      {pdu::SnackType::data_r2t, 0u}, {pdu::SnackType::data_ack, 4u}};
  EXPECT_EQ(sent, expected);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::none);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

TEST(SessionErl1, AtErl0TheABitIsIgnored) {
  FakeTargetConfig cfg = erl1();
  cfg.error_recovery_level = 0;
  Pair pair(cfg);
  pair.target.tamper = [](pdu::Pdu& p) {
    if (auto* d = std::get_if<pdu::DataIn>(&p)) {
      d->acknowledge = true;
      d->ttt = 0x777;
    }
    return true;
  };
  ASSERT_TRUE(pair.session.submit(read_request(0, 32768), pair.now));
  pair.pump();
  EXPECT_EQ(pair.completions().size(), 1u);
  EXPECT_TRUE(pair.target.snacks.empty());
  EXPECT_EQ(pair.session.stats().snack_pdus, 0u);
}

}  // namespace
}  // namespace iscsi::session::test
