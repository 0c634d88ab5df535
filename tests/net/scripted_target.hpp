// ScriptedTarget: a test-only iSCSI target on 127.0.0.1 for what tgtd will not do on demand
// (send an Async Message: logout request, SCSI async event). Built on the production codec and
// negotiation code (proto/), one connection at a time, blocking I/O on its own thread. It
// answers logins (AuthMethod None, every operational key through login::Negotiation as the
// target), NOP-Outs, a few SCSI commands (TEST UNIT READY, INQUIRY, REPORT LUNS, READ
// CAPACITY(16), READ(16) of zeroes) and Logout, and lets the test push Async Messages.
#pragma once

// <utility> first: Boost 1.74 asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio.hpp>

#include <atomic>
#include <cstdint>
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
#include "proto/text/codec.hpp"

namespace iscsi::net::test {

class ScriptedTarget {
 public:
  static constexpr const char* kIqn = "iqn.2026-11.org.iscsi-lab:scripted";
  static constexpr std::uint64_t kHeldLba = 0xDEAD;
  static constexpr std::uint16_t kSilentTmfLun = 7;
  static constexpr std::uint8_t kRejectedOpcode = 0xFE;

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

  // Sends an Async Message on the current connection (StatSN etc. filled in here); false when
  // no connection is in full feature phase.
  [[nodiscard]] bool send_async(pdu::AsyncMessage m) {
    std::lock_guard lock(mu_);
    if (!sock_ || !ffp_) return false;
    m.stat_sn = stat_sn_;
    stat_sn_ = stat_sn_ + 1;
    m.exp_cmd_sn = exp_cmd_sn_;
    m.max_cmd_sn = exp_cmd_sn_ + 64;
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
        sock_ = std::make_unique<tcp::socket>(std::move(s));
        ffp_ = false;
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
    login::Negotiation neg(login::NegotiationContext{login::Party::target, pdu::Stage::security,
                                                     true, login::SessionType::normal});
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
    if (const auto* req = std::get_if<pdu::LoginRequest>(&p)) {
      if (redirect_) {
        pdu::LoginResponse rsp;
        rsp.csg = req->csg;
        rsp.isid = req->isid;
        rsp.itt = req->itt;
        rsp.status_class = pdu::LoginStatusClass::redirection;
        rsp.status_detail = 0x01;
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
      rsp.max_cmd_sn = req->cmd_sn + 64;
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
    if (const auto* nop = std::get_if<pdu::NopOut>(&p)) {
      if (nop->itt == pdu::kReservedTag) return true;
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
        rj.max_cmd_sn = exp_cmd_sn_ + 64;
        rj.data_sn_or_r2t_sn = SerialNumber{0};
        write_locked(pdu::Pdu{std::move(rj)});
        return true;
      }
      // READ(16) of kHeldLba is never answered: a command to abort.
      if (cmd->cdb[0] == 0x88 && load_be64(&cmd->cdb[2]) == kHeldLba) return true;
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

  template <class T>
  void fill_status(T& pdu_out) {
    pdu_out.stat_sn = stat_sn_;
    stat_sn_ = stat_sn_ + 1;
    pdu_out.exp_cmd_sn = exp_cmd_sn_;
    pdu_out.max_cmd_sn = exp_cmd_sn_ + 64;
  }
  void fill_status(pdu::DataIn& in) {
    in.stat_sn = stat_sn_;
    stat_sn_ = stat_sn_ + 1;
    in.exp_cmd_sn = exp_cmd_sn_;
    in.max_cmd_sn = exp_cmd_sn_ + 64;
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
      case 0x88:  // READ(16): zeroes
        return ByteVector(alloc, 0);
      default:
        return {};
    }
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::unique_ptr<tcp::socket> sock_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ffp_{false};
  std::atomic<int> logins_{0};
  std::atomic<int> logouts_{0};
  std::atomic<int> redirects_sent_{0};
  std::optional<std::uint16_t> redirect_;
  std::atomic<int> report_luns_seen_{0};
  std::atomic<std::uint64_t> blocks_{2048};
  bool login_started_ = false;
  SerialNumber stat_sn_{1000};
  SerialNumber exp_cmd_sn_{1};
  std::vector<std::uint16_t> luns_{0};
};

}  // namespace iscsi::net::test
