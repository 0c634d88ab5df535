// ScriptedTarget: a test-only iSCSI target on 127.0.0.1 for what tgtd will not do on demand
// (send an Async Message: logout request, SCSI async event). Built on the production codec and
// negotiation code (proto/), one connection at a time, blocking I/O on its own thread. It
// answers logins (AuthMethod None, every operational key through login::Negotiation as the
// target), NOP-Outs, a few SCSI commands (TEST UNIT READY, INQUIRY, REPORT LUNS, READ
// CAPACITY(16) and (10), READ(16) of pattern_byte(), writes with one R2T for what was not sent
// unsolicited) and Logout, and lets the test push Async Messages, drop the connection, hold
// commands, refuse READ CAPACITY(16), misbehave once on the next READ(16), answer the next
// READ(16) with a residual (under- or overflow), and leave TMFs unanswered. A responder set by
// the test answers any command that moves no data to the target first (INQUIRY and VPD pages of
// its choosing, REPORT TARGET PORT GROUPS, a CHECK CONDITION for a READ: multipath tests).
#pragma once

// <utility> first: Boost 1.74 asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>
#include <sys/socket.h>

#include "proto/common/bytes.hpp"
#include "proto/login/negotiation.hpp"
#include "proto/pdu/framer.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/scsi/report_luns.hpp"
#include "proto/scsi/sense.hpp"
#include "proto/text/codec.hpp"

namespace iscsi::net::test {

class ScriptedTarget {
 public:
  static constexpr const char* kIqn = "iqn.2026-11.org.iscsi-lab:scripted";
  static constexpr std::uint64_t kHeldLba = 0xDEAD;
  static constexpr std::uint16_t kSilentTmfLun = 7;
  static constexpr std::uint8_t kRejectedOpcode = 0xFE;
  using Clock = std::chrono::steady_clock;

  // One protocol violation on the next READ(16) (not of kHeldLba), then normal service again.
  enum class Misbehave : std::uint8_t {
    none,
    wrong_stat_sn,      // the status-bearing Data-In skips 5 StatSNs
    unknown_itt,        // a SCSI Response with an ITT the initiator never issued
    datasn_gap,         // two Data-In PDUs numbered 0 and 2
    truncated_pdu,      // a Data-In header promising more data than follows, then close
    close_mid_data_in,  // the first of two Data-In PDUs, then close
    data_beyond_length, // one Data-In with 512 bytes more than the transfer length expected
    silent,             // no answer to this command, nor to anything else, until a new connection
  };

  // How the next READ(16) (not a held one) reports a residual (RFC 7143 11.4.5), once. Data-In
  // PDUs carry at most kResidualChunk bytes each, so a few KiB span several.
  enum class Residual : std::uint8_t {
    none,
    underflow_in_data_in,   // `count` bytes fewer than expected; GOOD, U, count in the last Data-In
    underflow_in_response,  // the same bytes in Data-Ins without S, then a SCSI Response with U
    overflow_in_data_in,    // every expected byte, "had" `count` more: GOOD, O, count in the last Data-In
    overflow_in_response,   // the same bytes, then a SCSI Response with O
  };
  static constexpr std::uint32_t kResidualChunk = 1024;

  // The bytes READ(16) returns: a function of the LBA and the offset, so tests check them.
  static std::uint8_t pattern_byte(std::uint64_t lba, std::size_t i) {
    const std::uint64_t x = lba * 512 + i;
    return static_cast<std::uint8_t>((x * 2654435761u) >> 13);
  }
  static ByteVector pattern(std::uint64_t lba, std::size_t n) {
    ByteVector v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = pattern_byte(lba, i);
    return v;
  }

  // A responder's answer to one command: a status (with sense data for CHECK CONDITION), or
  // GOOD with Data-In bytes (cut to the expected length).
  struct Reply {
    std::uint8_t status = 0;
    ByteVector sense;  // sense data (scsi::build_fixed_sense) for CHECK CONDITION
    ByteVector data;
  };
  using Responder = std::function<std::optional<Reply>(const std::array<std::uint8_t, 16>& cdb)>;

  // `address`: "127.0.0.1" or "::1". With `redirect_port`, every login is answered with
  // "target moved temporarily (0x0101)" to 127.0.0.1:<redirect_port>.
  explicit ScriptedTarget(const std::string& address = "127.0.0.1",
                          std::optional<std::uint16_t> redirect_port = std::nullopt)
      : acceptor_(io_, {boost::asio::ip::make_address(address), 0}), redirect_(redirect_port) {
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedTarget() {
    stop_ = true;
    boost::system::error_code ec;
    {
      std::lock_guard lock(mu_);
      if (sock_) sock_->shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    }
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    acceptor_.close(ec);
    thread_.join();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int logins() const { return logins_; }
  int logouts() const { return logouts_; }
  int redirects_sent() const { return redirects_sent_; }
  bool in_full_feature() const { return ffp_; }
  // LUNs REPORT LUNS returns (the test changes it before announcing a change).
  void set_luns(std::vector<std::uint16_t> luns) {
    std::lock_guard lock(mu_);
    luns_ = std::move(luns);
  }
  int report_luns_seen() const { return report_luns_seen_; }
  void set_blocks(std::uint64_t blocks) { blocks_ = blocks; }

  // Redirects (see the constructor) say "moved permanently (0x0102)" instead.
  void set_redirect_permanent(bool permanent) { redirect_permanent_ = permanent; }
  // When each TCP connection was accepted.
  std::vector<Clock::time_point> accept_times() const {
    std::lock_guard lock(mu_);
    return accepts_;
  }
  // Closes the current connection, as a target that drops it (after an Async Message 2 or 3)
  // does; false when there is none. Returns with the time of the drop in `when`.
  bool drop_connection(Clock::time_point* when = nullptr) {
    std::lock_guard lock(mu_);
    if (!sock_) return false;
    if (when) *when = Clock::now();
    boost::system::error_code ec;
    sock_->shutdown(tcp::socket::shutdown_both, ec);
    return true;
  }
  // READ(16) of kHeldLba is held unanswered while this is true (the default).
  void set_hold(bool hold) { hold_ = hold; }
  std::size_t held_now() const {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  std::size_t max_held() const { return max_held_; }
  int held_seen() const { return held_seen_; }
  // Answers every held command with its data and GOOD status.
  void release_held() {
    std::lock_guard lock(mu_);
    if (!sock_ || !ffp_) return;
    std::vector<pdu::ScsiCommand> held;
    held.swap(held_);
    for (const auto& cmd : held) {
      answer_read_locked(cmd, pattern(kHeldLba, cmd.expected_data_transfer_length));
    }
  }
  // READ CAPACITY(16) is refused with CHECK CONDITION, ILLEGAL REQUEST, INVALID COMMAND
  // OPERATION CODE (5/20/00) the next `n` times (-1: always).
  void set_rc16_refusals(int n) { rc16_refusals_ = n; }
  // RETURNED LOGICAL BLOCK ADDRESS of READ CAPACITY(10) (default: blocks - 1, capped).
  void set_rc10_last_lba(std::uint32_t lba) {
    std::lock_guard lock(mu_);
    rc10_last_lba_ = lba;
  }
  int rc16_seen() const { return rc16_seen_; }
  int rc10_seen() const { return rc10_seen_; }
  void set_misbehave(Misbehave m) {
    std::lock_guard lock(mu_);
    misbehave_ = m;
  }
  // The next READ(16) (not one held) is answered as `r` says with residual `count` (an underflow
  // larger than the expected length sends no data at all and reports the expected length).
  void set_residual(Residual r, std::uint32_t count) {
    std::lock_guard lock(mu_);
    residual_ = r;
    residual_count_ = count;
  }
  // What the last residual answer sent: data bytes and Data-In PDUs (set before they leave).
  std::size_t residual_bytes_sent() const { return residual_bytes_sent_; }
  int residual_data_ins_sent() const { return residual_data_ins_sent_; }
  // The next `n` Task Management Requests (any function, any LUN) go unanswered, as those for
  // LUN kSilentTmfLun always do. answer_silenced_tmfs() answers them late ("function complete").
  void set_silent_tmfs(int n) { silent_tmfs_ = n; }
  // Sends the responses the TMFs silenced by set_silent_tmfs() did not get; how many.
  int answer_silenced_tmfs() {
    std::lock_guard lock(mu_);
    if (!sock_ || !ffp_) return 0;
    std::vector<pdu::TaskMgmtRequest> late;
    late.swap(silenced_tmfs_);
    for (const auto& tmf : late) {
      pdu::TaskMgmtResponse r;
      r.itt = tmf.itt;
      r.response = pdu::TmfResponse::function_complete;
      fill_status(r);
      write_locked(pdu::Pdu{std::move(r)});
    }
    return static_cast<int>(late.size());
  }
  // The function of every Task Management Request received, in order (answered or not).
  std::vector<pdu::TmfFunction> tmfs_seen() const {
    std::lock_guard lock(mu_);
    return tmfs_seen_;
  }
  // The largest data segment of any SCSI Command (immediate data) or Data-Out received.
  std::size_t max_data_segment_seen() const { return max_segment_; }
  std::size_t dataout_seen() const { return dataout_seen_; }
  std::size_t writes_done() const { return writes_done_; }
  // The CmdSN window every response opens (MaxCmdSN = ExpCmdSN + window - 1); default 65.
  void set_window(std::uint32_t window) { window_ = std::max<std::uint32_t>(window, 1); }
  // A target ping: NOP-In with a TTT, which the initiator must echo in a NOP-Out.
  [[nodiscard]] bool send_ping(std::uint32_t ttt) {
    std::lock_guard lock(mu_);
    if (!sock_ || !ffp_) return false;
    pdu::NopIn in;
    in.itt = pdu::kReservedTag;
    in.ttt = ttt;
    in.stat_sn = stat_sn_;  // not advanced: the ping is no status
    in.exp_cmd_sn = exp_cmd_sn_;
    in.max_cmd_sn = exp_cmd_sn_ + (window_ - 1);
    in.data = {'p', 'i', 'n', 'g'};
    write_locked(pdu::Pdu{std::move(in)});
    return true;
  }
  // TTTs of the NOP-Outs that answered send_ping(), and their data.
  std::vector<std::pair<std::uint32_t, ByteVector>> ping_answers() const {
    std::lock_guard lock(mu_);
    return ping_answers_;
  }
  // The next `n` login requests are answered "service unavailable (0x0301)", a temporary
  // target error, and the connection closed.
  void set_login_failures(int n) { login_failures_ = n; }
  // The Logout Response code (default: closed successfully).
  void set_logout_response(pdu::LogoutResponseCode code) { logout_response_ = code; }

  // Asked first for every command that moves no data to the target (not for held READs);
  // nullopt lets the built-in answers run. Runs on the target's thread with its lock held.
  void set_responder(Responder r) {
    std::lock_guard lock(mu_);
    responder_ = std::move(r);
  }
  // Commands the responder answered.
  int responder_answers() const { return responder_answers_; }

  // Sends an Async Message on the current connection (StatSN etc. filled in here); false when
  // no connection is in full feature phase.
  [[nodiscard]] bool send_async(pdu::AsyncMessage m) {
    std::lock_guard lock(mu_);
    if (!sock_ || !ffp_) return false;
    m.stat_sn = stat_sn_;
    stat_sn_ = stat_sn_ + 1;
    m.exp_cmd_sn = exp_cmd_sn_;
    m.max_cmd_sn = exp_cmd_sn_ + (window_ - 1);
    write_locked(pdu::Pdu{std::move(m)});
    return true;
  }

 private:
  using tcp = boost::asio::ip::tcp;

  void run() {
    while (!stop_) {
      boost::system::error_code ec;
      tcp::socket s(io_);
      acceptor_.accept(s, ec);
      if (ec || stop_) return;
      {
        std::lock_guard lock(mu_);
        accepts_.push_back(Clock::now());
        sock_ = std::make_unique<tcp::socket>(std::move(s));
        ffp_ = false;
        held_.clear();  // tasks of the old connection are gone with it
        silent_ = false;
        writes_.clear();
        silenced_tmfs_.clear();
      }
      serve();
      std::lock_guard lock(mu_);
      boost::system::error_code ignored;
      sock_->close(ignored);
      sock_.reset();
      ffp_ = false;
    }
  }

  void write_locked(const pdu::Pdu& p) {
    ByteVector out;
    (void)pdu::encode(p, {}, out);
    boost::system::error_code ec;
    boost::asio::write(*sock_, boost::asio::buffer(out), ec);
  }
  void write(const pdu::Pdu& p) {
    std::lock_guard lock(mu_);
    write_locked(p);
  }

  void serve() {
    pdu::Framer framer(pdu::FramerConfig{pdu::Direction::initiator_to_target});
    // DefaultTime2Wait 0 on our side lets the initiator's offer decide (the key takes the
    // larger value), so tests control the wait before a relogin.
    login::Negotiation neg(login::NegotiationContext{login::Party::target, pdu::Stage::security,
                                                     true, login::SessionType::normal},
                           text::KeyValueList{{"DefaultTime2Wait", "0"}});
    for (;;) {
      auto buf = framer.prepare(65536);
      boost::system::error_code ec;
      const std::size_t n = sock_->read_some(boost::asio::buffer(buf.data(), buf.size()), ec);
      if (ec) {
        framer.commit(0);
        return;
      }
      framer.commit(n);
      for (;;) {
        auto next = framer.next();
        if (!next || !*next) break;
        if (!handle(**next, neg, framer)) return;
      }
    }
  }

  bool handle(const pdu::Pdu& p, login::Negotiation& neg, pdu::Framer& framer) {
    if (silent_) return true;  // Misbehave::silent: read and drop, answer nothing
    if (const auto* req = std::get_if<pdu::LoginRequest>(&p)) {
      if (login_failures_ > 0) {
        --login_failures_;
        pdu::LoginResponse rsp;
        rsp.csg = req->csg;
        rsp.isid = req->isid;
        rsp.itt = req->itt;
        rsp.status_class = pdu::LoginStatusClass::target_error;
        rsp.status_detail = 0x01;
        rsp.stat_sn = SerialNumber{1};
        rsp.exp_cmd_sn = req->cmd_sn;
        rsp.max_cmd_sn = req->cmd_sn + 1;
        write(pdu::Pdu{std::move(rsp)});
        return false;
      }
      if (redirect_) {
        pdu::LoginResponse rsp;
        rsp.csg = req->csg;
        rsp.isid = req->isid;
        rsp.itt = req->itt;
        rsp.status_class = pdu::LoginStatusClass::redirection;
        rsp.status_detail = redirect_permanent_ ? 0x02 : 0x01;
        rsp.stat_sn = SerialNumber{1};
        rsp.exp_cmd_sn = req->cmd_sn;
        rsp.max_cmd_sn = req->cmd_sn + 1;
        auto enc = text::encode(
            {{"TargetAddress", "127.0.0.1:" + std::to_string(*redirect_) + ",1"}});
        if (enc) rsp.data = std::move(*enc);
        ++redirects_sent_;
        write(pdu::Pdu{std::move(rsp)});
        return false;
      }
      auto keys = text::decode(req->data);
      neg.set_stage(req->csg);
      pdu::LoginResponse rsp;
      rsp.transit = req->transit;
      rsp.csg = req->csg;
      rsp.nsg = req->nsg;
      rsp.isid = req->isid;
      rsp.itt = req->itt;
      rsp.tsih = 0;
      {
        std::lock_guard lock(mu_);
        if (!login_started_) {
          login_started_ = true;
          stat_sn_ = SerialNumber{1000};
        }
        rsp.stat_sn = stat_sn_;
        stat_sn_ = stat_sn_ + 1;
        exp_cmd_sn_ = req->cmd_sn;
      }
      rsp.exp_cmd_sn = req->cmd_sn;
      rsp.max_cmd_sn = req->cmd_sn + (window_ - 1);
      if (keys) {
        text::KeyValueList answer;
        auto got = neg.receive(*keys);
        if (got) answer = got->answers;
        if (req->csg == pdu::Stage::security && !text::contains(answer, "AuthMethod")) {
          // AuthMethod answered already (or not offered): nothing to add.
        }
        auto enc = text::encode(answer);
        if (enc) rsp.data = std::move(*enc);
      }
      if (req->transit && req->nsg == pdu::Stage::full_feature) {
        rsp.tsih = 0x77;
        ++logins_;
        login_started_ = false;
        framer.set_max_recv_data_segment_length(8192);
        {
          // Full feature phase starts before the response leaves: the initiator may act on it
          // (and the test call send_async) the moment it arrives.
          std::lock_guard lock(mu_);
          ffp_ = true;
          write_locked(pdu::Pdu{std::move(rsp)});
        }
        return true;
      }
      write(pdu::Pdu{std::move(rsp)});
      return true;
    }
    if (const auto* out = std::get_if<pdu::DataOut>(&p)) {
      std::lock_guard lock(mu_);
      ++dataout_seen_;
      note_segment(out->data.size());
      auto it = writes_.find(out->itt);
      if (it == writes_.end()) return true;
      it->second.received += static_cast<std::uint32_t>(out->data.size());
      if (out->final_pdu) advance_write_locked(it);
      return true;
    }
    if (const auto* nop = std::get_if<pdu::NopOut>(&p)) {
      if (nop->itt == pdu::kReservedTag) {
        if (nop->ttt != pdu::kReservedTag) {
          std::lock_guard lock(mu_);
          ping_answers_.emplace_back(nop->ttt, nop->data);
        }
        return true;
      }
      pdu::NopIn in;
      in.itt = nop->itt;
      in.ttt = pdu::kReservedTag;
      in.data = nop->data;
      std::lock_guard lock(mu_);
      fill_status(in);
      write_locked(pdu::Pdu{std::move(in)});
      return true;
    }
    if (const auto* tmf = std::get_if<pdu::TaskMgmtRequest>(&p)) {
      {
        std::lock_guard lock(mu_);
        tmfs_seen_.push_back(tmf->function);
        if (silent_tmfs_ > 0) {  // set_silent_tmfs(): kept for answer_silenced_tmfs()
          --silent_tmfs_;
          silenced_tmfs_.push_back(*tmf);
          return true;
        }
      }
      // LUN 7 never answers (TMF timeout tests); everything else completes.
      if (tmf->lun == load_be64(scsi::Lun::from_number(kSilentTmfLun)->bytes().data())) return true;
      pdu::TaskMgmtResponse r;
      r.itt = tmf->itt;
      r.response = pdu::TmfResponse::function_complete;
      std::lock_guard lock(mu_);
      if (!tmf->immediate) exp_cmd_sn_ = tmf->cmd_sn + 1;
      fill_status(r);
      write_locked(pdu::Pdu{std::move(r)});
      return true;
    }
    if (const auto* cmd = std::get_if<pdu::ScsiCommand>(&p)) {
      std::lock_guard lock(mu_);
      if (!cmd->immediate) exp_cmd_sn_ = cmd->cmd_sn + 1;
      // Opcode kRejectedOpcode is answered with a Reject PDU (command not supported) carrying
      // the command's header, as RFC 7143 11.17 describes.
      if (cmd->cdb[0] == kRejectedOpcode) {
        pdu::Reject rj;
        rj.reason = pdu::RejectReason::command_not_supported;
        rj.data.resize(pdu::kBhsLength);
        (void)pdu::encode_bhs(p, std::span<std::uint8_t, pdu::kBhsLength>(rj.data.data(),
                                                                          pdu::kBhsLength));
        rj.stat_sn = stat_sn_;  // a Reject carries StatSN but does not advance it for the task
        stat_sn_ = stat_sn_ + 1;
        rj.exp_cmd_sn = exp_cmd_sn_;
        rj.max_cmd_sn = exp_cmd_sn_ + (window_ - 1);
        rj.data_sn_or_r2t_sn = SerialNumber{0};
        write_locked(pdu::Pdu{std::move(rj)});
        return true;
      }
      // READ(16) of kHeldLba is held (never answered, by default): a command to abort.
      if (cmd->cdb[0] == 0x88 && load_be64(&cmd->cdb[2]) == kHeldLba) {
        ++held_seen_;
        if (hold_) {
          pdu::ScsiCommand h = *cmd;
          h.data.clear();
          held_.push_back(std::move(h));
          max_held_ = std::max(max_held_.load(), held_.size());
          return true;
        }
      }
      if (!cmd->write && responder_) {
        if (auto reply = responder_(cmd->cdb)) {
          ++responder_answers_;
          answer_reply_locked(*cmd, std::move(*reply));
          return true;
        }
      }
      if (cmd->write) {
        note_segment(cmd->data.size());
        auto it = writes_.emplace(cmd->itt, PendingWrite{*cmd, 0, SerialNumber{0}}).first;
        it->second.cmd.data.clear();
        it->second.received = static_cast<std::uint32_t>(cmd->data.size());
        if (cmd->final_pdu) advance_write_locked(it);
        return true;
      }
      if (cmd->cdb[0] == 0x9E) {
        ++rc16_seen_;
        if (rc16_refusals_ != 0) {
          if (rc16_refusals_ > 0) --rc16_refusals_;
          pdu::ScsiResponse r;
          r.itt = cmd->itt;
          r.status = 0x02;  // CHECK CONDITION
          auto sense = scsi::build_fixed_sense(scsi::SenseKey::illegal_request, 0x20, 0x00);
          r.data = pdu::make_sense_data(sense);
          fill_status(r);
          write_locked(pdu::Pdu{std::move(r)});
          return true;
        }
      }
      if (cmd->cdb[0] == 0x25) ++rc10_seen_;
      if (cmd->cdb[0] == 0x88 && misbehave_ != Misbehave::none) {
        return misbehave_locked(*cmd, std::exchange(misbehave_, Misbehave::none));
      }
      if (cmd->cdb[0] == 0x88 && residual_ != Residual::none) {
        answer_residual_locked(*cmd, std::exchange(residual_, Residual::none), residual_count_);
        return true;
      }
      ByteVector data = scsi_data(cmd->cdb, cmd->expected_data_transfer_length);
      if (cmd->read && !data.empty()) {
        pdu::DataIn in;
        in.final_pdu = true;
        in.status_present = true;
        in.status = 0;
        in.itt = cmd->itt;
        in.lun = cmd->lun;
        in.data_sn = SerialNumber{0};
        in.buffer_offset = 0;
        if (data.size() > cmd->expected_data_transfer_length) {
          data.resize(cmd->expected_data_transfer_length);
        }
        if (data.size() < cmd->expected_data_transfer_length) {
          in.underflow = true;
          in.residual_count =
              cmd->expected_data_transfer_length - static_cast<std::uint32_t>(data.size());
        }
        in.data = std::move(data);
        fill_status(in);
        write_locked(pdu::Pdu{std::move(in)});
      } else {
        pdu::ScsiResponse r;
        r.itt = cmd->itt;
        r.status = 0;
        fill_status(r);
        write_locked(pdu::Pdu{std::move(r)});
      }
      return true;
    }
    if (const auto* lo = std::get_if<pdu::LogoutRequest>(&p)) {
      pdu::LogoutResponse r;
      r.itt = lo->itt;
      r.response = logout_response_;
      {
        std::lock_guard lock(mu_);
        if (!lo->immediate) exp_cmd_sn_ = lo->cmd_sn + 1;
        fill_status(r);
        write_locked(pdu::Pdu{std::move(r)});
      }
      ++logouts_;
      return false;  // close the connection
    }
    return true;
  }

  struct PendingWrite {
    pdu::ScsiCommand cmd;
    std::uint32_t received = 0;
    SerialNumber r2t_sn{0};
  };

  void note_segment(std::size_t n) { max_segment_ = std::max(max_segment_.load(), n); }

  // A write whose unsolicited data (or an R2T's sequence) ended: GOOD once every byte came,
  // else one R2T for the rest (tests keep writes within MaxBurstLength).
  void advance_write_locked(std::map<std::uint32_t, PendingWrite>::iterator it) {
    PendingWrite& w = it->second;
    const std::uint32_t want = w.cmd.expected_data_transfer_length;
    if (w.received >= want) {
      pdu::ScsiResponse r;
      r.itt = w.cmd.itt;
      r.status = 0;
      fill_status(r);
      writes_.erase(it);
      ++writes_done_;  // before the answer: the test may look the moment it has it
      write_locked(pdu::Pdu{std::move(r)});
      return;
    }
    pdu::R2T r2t;
    r2t.lun = w.cmd.lun;
    r2t.itt = w.cmd.itt;
    r2t.ttt = next_ttt_++;
    r2t.r2t_sn = w.r2t_sn;
    w.r2t_sn = w.r2t_sn + 1;
    r2t.buffer_offset = w.received;
    r2t.desired_data_transfer_length = want - w.received;
    r2t.stat_sn = stat_sn_;  // an R2T carries StatSN without advancing it
    r2t.exp_cmd_sn = exp_cmd_sn_;
    r2t.max_cmd_sn = exp_cmd_sn_ + (window_ - 1);
    write_locked(pdu::Pdu{std::move(r2t)});
  }

  pdu::DataIn data_in_for(const pdu::ScsiCommand& cmd, SerialNumber data_sn, std::uint32_t offset,
                          ByteVector data) {
    pdu::DataIn in;
    in.itt = cmd.itt;
    in.lun = cmd.lun;
    in.data_sn = data_sn;
    in.buffer_offset = offset;
    in.data = std::move(data);
    in.stat_sn = stat_sn_;  // advanced by the status-bearing one only
    in.exp_cmd_sn = exp_cmd_sn_;
    in.max_cmd_sn = exp_cmd_sn_ + (window_ - 1);
    return in;
  }

  void answer_reply_locked(const pdu::ScsiCommand& cmd, Reply reply) {
    if (reply.status == 0 && cmd.read && !reply.data.empty()) {
      if (reply.data.size() > cmd.expected_data_transfer_length) {
        reply.data.resize(cmd.expected_data_transfer_length);
      }
      pdu::DataIn in = data_in_for(cmd, SerialNumber{0}, 0, std::move(reply.data));
      in.final_pdu = true;
      in.status_present = true;
      in.status = 0;
      if (in.data.size() < cmd.expected_data_transfer_length) {
        in.underflow = true;
        in.residual_count =
            cmd.expected_data_transfer_length - static_cast<std::uint32_t>(in.data.size());
      }
      fill_status(in);
      write_locked(pdu::Pdu{std::move(in)});
      return;
    }
    pdu::ScsiResponse r;
    r.itt = cmd.itt;
    r.status = reply.status;
    if (!reply.sense.empty()) r.data = pdu::make_sense_data(reply.sense);
    fill_status(r);
    write_locked(pdu::Pdu{std::move(r)});
  }

  void answer_read_locked(const pdu::ScsiCommand& cmd, ByteVector data) {
    pdu::DataIn in = data_in_for(cmd, SerialNumber{0}, 0, std::move(data));
    in.final_pdu = true;
    in.status_present = true;
    in.status = 0;
    fill_status(in);
    write_locked(pdu::Pdu{std::move(in)});
  }

  // A READ(16) answered with a residual (set_residual()): Data-Ins of at most kResidualChunk
  // bytes, the status on the last (an empty one when no byte is sent) or in a SCSI Response.
  void answer_residual_locked(const pdu::ScsiCommand& cmd, Residual mode, std::uint32_t count) {
    const std::uint32_t len = cmd.expected_data_transfer_length;
    const bool under =
        mode == Residual::underflow_in_data_in || mode == Residual::underflow_in_response;
    const bool in_response =
        mode == Residual::underflow_in_response || mode == Residual::overflow_in_response;
    const std::uint32_t residual = under ? std::min(count, len) : count;
    const std::uint32_t sent = under ? len - residual : len;
    const ByteVector all = pattern(load_be64(&cmd.cdb[2]), sent);
    std::vector<pdu::DataIn> ins;
    for (std::uint32_t off = 0; off < sent; off += kResidualChunk) {
      const std::uint32_t n = std::min(kResidualChunk, sent - off);
      ins.push_back(data_in_for(cmd, SerialNumber{static_cast<std::uint32_t>(ins.size())}, off,
                                ByteVector(all.begin() + off, all.begin() + off + n)));
    }
    if (ins.empty() && !in_response) ins.push_back(data_in_for(cmd, SerialNumber{0}, 0, {}));
    if (!ins.empty()) ins.back().final_pdu = true;
    if (!in_response) {
      pdu::DataIn& last = ins.back();
      last.status_present = true;
      last.status = 0;
      last.underflow = under;
      last.overflow = !under;
      last.residual_count = residual;
      fill_status(last);
    }
    residual_bytes_sent_ = sent;
    residual_data_ins_sent_ = static_cast<int>(ins.size());
    const auto data_ins = static_cast<std::uint32_t>(ins.size());
    for (auto& in : ins) write_locked(pdu::Pdu{std::move(in)});
    if (in_response) {
      pdu::ScsiResponse r;
      r.itt = cmd.itt;
      r.status = 0;
      r.underflow = under;
      r.overflow = !under;
      r.residual_count = residual;
      r.exp_data_sn = SerialNumber{data_ins};
      fill_status(r);
      write_locked(pdu::Pdu{std::move(r)});
    }
  }

  // The one-shot misbehaviour on a READ(16); false closes the connection.
  bool misbehave_locked(const pdu::ScsiCommand& cmd, Misbehave m) {
    const std::uint32_t len = cmd.expected_data_transfer_length;
    ByteVector all = pattern(load_be64(&cmd.cdb[2]), len);
    const std::uint32_t half = len / 2;
    ByteVector first(all.begin(), all.begin() + half);
    ByteVector second(all.begin() + half, all.end());
    switch (m) {
      case Misbehave::none: break;
      case Misbehave::wrong_stat_sn: {
        stat_sn_ = stat_sn_ + 5;
        answer_read_locked(cmd, std::move(all));
        return true;
      }
      case Misbehave::unknown_itt: {
        pdu::ScsiResponse r;
        r.itt = cmd.itt ^ 0x00A50000u;
        fill_status(r);
        write_locked(pdu::Pdu{std::move(r)});
        return true;
      }
      case Misbehave::datasn_gap: {
        write_locked(pdu::Pdu{data_in_for(cmd, SerialNumber{0}, 0, std::move(first))});
        pdu::DataIn in = data_in_for(cmd, SerialNumber{2}, half, std::move(second));
        in.final_pdu = true;
        in.status_present = true;
        fill_status(in);
        write_locked(pdu::Pdu{std::move(in)});
        return true;
      }
      case Misbehave::truncated_pdu: {
        ByteVector out;
        const pdu::Pdu in{data_in_for(cmd, SerialNumber{0}, 0, std::move(first))};
        (void)pdu::encode(in, {}, out);
        out.resize(pdu::kBhsLength + half / 2);  // the header and half its data segment
        boost::system::error_code ec;
        boost::asio::write(*sock_, boost::asio::buffer(out), ec);
        return false;
      }
      case Misbehave::close_mid_data_in:
        write_locked(pdu::Pdu{data_in_for(cmd, SerialNumber{0}, 0, std::move(first))});
        return false;
      case Misbehave::data_beyond_length: {
        all.resize(all.size() + 512, 0xEE);
        pdu::DataIn in = data_in_for(cmd, SerialNumber{0}, 0, std::move(all));
        in.final_pdu = true;
        in.status_present = true;
        fill_status(in);
        write_locked(pdu::Pdu{std::move(in)});
        return true;
      }
      case Misbehave::silent:
        silent_ = true;
        return true;
    }
    return true;
  }

  template <class T>
  void fill_status(T& pdu_out) {
    pdu_out.stat_sn = stat_sn_;
    stat_sn_ = stat_sn_ + 1;
    pdu_out.exp_cmd_sn = exp_cmd_sn_;
    pdu_out.max_cmd_sn = exp_cmd_sn_ + (window_ - 1);
  }
  void fill_status(pdu::DataIn& in) {
    in.stat_sn = stat_sn_;
    stat_sn_ = stat_sn_ + 1;
    in.exp_cmd_sn = exp_cmd_sn_;
    in.max_cmd_sn = exp_cmd_sn_ + (window_ - 1);
  }

  ByteVector scsi_data(const std::array<std::uint8_t, 16>& cdb, std::uint32_t alloc) {
    switch (cdb[0]) {
      case 0x12: {  // INQUIRY (standard data: direct-access block device)
        ByteVector d(36, 0x20);
        d[0] = 0x00;
        d[1] = 0x00;
        d[2] = 0x06;
        d[3] = 0x02;
        d[4] = 31;
        d[5] = d[6] = d[7] = 0;
        if (cdb[1] & 1) {  // VPD: only the supported-pages page
          return ByteVector{0, 0, 0, 1, 0};
        }
        return d;
      }
      case 0xA0: {  // REPORT LUNS
        ++report_luns_seen_;
        std::vector<scsi::Lun> luns;
        for (auto l : luns_) luns.push_back(*scsi::Lun::from_number(l));
        return scsi::encode_report_luns(luns);
      }
      case 0x9E: {  // READ CAPACITY(16): blocks_ blocks of 512 bytes
        ByteVector d(32, 0);
        store_be64(d.data(), blocks_ - 1);
        d[10] = 0x02;
        return d;
      }
      case 0x25: {  // READ CAPACITY(10): 512-byte blocks
        ByteVector d(8, 0);
        const std::uint64_t last = blocks_ - 1;
        store_be32(d.data(), rc10_last_lba_ ? *rc10_last_lba_
                                            : static_cast<std::uint32_t>(
                                                  std::min<std::uint64_t>(last, 0xFFFFFFFFu)));
        d[6] = 0x02;
        return d;
      }
      case 0x88:  // READ(16): the pattern
        return pattern(load_be64(&cdb[2]), alloc);
      default:
        return {};
    }
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::unique_ptr<tcp::socket> sock_;
  std::vector<Clock::time_point> accepts_;
  std::atomic<bool> redirect_permanent_{false};
  std::atomic<bool> hold_{true};
  std::vector<pdu::ScsiCommand> held_;
  std::atomic<std::size_t> max_held_{0};
  std::atomic<int> held_seen_{0};
  std::atomic<int> rc16_refusals_{0};
  std::optional<std::uint32_t> rc10_last_lba_;
  std::atomic<int> rc16_seen_{0};
  std::atomic<int> rc10_seen_{0};
  Misbehave misbehave_ = Misbehave::none;  // under mu_
  std::atomic<bool> silent_{false};          // Misbehave::silent, until the next connection
  Residual residual_ = Residual::none;     // under mu_
  std::uint32_t residual_count_ = 0;       // under mu_
  std::atomic<std::size_t> residual_bytes_sent_{0};
  std::atomic<int> residual_data_ins_sent_{0};
  std::atomic<int> silent_tmfs_{0};
  std::vector<pdu::TaskMgmtRequest> silenced_tmfs_;  // under mu_
  std::vector<pdu::TmfFunction> tmfs_seen_;          // under mu_
  std::atomic<std::size_t> max_segment_{0};
  std::atomic<std::size_t> dataout_seen_{0};
  std::atomic<std::size_t> writes_done_{0};
  std::map<std::uint32_t, PendingWrite> writes_;
  std::uint32_t next_ttt_ = 0x100;
  std::atomic<std::uint32_t> window_{65};
  std::atomic<int> login_failures_{0};
  std::vector<std::pair<std::uint32_t, ByteVector>> ping_answers_;
  std::atomic<pdu::LogoutResponseCode> logout_response_{
      pdu::LogoutResponseCode::closed_successfully};
  std::atomic<bool> stop_{false};
  std::atomic<bool> ffp_{false};
  std::atomic<int> logins_{0};
  std::atomic<int> logouts_{0};
  std::atomic<int> redirects_sent_{0};
  std::optional<std::uint16_t> redirect_;
  std::atomic<int> report_luns_seen_{0};
  Responder responder_;  // under mu_
  std::atomic<int> responder_answers_{0};
  std::atomic<std::uint64_t> blocks_{2048};
  bool login_started_ = false;
  SerialNumber stat_sn_{1000};
  SerialNumber exp_cmd_sn_{1};
  std::vector<std::uint16_t> luns_{0};
};

}  // namespace iscsi::net::test
