// The BHS codec: one field map per PDU type, read and written through the same function so the
// encoder and decoder cannot disagree about an offset; the header rules every received PDU is
// checked against; AHS; digests; and the one-shot encode()/decode() of whole wire PDUs.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "proto/digest/crc32c.hpp"
#include "proto/pdu/codec_detail.hpp"
#include "proto/pdu/wire.hpp"

namespace iscsi::pdu {

namespace w = detail;

// The layout adds up: every named field ends inside the 48-byte BHS.
static_assert(kBhsLength == 48);
static_assert(w::kDataSegmentLength + 3 == w::kLun);
static_assert(w::kLun + 8 == w::kItt);
static_assert(w::scsi_command::kCdb + w::scsi_command::kCdbLength == kBhsLength);
static_assert(w::kResidualCount + 4 == kBhsLength);
static_assert(w::r2t::kDesiredDataTransferLength + 4 == kBhsLength);
static_assert(w::snack::kRunLength + 4 == kBhsLength);
static_assert(w::login::kIsid + 6 == w::login::kTsih);
static_assert(w::login::kTsih + 2 == w::kItt);
static_assert(w::async_message::kParameter3 + 2 + 4 == kBhsLength);
static_assert(w::logout::kTime2Retain + 2 + 4 == kBhsLength);
static_assert(std::variant_size_v<Pdu> == 18);
static_assert(kMaxDataSegmentLength == (1u << 24) - 1);

namespace {

std::string hex8(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", v & 0xFFu);
  return buf;
}
std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// ---- the field map: one function per type, shared by Reader and Writer ----------------------

class Reader {
 public:
  explicit Reader(const std::uint8_t* b) noexcept : b_(b) {}
  void bit(std::size_t off, std::uint8_t mask, bool& v) const noexcept { v = (b_[off] & mask) != 0; }
  template <class E>
  void bits(std::size_t off, std::uint8_t mask, unsigned shift, E& v) const noexcept {
    v = static_cast<E>((b_[off] & mask) >> shift);
  }
  template <class E>
  void u8(std::size_t off, E& v) const noexcept {
    v = static_cast<E>(b_[off]);
  }
  void u16(std::size_t off, std::uint16_t& v) const noexcept { v = load_be16(b_ + off); }
  void u32(std::size_t off, std::uint32_t& v) const noexcept { v = load_be32(b_ + off); }
  void u64(std::size_t off, std::uint64_t& v) const noexcept { v = load_be64(b_ + off); }
  void sn(std::size_t off, SerialNumber& v) const noexcept { v = SerialNumber(load_be32(b_ + off)); }
  void isid(std::size_t off, Isid& v) const noexcept { v = Isid::from_u48(load_be48(b_ + off)); }
  void cdb(std::size_t off, std::array<std::uint8_t, 16>& v) const noexcept {
    std::memcpy(v.data(), b_ + off, v.size());
  }

 private:
  const std::uint8_t* b_;
};

class Writer {
 public:
  explicit Writer(std::uint8_t* b) noexcept : b_(b) {}
  bool ok() const noexcept { return ok_; }
  void bit(std::size_t off, std::uint8_t mask, bool v) noexcept {
    if (v) b_[off] = static_cast<std::uint8_t>(b_[off] | mask);
  }
  // A value that does not fit its bits is refused rather than silently truncated.
  template <class E>
  void bits(std::size_t off, std::uint8_t mask, unsigned shift, E v) noexcept {
    const unsigned raw = static_cast<unsigned>(v) << shift;
    if ((raw & ~unsigned{mask}) != 0) ok_ = false;
    b_[off] = static_cast<std::uint8_t>(b_[off] | (raw & mask));
  }
  template <class E>
  void u8(std::size_t off, E v) noexcept {
    b_[off] = static_cast<std::uint8_t>(v);
  }
  void u16(std::size_t off, std::uint16_t v) noexcept { store_be16(b_ + off, v); }
  void u32(std::size_t off, std::uint32_t v) noexcept { store_be32(b_ + off, v); }
  void u64(std::size_t off, std::uint64_t v) noexcept { store_be64(b_ + off, v); }
  void sn(std::size_t off, SerialNumber v) noexcept { store_be32(b_ + off, v.value()); }
  void isid(std::size_t off, const Isid& v) noexcept {
    if (static_cast<unsigned>(v.type) > 3 || v.a > 0x3F) ok_ = false;
    store_be48(b_ + off, v.to_u48());
  }
  void cdb(std::size_t off, const std::array<std::uint8_t, 16>& v) noexcept {
    std::memcpy(b_ + off, v.data(), v.size());
  }

 private:
  std::uint8_t* b_;
  bool ok_ = true;
};

template <class P, class T>
constexpr bool is = std::is_same_v<std::remove_const_t<P>, T>;

// Everything of a type's BHS except the opcode byte's opcode bits, the always-1 F bit,
// TotalAHSLength, DataSegmentLength and the reserved ITT of Async/Reject (encode_bhs and
// decode_header handle those generically).
template <class Io, class P>
void map_fields(Io& io, P& p) {
  using namespace w;
  if constexpr (requires { p.immediate; }) io.bit(kOpcodeByte, kImmediateBit, p.immediate);
  if constexpr (requires { p.final_pdu; }) io.bit(kFlagsByte, kFinalBit, p.final_pdu);

  if constexpr (is<P, NopOut>) {
    io.u64(kLun, p.lun);
    io.u32(kItt, p.itt);
    io.u32(kTtt, p.ttt);
    io.sn(kCmdSn, p.cmd_sn);
    io.sn(kExpStatSn, p.exp_stat_sn);
  } else if constexpr (is<P, ScsiCommand>) {
    io.bit(kFlagsByte, scsi_command::kReadBit, p.read);
    io.bit(kFlagsByte, scsi_command::kWriteBit, p.write);
    io.bits(kFlagsByte, scsi_command::kAttrMask, 0, p.attr);
    io.u64(kLun, p.lun);
    io.u32(kItt, p.itt);
    io.u32(scsi_command::kExpectedDataTransferLength, p.expected_data_transfer_length);
    io.sn(kCmdSn, p.cmd_sn);
    io.sn(kExpStatSn, p.exp_stat_sn);
    io.cdb(scsi_command::kCdb, p.cdb);
  } else if constexpr (is<P, TaskMgmtRequest>) {
    io.bits(kFlagsByte, task_mgmt_request::kFunctionMask, 0, p.function);
    io.u64(kLun, p.lun);
    io.u32(kItt, p.itt);
    io.u32(task_mgmt_request::kReferencedTaskTag, p.referenced_task_tag);
    io.sn(kCmdSn, p.cmd_sn);
    io.sn(kExpStatSn, p.exp_stat_sn);
    io.sn(task_mgmt_request::kRefCmdSn, p.ref_cmd_sn);
    io.sn(task_mgmt_request::kExpDataSn, p.exp_data_sn);
  } else if constexpr (is<P, LoginRequest> || is<P, LoginResponse>) {
    io.bit(kFlagsByte, login::kTransitBit, p.transit);
    io.bit(kFlagsByte, login::kContinueBit, p.cont);
    io.bits(kFlagsByte, login::kCsgMask, login::kCsgShift, p.csg);
    io.bits(kFlagsByte, login::kNsgMask, 0, p.nsg);
    io.u8(login::kVersionMax, p.version_max);
    io.isid(login::kIsid, p.isid);
    io.u16(login::kTsih, p.tsih);
    io.u32(kItt, p.itt);
    if constexpr (is<P, LoginRequest>) {
      io.u8(login::kVersionMin, p.version_min);
      io.u16(login::kCid, p.cid);
      io.sn(kCmdSn, p.cmd_sn);
      io.sn(kExpStatSn, p.exp_stat_sn);
    } else {
      io.u8(login::kVersionActive, p.version_active);
      io.sn(kStatSn, p.stat_sn);
      io.sn(kExpCmdSn, p.exp_cmd_sn);
      io.sn(kMaxCmdSn, p.max_cmd_sn);
      io.u8(login::kStatusClass, p.status_class);
      io.u8(login::kStatusDetail, p.status_detail);
    }
  } else if constexpr (is<P, TextRequest>) {
    io.bit(kFlagsByte, text::kContinueBit, p.cont);
    io.u64(kLun, p.lun);
    io.u32(kItt, p.itt);
    io.u32(kTtt, p.ttt);
    io.sn(kCmdSn, p.cmd_sn);
    io.sn(kExpStatSn, p.exp_stat_sn);
  } else if constexpr (is<P, DataOut>) {
    io.u64(kLun, p.lun);
    io.u32(kItt, p.itt);
    io.u32(kTtt, p.ttt);
    io.sn(kExpStatSn, p.exp_stat_sn);
    io.sn(kDataSn, p.data_sn);
    io.u32(kBufferOffset, p.buffer_offset);
  } else if constexpr (is<P, LogoutRequest>) {
    io.bits(kFlagsByte, logout::kReasonMask, 0, p.reason);
    io.u32(kItt, p.itt);
    io.u16(logout::kCid, p.cid);
    io.sn(kCmdSn, p.cmd_sn);
    io.sn(kExpStatSn, p.exp_stat_sn);
  } else if constexpr (is<P, SnackRequest>) {
    io.bits(kFlagsByte, snack::kTypeMask, 0, p.type);
    io.u64(kLun, p.lun);
    io.u32(kItt, p.itt);
    io.u32(kTtt, p.ttt);
    io.sn(kExpStatSn, p.exp_stat_sn);
    io.u32(snack::kBegRun, p.beg_run);
    io.u32(snack::kRunLength, p.run_length);
  } else if constexpr (is<P, NopIn>) {
    io.u64(kLun, p.lun);
    io.u32(kItt, p.itt);
    io.u32(kTtt, p.ttt);
    io.sn(kStatSn, p.stat_sn);
    io.sn(kExpCmdSn, p.exp_cmd_sn);
    io.sn(kMaxCmdSn, p.max_cmd_sn);
  } else if constexpr (is<P, ScsiResponse>) {
    io.bit(kFlagsByte, scsi_response::kBidiOverflowBit, p.bidi_read_overflow);
    io.bit(kFlagsByte, scsi_response::kBidiUnderflowBit, p.bidi_read_underflow);
    io.bit(kFlagsByte, scsi_response::kOverflowBit, p.overflow);
    io.bit(kFlagsByte, scsi_response::kUnderflowBit, p.underflow);
    io.u8(scsi_response::kResponse, p.response);
    io.u8(scsi_response::kStatus, p.status);
    io.u32(kItt, p.itt);
    io.u32(scsi_response::kSnackTag, p.snack_tag);
    io.sn(kStatSn, p.stat_sn);
    io.sn(kExpCmdSn, p.exp_cmd_sn);
    io.sn(kMaxCmdSn, p.max_cmd_sn);
    io.sn(scsi_response::kExpDataSn, p.exp_data_sn);
    io.u32(scsi_response::kBidiReadResidualCount, p.bidi_read_residual_count);
    io.u32(kResidualCount, p.residual_count);
  } else if constexpr (is<P, TaskMgmtResponse>) {
    io.u8(task_mgmt_response::kResponse, p.response);
    io.u32(kItt, p.itt);
    io.sn(kStatSn, p.stat_sn);
    io.sn(kExpCmdSn, p.exp_cmd_sn);
    io.sn(kMaxCmdSn, p.max_cmd_sn);
  } else if constexpr (is<P, TextResponse>) {
    io.bit(kFlagsByte, text::kContinueBit, p.cont);
    io.u64(kLun, p.lun);
    io.u32(kItt, p.itt);
    io.u32(kTtt, p.ttt);
    io.sn(kStatSn, p.stat_sn);
    io.sn(kExpCmdSn, p.exp_cmd_sn);
    io.sn(kMaxCmdSn, p.max_cmd_sn);
  } else if constexpr (is<P, DataIn>) {
    io.bit(kFlagsByte, data::kAckBit, p.acknowledge);
    io.bit(kFlagsByte, data::kOverflowBit, p.overflow);
    io.bit(kFlagsByte, data::kUnderflowBit, p.underflow);
    io.bit(kFlagsByte, data::kStatusBit, p.status_present);
    io.u8(data::kStatus, p.status);
    io.u64(kLun, p.lun);
    io.u32(kItt, p.itt);
    io.u32(kTtt, p.ttt);
    io.sn(kStatSn, p.stat_sn);
    io.sn(kExpCmdSn, p.exp_cmd_sn);
    io.sn(kMaxCmdSn, p.max_cmd_sn);
    io.sn(kDataSn, p.data_sn);
    io.u32(kBufferOffset, p.buffer_offset);
    io.u32(kResidualCount, p.residual_count);
  } else if constexpr (is<P, LogoutResponse>) {
    io.u8(logout::kResponse, p.response);
    io.u32(kItt, p.itt);
    io.sn(kStatSn, p.stat_sn);
    io.sn(kExpCmdSn, p.exp_cmd_sn);
    io.sn(kMaxCmdSn, p.max_cmd_sn);
    io.u16(logout::kTime2Wait, p.time2wait);
    io.u16(logout::kTime2Retain, p.time2retain);
  } else if constexpr (is<P, R2T>) {
    io.u64(kLun, p.lun);
    io.u32(kItt, p.itt);
    io.u32(kTtt, p.ttt);
    io.sn(kStatSn, p.stat_sn);
    io.sn(kExpCmdSn, p.exp_cmd_sn);
    io.sn(kMaxCmdSn, p.max_cmd_sn);
    io.sn(r2t::kR2tSn, p.r2t_sn);
    io.u32(kBufferOffset, p.buffer_offset);
    io.u32(r2t::kDesiredDataTransferLength, p.desired_data_transfer_length);
  } else if constexpr (is<P, AsyncMessage>) {
    io.u64(kLun, p.lun);
    io.sn(kStatSn, p.stat_sn);
    io.sn(kExpCmdSn, p.exp_cmd_sn);
    io.sn(kMaxCmdSn, p.max_cmd_sn);
    io.u8(async_message::kAsyncEvent, p.async_event);
    io.u8(async_message::kAsyncVCode, p.async_vcode);
    io.u16(async_message::kParameter1, p.parameter1);
    io.u16(async_message::kParameter2, p.parameter2);
    io.u16(async_message::kParameter3, p.parameter3);
  } else if constexpr (is<P, Reject>) {
    io.u8(reject::kReason, p.reason);
    io.sn(kStatSn, p.stat_sn);
    io.sn(kExpCmdSn, p.exp_cmd_sn);
    io.sn(kMaxCmdSn, p.max_cmd_sn);
    io.sn(reject::kDataSnOrR2tSn, p.data_sn_or_r2t_sn);
  } else {
    static_assert(sizeof(P) == 0, "every PDU type needs a field map");
  }
}

// Constructs the alternative whose kOpcode is `raw`.
template <std::size_t I = 0>
bool emplace_for(std::uint8_t raw, Pdu& out) {
  if constexpr (I < std::variant_size_v<Pdu>) {
    using T = std::variant_alternative_t<I, Pdu>;
    if (static_cast<std::uint8_t>(T::kOpcode) == raw) {
      out.emplace<I>();
      return true;
    }
    return emplace_for<I + 1>(raw, out);
  } else {
    return false;
  }
}

// ---- AHS ------------------------------------------------------------------------------------

std::size_t ahs_bytes(ByteSpan extended_cdb, const std::optional<std::uint32_t>& bidi) noexcept {
  std::size_t n = 0;
  if (!extended_cdb.empty()) n += padded_length(w::ahs::kData + extended_cdb.size());
  if (bidi) n += w::ahs::kData + 4;
  return n;
}

// Writes the AHS area (ahs_bytes() long, already zeroed).
void write_ahs(ByteSpan extended_cdb, const std::optional<std::uint32_t>& bidi, std::uint8_t* out) {
  using namespace w::ahs;
  if (!extended_cdb.empty()) {
    // AHSLength counts the reserved AHS-specific byte plus the CDB bytes beyond 16.
    store_be16(out + kLength, static_cast<std::uint16_t>(extended_cdb.size() + 1));
    out[kType] = static_cast<std::uint8_t>(AhsType::extended_cdb);
    out[kSpecific] = 0;
    std::memcpy(out + kData, extended_cdb.data(), extended_cdb.size());
    out += padded_length(kData + extended_cdb.size());
  }
  if (bidi) {
    store_be16(out + kLength, kBidiAhsLength);
    out[kType] = static_cast<std::uint8_t>(AhsType::bidi_read_data_length);
    out[kSpecific] = 0;
    store_be32(out + kData, *bidi);
  }
}

const w::OpcodeRules& rules_of(std::uint8_t raw) noexcept { return w::kRules[raw & w::kOpcodeMask]; }

bool is_login(Opcode op) noexcept {
  return op == Opcode::login_request || op == Opcode::login_response;
}

// Reserved fields, the I bit, the always-1 F bit, the reserved ITT (strict mode only).
std::error_code check_strict(ByteSpan bhs, const w::OpcodeRules& rules, std::uint8_t raw,
                             Diagnostic* diag) {
  using namespace w;
  // Names are built only on the error path: the success path allocates nothing.
  const auto name = [raw] { return to_string(static_cast<Opcode>(raw)); };
  if (bhs[kOpcodeByte] & kOpcodeByteReservedBit) {
    return w::fail(diag, Errc::reserved_not_zero, raw,
                   name() + ": reserved bit 7 of byte 0 is set");
  }
  const bool immediate = (bhs[kOpcodeByte] & kImmediateBit) != 0;
  if (immediate && !rules.immediate_allowed) {
    return w::fail(diag, Errc::reserved_not_zero, raw,
                   name() + ": the I bit is reserved for this PDU type and is set");
  }
  if (!immediate && rules.immediate_required) {
    return w::fail(diag, Errc::invalid_field, raw, name() + ": the I bit must be 1");
  }
  if (rules.final_always && !(bhs[kFlagsByte] & kFinalBit)) {
    return w::fail(diag, Errc::invalid_field, raw, name() + ": the F bit must be 1");
  }
  if (const unsigned bad = bhs[kFlagsByte] & rules.flags_reserved; bad != 0) {
    return w::fail(diag, Errc::reserved_not_zero, raw,
                   name() + ": reserved flag bits " + hex8(bad) + " of byte 1 are set");
  }
  for (std::size_t i = 0; i < kBhsLength; ++i) {
    if ((rules.reserved_bytes >> i) & 1u) {
      if (bhs[i] != 0) {
        return w::fail(diag, Errc::reserved_not_zero, raw,
                       name() + ": reserved byte " + std::to_string(i) + " is " + hex8(bhs[i]));
      }
    }
  }
  if (rules.itt_reserved_tag && load_be32(bhs.data() + kItt) != kReservedTag) {
    return w::fail(diag, Errc::invalid_field, raw,
                   name() + ": ITT must be 0xffffffff, is " + hex32(load_be32(bhs.data() + kItt)));
  }
  if (static_cast<Opcode>(raw) == Opcode::scsi_data_in &&
      !(bhs[kFlagsByte] & data::kStatusBit) &&
      (bhs[kFlagsByte] & (data::kOverflowBit | data::kUnderflowBit))) {
    return w::fail(diag, Errc::reserved_not_zero, raw,
                   name() + ": O/U bits are set without the S bit");
  }
  return {};
}

// Rules RFC 7143 states as MUSTs about field values (always checked).
std::error_code check_semantics(const Pdu& pdu, std::uint8_t raw, Diagnostic* diag) {
  const auto stage_ok = [](Stage s) { return s != static_cast<Stage>(2); };
  return std::visit(
      [&](const auto& p) -> std::error_code {
        using T = std::decay_t<decltype(p)>;
        const auto name = [] { return to_string(T::kOpcode); };
        if constexpr (std::is_same_v<T, LoginRequest> || std::is_same_v<T, LoginResponse>) {
          if (!stage_ok(p.csg)) {
            return w::fail(diag, Errc::invalid_field, raw, name() + ": CSG 2 is reserved");
          }
          if (p.transit && !stage_ok(p.nsg)) {
            return w::fail(diag, Errc::invalid_field, raw, name() + ": NSG 2 is reserved");
          }
          if (p.transit && p.cont) {
            return w::fail(diag, Errc::invalid_field, raw, name() + ": T and C bits both set");
          }
        } else if constexpr (std::is_same_v<T, TextRequest> || std::is_same_v<T, TextResponse>) {
          if (p.final_pdu && p.cont) {
            return w::fail(diag, Errc::invalid_field, raw, name() + ": F and C bits both set");
          }
        } else if constexpr (std::is_same_v<T, DataIn>) {
          if (p.status_present && !p.final_pdu) {
            return w::fail(diag, Errc::invalid_field, raw, name() + ": S bit set without F bit");
          }
          if (p.overflow && p.underflow) {
            return w::fail(diag, Errc::invalid_field, raw, name() + ": O and U bits both set");
          }
        } else if constexpr (std::is_same_v<T, ScsiResponse>) {
          if (p.overflow && p.underflow) {
            return w::fail(diag, Errc::invalid_field, raw, name() + ": O and U bits both set");
          }
          if (p.bidi_read_overflow && p.bidi_read_underflow) {
            return w::fail(diag, Errc::invalid_field, raw, name() + ": o and u bits both set");
          }
        }
        return {};
      },
      pdu);
}

}  // namespace

// ---- detail ---------------------------------------------------------------------------------

namespace detail {

std::error_code fail(Diagnostic* diag, Errc errc, std::uint8_t raw_opcode, std::string detail) {
  if (diag != nullptr) {
    diag->errc = errc;
    diag->conn_error = classify(errc);
    diag->raw_opcode = raw_opcode;
    diag->detail = std::move(detail);
  }
  return make_error_code(errc);
}

std::error_code decode_header(ByteSpan bhs, const DecodeOptions& opts, const ReceiveLimits& limits,
                              Diagnostic* diag, Pdu& out) {
  const std::uint8_t raw = bhs[kOpcodeByte] & kOpcodeMask;
  if (!is_known_opcode(raw)) {
    return fail(diag, Errc::unknown_opcode, raw,
                "opcode " + hex8(raw) + " is not defined by RFC 7143");
  }
  const auto op = static_cast<Opcode>(raw);
  const auto name = [op] { return to_string(op); };
  if (limits.receive && direction_of(op) != *limits.receive) {
    return fail(diag, Errc::wrong_direction, raw,
                name() + " is sent " + std::string(to_string(direction_of(op))) +
                    ", received on the " + std::string(to_string(*limits.receive)) + " stream");
  }
  const OpcodeRules& rules = rules_of(raw);
  const BhsLengths lengths = peek_lengths(bhs.first<kBhsLength>());
  if (lengths.ahs != 0 && !rules.ahs_allowed) {
    return fail(diag, Errc::unexpected_ahs, raw,
                name() + " carries no AHS but TotalAHSLength is " +
                    std::to_string(lengths.ahs / 4) + " words");
  }
  if (lengths.data != 0 && !rules.data_allowed) {
    return fail(diag, Errc::unexpected_data, raw,
                name() + " carries no data segment but DataSegmentLength is " +
                    std::to_string(lengths.data));
  }
  const bool login = is_login(op);
  const std::uint32_t limit = login ? limits.login_max_data : limits.max_data;
  if (lengths.data > limit) {
    return fail(diag, Errc::data_segment_too_long, raw,
                name() + ": DataSegmentLength " + std::to_string(lengths.data) + " exceeds " +
                    (login ? "the login limit " : "MaxRecvDataSegmentLength ") +
                    std::to_string(limit));
  }
  if (opts.strict_reserved) {
    if (auto ec = check_strict(bhs, rules, raw, diag)) return ec;
  }
  emplace_for(raw, out);
  Reader reader(bhs.data());
  std::visit([&](auto& p) { map_fields(reader, p); }, out);
  return check_semantics(out, raw, diag);
}

bool header_digest_ok(ByteSpan header_and_ahs, const std::uint8_t* digest) noexcept {
  return digest::crc32c(header_and_ahs) == digest::load_digest(digest);
}

bool data_digest_ok(ByteSpan padded_data, const std::uint8_t* digest) noexcept {
  return digest::crc32c(padded_data) == digest::load_digest(digest);
}

std::error_code attach_ahs(Pdu& pdu, ByteSpan ahs, Diagnostic* diag) {
  if (ahs.empty()) return {};
  auto fields = decode_ahs(ahs, opcode_of(pdu), diag);
  if (!fields) return fields.error();
  if (auto* cmd = std::get_if<ScsiCommand>(&pdu)) {
    cmd->extended_cdb = std::move(fields->extended_cdb);
    cmd->bidi_read_data_length = fields->bidi_read_data_length;
  }
  return {};
}

void attach_data(Pdu& pdu, ByteSpan data) {
  std::visit(
      [&](auto& p) {
        if constexpr (requires { p.data; }) p.data.assign(data.begin(), data.end());
      },
      pdu);
}

}  // namespace detail

// ---- public ---------------------------------------------------------------------------------

Opcode opcode_of(const Pdu& pdu) noexcept {
  return std::visit([](const auto& p) { return std::decay_t<decltype(p)>::kOpcode; }, pdu);
}

ByteSpan data_of(const Pdu& pdu) noexcept {
  return std::visit(
      [](const auto& p) -> ByteSpan {
        if constexpr (requires { p.data; }) {
          return p.data;
        } else {
          return {};
        }
      },
      pdu);
}

std::uint32_t itt_of(const Pdu& pdu) noexcept {
  return std::visit(
      [](const auto& p) -> std::uint32_t {
        if constexpr (requires { p.itt; }) {
          return p.itt;
        } else {
          return kReservedTag;
        }
      },
      pdu);
}

BhsLengths peek_lengths(std::span<const std::uint8_t, kBhsLength> bhs) noexcept {
  return {std::size_t{bhs[w::kTotalAhsLength]} * 4, load_be24(bhs.data() + w::kDataSegmentLength)};
}

Result<AhsFields> decode_ahs(ByteSpan ahs, Opcode op, Diagnostic* diag) {
  using namespace w::ahs;
  const auto raw = static_cast<std::uint8_t>(op);
  if (ahs.size() % 4 != 0 || ahs.size() > kMaxTotalWords * 4) {
    return w::fail(diag, Errc::bad_ahs_length, raw,
                   "AHS area of " + std::to_string(ahs.size()) +
                       " bytes is not a whole number of words up to 1020");
  }
  AhsFields fields;
  bool have_cdb = false;
  std::size_t pos = 0;
  while (pos < ahs.size()) {
    const ByteSpan rest = ahs.subspan(pos);
    // rest.size() is a nonzero multiple of 4, so the 4-byte AHS header is present.
    const std::size_t length = load_be16(rest.data() + kLength);
    const std::uint8_t type = rest[kType];
    const std::size_t span = padded_length(kHeaderLength + length);
    if (length == 0 || span > rest.size()) {
      return w::fail(diag, Errc::bad_ahs_length, raw,
                     "AHSLength " + std::to_string(length) + " at AHS offset " +
                         std::to_string(pos) + " does not fit the " +
                         std::to_string(rest.size()) + " bytes left of TotalAHSLength");
    }
    if (type == static_cast<std::uint8_t>(AhsType::extended_cdb)) {
      if (op != Opcode::scsi_command || have_cdb) {
        return w::fail(diag, Errc::bad_ahs_type, raw,
                       have_cdb ? "second Extended CDB AHS"
                                : "Extended CDB AHS on " + to_string(op));
      }
      if (length < 2) {
        return w::fail(diag, Errc::bad_ahs_length, raw,
                       "Extended CDB AHSLength " + std::to_string(length) +
                           " carries no CDB bytes (CDBs over 16 bytes only)");
      }
      fields.extended_cdb.assign(rest.begin() + static_cast<std::ptrdiff_t>(kData),
                                 rest.begin() + static_cast<std::ptrdiff_t>(kHeaderLength + length));
      have_cdb = true;
    } else if (type == static_cast<std::uint8_t>(AhsType::bidi_read_data_length)) {
      if (op != Opcode::scsi_command || fields.bidi_read_data_length) {
        return w::fail(diag, Errc::bad_ahs_type, raw,
                       fields.bidi_read_data_length
                           ? "second Bidirectional Read Data Length AHS"
                           : "Bidirectional Read Data Length AHS on " + to_string(op));
      }
      if (length != kBidiAhsLength) {
        return w::fail(diag, Errc::bad_ahs_length, raw,
                       "Bidirectional Read Data Length AHSLength is " + std::to_string(length) +
                           ", must be 5");
      }
      fields.bidi_read_data_length = load_be32(rest.data() + kData);
    } else {
      return w::fail(diag, Errc::bad_ahs_type, raw,
                     "AHSType " + std::to_string(type) + " is reserved");
    }
    pos += span;
  }
  return fields;
}

std::size_t ahs_length(const AhsFields& fields) noexcept {
  return ahs_bytes(fields.extended_cdb, fields.bidi_read_data_length);
}

void encode_ahs(const AhsFields& fields, ByteVector& out) {
  const std::size_t start = out.size();
  out.resize(start + ahs_length(fields), 0);
  write_ahs(fields.extended_cdb, fields.bidi_read_data_length, out.data() + start);
}

Result<Pdu> decode_bhs(ByteSpan bhs, const DecodeOptions& opts, Diagnostic* diag) {
  if (bhs.size() < kBhsLength) {
    return w::fail(diag, Errc::truncated, bhs.empty() ? 0 : bhs[0] & w::kOpcodeMask,
                   "BHS needs 48 bytes, have " + std::to_string(bhs.size()));
  }
  Pdu pdu;
  if (auto ec = w::decode_header(bhs.first(kBhsLength), opts, w::ReceiveLimits{}, diag, pdu)) {
    return ec;
  }
  return pdu;
}

namespace {

// Lengths of the pieces the encoder emits, or an error for an unencodable PDU.
struct EncodedSizes {
  std::size_t ahs = 0;
  std::size_t data = 0;
};

Result<EncodedSizes> sizes_of(const Pdu& pdu) {
  EncodedSizes s;
  if (const auto* cmd = std::get_if<ScsiCommand>(&pdu)) {
    s.ahs = ahs_bytes(cmd->extended_cdb, cmd->bidi_read_data_length);
  }
  s.data = data_of(pdu).size();
  if (s.ahs > w::ahs::kMaxTotalWords * 4) return Errc::bad_ahs_length;
  if (s.data > kMaxDataSegmentLength) return Errc::data_segment_too_long;
  return s;
}

// The BHS of one PDU struct, its lengths given.
template <class T>
std::error_code write_bhs_of(const T& p, const EncodedSizes& sizes, std::uint8_t* out) {
  std::memset(out, 0, kBhsLength);
  const auto raw = static_cast<std::uint8_t>(T::kOpcode);
  const w::OpcodeRules& rules = rules_of(raw);
  out[w::kOpcodeByte] = raw;
  if (rules.immediate_required) out[w::kOpcodeByte] |= w::kImmediateBit;
  if (rules.final_always) out[w::kFlagsByte] |= w::kFinalBit;
  if (rules.itt_reserved_tag) store_be32(out + w::kItt, kReservedTag);
  Writer writer(out);
  map_fields(writer, p);
  if (!writer.ok()) return Errc::invalid_field;
  out[w::kTotalAhsLength] = static_cast<std::uint8_t>(sizes.ahs / 4);
  store_be24(out + w::kDataSegmentLength, static_cast<std::uint32_t>(sizes.data));
  return {};
}

std::error_code write_bhs(const Pdu& pdu, const EncodedSizes& sizes, std::uint8_t* out) {
  return std::visit([&](const auto& p) { return write_bhs_of(p, sizes, out); }, pdu);
}

}  // namespace

std::error_code encode_bhs(const Pdu& pdu, std::span<std::uint8_t, kBhsLength> out) {
  auto sizes = sizes_of(pdu);
  if (!sizes) return sizes.error();
  return write_bhs(pdu, *sizes, out.data());
}

std::error_code encode_bhs(const ScsiCommand& cmd, std::span<std::uint8_t, kBhsLength> out) {
  EncodedSizes sizes;
  sizes.ahs = ahs_bytes(cmd.extended_cdb, cmd.bidi_read_data_length);
  sizes.data = cmd.data.size();
  if (sizes.ahs > w::ahs::kMaxTotalWords * 4) return Errc::bad_ahs_length;
  if (sizes.data > kMaxDataSegmentLength) return Errc::data_segment_too_long;
  return write_bhs_of(cmd, sizes, out.data());
}

std::error_code encode(const Pdu& pdu, const DigestConfig& digests, ByteVector& out) {
  auto sizes = sizes_of(pdu);
  if (!sizes) return sizes.error();
  const std::size_t header = kBhsLength + sizes->ahs;
  const std::size_t header_digest = digests.header ? digest::kDigestLength : 0;
  const std::size_t padded = padded_length(sizes->data);
  const std::size_t data_digest = (digests.data && sizes->data != 0) ? digest::kDigestLength : 0;
  const std::size_t start = out.size();
  out.resize(start + header + header_digest + padded + data_digest, 0);
  std::uint8_t* p = out.data() + start;
  if (auto ec = write_bhs(pdu, *sizes, p)) {
    out.resize(start);
    return ec;
  }
  if (const auto* cmd = std::get_if<ScsiCommand>(&pdu)) {
    write_ahs(cmd->extended_cdb, cmd->bidi_read_data_length, p + kBhsLength);
  }
  if (header_digest) digest::store_digest(p + header, digest::crc32c(ByteSpan(p, header)));
  std::uint8_t* data_at = p + header + header_digest;
  const ByteSpan data = data_of(pdu);
  if (!data.empty()) std::memcpy(data_at, data.data(), data.size());
  // Padding bytes are already zero (resize); the data digest covers them.
  if (data_digest) digest::store_digest(data_at + padded, digest::crc32c(ByteSpan(data_at, padded)));
  return {};
}

Result<ByteVector> encode(const Pdu& pdu, const DigestConfig& digests) {
  ByteVector out;
  if (auto ec = encode(pdu, digests, out)) return ec;
  return out;
}

Result<Decoded> decode(ByteSpan wire, const DigestConfig& digests, const DecodeOptions& opts,
                       Diagnostic* diag) {
  if (wire.size() < kBhsLength) {
    return w::fail(diag, Errc::truncated, wire.empty() ? 0 : wire[0] & w::kOpcodeMask,
                   "BHS needs 48 bytes, have " + std::to_string(wire.size()));
  }
  const std::uint8_t raw = wire[0] & w::kOpcodeMask;
  const BhsLengths lengths = peek_lengths(wire.first<kBhsLength>());
  const std::size_t header = kBhsLength + lengths.ahs;
  const std::size_t header_digest = digests.header ? digest::kDigestLength : 0;
  if (wire.size() < header + header_digest) {
    return w::fail(diag, Errc::truncated, raw,
                   "header with AHS and digest needs " + std::to_string(header + header_digest) +
                       " bytes, have " + std::to_string(wire.size()));
  }
  // With a header digest, a corrupted header is a digest error, not whatever its bytes say.
  if (header_digest && !w::header_digest_ok(wire.first(header), wire.data() + header)) {
    return w::fail(diag, Errc::header_digest, raw,
                   "header digest received " + hex32(digest::load_digest(wire.data() + header)) +
                       ", computed " + hex32(digest::crc32c(wire.first(header))));
  }
  Decoded out;
  if (auto ec = w::decode_header(wire.first(kBhsLength), opts, w::ReceiveLimits{}, diag, out.pdu)) {
    return ec;
  }
  const std::size_t padded = padded_length(lengths.data);
  const std::size_t data_digest = (digests.data && lengths.data != 0) ? digest::kDigestLength : 0;
  const std::size_t total = header + header_digest + padded + data_digest;
  if (wire.size() < total) {
    return w::fail(diag, Errc::truncated, raw,
                   to_string(static_cast<Opcode>(raw)) + " needs " + std::to_string(total) +
                       " bytes, have " + std::to_string(wire.size()));
  }
  const ByteSpan padded_data = wire.subspan(header + header_digest, padded);
  if (data_digest && !w::data_digest_ok(padded_data, padded_data.data() + padded)) {
    return w::fail(diag, Errc::data_digest, raw,
                   "data digest received " +
                       hex32(digest::load_digest(padded_data.data() + padded)) + ", computed " +
                       hex32(digest::crc32c(padded_data)));
  }
  if (auto ec = w::attach_ahs(out.pdu, wire.subspan(kBhsLength, lengths.ahs), diag)) return ec;
  w::attach_data(out.pdu, padded_data.first(lengths.data));
  out.consumed = total;
  return out;
}

Result<SenseSplit> split_sense_data(ByteSpan data_segment) {
  if (data_segment.empty()) return SenseSplit{};
  if (data_segment.size() < 2) return Errc::bad_sense_length;
  const std::size_t sense_length = load_be16(data_segment.data());
  if (2 + sense_length > data_segment.size()) return Errc::bad_sense_length;
  return SenseSplit{data_segment.subspan(2, sense_length), data_segment.subspan(2 + sense_length)};
}

ByteVector make_sense_data(ByteSpan sense, ByteSpan rest) {
  ByteVector out(2 + sense.size() + rest.size());
  store_be16(out.data(), static_cast<std::uint16_t>(sense.size()));
  if (!sense.empty()) std::memcpy(out.data() + 2, sense.data(), sense.size());
  if (!rest.empty()) std::memcpy(out.data() + 2 + sense.size(), rest.data(), rest.size());
  return out;
}

}  // namespace iscsi::pdu
