// Connecting and logging in: the TCP connection, the login machine driven PDU by PDU with
// login_timeout, redirects, and what a failed or successful login leads to.
#include "net/engine.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <random>
#include <sstream>
#include <utility>

#include "net/engine_internal.hpp"
#include "net/offer.hpp"
#include "proto/login/status.hpp"

namespace iscsi::net::detail {

void Core::start(std::function<void(std::exception_ptr)> done) {
  start_done_ = std::move(done);
  purpose_ = LoginPurpose::initial;
  connect();
}

Result<login::LoginMachine> Core::make_login_machine() {
  login::LoginConfig cfg;
  cfg.initiator_name = opts_.initiator_name;
  cfg.initiator_alias = opts_.initiator_alias;
  cfg.isid = isid_;
  cfg.tsih = 0;  // ERL 0 reinstatement: same ISID, TSIH 0 (RFC 7143 6.3.5)
  cfg.cid = cid_;
  cfg.itt = login_itt_++;
  cfg.cmd_sn = SerialNumber{1};
  cfg.exp_stat_sn = SerialNumber{0};
  // ERL 2 connection reinstatement (RFC 7143 6.2.2): the session's TSIH and the same CID, its
  // current CmdSN, and the failed connection's ExpStatSN, with which the target lets go of the
  // commands whose status we had (LIO: iscsit_discard_cr_cmds_by_expstatsn).
  const bool conn_reinstatement = purpose_ == LoginPurpose::reinstate_connection && sess_;
  if (conn_reinstatement) {
    cfg.tsih = sess_->config().tsih;
    cfg.cmd_sn = sess_->cmd_sn();
    cfg.exp_stat_sn = sess_->exp_stat_sn(cid_);
  }
  cfg.session_type =
      kind_ == Kind::discovery ? login::SessionType::discovery : login::SessionType::normal;
  if (kind_ == Kind::normal) cfg.target_name = target_;
  const AuthOptions& a = opts_.auth;
  if (a.authmethod == AuthMethodSetting::chap) {
    cfg.auth_methods = {login::AuthMethod::chap};
    auth::ChapInitiatorConfig chap;
    chap.algorithms = a.chap_algs;
    chap.local = auth::ChapCredentials{a.username, a.password.clone()};
    if (a.mutual()) chap.target = auth::ChapCredentials{a.username_in, a.password_in.clone()};
    chap.random = [](std::span<std::uint8_t> out) {
      std::random_device rd;
      for (auto& b : out) b = static_cast<std::uint8_t>(rd());
    };
    cfg.chap = std::move(chap);
  } else {
    cfg.auth_methods = {login::AuthMethod::none};
  }
  // A connection added to an existing session negotiates only the connection's own keys (the
  // leading-only ones are the session's already).
  auto offer = operational_offer(opts_.iscsi, kind_ == Kind::normal && !conn_reinstatement);
  cfg.operational_keys = std::move(offer.keys);
  if (!capped_said_) {   // once per session, not at every relogin
    capped_said_ = true;
    for (const auto& line : offer.capped) {
      rt_->log(conn_prefix() + line);
      record(EventType::setting_capped, line);
    }
  }
  return login::LoginMachine::create(std::move(cfg));
}

void Core::connect() {
  if (terminal_) return;
  close_conn();
  auto c = std::make_shared<Conn>(rt_->io);
  conn_ = c;
  // Login PDUs never carry digests, whatever the previous connection negotiated.
  out_digests_ = {};
  phase_ = Phase::connecting;
  login_timer_.expires_after(opts_.login_timeout);
  login_timer_.async_wait([self = shared_from_this(), c](boost::system::error_code ec) {
    if (ec || c != self->conn_) return;
    if (self->phase_ != Phase::connecting && self->phase_ != Phase::logging_in) return;
    self->login_attempt_failed(Errc::login_timeout,
                               "login_timeout expired (" + secs(self->opts_.login_timeout) +
                                   ") connecting to " + self->portal_.to_string(),
                               true);
  });
  c->resolver.async_resolve(
      portal_.host, std::to_string(portal_.port),
      [self = shared_from_this(), c](boost::system::error_code ec, tcp::resolver::results_type r) {
        if (c != self->conn_ || c->dead) return;
        if (ec) {
          self->login_attempt_failed(Errc::connect_failed,
                                     "cannot resolve " + self->portal_.host + ": " + ec.message(),
                                     true);
          return;
        }
        if (!self->opts_.source_address.empty() || !self->opts_.bind_device.empty()) {
          self->connect_bound(c, r);
          return;
        }
        asio::async_connect(c->socket, r,
                            [self, c](boost::system::error_code ec2, const tcp::endpoint&) {
                              if (c != self->conn_ || c->dead) return;
                              if (ec2) {
                                self->login_attempt_failed(
                                    Errc::connect_failed,
                                    "connect to " + self->portal_.to_string() + ": " +
                                        ec2.message(),
                                    true);
                                return;
                              }
                              self->on_connected(c);
                            });
      });
}

// An iface binding: the socket is opened, tied to the device and bound to the source address
// before connecting, so asio's range connect (which reopens the socket per endpoint) cannot be
// used; the first endpoint of the source address's family is tried.
void Core::connect_bound(const std::shared_ptr<Conn>& c, const tcp::resolver::results_type& r) {
  boost::system::error_code ec;
  std::optional<asio::ip::address> source;
  if (!opts_.source_address.empty()) {
    source = asio::ip::make_address(opts_.source_address, ec);
    if (ec) {
      login_attempt_failed(Errc::connect_failed,
                           "iface.ipaddress '" + opts_.source_address + "' is not an IP address",
                           false);
      return;
    }
  }
  std::optional<tcp::endpoint> target;
  for (const auto& entry : r) {
    if (!source || entry.endpoint().address().is_v4() == source->is_v4()) {
      target = entry.endpoint();
      break;
    }
  }
  if (!target) {
    login_attempt_failed(Errc::connect_failed,
                         portal_.host + " has no address of the family of iface.ipaddress " +
                             opts_.source_address,
                         false);
    return;
  }
  const tcp::endpoint to = *target;
  c->socket.open(to.protocol(), ec);
  if (!ec && !opts_.bind_device.empty()) {
    const auto& dev = opts_.bind_device;
    if (::setsockopt(c->socket.native_handle(), SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(),
                     static_cast<socklen_t>(dev.size())) != 0) {
      ec.assign(errno, boost::system::system_category());
      login_attempt_failed(Errc::connect_failed,
                           "iface.net_ifacename " + dev + ": " + ec.message(), false);
      return;
    }
  }
  if (!ec && source) c->socket.bind(tcp::endpoint(*source, 0), ec);
  if (ec) {
    login_attempt_failed(Errc::connect_failed,
                         "bind to iface.ipaddress " + opts_.source_address + ": " + ec.message(),
                         false);
    return;
  }
  c->socket.async_connect(to, [self = shared_from_this(), c](boost::system::error_code ec2) {
    if (c != self->conn_ || c->dead) return;
    if (ec2) {
      self->login_attempt_failed(Errc::connect_failed,
                                 "connect to " + self->portal_.to_string() + " from " +
                                     (self->opts_.source_address.empty() ? self->opts_.bind_device
                                                                         : self->opts_.source_address) +
                                     ": " + ec2.message(),
                                 true);
      return;
    }
    self->on_connected(c);
  });
}

void Core::on_connected(const std::shared_ptr<Conn>& c) {
  boost::system::error_code ignored;
  c->socket.set_option(tcp::no_delay(true), ignored);
  // flush() sends with a plain non-blocking send first (see there).
  c->socket.non_blocking(true, ignored);
  auto machine = make_login_machine();
  if (!machine) {
    login_attempt_failed(Errc::invalid_argument, "login configuration: " + machine.error().message(),
                         false);
    return;
  }
  login_.emplace(std::move(*machine));
  auto first = login_->start();
  if (!first) {
    login_attempt_failed(Errc::login_protocol_error, first.error().message(), false);
    return;
  }
  phase_ = Phase::logging_in;
  send_pdu(c, pdu::Pdu{std::move(*first)});
  ++login_pdus_;
  flush(c);
  start_read(c);
}

void Core::handle_login_pdu(const std::shared_ptr<Conn>& c, const pdu::Pdu& p) {
  const auto* rsp = std::get_if<pdu::LoginResponse>(&p);
  if (rsp == nullptr) {
    login_attempt_failed(Errc::login_protocol_error,
                         "unexpected " + pdu::to_string(p) + " during login", true);
    return;
  }
  ++login_pdus_;
  auto step = login_->receive(*rsp);
  if (!step) {
    std::string detail = step.error().message();
    if (login_->outcome()) detail = login::to_string(*login_->outcome());
    login_attempt_failed(Errc::login_protocol_error, detail, false);
    return;
  }
  if (auto* req = std::get_if<pdu::LoginRequest>(&*step)) {
    send_pdu(c, pdu::Pdu{std::move(*req)});
    ++login_pdus_;
    flush(c);
    return;
  }
  const auto& outcome = std::get<login::LoginOutcome>(*step);
  if (const auto* li = std::get_if<login::LoggedIn>(&outcome)) {
    logged_in(*li);
    return;
  }
  if (const auto* rd = std::get_if<login::Redirected>(&outcome)) {
    if (++redirects_ > 8) {
      login_attempt_failed(Errc::login_rejected, "too many redirects", false);
      return;
    }
    record(EventType::login_failed, login::to_string(outcome));
    {
      std::lock_guard lock(mu_);  // portal() reads it from other threads
      portal_.host = rd->address.host;
      portal_.port = rd->address.port;
      // 0x0102: the target moved for good; later logins (recovery) go there too.
      if (rd->permanent()) original_portal_ = portal_;
    }
    connect();
    return;
  }
  if (const auto* rj = std::get_if<login::Rejected>(&outcome)) {
    // LIO 6.1 answers an ERL 2 connection reinstatement with 0x0206 (too many connections)
    // when the connection it replaces was still up: it waits for that connection's close only
    // until the close is half done, then finds the session's connection count not yet lowered
    // (iscsi_login_post_auth_non_zero_tsih after iscsit_connection_reinstatement_rcfr;
    // atomic_dec(&sess->nconn) comes later in iscsit_close_connection). The next try finds the
    // old connection gone and its tasks waiting for reassignment, so it is worth one.
    const bool lio_reinstatement_race =
        purpose_ == LoginPurpose::reinstate_connection && !rj->leading &&
        rj->status == login::LoginStatus::from(login::LoginStatusCode::too_many_connections);
    login_attempt_failed(rj->session_limit() ? Errc::session_limit : Errc::login_rejected,
                         login::to_string(outcome), rj->temporary() || lio_reinstatement_race);
    return;
  }
  const auto& pe = std::get<login::ProtocolError>(outcome);
  login_attempt_failed(Errc::login_protocol_error, login::to_string(outcome) + " " + pe.detail,
                       false);
}

void Core::close_conn(Close how) {
  if (!conn_) return;
  conn_->dead = true;
  boost::system::error_code ignored;
  conn_->resolver.cancel();
  if (how == Close::abortive) {
    conn_->socket.set_option(boost::asio::socket_base::linger(true, 0), ignored);
  } else {
    conn_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  }
  conn_->socket.close(ignored);
  // Closing cancels the receive: nothing writes into a placement any more.
  end_placement(*conn_);
  conn_.reset();
  login_timer_.cancel();
  tick_timer_.cancel();
  armed_deadline_.reset();
}

void Core::login_attempt_failed(Errc code, const std::string& detail, bool retryable) {
  close_conn();
  login_.reset();
  record(EventType::login_failed, detail);
  rt_->log(conn_prefix() + "login failed: " + detail);
  // A redirect is for one login: the next attempt starts at the configured portal.
  {
    std::lock_guard lock(mu_);
    portal_ = original_portal_;
  }
  redirects_ = 0;
  if (purpose_ == LoginPurpose::reinstate_connection && !retryable) {
    // The target will not take the connection back (e.g. the session is gone): ERL 0's way.
    abandon_connection_recovery("connection reinstatement refused: " + detail);
  }
  if (purpose_ == LoginPurpose::initial) {
    if (retryable && initial_attempts_ < opts_.initial_login_retry_max && !terminal_) {
      ++initial_attempts_;
      phase_ = Phase::waiting_relogin;
      retry_timer_.expires_after(std::chrono::seconds(1));
      retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec && !self->terminal_) self->connect();
      });
      return;
    }
    phase_ = Phase::closed;
    terminal_ = true;
    Errc final_code = code;
    std::string final_detail = detail;
    if (retryable && opts_.initial_login_retry_max > 0) {
      final_code = Errc::login_retries_exhausted;
      final_detail = "initial_login_retry_max (" + std::to_string(opts_.initial_login_retry_max) +
                     ") exhausted; last: " + detail;
    }
    terminal_code_ = final_code;
    terminal_detail_ = final_detail;
    if (auto done = std::exchange(start_done_, nullptr)) done(make_error(final_code, final_detail));
    return;
  }
  // Relogin during recovery: try again, with backoff, until replacement_timeout / reopen_max.
  phase_ = Phase::waiting_relogin;
  backoff_ = std::min(std::max(backoff_ * 2, milliseconds(500)), milliseconds(4000));
  schedule_relogin(backoff_);
}

void Core::logged_in(const login::LoggedIn& li) {
  login_timer_.cancel();
  const auto now = SteadyClock::now();
  session::SessionConfig cfg;
  cfg.params = li.params;
  // node.conn[0].iscsi.MaxXmitDataSegmentLength caps our data segments below the target's
  // MaxRecvDataSegmentLength (0 = the target's value); params() then shows the limit in use.
  if (const std::uint32_t x = opts_.iscsi.max_xmit_data_segment_length; x != 0) {
    cfg.params.max_send_data_segment_length =
        std::min(cfg.params.max_send_data_segment_length, std::max<std::uint32_t>(x, 512));
  }
  cfg.tsih = li.tsih;
  cfg.cmd_sn = li.cmd_sn;
  cfg.exp_cmd_sn = li.exp_cmd_sn;
  cfg.max_cmd_sn = li.max_cmd_sn;
  cfg.cid = cid_;
  cfg.exp_stat_sn = li.exp_stat_sn;
  if (kind_ == Kind::normal) {
    cfg.noop_out_interval = opts_.noop_out_interval;
    cfg.noop_out_timeout = opts_.noop_out_timeout;
  } else {
    cfg.noop_out_interval = session::Duration::zero();
    cfg.noop_out_timeout = session::Duration::zero();
  }
  // Digests and our receive limit apply from the first full-feature PDU on.
  const pdu::DigestConfig digests{li.params.header_digest == login::Digest::crc32c,
                                  li.params.data_digest == login::Digest::crc32c};
  conn_->framer.set_digests(digests);
  conn_->framer.set_max_recv_data_segment_length(li.params.max_recv_data_segment_length);
  const bool conn_reinstated = purpose_ == LoginPurpose::reinstate_connection && sess_ &&
                               sess_->awaiting_connection_recovery();
  // ERL 1 and up: a Data-In whose data digest fails is asked for again, not a dead connection.
  // (A connection reinstatement negotiates no leading-only key: the session's level stands.)
  const std::uint8_t erl = conn_reinstated ? sess_->config().params.error_recovery_level
                                           : li.params.error_recovery_level;
  conn_->framer.set_recover_data_in_digest_errors(erl >= 1);
  out_digests_ = digests;
  login_.reset();
  const bool relogin = purpose_ == LoginPurpose::relogin;
  const auto prior = sess_ ? sess_->state() : session::SessionState::free;
  if (conn_reinstated) {
    if (auto ec = sess_->reinstate_connection(cid_, li.exp_stat_sn, li.exp_cmd_sn, li.max_cmd_sn,
                                              cfg.params.max_send_data_segment_length, now)) {
      rt_->log(conn_prefix() + "connection reinstatement failed: " + ec.message());
    }
    retain_until_.reset();
  } else if (prior == session::SessionState::failed ||
             prior == session::SessionState::in_recovery ||
             prior == session::SessionState::recovery_failed) {
    if (auto ec = sess_->reinstate(cfg, now)) {
      rt_->log(conn_prefix() + "reinstate failed: " + ec.message());
    }
  } else {
    // First login, or a login after a logout the target asked for: a fresh session. Tasks
    // of the old one cannot complete any more.
    if (!handlers_.empty()) {
      scsi_in_session_ = 0;
      handlers_.drain([](session::TaskId, Handler& h) {
        h.fail(make_error(Errc::task_failed, "the session was logged out by the target"));
      });
    }
    sess_.emplace(cfg, now);
  }
  phase_ = Phase::full_feature;
  initial_attempts_ = 0;
  reopen_attempts_ = 0;
  backoff_ = milliseconds(0);
  std::ostringstream d;
  d << "logged in to " << target_ << " at " << portal_.to_string() << " (TSIH 0x" << std::hex
    << li.tsih << ")";
  record(EventType::login, d.str());
  rt_->log(conn_prefix() + d.str());
  if (conn_reinstated) {
    repl_timer_.cancel();
    repl_running_ = false;
    repl_expired_ = false;
    record(EventType::recovery_ended, "connection reinstated (CID " + std::to_string(cid_) +
                                          ", same TSIH): tasks reassigned");
  } else if (relogin) {
    ++reinstatements_;
    repl_timer_.cancel();
    repl_running_ = false;
    repl_expired_ = false;
    record(EventType::recovery_ended, "session reinstated");
  }
  update_snapshot();
  std::deque<Pending> queued;
  queued.swap(queued_);
  for (auto& p : queued) try_submit(std::move(p));
  pump();
  if (auto done = std::exchange(start_done_, nullptr)) done(nullptr);
}

}  // namespace iscsi::net::detail
