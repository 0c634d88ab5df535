// Target misbehaviour: each violation fails the connection with the ConnError the Linux
// initiator would report, and the outstanding tasks move to the retry list.
#include <gtest/gtest.h>

#include "fake_target.hpp"

namespace iscsi::session::test {
namespace {

using namespace std::chrono_literals;

bool has_event(const std::vector<Event>& evs, EventKind kind, ConnError err = ConnError::none) {
  for (const auto& e : evs) {
    if (e.kind == kind && (err == ConnError::none || e.conn_error == err)) return true;
  }
  return false;
}

// Writes a pattern at LBA 0 so that reads return known data.
void prime(Pair& pair, std::size_t bytes) {
  ByteVector data = pattern(bytes, 3);
  std::copy(data.begin(), data.end(), pair.target.disk().begin());
}

void expect_failed(Pair& pair, ConnError err) {
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), err)
      << kernel_name(pair.session.connection_error(Pair::kCid)) << ": "
      << pair.session.connection_error_detail(Pair::kCid);
  EXPECT_EQ(pair.session.connection_state(Pair::kCid), ConnState::cleanup_wait);
  EXPECT_EQ(pair.session.state(), SessionState::failed);
  auto evs = pair.events();
  EXPECT_TRUE(has_event(evs, EventKind::conn_error, err));
}

TEST(SessionErrors, DataSnGapIsDatasn) {
  FakeTargetConfig cfg;
  cfg.initiator_mrdsl = 512;
  Pair pair(cfg);
  prime(pair, 4096);
  int n = 0;
  pair.target.tamper = [&](pdu::Pdu& p) {
    if (auto* d = std::get_if<pdu::DataIn>(&p); d && n++ == 2) d->data_sn = SerialNumber{7};
    return true;
  };
  auto id = pair.session.submit(read_request(0, 4096), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  expect_failed(pair, ConnError::datasn);
  EXPECT_TRUE(pair.completions().empty());
  EXPECT_EQ(pair.session.retry_list(), std::vector<TaskId>{*id});
}

TEST(SessionErrors, StatSnOutOfOrderIsProto) {
  Pair pair;
  pair.target.tamper = [&](pdu::Pdu& p) {
    if (auto* r = std::get_if<pdu::ScsiResponse>(&p)) r->stat_sn = r->stat_sn + 1;
    return true;
  };
  ScsiRequest tur;
  tur.cdb = cdb_bytes(scsi::test_unit_ready());
  ASSERT_TRUE(pair.session.submit(tur, pair.now));
  pair.pump();
  expect_failed(pair, ConnError::proto);
}

TEST(SessionErrors, ExpStatSnAdvancesWithEachStatus) {
  Pair pair;
  const SerialNumber start = pair.session.exp_stat_sn(Pair::kCid);
  ScsiRequest tur;
  tur.cdb = cdb_bytes(scsi::test_unit_ready());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pair.session.submit(tur, pair.now));
  pair.pump();
  EXPECT_EQ(pair.session.exp_stat_sn(Pair::kCid), start + 3);
  EXPECT_TRUE(pair.target.violations.empty());  // target saw ExpStatSN in step
}

TEST(SessionErrors, UnknownIttIsBadItt) {
  Pair pair;
  pdu::ScsiResponse r;
  r.itt = 0x7777;
  r.stat_sn = pair.target.stat_sn();
  pair.target.send_raw(r);
  pair.pump();
  expect_failed(pair, ConnError::bad_itt);
}

TEST(SessionErrors, LateAnswerForRetiredIttIsDroppedNotFatal) {
  Pair pair;
  pair.target.hold_commands = true;
  ScsiRequest tur;
  tur.cdb = cdb_bytes(scsi::test_unit_ready());
  auto id = pair.session.submit(tur, pair.now);
  ASSERT_TRUE(id);
  const std::uint32_t itt = *pair.session.itt_of(*id);
  pair.pump();
  TmfRequest abort;
  abort.function = pdu::TmfFunction::abort_task;
  abort.referenced = *id;
  ASSERT_TRUE(pair.session.submit_tmf(abort, pair.now));
  pair.pump();
  ASSERT_EQ(pair.completions().size(), 2u);
  // The target answers the aborted command anyway.
  pdu::ScsiResponse late;
  late.itt = itt;
  late.stat_sn = pair.target.stat_sn();
  late.exp_cmd_sn = pair.target.exp_cmd_sn();
  late.max_cmd_sn = pair.target.exp_cmd_sn() + 8;
  pair.target.send_raw(late);
  pair.pump();
  EXPECT_EQ(pair.session.state(), SessionState::logged_in);
  auto evs = pair.events();
  EXPECT_TRUE(has_event(evs, EventKind::dropped_pdu, ConnError::no_scsi_cmd));
  EXPECT_TRUE(pair.receive_errors.empty());
}

TEST(SessionErrors, R2tWithBadOffsetIsDataOffset) {
  FakeTargetConfig cfg;
  cfg.immediate_data = false;
  Pair pair(cfg);
  pair.target.tamper = [&](pdu::Pdu& p) {
    if (auto* r = std::get_if<pdu::R2T>(&p)) r->buffer_offset = 4096;
    return true;
  };
  ByteVector data = pattern(4096, 1);
  ASSERT_TRUE(pair.session.submit(write_request(0, data), pair.now));
  pair.pump();
  expect_failed(pair, ConnError::data_offset);
}

TEST(SessionErrors, R2tSnOutOfOrderIsR2tsn) {
  FakeTargetConfig cfg;
  cfg.immediate_data = false;
  Pair pair(cfg);
  pair.target.tamper = [&](pdu::Pdu& p) {
    if (auto* r = std::get_if<pdu::R2T>(&p)) r->r2t_sn = SerialNumber{1};
    return true;
  };
  ByteVector data = pattern(4096, 1);
  ASSERT_TRUE(pair.session.submit(write_request(0, data), pair.now));
  pair.pump();
  expect_failed(pair, ConnError::r2tsn);
}

TEST(SessionErrors, R2tOverMaxBurstIsDatalen) {
  FakeTargetConfig cfg;
  cfg.immediate_data = false;
  cfg.max_burst_length = 4096;
  cfg.first_burst_length = 4096;
  Pair pair(cfg);
  pair.target.tamper = [&](pdu::Pdu& p) {
    if (auto* r = std::get_if<pdu::R2T>(&p)) r->desired_data_transfer_length = 8192;
    return true;
  };
  ByteVector data = pattern(8192, 1);
  ASSERT_TRUE(pair.session.submit(write_request(0, data), pair.now));
  pair.pump();
  expect_failed(pair, ConnError::datalen);
}

TEST(SessionErrors, MoreR2tsThanMaxOutstandingIsProto) {
  FakeTargetConfig cfg;
  cfg.immediate_data = false;
  cfg.max_burst_length = 4096;
  cfg.first_burst_length = 4096;
  cfg.max_outstanding_r2t = 2;  // the target sends two at once...
  Pair pair(cfg);
  auto sc = make_session_config(cfg);
  sc.params.max_outstanding_r2t = 1;  // ...but the initiator negotiated one
  pair.session = Session(sc, pair.now);
  ByteVector data = pattern(16384, 1);
  ASSERT_TRUE(pair.session.submit(write_request(0, data), pair.now));
  // Deliver the command, then both R2Ts before the session can drain its Data-Out.
  auto cmd = pair.session.pop_pdu(Pair::kCid);
  ASSERT_TRUE(cmd);
  pair.target.receive(*cmd);
  while (auto p = pair.target.pop()) pair.deliver(*p);
  expect_failed(pair, ConnError::proto);
}

TEST(SessionErrors, DataPastTheBufferIsDataOffset) {
  Pair pair;
  prime(pair, 8192);
  pair.target.tamper = [&](pdu::Pdu& p) {
    if (auto* d = std::get_if<pdu::DataIn>(&p)) d->buffer_offset += 512;
    return true;
  };
  ASSERT_TRUE(pair.session.submit(read_request(0, 4096), pair.now));
  pair.pump();
  expect_failed(pair, ConnError::data_offset);
}

TEST(SessionErrors, DataInWithExtraBytesIsDataOffset) {
  Pair pair;
  pair.target.tamper = [&](pdu::Pdu& p) {
    if (auto* d = std::get_if<pdu::DataIn>(&p)) d->data.resize(d->data.size() + 4);
    return true;
  };
  ASSERT_TRUE(pair.session.submit(read_request(0, 512), pair.now));
  pair.pump();
  expect_failed(pair, ConnError::data_offset);
}

TEST(SessionErrors, OpcodeThatMustNotArriveIsProto) {
  Pair pair;
  pdu::Pdu login = pdu::LoginResponse{};
  EXPECT_EQ(pair.session.receive(Pair::kCid, login, pair.now),
            make_error_code(Errc::connection_failed));
  expect_failed(pair, ConnError::proto);
}

TEST(SessionErrors, FramerFailureIsClassified) {
  Pair pair;
  pdu::Diagnostic diag;
  diag.errc = pdu::Errc::header_digest;
  diag.conn_error = ConnError::hdr_dgst;
  pair.session.on_receive_error(Pair::kCid, diag, pair.now);
  expect_failed(pair, ConnError::hdr_dgst);
  EXPECT_EQ(pair.session.stats().digest_err, 1u);
}

TEST(SessionErrors, InputAfterFailureIsRefused) {
  Pair pair;
  pair.session.on_transport_error(Pair::kCid, ConnError::tcp_conn_close, pair.now);
  pdu::Pdu nop = pdu::NopIn{};
  EXPECT_EQ(pair.session.receive(Pair::kCid, nop, pair.now),
            make_error_code(Errc::not_logged_in));
  ScsiRequest tur;
  tur.cdb = cdb_bytes(scsi::test_unit_ready());
  EXPECT_EQ(pair.session.submit(tur, pair.now).error(), make_error_code(Errc::not_logged_in));
}

// --- the CmdSN window --------------------------------------------------------------------------

TEST(SessionWindow, ClosedWindowHoldsCommandsUntilNopInOpensIt) {
  FakeTargetConfig cfg;
  cfg.window = 0;  // MaxCmdSN = ExpCmdSN - 1
  Pair pair(cfg);
  EXPECT_FALSE(pair.session.window_open());
  ScsiRequest tur;
  tur.cdb = cdb_bytes(scsi::test_unit_ready());
  auto a = pair.session.submit(tur, pair.now);
  auto b = pair.session.submit(tur, pair.now);
  ASSERT_TRUE(a && b);
  pair.pump();
  EXPECT_TRUE(pair.target.commands.empty());
  EXPECT_EQ(pair.session.waiting(), 2u);
  pair.target.set_window(1);
  pair.target.send_window_update();
  pair.pump();
  // One slot: the first goes, its response moves the window on, then the second.
  EXPECT_EQ(pair.target.commands.size(), 2u);
  EXPECT_EQ(pair.target.commands[0].cmd_sn, SerialNumber{1});
  EXPECT_EQ(pair.target.commands[1].cmd_sn, SerialNumber{2});
  EXPECT_EQ(pair.completions().size(), 2u);
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

TEST(SessionWindow, ImmediatePdusGoWhileTheWindowIsClosed) {
  FakeTargetConfig cfg;
  cfg.window = 0;
  Pair pair(cfg);
  auto id = pair.session.ping(pair.now, ByteVector{1, 2, 3});
  ASSERT_TRUE(id);
  auto p = pair.session.pop_pdu(Pair::kCid);
  ASSERT_TRUE(p);
  const auto& nop = std::get<pdu::NopOut>(*p);
  EXPECT_TRUE(nop.immediate);
  EXPECT_EQ(nop.ttt, pdu::kReservedTag);
  EXPECT_EQ(nop.cmd_sn, SerialNumber{1});
  EXPECT_EQ(pair.session.cmd_sn(), SerialNumber{1});  // not advanced
  pair.target.receive(*p);
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].kind, TaskKind::nop);
  EXPECT_EQ(done[0].ping_data, (ByteVector{1, 2, 3}));
}

TEST(SessionWindow, InvalidWindowIsIgnored) {
  Pair pair;
  const SerialNumber max = pair.session.max_cmd_sn();
  pdu::NopIn n;
  n.exp_cmd_sn = SerialNumber{100};
  n.max_cmd_sn = SerialNumber{50};  // MaxCmdSN < ExpCmdSN - 1: both ignored
  ASSERT_FALSE(pair.session.receive(Pair::kCid, n, pair.now));
  EXPECT_EQ(pair.session.max_cmd_sn(), max);
  EXPECT_EQ(pair.session.exp_cmd_sn(), SerialNumber{1});
  n.exp_cmd_sn = SerialNumber{1};
  n.max_cmd_sn = SerialNumber{1} + 0x80000000u;  // window of 2^31 + 1: ignored
  ASSERT_FALSE(pair.session.receive(Pair::kCid, n, pair.now));
  EXPECT_EQ(pair.session.max_cmd_sn(), max);
  n.max_cmd_sn = SerialNumber{40};
  ASSERT_FALSE(pair.session.receive(Pair::kCid, n, pair.now));
  EXPECT_EQ(pair.session.max_cmd_sn(), SerialNumber{40});
}

TEST(SessionWindow, WindowAcrossSerialWrap) {
  FakeTargetConfig cfg;
  cfg.first_cmd_sn = 0xFFFFFFFEu;
  cfg.window = 4;
  Pair pair(cfg);
  ScsiRequest tur;
  tur.cdb = cdb_bytes(scsi::test_unit_ready());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(pair.session.submit(tur, pair.now));
  pair.pump();
  EXPECT_EQ(pair.completions().size(), 6u);
  EXPECT_EQ(pair.session.cmd_sn(), SerialNumber{4});
  EXPECT_TRUE(pair.target.violations.empty()) << pair.target.violations.front();
}

TEST(SessionItt, SkipsReservedTagAndTagsInFlight) {
  FakeTargetConfig cfg;
  Pair pair(cfg);
  auto sc = make_session_config(cfg);
  sc.first_itt = 0xFFFFFFFEu;
  pair.session = Session(sc, pair.now);
  pair.target.hold_commands = true;
  ScsiRequest tur;
  tur.cdb = cdb_bytes(scsi::test_unit_ready());
  auto a = pair.session.submit(tur, pair.now);
  auto b = pair.session.submit(tur, pair.now);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*pair.session.itt_of(*a), 0xFFFFFFFEu);
  EXPECT_EQ(*pair.session.itt_of(*b), 0u);
}

}  // namespace
}  // namespace iscsi::session::test

namespace iscsi::session::test {
namespace {

TEST(SessionErrorsMore, DataAckBitIsIgnoredAtErl0) {
  Pair pair;
  pair.target.tamper = [](pdu::Pdu& p) {
    if (auto* d = std::get_if<pdu::DataIn>(&p)) d->acknowledge = true;
    return true;
  };
  ASSERT_TRUE(pair.session.submit(read_request(0, 2048), pair.now));
  pair.pump();
  auto done = pair.completions();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].outcome, TaskOutcome::completed);
  EXPECT_EQ(pair.session.stats().snack_pdus, 0u);
}

TEST(SessionErrorsMore, TextResponseWithFAndCIsProto) {
  Pair pair;
  pair.target.tamper = [](pdu::Pdu& p) {
    if (auto* t = std::get_if<pdu::TextResponse>(&p)) t->cont = true;  // F=1 already
    return true;
  };
  ASSERT_TRUE(pair.session.send_text({{"SendTargets", "All"}}, pair.now));
  pair.pump();
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::proto);
}

TEST(SessionErrorsMore, PingAnswerWithTttIsProto) {
  Pair pair;
  pair.target.tamper = [](pdu::Pdu& p) {
    if (auto* n = std::get_if<pdu::NopIn>(&p)) n->ttt = 5;
    return true;
  };
  ASSERT_TRUE(pair.session.ping(pair.now));
  pair.pump();
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::proto);
}

TEST(SessionErrorsMore, R2tForAReadIsProto) {
  Pair pair;
  pair.target.hold_commands = true;
  auto id = pair.session.submit(read_request(0, 512), pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  pdu::R2T r;
  r.itt = *pair.session.itt_of(*id);
  r.ttt = 1;
  r.desired_data_transfer_length = 512;
  pair.target.send_raw(r);
  pair.pump();
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::proto);
}

TEST(SessionErrorsMore, ResponseKindMismatchIsBadItt) {
  Pair pair;
  pair.target.silent = true;
  auto id = pair.session.ping(pair.now);
  ASSERT_TRUE(id);
  pair.pump();
  pdu::ScsiResponse r;  // a SCSI Response carrying the ping's ITT
  r.itt = *pair.session.itt_of(*id);
  r.stat_sn = SerialNumber{0x100};
  ASSERT_EQ(pair.session.receive(Pair::kCid, r, pair.now),
            make_error_code(Errc::connection_failed));
  EXPECT_EQ(pair.session.connection_error(Pair::kCid), ConnError::bad_itt);
}

// The receive path does not care how the byte stream is cut: split the target's whole answer
// at every offset and get the same completions.
TEST(SessionGrind, TargetStreamSplitAtEveryOffset) {
  FakeTargetConfig cfg;
  cfg.initiator_mrdsl = 512;
  Pair probe(cfg);
  ByteVector stream;
  {
    std::copy_n(pattern(2048, 8).begin(), 2048, probe.target.disk().begin());
    ASSERT_TRUE(probe.session.submit(read_request(0, 2048), probe.now));
    ASSERT_TRUE(probe.session.ping(probe.now, ByteVector{9, 9}));
    while (auto p = probe.session.pop_pdu(Pair::kCid)) probe.target.receive(*p);
    while (auto p = probe.target.pop()) {
      auto bytes = pdu::encode(*p);
      ASSERT_TRUE(bytes);
      stream.insert(stream.end(), bytes->begin(), bytes->end());
    }
  }
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    Pair pair(cfg);
    ASSERT_TRUE(pair.session.submit(read_request(0, 2048), pair.now));
    ASSERT_TRUE(pair.session.ping(pair.now, ByteVector{9, 9}));
    while (pair.session.pop_pdu(Pair::kCid)) {
    }
    pdu::Framer framer({.receive = pdu::Direction::target_to_initiator,
                        .max_recv_data_segment_length = 512});
    for (ByteSpan part : {ByteSpan(stream).first(cut), ByteSpan(stream).subspan(cut)}) {
      framer.feed(part);
      while (auto next = framer.next()) {
        if (!*next) break;
        ASSERT_FALSE(pair.session.receive(Pair::kCid, **next, pair.now));
      }
    }
    auto done = pair.completions();
    ASSERT_EQ(done.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(done[0].scsi.data, pattern(2048, 8));
    EXPECT_EQ(done[1].ping_data, (ByteVector{9, 9}));
  }
}

}  // namespace
}  // namespace iscsi::session::test
