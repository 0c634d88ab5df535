// An in-memory iSCSI target for the full feature phase, for driving session::Session without a
// network (sans-IO, header-only because the test build globs only test_*.cpp). It serves a RAM
// LUN (READ/WRITE 10/16, TEST UNIT READY), answers NOP-Out pings, TMFs, SendTargets (with C-bit
// continuation), Logout; solicits write data with R2Ts as LIO does (MaxBurstLength per R2T, at
// most MaxOutstandingR2T at once); and checks what the initiator sends (CmdSN order and window,
// immediate/unsolicited data limits, DataSN, offsets, F bits), recording every rule broken in
// `violations`. It can misbehave: hold commands or TMFs unanswered, stay silent, send pings,
// async messages and rejects, and let a test tamper with any PDU it sends.
//
// Pair wires a Session and a FakeTarget back to back through the real codec and framers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proto/pdu/framer.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/scsi/cdb.hpp"
#include "proto/scsi/sense.hpp"
#include "proto/scsi/wire.hpp"
#include "proto/session/session.hpp"
#include "proto/text/codec.hpp"
#include "proto/text/sendtargets.hpp"

namespace iscsi::session::test {

struct FakeTargetConfig {
  bool immediate_data = true;
  bool initial_r2t = true;
  std::uint32_t first_burst_length = 65536;
  std::uint32_t max_burst_length = 262144;
  std::uint32_t max_outstanding_r2t = 1;
  std::uint32_t target_mrdsl = 8192;     // what the target accepts (initiator's send limit)
  std::uint32_t initiator_mrdsl = 8192;  // what the initiator accepts (target's send limit)
  bool data_pdu_in_order = true;
  std::uint32_t block_size = 512;
  std::uint64_t blocks = 4096;  // 2 MiB
  std::uint32_t first_stat_sn = 0x100;
  std::uint32_t first_cmd_sn = 1;
  std::uint32_t window = 16;  // MaxCmdSN = ExpCmdSN + window - 1 (0: closed)
  bool phase_collapse = true;  // status in the final Data-In
  // A SCSI Response sent for a read's lost status says how many Data-In were sent (ExpDataSN,
  // RFC 7143 11.4.8); LIO 6.1 leaves it 0 (iscsit_build_rsp_pdu), the default here.
  bool response_counts_data_in = false;
  std::vector<text::DiscoveredTarget> targets;
  std::size_t text_chunk = 8192;  // Text Response data per PDU
  std::uint16_t time2wait = 2;
  std::uint16_t time2retain = 20;
  std::uint8_t error_recovery_level = 0;  // 1: keeps sent Data-In for Data SNACKs (as LIO does)
                                          // 2: also keeps tasks across a lost connection
};

inline SessionConfig make_session_config(const FakeTargetConfig& t) {
  SessionConfig s;
  s.params.immediate_data = t.immediate_data;
  s.params.initial_r2t = t.initial_r2t;
  s.params.first_burst_length = t.first_burst_length;
  s.params.max_burst_length = t.max_burst_length;
  s.params.max_outstanding_r2t = t.max_outstanding_r2t;
  s.params.max_send_data_segment_length = t.target_mrdsl;
  s.params.max_recv_data_segment_length = t.initiator_mrdsl;
  s.params.data_pdu_in_order = t.data_pdu_in_order;
  s.cmd_sn = SerialNumber{t.first_cmd_sn};
  s.exp_cmd_sn = SerialNumber{t.first_cmd_sn};
  s.max_cmd_sn = SerialNumber{t.first_cmd_sn} + (t.window - 1u);
  s.exp_stat_sn = SerialNumber{t.first_stat_sn};
  s.cid = 1;
  s.tsih = 0x12;
  s.params.error_recovery_level = t.error_recovery_level;
  return s;
}

class FakeTarget {
 public:
  explicit FakeTarget(FakeTargetConfig cfg) : cfg_(std::move(cfg)) {
    disk_.resize(static_cast<std::size_t>(cfg_.blocks * cfg_.block_size));
    exp_cmd_sn_ = SerialNumber{cfg_.first_cmd_sn};
    max_cmd_sn_ = exp_cmd_sn_ + (cfg_.window - 1u);
    stat_sn_ = SerialNumber{cfg_.first_stat_sn};
  }

  // --- misbehaviour knobs ------------------------------------------------------------------
  bool silent = false;          // answer nothing at all
  bool hold_commands = false;   // accept SCSI commands, never answer them
  bool hold_tmf = false;        // never answer TMFs
  pdu::TmfResponse tmf_response = pdu::TmfResponse::function_complete;
  // Called on every PDU the target sends; return false to drop it.
  std::function<bool(pdu::Pdu&)> tamper;
  // Called on every PDU the initiator sends; return false to lose it on the way.
  std::function<bool(const pdu::Pdu&)> intake;
  // ERL 2: the answer to a TASK REASSIGN (function_complete: reassigned as LIO does).
  pdu::TmfResponse reassign_response = pdu::TmfResponse::function_complete;
  std::size_t data_in_resent = 0;  // Data-In sent again after a TASK REASSIGN
  bool answer_snacks = true;    // ERL 1: resend the Data-In PDUs a Data SNACK asks for
  unsigned resend_r2t_copies = 1;  // copies of each R2T an R2T SNACK asks for
  std::vector<pdu::SnackRequest> snacks;
  // Sense to return (CHECK CONDITION) on the next SCSI command instead of executing it.
  std::optional<ByteVector> pending_sense;

  std::vector<std::string> violations;
  std::vector<std::uint32_t> nop_replies;  // TTTs of NOP-Outs answering our pings
  std::vector<pdu::TaskMgmtRequest> tmfs;
  std::vector<pdu::ScsiCommand> commands;
  std::size_t max_outstanding_r2t_seen = 0;
  std::size_t r2ts_sent = 0;
  std::size_t r2ts_resent = 0;  // in answer to R2T SNACKs
  std::size_t data_outs = 0;

  ByteVector& disk() { return disk_; }
  SerialNumber stat_sn() const { return stat_sn_; }
  SerialNumber exp_cmd_sn() const { return exp_cmd_sn_; }
  SerialNumber max_cmd_sn() const { return max_cmd_sn_; }

  // ERL 2: the connection is gone: what was on its way to the initiator is lost; the tasks stay
  // (as LIO's connection recovery list) until reassigned or the session ends. StatSN is the
  // connection's: the next one starts elsewhere (LIO: at random), and an ExpStatSN on it
  // acknowledges nothing sent on the old one.
  void lose_connection() {
    out_.clear();
    sent_status_.clear();
    seen_exp_stat_sn_.reset();
    stat_sn_ += 0x1000u;
  }

  void set_window(std::uint32_t n) { max_cmd_sn_ = exp_cmd_sn_ + (n - 1u); }

  // --- target-initiated PDUs -----------------------------------------------------------------
  // NOP-In carrying only the window (ITT and TTT reserved; StatSN not advanced).
  void send_window_update() {
    pdu::NopIn n;
    n.itt = pdu::kReservedTag;
    n.ttt = pdu::kReservedTag;
    n.stat_sn = stat_sn_;
    stamp(n);
    emit(std::move(n));
  }
  void send_ping(std::uint32_t ttt, std::uint64_t lun = 0) {
    pdu::NopIn n;
    n.lun = lun;
    n.itt = pdu::kReservedTag;
    n.ttt = ttt;
    n.stat_sn = stat_sn_;
    stamp(n);
    emit(std::move(n));
  }
  void send_async(pdu::AsyncEvent ev, std::uint16_t p1, std::uint16_t p2, std::uint16_t p3,
                  ByteVector data = {}) {
    pdu::AsyncMessage a;
    a.lun = 0;
    a.async_event = ev;
    a.parameter1 = p1;
    a.parameter2 = p2;
    a.parameter3 = p3;
    a.data = std::move(data);
    a.stat_sn = stat_sn_++;
    stamp(a);
    emit(std::move(a));
  }
  void send_reject(pdu::RejectReason reason, ByteVector header) {
    pdu::Reject r;
    r.reason = reason;
    r.data = std::move(header);
    r.stat_sn = stat_sn_++;
    stamp(r);
    emit(std::move(r));
  }
  // Sends any PDU as is (the test fills every field).
  void send_raw(pdu::Pdu p) { emit(std::move(p)); }

  // The header of the last SCSI Command received, re-encoded (for Reject tests).
  ByteVector last_command_header() const {
    ByteVector out(pdu::kBhsLength);
    pdu::ScsiCommand c = commands.back();
    c.data.clear();
    (void)pdu::encode_bhs(c, std::span<std::uint8_t, pdu::kBhsLength>(out.data(), out.size()));
    return out;
  }

  std::optional<pdu::Pdu> pop() {
    if (out_.empty()) return std::nullopt;
    pdu::Pdu p = std::move(out_.front());
    out_.pop_front();
    return p;
  }

  // --- receive ---------------------------------------------------------------------------------
  void receive(const pdu::Pdu& p) {
    if (silent) return;
    if (intake && !intake(p)) return;
    std::visit([&](const auto& x) { on(x); }, p);
  }

 private:
  struct R2tState {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    std::uint32_t received = 0;
    SerialNumber next_data_sn{0};
    pdu::R2T sent;  // as first sent: an R2T SNACK sends it again (ERL 1)
  };
  struct WriteTask {
    std::uint32_t itt = 0;
    std::uint64_t lun = 0;
    std::uint64_t byte_offset = 0;
    std::uint32_t length = 0;
    ByteVector buf;
    std::uint32_t received = 0;
    std::uint32_t next_unsolicited = 0;
    std::uint32_t unsolicited_limit = 0;
    bool unsolicited_open = false;
    SerialNumber unsolicited_data_sn{0};
    std::uint32_t next_r2t_offset = 0;
    SerialNumber next_r2t_sn{0};
    std::map<std::uint32_t, R2tState> r2ts;  // by TTT
  };

  template <class P>
  void stamp(P& p) {
    p.exp_cmd_sn = exp_cmd_sn_;
    p.max_cmd_sn = max_cmd_sn_;
  }
  void emit(pdu::Pdu p) {
    if (tamper && !tamper(p)) return;
    out_.push_back(std::move(p));
  }
  void violation(std::string s) { violations.push_back(std::move(s)); }

  // CmdSN rules for a command PDU; returns false when it must be dropped.
  bool accept_cmd_sn(bool immediate, SerialNumber cmd_sn, const char* what) {
    if (cmd_sn != exp_cmd_sn_) {
      violation(std::string(what) + ": CmdSN " + std::to_string(cmd_sn.value()) +
                " != ExpCmdSN " + std::to_string(exp_cmd_sn_.value()));
      return false;
    }
    if (!immediate) {
      if (SerialNumber::distance(cmd_sn, max_cmd_sn_) < 0) {
        violation(std::string(what) + ": CmdSN " + std::to_string(cmd_sn.value()) +
                  " beyond MaxCmdSN " + std::to_string(max_cmd_sn_.value()));
        return false;
      }
      ++exp_cmd_sn_;
      ++max_cmd_sn_;
    }
    return true;
  }

  // ExpStatSN may lag (commands queued before the status arrived) but never run ahead of the
  // next StatSN, and never goes back.
  // LIO acts on it (frees acknowledged commands) for the PDUs that carry a CmdSN, not for a
  // SNACK or a Data-Out.
  void check_exp_stat_sn(SerialNumber e, bool frees = true) {
    if (SerialNumber::distance(e, stat_sn_) < 0) {
      violation("ExpStatSN " + std::to_string(e.value()) + " ahead of next StatSN " +
                std::to_string(stat_sn_.value()));
    }
    if (seen_exp_stat_sn_ && SerialNumber::distance(*seen_exp_stat_sn_, e) < 0) {
      violation("ExpStatSN went back");
    }
    seen_exp_stat_sn_ = e;
    if (!frees) return;
    // As LIO (iscsit_ack_from_expstatsn): a command whose status is acknowledged is freed; a
    // Data SNACK or DataACK for it afterwards finds nothing.
    for (auto it = sent_status_.begin(); it != sent_status_.end();) {
      if (SerialNumber::distance(SerialNumber{it->first}, e) <= 0) {
        ++it;
        continue;
      }
      const std::uint32_t itt = it->second.itt;
      if (sent_data_in_.erase(itt) != 0) freed_reads_.insert(itt);
      if (auto t = read_ttt_.find(itt); t != read_ttt_.end()) {
        acked_data_sn_.erase(t->second);
        read_ttt_.erase(t);
      }
      it = sent_status_.erase(it);
    }
  }

  void respond(std::uint32_t itt, std::uint8_t status, ByteVector sense = {},
               std::uint32_t residual = 0, bool under = false, bool over = false,
               std::uint32_t data_in_sent = 0) {
    pdu::ScsiResponse r;
    r.itt = itt;
    r.status = status;
    r.residual_count = residual;
    r.underflow = under;
    r.overflow = over;
    r.exp_data_sn = SerialNumber{cfg_.response_counts_data_in ? data_in_sent : 0};
    if (!sense.empty()) r.data = pdu::make_sense_data(sense);
    r.stat_sn = stat_sn_++;
    stamp(r);
    if (cfg_.error_recovery_level >= 1) sent_status_[r.stat_sn.value()] = r;
    emit(std::move(r));
  }

  // --- handlers --------------------------------------------------------------------------------
  void on(const pdu::NopOut& n) {
    check_exp_stat_sn(n.exp_stat_sn);
    if (n.itt == pdu::kReservedTag) {
      if (!n.immediate) violation("NOP-Out answer without the I bit");
      if (n.ttt == pdu::kReservedTag) violation("NOP-Out with ITT and TTT both reserved");
      nop_replies.push_back(n.ttt);
      return;
    }
    if (!n.immediate) violation("NOP-Out ping without the I bit");
    if (n.ttt != pdu::kReservedTag) violation("NOP-Out ping with a TTT");
    if (!accept_cmd_sn(n.immediate, n.cmd_sn, "NOP-Out")) return;
    pdu::NopIn r;
    r.itt = n.itt;
    r.ttt = pdu::kReservedTag;
    r.lun = n.lun;
    r.data = n.data;
    r.stat_sn = stat_sn_++;
    stamp(r);
    emit(std::move(r));
  }

  void on(const pdu::ScsiCommand& c) {
    check_exp_stat_sn(c.exp_stat_sn);
    if (c.immediate) violation("SCSI Command with the I bit");
    if (!accept_cmd_sn(c.immediate, c.cmd_sn, "SCSI Command")) return;
    commands.push_back(c);
    if (c.data.size() > cfg_.target_mrdsl) violation("immediate data over MaxRecvDataSegmentLength");
    if (!c.data.empty() && !cfg_.immediate_data) violation("immediate data with ImmediateData=No");
    if (c.data.size() > cfg_.first_burst_length) violation("immediate data over FirstBurstLength");
    if (!c.final_pdu && cfg_.initial_r2t) violation("F=0 (unsolicited Data-Out) with InitialR2T=Yes");
    if (hold_commands) return;
    if (pending_sense) {
      ByteVector s = std::move(*pending_sense);
      pending_sense.reset();
      if (c.write && !c.final_pdu) {
        // Unsolicited data would follow; we answer anyway (it is dropped when it arrives).
      }
      respond(c.itt, 0x02, std::move(s));
      return;
    }
    namespace w = scsi::detail;
    const ByteSpan cdb(c.cdb.data(), c.cdb.size());
    const std::uint8_t op = c.cdb[0];
    std::uint64_t lba = 0;
    std::uint32_t blocks = 0;
    if (op == w::opcode::kRead10 || op == w::opcode::kWrite10) {
      lba = w::get(cdb, w::rw10_cdb::kLba);
      blocks = static_cast<std::uint32_t>(w::get(cdb, w::rw10_cdb::kTransferLength));
    } else if (op == w::opcode::kRead16 || op == w::opcode::kWrite16) {
      lba = w::get(cdb, w::rw16_cdb::kLba);
      blocks = static_cast<std::uint32_t>(w::get(cdb, w::rw16_cdb::kTransferLength));
    } else if (op == w::opcode::kTestUnitReady) {
      respond(c.itt, 0x00);
      return;
    } else {
      respond(c.itt, 0x02, scsi::build_fixed_sense(scsi::SenseKey::illegal_request, 0x20, 0x00));
      return;
    }
    if (lba + blocks > cfg_.blocks) {
      respond(c.itt, 0x02, scsi::build_fixed_sense(scsi::SenseKey::illegal_request, 0x21, 0x00));
      return;
    }
    const std::uint32_t bytes = blocks * cfg_.block_size;
    const bool is_read = op == w::opcode::kRead10 || op == w::opcode::kRead16;
    if (is_read) {
      if (!c.read) violation("READ without the R bit");
      serve_read(c, lba * cfg_.block_size, bytes);
      return;
    }
    if (!c.write) violation("WRITE without the W bit");
    if (c.expected_data_transfer_length != bytes) violation("WRITE EDTL != blocks * block size");
    WriteTask t;
    t.itt = c.itt;
    t.lun = c.lun;
    t.byte_offset = lba * cfg_.block_size;
    t.length = c.expected_data_transfer_length;
    t.buf.resize(t.length);
    const std::size_t imm = std::min<std::size_t>(c.data.size(), t.length);
    std::copy_n(c.data.begin(), imm, t.buf.begin());
    t.received = static_cast<std::uint32_t>(imm);
    t.next_unsolicited = t.received;
    t.unsolicited_limit = std::min(t.length, cfg_.first_burst_length);
    t.unsolicited_open = !c.final_pdu;
    t.next_r2t_offset = t.unsolicited_open ? t.unsolicited_limit : t.received;
    writes_[c.itt] = std::move(t);
    advance_write(c.itt);
  }

  void serve_read(const pdu::ScsiCommand& c, std::uint64_t byte_offset, std::uint32_t bytes) {
    const std::uint32_t edtl = c.expected_data_transfer_length;
    const std::uint32_t n = std::min(edtl, bytes);
    std::uint32_t residual = 0;
    bool under = false, over = false;
    if (edtl < bytes) { over = true; residual = bytes - edtl; }
    if (edtl > bytes) { under = true; residual = edtl - bytes; }
    SerialNumber data_sn{0};
    std::uint32_t off = 0;
    std::uint32_t burst = 0;
    // LIO gives a read a TTT at ERL 1 and sets the A bit on the last Data-In of each burst and
    // on the final one (iscsit_set_datain_values_*); the TTT goes in every Data-In here, so
    // that a test may set the A bit on any of them.
    const std::uint32_t ttt = cfg_.error_recovery_level >= 1 ? next_ttt_++ : pdu::kReservedTag;
    if (cfg_.error_recovery_level >= 1) read_ttt_[c.itt] = ttt;
    do {
      const std::uint32_t len = std::min(n - off, cfg_.initiator_mrdsl);
      pdu::DataIn d;
      d.itt = c.itt;
      d.lun = c.lun;
      d.data_sn = data_sn++;
      d.buffer_offset = off;
      d.data.assign(disk_.begin() + static_cast<std::ptrdiff_t>(byte_offset + off),
                    disk_.begin() + static_cast<std::ptrdiff_t>(byte_offset + off + len));
      off += len;
      burst += len;
      d.final_pdu = off == n;
      d.ttt = ttt;
      if (cfg_.error_recovery_level >= 1 && (d.final_pdu || burst >= cfg_.max_burst_length)) {
        d.acknowledge = true;
        burst = 0;
      }
      if (d.final_pdu && cfg_.phase_collapse) {
        d.status_present = true;
        d.status = 0;
        d.residual_count = residual;
        d.underflow = under;
        d.overflow = over;
        d.stat_sn = stat_sn_++;
      } else {
        d.stat_sn = stat_sn_;
      }
      stamp(d);
      if (cfg_.error_recovery_level >= 1) {
        sent_data_in_[c.itt].push_back(d);
        if (d.status_present) {
          // A Status SNACK for it is answered with a SCSI Response, as LIO does
          // (ISTATE_SEND_STATUS_RECOVERY), ExpDataSN counting the Data-In PDUs sent.
          pdu::ScsiResponse r;
          r.itt = c.itt;
          r.status = 0;
          r.residual_count = residual;
          r.underflow = under;
          r.overflow = over;
          r.stat_sn = d.stat_sn;
          r.exp_data_sn = cfg_.response_counts_data_in ? data_sn : SerialNumber{0};
          sent_status_[r.stat_sn.value()] = r;
        }
      }
      emit(std::move(d));
    } while (off < n);
    if (!cfg_.phase_collapse) respond(c.itt, 0x00, {}, residual, under, over, data_sn.value());
  }

  // Sends R2Ts while fewer than MaxOutstandingR2T are open; completes the write when done.
  void advance_write(std::uint32_t itt) {
    auto it = writes_.find(itt);
    if (it == writes_.end()) return;
    WriteTask& t = it->second;
    if (t.received == t.length && t.r2ts.empty()) {
      std::copy(t.buf.begin(), t.buf.end(),
                disk_.begin() + static_cast<std::ptrdiff_t>(t.byte_offset));
      writes_.erase(it);
      respond(itt, 0x00);
      return;
    }
    if (t.unsolicited_open) return;  // wait for the unsolicited burst to end
    while (t.next_r2t_offset < t.length && t.r2ts.size() < cfg_.max_outstanding_r2t) {
      const std::uint32_t len = std::min(t.length - t.next_r2t_offset, cfg_.max_burst_length);
      const std::uint32_t ttt = next_ttt_++;
      pdu::R2T r;
      r.itt = itt;
      r.lun = t.lun;
      r.ttt = ttt;
      r.r2t_sn = t.next_r2t_sn++;
      r.buffer_offset = t.next_r2t_offset;
      r.desired_data_transfer_length = len;
      r.stat_sn = stat_sn_;
      stamp(r);
      t.r2ts[ttt] = R2tState{t.next_r2t_offset, len, 0, SerialNumber{0}, r};
      t.next_r2t_offset += len;
      ++r2ts_sent;
      emit(std::move(r));
    }
    max_outstanding_r2t_seen = std::max(max_outstanding_r2t_seen, t.r2ts.size());
  }

  void on(const pdu::DataOut& d) {
    check_exp_stat_sn(d.exp_stat_sn, false);
    ++data_outs;
    if (d.data.size() > cfg_.target_mrdsl) violation("Data-Out over MaxRecvDataSegmentLength");
    auto it = writes_.find(d.itt);
    if (it == writes_.end()) return;  // aborted or answered early
    WriteTask& t = it->second;
    if (std::uint64_t{d.buffer_offset} + d.data.size() > t.length) {
      violation("Data-Out past the end of the write");
      return;
    }
    if (d.ttt == pdu::kReservedTag) {
      if (!t.unsolicited_open) { violation("unsolicited Data-Out when none may follow"); return; }
      if (d.data_sn != t.unsolicited_data_sn) violation("unsolicited Data-Out DataSN out of order");
      ++t.unsolicited_data_sn;
      if (d.buffer_offset != t.next_unsolicited) violation("unsolicited Data-Out offset gap");
      if (d.buffer_offset + d.data.size() > t.unsolicited_limit) {
        violation("unsolicited data past FirstBurstLength");
      }
      t.next_unsolicited = d.buffer_offset + static_cast<std::uint32_t>(d.data.size());
      std::copy(d.data.begin(), d.data.end(), t.buf.begin() + d.buffer_offset);
      t.received += static_cast<std::uint32_t>(d.data.size());
      if (d.final_pdu) {
        t.unsolicited_open = false;
        if (t.next_unsolicited != t.unsolicited_limit) {
          violation("unsolicited burst ended before FirstBurstLength / EDTL");
        }
        t.next_r2t_offset = t.next_unsolicited;
      }
      advance_write(d.itt);
      return;
    }
    auto r = t.r2ts.find(d.ttt);
    if (r == t.r2ts.end()) { violation("Data-Out with an unknown TTT"); return; }
    R2tState& s = r->second;
    // DataSequenceInOrder=Yes (as LIO negotiates it): LIO keeps one current sequence and dumps
    // Data-Out outside it (iscsit_dataout_check_sequence), so an R2T's data must not start
    // while an R2T at a lower offset still waits for its data.
    for (const auto& [ttt, other] : t.r2ts) {
      if (other.offset < s.offset && other.received < other.length && s.received == 0) {
        violation("Data-Out for offset " + std::to_string(s.offset) + " while the R2T for " +
                  std::to_string(other.offset) + " is unanswered (DataSequenceInOrder=Yes)");
        break;
      }
    }
    if (d.data_sn != s.next_data_sn) violation("solicited Data-Out DataSN out of order");
    ++s.next_data_sn;
    if (d.buffer_offset != s.offset + s.received) violation("solicited Data-Out offset gap");
    if (s.received + d.data.size() > s.length) violation("Data-Out past the R2T's length");
    std::copy(d.data.begin(), d.data.end(), t.buf.begin() + d.buffer_offset);
    s.received += static_cast<std::uint32_t>(d.data.size());
    t.received += static_cast<std::uint32_t>(d.data.size());
    const bool done = s.received == s.length;
    if (d.final_pdu != done) violation("Data-Out F bit not on the last PDU of the sequence");
    if (done) t.r2ts.erase(r);
    advance_write(d.itt);
  }

  void on(const pdu::TaskMgmtRequest& m) {
    check_exp_stat_sn(m.exp_stat_sn);
    if (!m.immediate) violation("TMF without the I bit");
    if (!accept_cmd_sn(true, m.cmd_sn, "TMF")) return;
    tmfs.push_back(m);
    if (hold_tmf) return;
    if (m.function == pdu::TmfFunction::task_reassign) {
      on_reassign(m);
      return;
    }
    if (tmf_response == pdu::TmfResponse::function_complete) {
      if (m.function == pdu::TmfFunction::abort_task) {
        writes_.erase(m.referenced_task_tag);
      } else {
        writes_.clear();
      }
    }
    pdu::TaskMgmtResponse r;
    r.itt = m.itt;
    r.response = tmf_response;
    r.stat_sn = stat_sn_++;
    stamp(r);
    emit(std::move(r));
  }

  // TASK REASSIGN as LIO 6.1 does it (iscsi_target_tmr.c): the response first, then a read's
  // Data-In from ExpDataSN (its status with a new StatSN), or a write's new R2Ts from R2TSN
  // ExpDataSN for the data not received (with DataPDUInOrder, from where the first incomplete
  // R2T's data stopped).
  void on_reassign(const pdu::TaskMgmtRequest& m) {
    const std::uint32_t ref = m.referenced_task_tag;
    auto read = sent_data_in_.find(ref);
    auto write = writes_.find(ref);
    pdu::TaskMgmtResponse r;
    r.itt = m.itt;
    r.response = reassign_response;
    if (cfg_.error_recovery_level < 2) {
      r.response = pdu::TmfResponse::task_allegiance_reassignment_not_supported;
    } else if (read == sent_data_in_.end() && write == writes_.end()) {
      r.response = pdu::TmfResponse::task_does_not_exist;
    }
    r.stat_sn = stat_sn_++;
    stamp(r);
    emit(std::move(r));
    if (r.response != pdu::TmfResponse::function_complete) return;
    if (read != sent_data_in_.end()) {
      if (m.exp_data_sn.value() > read->second.size()) violation("ExpDataSN past the Data-In sent");
      for (std::size_t i = m.exp_data_sn.value(); i < read->second.size(); ++i) {
        pdu::DataIn d = read->second[i];
        d.stat_sn = d.status_present ? stat_sn_++ : stat_sn_;
        stamp(d);
        read->second[i] = d;
        ++data_in_resent;
        emit(std::move(d));
      }
      return;
    }
    WriteTask& t = write->second;
    if (m.exp_data_sn.value() > t.next_r2t_sn.value()) violation("ExpDataSN past the R2Ts sent");
    std::uint32_t resume = t.next_r2t_offset;
    for (const auto& [ttt, st] : t.r2ts) resume = std::min(resume, st.offset + st.received);
    std::uint32_t lost = 0;  // data of R2Ts above the resume point, asked for again
    for (const auto& [ttt, st] : t.r2ts) {
      if (st.offset >= resume) lost += st.received;
    }
    t.received -= lost;
    t.r2ts.clear();
    t.next_r2t_offset = resume;
    t.next_r2t_sn = m.exp_data_sn;
    advance_write(ref);
  }

  void on(const pdu::TextRequest& t) {
    check_exp_stat_sn(t.exp_stat_sn);
    if (!accept_cmd_sn(t.immediate, t.cmd_sn, "Text Request")) return;
    pdu::TextResponse r;
    r.itt = t.itt;
    if (t.cont) {
      // Part of a longer request: acknowledge with an empty F=0 response and a TTT.
      text_request_.insert(text_request_.end(), t.data.begin(), t.data.end());
      r.final_pdu = false;
      r.ttt = next_ttt_++;
    } else if (!text_answer_.empty() && t.ttt != pdu::kReservedTag) {
      if (!t.data.empty()) violation("continuation Text Request with data");
      next_text_piece(r);
    } else {
      text_request_.insert(text_request_.end(), t.data.begin(), t.data.end());
      text::TextOptions opts;
      opts.allow_duplicate_keys = true;
      auto keys = text::decode(text_request_, opts);
      text_request_.clear();
      text::KeyValueList answer;
      if (keys && text::find_value(*keys, "SendTargets")) {
        answer = text::make_send_targets_response(cfg_.targets);
      } else if (keys) {
        for (const auto& kv : *keys) answer.push_back({kv.key, "NotUnderstood"});
      }
      text_answer_ = *text::encode(answer, opts);
      text_sent_ = 0;
      next_text_piece(r);
    }
    r.stat_sn = stat_sn_++;
    stamp(r);
    emit(std::move(r));
  }

  void next_text_piece(pdu::TextResponse& r) {
    const std::size_t n = std::min(cfg_.text_chunk, text_answer_.size() - text_sent_);
    r.data.assign(text_answer_.begin() + static_cast<std::ptrdiff_t>(text_sent_),
                  text_answer_.begin() + static_cast<std::ptrdiff_t>(text_sent_ + n));
    text_sent_ += n;
    if (text_sent_ < text_answer_.size()) {
      r.cont = true;
      r.final_pdu = false;
      r.ttt = next_ttt_++;
    } else {
      r.cont = false;
      r.final_pdu = true;
      r.ttt = pdu::kReservedTag;
      text_answer_.clear();
      text_sent_ = 0;
    }
  }

  void on(const pdu::LogoutRequest& l) {
    check_exp_stat_sn(l.exp_stat_sn);
    if (!accept_cmd_sn(l.immediate, l.cmd_sn, "Logout")) return;
    pdu::LogoutResponse r;
    r.itt = l.itt;
    r.response = pdu::LogoutResponseCode::closed_successfully;
    r.time2wait = cfg_.time2wait;
    r.time2retain = cfg_.time2retain;
    r.stat_sn = stat_sn_++;
    stamp(r);
    emit(std::move(r));
  }

  // ERL 1 (RFC 7143 11.16): a Data SNACK resends the Data-In PDUs it names as they were first
  // sent, status and StatSN included (as LIO's within-command recovery does).
  void on(const pdu::SnackRequest& sn) {
    check_exp_stat_sn(sn.exp_stat_sn, false);
    if (cfg_.error_recovery_level == 0) violation("SNACK at ErrorRecoveryLevel 0");
    snacks.push_back(sn);
    if (sn.type == pdu::SnackType::status || sn.type == pdu::SnackType::data_ack) {
      if (sn.itt != pdu::kReservedTag) violation("Status SNACK or DataACK with an ITT");
    }
    if (sn.type == pdu::SnackType::status) {
      // As LIO: every status still kept in [BegRun, BegRun + RunLength) (RunLength 0: up to
      // the next StatSN) is sent again, with its StatSN; an unknown one is passed over.
      const std::uint32_t end =
          sn.run_length == 0 ? stat_sn_.value() : sn.beg_run + sn.run_length;
      for (std::uint32_t s = sn.beg_run; s != end; ++s) {
        auto it = sent_status_.find(s);
        if (it == sent_status_.end()) continue;
        pdu::ScsiResponse again = it->second;
        stamp(again);
        emit(std::move(again));
      }
      return;
    }
    if (sn.type == pdu::SnackType::data_ack) {
      // LIO 6.1 (iscsit_handle_data_ack) closes the connection for a DataACK whose BegRun is
      // not above the last acknowledged DataSN, which starts at 0 (FINDINGS.md, F4).
      if (std::none_of(read_ttt_.begin(), read_ttt_.end(),
                       [&](const auto& kv) { return kv.second == sn.ttt; })) {
        violation("DataACK for TTT " + std::to_string(sn.ttt) + ", no command's (freed once its "
                  "status was acknowledged), which LIO answers by closing the connection");
        return;
      }
      std::uint32_t& acked = acked_data_sn_[sn.ttt];
      if (sn.beg_run <= acked) {
        violation("DataACK BegRun " + std::to_string(sn.beg_run) +
                  " not above the acknowledged DataSN " + std::to_string(acked) +
                  ", which LIO answers by closing the connection");
      }
      acked = sn.beg_run - 1;
      return;
    }
    if (!answer_snacks || sn.type != pdu::SnackType::data_r2t) return;
    if (auto w = writes_.find(sn.itt); w != writes_.end()) {
      on_r2t_snack(w->second, sn);
      return;
    }
    auto it = sent_data_in_.find(sn.itt);
    if (it == sent_data_in_.end()) {
      violation(freed_reads_.count(sn.itt) != 0
                    ? "Data SNACK for a read whose status was acknowledged: LIO has freed the "
                      "command and ignores the SNACK"
                    : "Data SNACK for an ITT with no Data-In sent");
      return;
    }
    const std::uint32_t last = sn.run_length == 0 ? static_cast<std::uint32_t>(it->second.size())
                                                  : sn.beg_run + sn.run_length;
    // LIO 6.1 (iscsit_handle_recovery_datain) rejects BegRun + RunLength > the highest DataSN
    // sent, one less than RFC 7143 11.16.4 allows: a run that names the last DataSN sent
    // must be asked for with RunLength 0 (scenarios/FINDINGS.md, F4). Modelled here so that
    // the session is tested against what LIO accepts.
    if (sn.run_length != 0 && std::uint64_t{sn.beg_run} + sn.run_length > it->second.size() - 1) {
      violation("Data SNACK BegRun " + std::to_string(sn.beg_run) + " RunLength " +
                std::to_string(sn.run_length) + " names the last DataSN sent (" +
                std::to_string(it->second.size() - 1) + "), which LIO rejects");
      return;
    }
    if (last > it->second.size()) {
      violation("Data SNACK beyond the last DataSN sent");
      return;
    }
    for (std::uint32_t i = sn.beg_run; i < last; ++i) {
      pdu::DataIn again = it->second[i];
      stamp(again);
      emit(std::move(again));
    }
  }

  // As LIO 6.1 (iscsit_handle_r2t_snack): every R2T of [BegRun, BegRun + RunLength) that is
  // still open is sent again with its R2TSN (RunLength 0: up to the newest); a run past the
  // newest R2T is rejected (BOOKMARK_INVALID), modelled as a violation.
  void on_r2t_snack(WriteTask& t, const pdu::SnackRequest& sn) {
    const std::uint32_t end = sn.run_length == 0 ? t.next_r2t_sn.value()
                                                 : sn.beg_run + sn.run_length;
    if (std::uint64_t{sn.beg_run} + sn.run_length > t.next_r2t_sn.value()) {
      violation("R2T SNACK BegRun " + std::to_string(sn.beg_run) + " RunLength " +
                std::to_string(sn.run_length) + " past the newest R2TSN, which LIO rejects");
      return;
    }
    for (std::uint32_t r2t_sn = sn.beg_run; r2t_sn != end; ++r2t_sn) {
      for (const auto& [ttt, s] : t.r2ts) {
        if (s.sent.r2t_sn.value() != r2t_sn) continue;
        for (unsigned copy = 0; copy < resend_r2t_copies; ++copy) {
          pdu::R2T again = s.sent;
          again.stat_sn = stat_sn_;
          stamp(again);
          ++r2ts_resent;
          emit(std::move(again));
        }
      }
    }
  }

  template <class P>
  void on(const P&) {
    violation("unexpected PDU from the initiator");
  }

  FakeTargetConfig cfg_;
  ByteVector disk_;
  SerialNumber exp_cmd_sn_;
  SerialNumber max_cmd_sn_;
  SerialNumber stat_sn_;
  std::optional<SerialNumber> seen_exp_stat_sn_;
  std::map<std::uint32_t, WriteTask> writes_;
  std::map<std::uint32_t, std::vector<pdu::DataIn>> sent_data_in_;  // by ITT (ERL 1)
  std::map<std::uint32_t, std::uint32_t> acked_data_sn_;            // by TTT, as LIO finds it
  std::map<std::uint32_t, std::uint32_t> read_ttt_;                 // ITT -> TTT, until freed
  std::set<std::uint32_t> freed_reads_;                              // ITTs (ERL 1)
  std::map<std::uint32_t, pdu::ScsiResponse> sent_status_;          // by StatSN (ERL 1)
  std::uint32_t next_ttt_ = 0x5000;
  ByteVector text_request_;
  ByteVector text_answer_;
  std::size_t text_sent_ = 0;
  std::deque<pdu::Pdu> out_;
};

// A Session and a FakeTarget back to back, through pdu::encode and the framers on both sides.
class Pair {
 public:
  explicit Pair(FakeTargetConfig cfg = {}, TimePoint start = TimePoint{})
      : target(cfg),
        now(start),
        cfg_(cfg),
        session(make_session_config(cfg), start),
        to_target_({.receive = pdu::Direction::initiator_to_target,
                    .max_recv_data_segment_length = cfg.target_mrdsl}),
        to_initiator_({.receive = pdu::Direction::target_to_initiator,
                       .max_recv_data_segment_length = cfg.initiator_mrdsl}) {}

  static constexpr std::uint16_t kCid = 1;
  FakeTarget target;
  TimePoint now;

 private:
  FakeTargetConfig cfg_;

 public:
  Session session;
  std::vector<std::error_code> receive_errors;
  std::size_t to_target_pdus = 0;

  // Moves PDUs both ways until neither side has anything to send.
  void pump() {
    for (int rounds = 0; rounds < 1000000; ++rounds) {
      bool moved = false;
      while (auto p = session.pop_pdu(kCid)) {
        moved = true;
        ++to_target_pdus;
        auto bytes = pdu::encode(*p);
        if (!bytes) { receive_errors.push_back(bytes.error()); continue; }
        to_target_.feed(*bytes);
        while (true) {
          auto next = to_target_.next();
          if (!next) { target.violations.push_back("initiator PDU failed the target framer: " +
                                                   pdu::to_string(to_target_.diagnostic()));
            break; }
          if (!*next) break;
          target.receive(**next);
        }
      }
      while (auto p = target.pop()) {
        moved = true;
        deliver(*p);
      }
      if (!moved) return;
    }
  }

  // When it returns true for a Data-In, the PDU arrives as if its data digest had failed:
  // header only, through Session::receive_damaged_data_in().
  std::function<bool(const pdu::DataIn&)> damage;

  // Encodes one PDU from the target and hands it to the session through the framer.
  void deliver(const pdu::Pdu& p) {
    if (const auto* d = std::get_if<pdu::DataIn>(&p); d != nullptr && damage && damage(*d)) {
      pdu::DataIn header = *d;
      header.data.clear();
      pdu::Diagnostic diag;
      diag.errc = pdu::Errc::data_digest;
      diag.conn_error = ConnError::data_dgst;
      diag.detail = "SCSI Data-In data digest received 0x0, computed 0x1 (test)";
      if (auto ec = session.receive_damaged_data_in(kCid, header,
                                                    static_cast<std::uint32_t>(d->data.size()),
                                                    diag, now)) {
        receive_errors.push_back(ec);
      }
      return;
    }
    auto bytes = pdu::encode(p);
    if (!bytes) { receive_errors.push_back(bytes.error()); return; }
    to_initiator_.feed(*bytes);
    while (true) {
      auto next = to_initiator_.next();
      if (!next) {
        session.on_receive_error(kCid, to_initiator_.diagnostic(), now);
        return;
      }
      if (!*next) return;
      if (auto ec = session.receive(kCid, **next, now)) receive_errors.push_back(ec);
    }
  }

  // ERL 2: the connection breaks (whatever was on the way is lost), and the same CID logs in
  // again with the session's TSIH; the session then reassigns its tasks.
  void cut(ConnError why = ConnError::conn_failed) {
    session.on_transport_error(kCid, why, now);
    target.lose_connection();
  }
  std::error_code reconnect() {
    if (auto ec = session.begin_recovery()) return ec;
    reset_transport();
    return session.reinstate_connection(kCid, target.stat_sn(), target.exp_cmd_sn(),
                                        target.max_cmd_sn(), cfg_.target_mrdsl, now);
  }

  // A new TCP connection (after a failure): fresh framers both ways.
  void reset_transport() {
    to_target_ = pdu::Framer({.receive = pdu::Direction::initiator_to_target,
                              .max_recv_data_segment_length = cfg_.target_mrdsl});
    to_initiator_ = pdu::Framer({.receive = pdu::Direction::target_to_initiator,
                                 .max_recv_data_segment_length = cfg_.initiator_mrdsl});
  }

  void advance(Duration d) {
    now += d;
    session.on_tick(now);
  }

  std::vector<Completion> completions() {
    std::vector<Completion> out;
    while (auto c = session.pop_completion()) out.push_back(std::move(*c));
    return out;
  }
  std::vector<Event> events() {
    std::vector<Event> out;
    while (auto e = session.pop_event()) out.push_back(std::move(*e));
    return out;
  }

 private:
  pdu::Framer to_target_;
  pdu::Framer to_initiator_;
};

// --- request builders ---------------------------------------------------------------------------

inline ByteVector cdb_bytes(const scsi::Cdb& c) { return ByteVector(c.span().begin(), c.span().end()); }

inline ScsiRequest write_request(std::uint64_t lba, ByteSpan data, std::uint32_t block = 512) {
  ScsiRequest r;
  r.cdb = cdb_bytes(*scsi::write16(lba, static_cast<std::uint32_t>(data.size() / block)));
  r.direction = DataDirection::write;
  r.write_data_view = data;
  return r;
}

inline ScsiRequest read_request(std::uint64_t lba, std::uint32_t bytes, std::uint32_t block = 512) {
  ScsiRequest r;
  r.cdb = cdb_bytes(*scsi::read16(lba, bytes / block));
  r.direction = DataDirection::read;
  r.read_length = bytes;
  return r;
}

inline ByteVector pattern(std::size_t n, std::uint32_t seed) {
  ByteVector v(n);
  std::uint32_t x = seed * 2654435761u + 1u;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return v;
}

}  // namespace iscsi::session::test
