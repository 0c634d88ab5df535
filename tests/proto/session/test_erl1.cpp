// ERL 1 in the session core (RFC 7143 7.1.4, 11.16): a Data-In whose data digest failed, or
// which never came, is asked for again with a Data SNACK and the read completes byte-exact
// without a connection drop; a DataACK answers the A bit; a lost status is asked for with a
// Status SNACK; an unanswered SNACK is asked once more and then fails the connection. The
// target is the in-memory fake, which answers SNACKs as LIO does (same StatSN on the final
// PDU, a SCSI Response for a Status SNACK, LIO's bounds: FINDINGS.md F4). The framer's half
// (a damaged Data-In that does not fail the stream) is tested in
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
      d->acknowledge = true;  // the TTT is the read's, as the fake (and LIO) give it
    }
    return true;
  };
  ASSERT_TRUE(pair.session.submit(read_request(0, 32768), pair.now));
  pair.pump();
  ASSERT_EQ(pair.completions().size(), 1u);
  ASSERT_EQ(pair.target.snacks.size(), 1u);
  EXPECT_EQ(pair.target.snacks[0].type, pdu::SnackType::data_ack);
  EXPECT_NE(pair.target.snacks[0].ttt, pdu::kReservedTag);
  EXPECT_EQ(pair.target.snacks[0].beg_run, 2u);  // DataSN 0 and 1 acknowledged
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// The final Data-In carries the status and the A bit (as LIO sends every read at ERL 1): the
// status is acknowledged by ExpStatSN, and no DataACK follows (RFC 7143 11.7.2; LIO frees the
// command at that ExpStatSN and closes the connection for a DataACK naming it).
TEST(SessionErl1, TheABitOnTheStatusPduIsAnsweredByExpStatSnAlone) {
  Pair pair(erl1());
  for (std::uint64_t lba : {0u, 64u}) {
    ASSERT_TRUE(pair.session.submit(read_request(lba, 32768), pair.now));
  }
  pair.pump();
  ASSERT_EQ(pair.completions().size(), 2u);
  EXPECT_TRUE(pair.target.snacks.empty());
  EXPECT_EQ(pair.session.exp_stat_sn(Pair::kCid), pair.target.stat_sn());
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
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

// A read's status came while a Data-In it needs is still asked for: the status is not
// acknowledged until the data is in (RFC 7143 11.7), so ExpStatSN on later commands stays at
// its StatSN; LIO frees a command once its status is acknowledged and then ignores the SNACK.
TEST(SessionErl1, AHeldStatusIsNotAcknowledgedUntilItsDataIsIn) {
  Pair pair(erl1());
  pair.target.disk() = pattern(pair.target.disk().size(), 17);
  pair.damage = damage_once({1});
  pair.target.answer_snacks = false;
  auto a = pair.session.submit(read_request(0, 32768), pair.now);
  ASSERT_TRUE(a);
  pair.pump();
  EXPECT_TRUE(pair.completions().empty());
  const SerialNumber held{pair.target.stat_sn().value() - 1};
  EXPECT_EQ(pair.session.exp_stat_sn(Pair::kCid), held);
  auto b = pair.session.submit(read_request(64, 4096), pair.now);
  ASSERT_TRUE(b);
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, *b);
  EXPECT_EQ(pair.session.exp_stat_sn(Pair::kCid), held);
  pair.target.answer_snacks = true;
  pair.advance(pair.session.config().snack_timeout);  // the Data SNACK is sent once more
  pair.pump();
  done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, *a);
  expect_read_of_disk(pair, done[0], 0, 32768);
  EXPECT_EQ(pair.session.exp_stat_sn(Pair::kCid), pair.target.stat_sn());
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// The copy sent again is damaged too (the path, not the target): it is asked for at once, and
// after a few damaged copies the connection fails with a data digest error.
TEST(SessionErl1, ADamagedCopyIsAskedForAgainAtOnceAFewTimes) {
  Pair pair(erl1());
  pair.target.disk() = pattern(pair.target.disk().size(), 19);
  auto copies = std::make_shared<int>(0);
  pair.damage = [copies](const pdu::DataIn& d) {
    return d.data_sn.value() == 2 && ++*copies <= 3;  // the first send and two copies
  };
  auto id = pair.session.submit(read_request(0, 32768), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  expect_read_of_disk(pair, done[0], 0, 32768);
  EXPECT_EQ(pair.target.snacks.size(), 3u);
  EXPECT_EQ(pair.session.stats().datain_recovered, 1u);

  Pair bad(erl1());
  bad.damage = [](const pdu::DataIn& d) { return d.data_sn.value() == 2; };  // every copy
  ASSERT_TRUE(bad.session.submit(read_request(0, 32768), bad.now));
  bad.pump();
  EXPECT_EQ(bad.session.connection_error(Pair::kCid), ConnError::data_dgst);
  EXPECT_NE(bad.session.connection_error_detail(Pair::kCid).find("copies"), std::string::npos)
      << bad.session.connection_error_detail(Pair::kCid);
}

// --- Status SNACK (RFC 7143 11.16.2, within-connection recovery) -----------------------------

// Leaves out, the first time each is sent, the status-bearing PDUs of the listed StatSN offsets
// from the first one seen (the proxy's drop_pdu in the lab).
std::function<bool(pdu::Pdu&)> lose_status_once(std::set<std::uint32_t> nth) {
  auto first = std::make_shared<std::optional<std::uint32_t>>();
  auto seen = std::make_shared<std::set<std::uint32_t>>();
  return [nth, first, seen](pdu::Pdu& p) {
    std::optional<std::uint32_t> sn;
    if (auto* r = std::get_if<pdu::ScsiResponse>(&p)) sn = r->stat_sn.value();
    if (auto* d = std::get_if<pdu::DataIn>(&p); d != nullptr && d->status_present) {
      sn = d->stat_sn.value();
    }
    if (!sn) return true;
    if (!*first) *first = *sn;
    const std::uint32_t k = *sn - **first;
    if (nth.count(k) == 0 || seen->count(k) != 0) return true;
    seen->insert(k);
    return false;  // dropped
  };
}

std::vector<pdu::SnackRequest> snacks_of(const Pair& pair, pdu::SnackType type) {
  std::vector<pdu::SnackRequest> out;
  for (const auto& sn : pair.target.snacks) {
    if (sn.type == type) out.push_back(sn);
  }
  return out;
}

// Three reads with a separate SCSI Response each; the second response is lost. The third one's
// StatSN shows the gap: the initiator takes it, asks for the one skipped, and ExpStatSN stays
// at the missing StatSN until it is in (so the target keeps it).
TEST(SessionErl1, ALostStatusIsAskedForWithAStatusSnack) {
  FakeTargetConfig cfg = erl1();
  cfg.phase_collapse = false;
  Pair pair(cfg);
  pair.target.tamper = lose_status_once({1});
  const SerialNumber first = pair.target.stat_sn();
  std::vector<TaskId> ids;
  for (std::uint64_t lba : {0u, 8u, 16u}) {
    ids.push_back(*pair.session.submit(read_request(lba, 4096), pair.now));
  }
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 3u);
  for (const auto& c : done) EXPECT_EQ(c.outcome, TaskOutcome::completed);
  const auto asked = snacks_of(pair, pdu::SnackType::status);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].beg_run, (first + 1).value());
  EXPECT_EQ(asked[0].run_length, 1u);
  EXPECT_EQ(asked[0].exp_stat_sn, first + 1);  // the missing one is not acknowledged
  EXPECT_EQ(pair.session.stats().status_recovered, 1u);
  EXPECT_EQ(pair.session.exp_stat_sn(Pair::kCid), first + 3);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::none);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// The final Data-In with the status is lost: no later DataSN shows it. The next status shows
// the StatSN gap; the target answers the Status SNACK with a SCSI Response (ExpDataSN 0, as
// LIO sends it), whose GOOD status with no residual shows the bytes that never came; the
// initiator asks for the tail with a Data SNACK (RunLength 0) before it ends the read.
TEST(SessionErl1, ALostFinalDataInIsFoundByTheBytesItsStatusImplies) {
  Pair pair(erl1());
  pair.target.disk() = pattern(pair.target.disk().size(), 13);
  pair.target.tamper = lose_status_once({0});
  auto id = pair.session.submit(read_request(0, 32768), pair.now);
  auto id2 = pair.session.submit(read_request(64, 4096), pair.now);
  ASSERT_TRUE(id && id2);
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 2u);
  const Completion& big = done[0].id == *id ? done[0] : done[1];
  expect_read_of_disk(pair, big, 0, 32768);
  const auto status = snacks_of(pair, pdu::SnackType::status);
  const auto data = snacks_of(pair, pdu::SnackType::data_r2t);
  ASSERT_EQ(status.size(), 1u);
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].beg_run, 3u);
  EXPECT_EQ(data[0].run_length, 0u);
  EXPECT_EQ(pair.session.stats().status_recovered, 1u);
  EXPECT_EQ(pair.session.stats().datain_recovered, 1u);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::none);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// As above with a target that counts the Data-In it sent in the SCSI Response's ExpDataSN
// (RFC 7143 11.4.8): the same Data SNACK, from the first DataSN missing.
TEST(SessionErl1, ALostFinalDataInIsFoundByTheResponsesExpDataSn) {
  FakeTargetConfig cfg = erl1();
  cfg.response_counts_data_in = true;
  Pair pair(cfg);
  pair.target.disk() = pattern(pair.target.disk().size(), 29);
  pair.target.tamper = lose_status_once({0});
  auto id = pair.session.submit(read_request(0, 32768), pair.now);
  ASSERT_TRUE(id && pair.session.submit(read_request(64, 4096), pair.now));
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 2u);
  expect_read_of_disk(pair, done[0].id == *id ? done[0] : done[1], 0, 32768);
  const auto data = snacks_of(pair, pdu::SnackType::data_r2t);
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].beg_run, 3u);
  EXPECT_EQ(data[0].run_length, 0u);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// The last two Data-In of a read are lost, the status with them: how many is not known (LIO's
// ExpDataSN is 0), so the Data SNACK asks for "DataSN 2 and all after it", and the PDUs that
// come are taken in order until the one with the status.
TEST(SessionErl1, ALostTailOfSeveralDataInIsTakenInOrderUntilTheStatus) {
  Pair pair(erl1());
  pair.target.disk() = pattern(pair.target.disk().size(), 31);
  auto lost = std::make_shared<std::set<std::uint32_t>>();
  pair.target.tamper = [lost](pdu::Pdu& p) {
    auto* d = std::get_if<pdu::DataIn>(&p);
    if (d == nullptr || d->buffer_offset + d->data.size() > 32768 || d->data.size() != 8192) {
      return true;
    }
    const std::uint32_t sn = d->data_sn.value();
    if (sn < 2 || lost->count(sn) != 0) return true;
    lost->insert(sn);
    return false;  // DataSN 2 and 3 of the first read, the first time
  };
  auto id = pair.session.submit(read_request(0, 32768), pair.now);
  ASSERT_TRUE(id && pair.session.submit(read_request(64, 4096), pair.now));
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 2u);
  const Completion& big = done[0].id == *id ? done[0] : done[1];
  expect_read_of_disk(pair, big, 0, 32768);
  const auto data = snacks_of(pair, pdu::SnackType::data_r2t);
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].beg_run, 2u);
  EXPECT_EQ(data[0].run_length, 0u);
  EXPECT_EQ(pair.session.stats().datain_recovered, 2u);
  EXPECT_EQ(pair.session.exp_stat_sn(Pair::kCid), pair.target.stat_sn());
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

// The last status of all is lost: nothing follows it but the target's NOP-In, whose StatSN is
// the next one. The initiator asks for the skipped one.
TEST(SessionErl1, AStatusLostAtTheTailIsFoundByTheTargetsNopIn) {
  FakeTargetConfig cfg = erl1();
  cfg.phase_collapse = false;
  Pair pair(cfg);
  pair.target.tamper = lose_status_once({0});
  auto id = pair.session.submit(read_request(0, 4096), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  EXPECT_TRUE(pair.completions().empty());
  EXPECT_TRUE(snacks_of(pair, pdu::SnackType::status).empty());
  pair.target.send_window_update();  // a NOP-In with ITT and TTT reserved: the next StatSN
  pair.pump();
  ASSERT_EQ(snacks_of(pair, pdu::SnackType::status).size(), 1u);
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
  EXPECT_EQ(pair.session.exp_stat_sn(Pair::kCid), pair.target.stat_sn());
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

TEST(SessionErl1, AnUnansweredStatusSnackIsSentOnceMoreThenTheConnectionFails) {
  FakeTargetConfig cfg = erl1();
  cfg.phase_collapse = false;
  Pair pair(cfg);
  const SerialNumber lost = pair.target.stat_sn();
  pair.target.tamper = [lost](pdu::Pdu& p) {  // the first status is lost for good
    auto* r = std::get_if<pdu::ScsiResponse>(&p);
    return r == nullptr || r->stat_sn != lost;
  };
  ASSERT_TRUE(pair.session.submit(read_request(0, 4096), pair.now));
  ASSERT_TRUE(pair.session.submit(read_request(8, 4096), pair.now));
  pair.pump();
  ASSERT_EQ(snacks_of(pair, pdu::SnackType::status).size(), 1u);
  const Duration timeout = pair.session.config().snack_timeout;
  pair.advance(timeout);
  pair.pump();
  ASSERT_EQ(snacks_of(pair, pdu::SnackType::status).size(), 2u);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::none);
  pair.advance(timeout);
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::proto);
  EXPECT_NE(pair.session.connection_error_detail(Pair::kCid).find("Status SNACKs"),
            std::string::npos)
      << pair.session.connection_error_detail(Pair::kCid);
}

// At ERL 0 a StatSN gap is still a protocol error that fails the connection.
TEST(SessionErl1, AtErl0AStatSnGapFailsTheConnection) {
  FakeTargetConfig cfg = erl1();
  cfg.error_recovery_level = 0;
  cfg.phase_collapse = false;
  Pair pair(cfg);
  pair.target.tamper = lose_status_once({0});
  ASSERT_TRUE(pair.session.submit(read_request(0, 4096), pair.now));
  ASSERT_TRUE(pair.session.submit(read_request(8, 4096), pair.now));
  pair.pump();
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::proto);
  EXPECT_TRUE(pair.target.snacks.empty());
}

}  // namespace
}  // namespace iscsi::session::test
