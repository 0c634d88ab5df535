// The failover decision and the checker's reading of TEST UNIT READY, against fake outcomes.
#include <gtest/gtest.h>

#include "mpath/checker.hpp"
#include "mpath/failover.hpp"
#include "proto/scsi/cdb.hpp"
#include "proto/scsi/sense.hpp"

namespace iscsi::mpath {
namespace {

using Verdict = Decision::Verdict;

ByteVector cdb_of(const scsi::Cdb& c) { return {c.bytes.begin(), c.bytes.begin() + c.length}; }
ByteVector read16() { return cdb_of(*scsi::read16(0, 8)); }
ByteVector write16() { return cdb_of(*scsi::write16(0, 8)); }
ByteVector op(std::uint8_t code) { return ByteVector{code, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}; }

std::exception_ptr net_error(net::Errc e, const std::string& what = "x") {
  return std::make_exception_ptr(net::NetError(e, what));
}

session::ScsiResult check_condition(scsi::SenseKey k, std::uint8_t asc, std::uint8_t ascq) {
  session::ScsiResult r;
  r.status = 0x02;
  r.sense_raw = scsi::build_fixed_sense(k, asc, ascq);
  r.sense = *scsi::decode_sense(r.sense_raw);
  return r;
}

TEST(MpathFailover, WhatMayBeSentAgain) {
  using pdu::TaskAttribute;
  for (const auto& c : {read16(), write16(), cdb_of(scsi::test_unit_ready()),
                        cdb_of(scsi::inquiry(36)), cdb_of(*scsi::synchronize_cache16()),
                        cdb_of(*scsi::report_target_port_groups(64)), op(0x28), op(0x2A),
                        op(0x93), op(0x42)}) {
    EXPECT_EQ(may_resend(c, TaskAttribute::simple), Resend::allowed) << int(c[0]);
  }
  EXPECT_EQ(may_resend(op(0x89), TaskAttribute::simple), Resend::not_idempotent);  // COMPARE AND WRITE
  EXPECT_EQ(may_resend(op(0x5F), TaskAttribute::simple), Resend::not_idempotent);  // PR OUT
  EXPECT_EQ(may_resend(op(0x16), TaskAttribute::simple), Resend::not_idempotent);  // RESERVE(6)
  EXPECT_EQ(may_resend(op(0x83), TaskAttribute::simple), Resend::unknown_command);  // EXTENDED COPY
  EXPECT_EQ(may_resend(op(0xC0), TaskAttribute::simple), Resend::unknown_command);  // vendor
  EXPECT_EQ(may_resend(write16(), TaskAttribute::ordered), Resend::ordering);
  EXPECT_EQ(may_resend(read16(), TaskAttribute::head_of_queue), Resend::ordering);
  EXPECT_EQ(may_resend(ByteVector{}, TaskAttribute::simple), Resend::unknown_command);
}

TEST(MpathFailover, TransportErrorsAreResentAndFailThePath) {
  for (auto e : {net::Errc::replacement_timeout, net::Errc::session_closed, net::Errc::task_failed,
                 net::Errc::connect_failed, net::Errc::nop_timeout}) {
    const auto d = decide(write16(), pdu::TaskAttribute::simple, nullptr, net_error(e), 0);
    EXPECT_EQ(d.verdict, Verdict::resend);
    EXPECT_EQ(d.path_event, PathEvent::io_transport_error);
    EXPECT_NE(d.why.find("WRITE(16) got no status"), std::string::npos) << d.why;
  }
}

TEST(MpathFailover, NotIdempotentCommandsFail) {
  const auto d = decide(op(0x89), pdu::TaskAttribute::simple, nullptr,
                        net_error(net::Errc::replacement_timeout, "replacement_timeout expired (2 s)"), 0);
  EXPECT_EQ(d.verdict, Verdict::fail);
  EXPECT_EQ(d.path_event, PathEvent::io_transport_error);  // the path still failed
  // NetError's what() is the detail, then the code's own words.
  EXPECT_EQ(d.why.rfind("COMPARE AND WRITE is not sent again on another path (not idempotent; "
                        "it may have run): replacement_timeout expired (2 s): ", 0), 0u) << d.why;
  const auto pr = decide(op(0x5F), pdu::TaskAttribute::simple, nullptr,
                         net_error(net::Errc::session_closed), 0);
  EXPECT_EQ(pr.verdict, Verdict::fail);
  EXPECT_NE(pr.why.find("PERSISTENT RESERVE OUT"), std::string::npos);
}

TEST(MpathFailover, CallerErrorsAndStatusesGoBack) {
  for (auto e : {net::Errc::task_aborted, net::Errc::task_rejected, net::Errc::invalid_argument}) {
    const auto d = decide(read16(), pdu::TaskAttribute::simple, nullptr, net_error(e), 0);
    EXPECT_EQ(d.verdict, Verdict::complete);
    EXPECT_FALSE(d.path_event);
  }
  session::ScsiResult good;
  EXPECT_EQ(decide(read16(), pdu::TaskAttribute::simple, &good, nullptr, 0).verdict, Verdict::complete);
  auto medium = check_condition(scsi::SenseKey::medium_error, 0x11, 0x00);
  EXPECT_EQ(decide(read16(), pdu::TaskAttribute::simple, &medium, nullptr, 0).verdict,
            Verdict::complete);
  auto ua = check_condition(scsi::SenseKey::unit_attention, 0x29, 0x00);
  EXPECT_EQ(decide(read16(), pdu::TaskAttribute::simple, &ua, nullptr, 0).verdict, Verdict::complete);
  session::ScsiResult conflict;
  conflict.status = 0x18;
  EXPECT_EQ(decide(write16(), pdu::TaskAttribute::simple, &conflict, nullptr, 0).verdict,
            Verdict::complete);
}

TEST(MpathFailover, AluaNotAccessibleSwitchesAndResendsAnyCommand) {
  for (const std::uint8_t ascq : {std::uint8_t{0x0A}, std::uint8_t{0x0B}, std::uint8_t{0x0C}}) {
    auto r = check_condition(scsi::SenseKey::not_ready, 0x04, ascq);
    // Even COMPARE AND WRITE: the device server did not run it.
    const auto d = decide(op(0x89), pdu::TaskAttribute::simple, &r, nullptr, 0);
    EXPECT_EQ(d.verdict, Verdict::resend);
    EXPECT_EQ(d.path_event, PathEvent::io_not_accessible);
    EXPECT_TRUE(d.refresh_alua);
  }
  auto changed = check_condition(scsi::SenseKey::unit_attention, 0x2A, 0x06);
  const auto d = decide(read16(), pdu::TaskAttribute::simple, &changed, nullptr, 0);
  EXPECT_EQ(d.verdict, Verdict::resend);
  EXPECT_FALSE(d.path_event);
  EXPECT_TRUE(d.refresh_alua);
  // Bounded: after kMaxAluaResends the answer goes to the caller.
  auto standby = check_condition(scsi::SenseKey::not_ready, 0x04, 0x0B);
  const auto last = decide(read16(), pdu::TaskAttribute::simple, &standby, nullptr, kMaxAluaResends);
  EXPECT_EQ(last.verdict, Verdict::complete);
  EXPECT_EQ(last.path_event, PathEvent::io_not_accessible);
}

TEST(MpathChecker, ReadsTestUnitReady) {
  session::ScsiResult good;
  EXPECT_EQ(classify_tur(&good, nullptr).kind, CheckOutcome::Kind::answered);
  auto ua = check_condition(scsi::SenseKey::unit_attention, 0x2A, 0x06);
  EXPECT_EQ(classify_tur(&ua, nullptr).kind, CheckOutcome::Kind::answered);
  EXPECT_EQ(classify_tur(&ua, nullptr).alua, scsi::AluaSense::state_changed);
  auto standby = check_condition(scsi::SenseKey::not_ready, 0x04, 0x0B);
  const auto g = classify_tur(&standby, nullptr);
  EXPECT_EQ(g.kind, CheckOutcome::Kind::ghost);
  EXPECT_EQ(state_of(g.alua), scsi::AccessState::standby);
  auto not_ready = check_condition(scsi::SenseKey::not_ready, 0x3A, 0x00);
  EXPECT_EQ(classify_tur(&not_ready, nullptr).kind, CheckOutcome::Kind::down);
  const auto down = classify_tur(nullptr, net_error(net::Errc::replacement_timeout, "replacement_timeout expired (5 s)"));
  EXPECT_EQ(down.kind, CheckOutcome::Kind::down);
  EXPECT_EQ(down.why.rfind("TEST UNIT READY: replacement_timeout expired (5 s): ", 0), 0u) << down.why;
  session::ScsiResult busy;
  busy.status = 0x08;
  EXPECT_EQ(classify_tur(&busy, nullptr).why, "TEST UNIT READY: status BUSY");
}

}  // namespace
}  // namespace iscsi::mpath
