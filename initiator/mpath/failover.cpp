// The failover decision and the list of commands that may be sent again.
#include "mpath/failover.hpp"

#include <algorithm>

#include "proto/scsi/cdb.hpp"
#include "proto/scsi/sense.hpp"
#include "proto/scsi/status.hpp"

namespace iscsi::mpath {

namespace {

// Operation codes (SPC-4 annex D, SBC-4 table 12) the resend rule names.
namespace op {
constexpr std::uint8_t kTestUnitReady = 0x00;
constexpr std::uint8_t kRead6 = 0x08;
constexpr std::uint8_t kWrite6 = 0x0A;
constexpr std::uint8_t kInquiry = 0x12;
constexpr std::uint8_t kReserve6 = 0x16;
constexpr std::uint8_t kRelease6 = 0x17;
constexpr std::uint8_t kModeSense6 = 0x1A;
constexpr std::uint8_t kReadCapacity10 = 0x25;
constexpr std::uint8_t kRead10 = 0x28;
constexpr std::uint8_t kWrite10 = 0x2A;
constexpr std::uint8_t kWriteAndVerify10 = 0x2E;
constexpr std::uint8_t kVerify10 = 0x2F;
constexpr std::uint8_t kSynchronizeCache10 = 0x35;
constexpr std::uint8_t kWriteSame10 = 0x41;
constexpr std::uint8_t kUnmap = 0x42;
constexpr std::uint8_t kReserve10 = 0x56;
constexpr std::uint8_t kRelease10 = 0x57;
constexpr std::uint8_t kModeSense10 = 0x5A;
constexpr std::uint8_t kPersistentReserveIn = 0x5E;
constexpr std::uint8_t kPersistentReserveOut = 0x5F;
constexpr std::uint8_t kRead16 = 0x88;
constexpr std::uint8_t kCompareAndWrite = 0x89;
constexpr std::uint8_t kWrite16 = 0x8A;
constexpr std::uint8_t kWriteAndVerify16 = 0x8E;
constexpr std::uint8_t kVerify16 = 0x8F;
constexpr std::uint8_t kSynchronizeCache16 = 0x91;
constexpr std::uint8_t kWriteSame16 = 0x93;
constexpr std::uint8_t kServiceActionIn16 = 0x9E;  // READ CAPACITY(16), ...
constexpr std::uint8_t kReportLuns = 0xA0;
constexpr std::uint8_t kMaintenanceIn = 0xA3;      // REPORT TARGET PORT GROUPS, ...
constexpr std::uint8_t kRead12 = 0xA8;
constexpr std::uint8_t kWrite12 = 0xAA;
constexpr std::uint8_t kWriteAndVerify12 = 0xAE;
constexpr std::uint8_t kVerify12 = 0xAF;
}  // namespace op

// Reads (and PERSISTENT RESERVE IN, a read of the registrations) and idempotent writes.
constexpr std::uint8_t kResendable[] = {
    op::kTestUnitReady, op::kRead6,  op::kWrite6,  op::kInquiry, op::kModeSense6,
    op::kReadCapacity10, op::kRead10, op::kWrite10, op::kWriteAndVerify10, op::kVerify10,
    op::kSynchronizeCache10, op::kWriteSame10, op::kUnmap, op::kModeSense10,
    op::kPersistentReserveIn, op::kRead16, op::kWrite16, op::kWriteAndVerify16, op::kVerify16,
    op::kSynchronizeCache16, op::kWriteSame16, op::kServiceActionIn16, op::kReportLuns,
    op::kMaintenanceIn, op::kRead12, op::kWrite12, op::kWriteAndVerify12, op::kVerify12,
};

std::string command_words(ByteSpan cdb) {
  if (cdb.empty()) return "an empty CDB";
  scsi::Cdb c;
  c.length = static_cast<std::uint8_t>(std::min<std::size_t>(cdb.size(), scsi::Cdb::kMaxLength));
  std::copy_n(cdb.begin(), c.length, c.bytes.begin());
  const auto name = scsi::command_name(c);
  if (name != "UNKNOWN") return std::string(name);
  switch (cdb[0]) {
    case op::kCompareAndWrite: return "COMPARE AND WRITE";
    case op::kPersistentReserveOut: return "PERSISTENT RESERVE OUT";
    case op::kReserve6: case op::kReserve10: return "RESERVE";
    case op::kRelease6: case op::kRelease10: return "RELEASE";
    default: {
      static const char* digits = "0123456789abcdef";
      return std::string("operation code 0x") + digits[cdb[0] >> 4] + digits[cdb[0] & 0xF];
    }
  }
}

}  // namespace

Resend may_resend(ByteSpan cdb, pdu::TaskAttribute attr) noexcept {
  if (attr == pdu::TaskAttribute::ordered || attr == pdu::TaskAttribute::head_of_queue ||
      attr == pdu::TaskAttribute::aca) {
    return Resend::ordering;
  }
  if (cdb.empty()) return Resend::unknown_command;
  switch (cdb[0]) {
    case op::kCompareAndWrite:
    case op::kPersistentReserveOut:
    case op::kReserve6:
    case op::kReserve10:
    case op::kRelease6:
    case op::kRelease10:
      return Resend::not_idempotent;
    default:
      break;
  }
  for (std::uint8_t code : kResendable) {
    if (code == cdb[0]) return Resend::allowed;
  }
  return Resend::unknown_command;
}

std::string_view to_string(Resend r) noexcept {
  switch (r) {
    case Resend::allowed: return "may be sent again";
    case Resend::not_idempotent: return "not idempotent";
    case Resend::ordering: return "its task attribute orders it against other commands";
    case Resend::unknown_command: return "not known to be idempotent";
  }
  return "unknown";
}

bool is_transport_error(net::Errc e) noexcept {
  switch (e) {
    case net::Errc::connect_failed:
    case net::Errc::login_timeout:
    case net::Errc::login_rejected:
    case net::Errc::login_protocol_error:
    case net::Errc::login_retries_exhausted:
    case net::Errc::replacement_timeout:
    case net::Errc::reopen_max_exceeded:
    case net::Errc::session_closed:
    case net::Errc::task_failed:
    case net::Errc::nop_timeout:
    case net::Errc::session_limit:
      return true;
    default:
      return false;
  }
}

Decision decide(ByteSpan cdb, pdu::TaskAttribute attr, const session::ScsiResult* result,
                const std::exception_ptr& error, unsigned alua_resends) {
  Decision d;
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const net::NetError& e) {
      if (!is_transport_error(e.errc())) return d;  // aborted, rejected, bad argument: the caller's
      d.path_event = PathEvent::io_transport_error;
      const Resend r = may_resend(cdb, attr);
      if (r == Resend::allowed) {
        d.verdict = Decision::Verdict::resend;
        d.why = command_words(cdb) + " got no status: " + e.what();
      } else {
        d.verdict = Decision::Verdict::fail;
        d.why = command_words(cdb) + " is not sent again on another path (" +
                std::string(to_string(r)) + "; it may have run): " + e.what();
      }
      return d;
    } catch (...) {
      return d;
    }
  }
  if (result == nullptr || result->status != static_cast<std::uint8_t>(scsi::Status::check_condition) ||
      !result->sense) {
    return d;
  }
  const auto alua = scsi::classify_alua_sense(*result->sense);
  if (alua == scsi::AluaSense::none) return d;
  d.refresh_alua = scsi::needs_rtpg(alua);
  if (scsi::not_accessible(alua)) d.path_event = PathEvent::io_not_accessible;
  if (alua_resends >= kMaxAluaResends) {
    d.why = command_words(cdb) + ": " + scsi::to_string(*result->sense) + " after " +
            std::to_string(alua_resends) + " resends";
    return d;
  }
  d.verdict = Decision::Verdict::resend;
  d.why = command_words(cdb) + ": " + scsi::to_string(*result->sense);
  return d;
}

}  // namespace iscsi::mpath
