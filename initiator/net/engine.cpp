// The per-session engine: socket, framer, login, full feature phase pump, timers and ERL 0
// recovery. See engine.hpp for the flow.
#include "net/engine.hpp"
#include "net/offer.hpp"

#include <algorithm>
#include <random>
#include <sstream>

#include "proto/login/status.hpp"
#include "proto/pdu/codec_detail.hpp"
#include "proto/scsi/report_luns.hpp"

namespace iscsi::net::detail {

namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;


std::exception_ptr make_error(Errc code, const std::string& detail) {
  return std::make_exception_ptr(NetError(code, detail));
}

std::string secs(Seconds s) { return std::to_string(s.count()) + " s"; }

// The parameters of the Async Messages that carry some, as open-iscsi logs them.
std::string async_parameters(const pdu::AsyncMessage& m) {
  const auto p = [](std::uint16_t v) { return std::to_string(v); };
  switch (m.async_event) {
    case pdu::AsyncEvent::logout_request: return " (within " + p(m.parameter3) + " s)";
    case pdu::AsyncEvent::connection_drop:
      return " (CID " + p(m.parameter1) + ", reconnect min " + p(m.parameter2) + " s max " +
             p(m.parameter3) + " s)";
    case pdu::AsyncEvent::session_drop:
      return " (reconnect min " + p(m.parameter2) + " s max " + p(m.parameter3) + " s)";
    case pdu::AsyncEvent::negotiation_request: return " (within " + p(m.parameter3) + " s)";
    default: return "";
  }
}

}  // namespace

void Runtime::run_helper_job(std::function<void()> job) {
  std::lock_guard lock(mu);
  if (stopping) return;
  jobs.push_back(std::move(job));
  cv.notify_one();
}

Core::Core(std::shared_ptr<Runtime> rt, Kind kind, std::string target, Portal portal,
           SessionOptions options, std::string send_targets)
    : rt_(std::move(rt)),
      kind_(kind),
      target_(std::move(target)),
      portal_(std::move(portal)),
      original_portal_(portal_),
      opts_(std::move(options)),
      send_targets_(std::move(send_targets)),
      tick_timer_(rt_->io),
      login_timer_(rt_->io),
      retry_timer_(rt_->io),
      repl_timer_(rt_->io),
      logout_timer_(rt_->io) {
  {
    std::lock_guard lock(rt_->mu);
    sid_ = rt_->next_sid++;
  }
  if (opts_.isid) {
    isid_ = *opts_.isid;
  } else {
    // A random-format ISID (type 10), as open-iscsi draws one per session.
    std::random_device rd;
    isid_ = pdu::Isid::random_format(rd() & 0xFFFFFFu, static_cast<std::uint16_t>(rd()));
  }
}

Portal Core::portal() const {
  std::lock_guard lock(mu_);
  return portal_;
}

void Core::post(std::function<void()> fn) {
  if (rt_->stopped()) throw NetError(Errc::session_closed, "initiator shut down");
  asio::post(rt_->io, std::move(fn));
}

std::string Core::conn_prefix() const {
  return "connection" + std::to_string(sid_) + ":" + std::to_string(cid_) + ": ";
}

void Core::record(EventType type, std::string detail, ConnError ce) {
  EventRecord r{type, SteadyClock::now(), std::chrono::system_clock::now(), ce, std::move(detail)};
  std::lock_guard lock(mu_);
  snap_.events.push_back(std::move(r));
}

void Core::update_snapshot(bool with_params) {
  std::lock_guard lock(mu_);
  if (sess_) {
    snap_.state = sess_->state();
    published_state_ = snap_.state;
    snap_.stats = sess_->stats();
    if (with_params) {
      snap_.params = sess_->config().params;
      snap_.tsih = sess_->config().tsih;
    }
  }
  snap_.stats.login_pdus = login_pdus_;
  snap_.reinstatements = reinstatements_;
}

// ---------------------------------------------------------------------------------------------
// Login

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
  auto offer = operational_offer(opts_.iscsi, kind_ == Kind::normal);
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

void Core::send_pdu(const std::shared_ptr<Conn>& c, pdu::Pdu&& p) {
  if (auto ec = c->out_pending.append(std::move(p), out_digests_)) {
    // Only a PDU the session built wrongly gets here (e.g. a data segment over 2^24).
    rt_->log(conn_prefix() + "cannot encode PDU: " + ec.message());
  }
}

void Core::flush(const std::shared_ptr<Conn>& c) {
  if (c->writing || c->out_pending.empty() || c->dead) return;
  c->out_pending.swap(c->out_writing);
  c->gather.clear();
  c->out_writing.for_each([&](const std::uint8_t* p, std::size_t n) {
    c->gather.emplace_back(p, n);
  });
  // Send what the socket takes at once (usually all of it) with a plain non-blocking send: no
  // write operation, handler or completion to run for it. Only a rest (a full socket buffer)
  // or an error goes on to async_write, whose handler deals with both as before.
  std::size_t first = 0;  // gather[first] is the first piece not sent yet
  while (first < c->gather.size()) {
    boost::system::error_code ec;
    std::size_t n = c->socket.send(std::span<const asio::const_buffer>(c->gather).subspan(first),
                                   0, ec);
    if (ec || n == 0) break;
    while (n > 0 && first < c->gather.size()) {
      asio::const_buffer& b = c->gather[first];
      if (n >= b.size()) {
        n -= b.size();
        ++first;
      } else {
        b += n;
        n = 0;
      }
    }
  }
  if (first == c->gather.size()) {
    c->out_writing.clear();
    return;
  }
  c->writing = true;
  // A span, so the composed write copies two words rather than the vector.
  asio::async_write(c->socket, std::span<const asio::const_buffer>(c->gather).subspan(first),
                    [self = shared_from_this(), c](boost::system::error_code ec, std::size_t) {
                      c->writing = false;
                      c->out_writing.clear();
                      if (c != self->conn_ || c->dead) return;
                      if (ec) {
                        self->transport_error(c, ConnError::xmit_failed);
                        return;
                      }
                      self->flush(c);
                    });
}

MutableByteSpan Core::try_place(const std::shared_ptr<Conn>& c) {
  // Worth it only for large payloads mostly still on the wire: the bytes already buffered are
  // copied once more by place(), and a small payload usually arrives with its header.
  constexpr std::size_t kPlaceMin = 32 * 1024;
  if (c->placed || !sess_ || (phase_ != Phase::full_feature && phase_ != Phase::logging_out)) {
    return {};
  }
  const pdu::Pdu* header = c->framer.pending_header();
  if (header == nullptr) return {};
  const auto* d = std::get_if<pdu::DataIn>(header);
  const std::size_t len = c->framer.pending_data_length();
  MutableByteSpan dest;
  if (d != nullptr && len >= kPlaceMin && c->framer.pending_data_buffered() * 2 <= len) {
    dest = sess_->data_in_destination(cid_, *d, len);
  }
  c->header_reads = !dest.empty();  // a PDU not to place: back to large reads
  if (dest.empty()) return {};
  c->framer.place(dest);
  c->placed = true;
  return c->framer.placement();
}

void Core::end_placement(Conn& c) {
  if (!c.placed) return;
  c.placed = false;
  if (sess_) sess_->placement_done();
}

void Core::start_read(const std::shared_ptr<Conn>& c) {
  // A large Data-In payload for a caller's buffer is received straight into it (one copy, the
  // kernel's); everything else into the framer's buffer. The read runs on this thread, inside
  // the reactor, so a placement can only be written while the connection is open: every way
  // its task can end without its Data-In closes the connection first (see pump()).
  MutableByteSpan buf = c->framer.placement();
  if (buf.empty()) buf = try_place(c);
  const bool placed = !buf.empty();
  if (!placed) {
    if (c->header_reads) {
      // What completes the header (or the trailer of a placed payload) and one BHS more.
      const std::size_t want = c->framer.bytes_wanted() + pdu::kBhsLength;
      buf = c->framer.prepare(want).first(want);
    } else {
      const std::size_t want = std::max<std::size_t>(c->framer.bytes_wanted(), 64 * 1024);
      buf = c->framer.prepare(want);
    }
  }
  c->socket.async_read_some(asio::buffer(buf.data(), buf.size()),
                            [self = shared_from_this(), c, placed](boost::system::error_code ec,
                                                                   std::size_t n) {
                              self->on_read(c, ec, n, placed);
                            });
}

void Core::on_read(const std::shared_ptr<Conn>& c, boost::system::error_code ec, std::size_t n,
                   bool placed) {
  if (c != conn_ || c->dead) return;
  if (ec) {
    end_placement(*c);  // no receive follows on this connection
    if (!placed) c->framer.commit(0);
    transport_error(c, ec == asio::error::eof ? ConnError::tcp_conn_close : ConnError::conn_failed);
    return;
  }
  if (placed) {
    c->framer.commit_placed(n);
  } else {
    c->framer.commit(n);
  }
  process_frames(c);
  if (c == conn_ && !c->dead) start_read(c);
}

void Core::process_frames(const std::shared_ptr<Conn>& c) {
  bool unpumped = false;  // PDUs handed to the session since the last pump
  const auto now = SteadyClock::now();  // one clock read for the PDUs of one socket read
  while (c == conn_ && !c->dead) {
    // Zero-copy: a Data-In's payload goes straight from the framer's buffer into the task's;
    // every other PDU is copied out whole (small, and its handlers want an owned PDU).
    auto next = c->framer.next_view();
    if (!next) {
      end_placement(*c);  // a failed framer never writes the placement again
      const pdu::Diagnostic& d = c->framer.diagnostic();
      if (phase_ == Phase::full_feature || phase_ == Phase::logging_out) {
        sess_->on_receive_error(cid_, d, now);
        pump();
      } else {
        login_attempt_failed(Errc::login_protocol_error, pdu::to_string(d), true);
      }
      return;
    }
    if (!*next) break;
    const pdu::FrameView& v = **next;
    // A placed payload is complete: its task may end now (the PDU below may carry the status).
    end_placement(*c);
    const auto* data_in = std::get_if<pdu::DataIn>(v.header);
    std::optional<pdu::Pdu> owned;
    if (data_in == nullptr || phase_ == Phase::logging_in) {
      owned.emplace(*v.header);
      pdu::detail::attach_data(*owned, v.data);
    }
    if (phase_ == Phase::logging_in) {
      handle_login_pdu(c, *owned);
      continue;
    }
    if (phase_ == Phase::full_feature || phase_ == Phase::logging_out) {
      if (owned) {
        (void)sess_->receive(cid_, *owned, now);
      } else {
        (void)sess_->receive_data_in(cid_, *data_in, v.data, now);
      }
      // One pump for all the PDUs of a read while the session is plainly logged in: the
      // commands their completions start then leave in one write, not one write per response.
      // Anything else (logout, a failure, recovery) is pumped at once, as before.
      if (phase_ == Phase::full_feature && sess_->state() == session::SessionState::logged_in) {
        unpumped = true;
      } else {
        unpumped = false;
        pump();
      }
      continue;
    }
    break;
  }
  if (unpumped) pump();
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
    login_attempt_failed(rj->session_limit() ? Errc::session_limit : Errc::login_rejected,
                         login::to_string(outcome), rj->temporary());
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
  out_digests_ = digests;
  login_.reset();
  const bool relogin = purpose_ == LoginPurpose::relogin;
  const auto prior = sess_ ? sess_->state() : session::SessionState::free;
  if (prior == session::SessionState::failed || prior == session::SessionState::in_recovery ||
      prior == session::SessionState::recovery_failed) {
    if (auto ec = sess_->reinstate(cfg, now)) {
      rt_->log(conn_prefix() + "reinstate failed: " + ec.message());
    }
  } else {
    // First login, or a login after a logout the target asked for: a fresh session. Tasks
    // of the old one cannot complete any more.
    if (!handlers_.empty()) {
      std::map<session::TaskId, Handler> old;
      old.swap(handlers_);
      scsi_in_session_ = 0;
      for (auto& [id, h] : old) {
        h.fail(make_error(Errc::task_failed, "the session was logged out by the target"));
      }
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
  if (relogin) {
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

// ---------------------------------------------------------------------------------------------
// Full feature phase

void Core::pump() {
  if (!sess_) return;
  in_pump_ = true;
  published_ = false;
  session::Completion comp;  // every completion of this pump is moved into it in turn
  for (int round = 0; round < 100000; ++round) {
    bool progress = false;
    if (conn_ && !conn_->dead) {
      while (auto p = sess_->pop_pdu(cid_)) {
        send_pdu(conn_, std::move(*p));
        progress = true;
      }
      flush(conn_);
    }
    // Events first: a caller whose future just became ready finds the event (NOP timeout,
    // TMF timeout, conn error) that explains it already in the log.
    while (auto ev = sess_->pop_event()) {
      handle_event(*ev);
      progress = true;
    }
    bool stats_fresh = false;
    while (sess_->pop_completion(comp)) {
      if (!stats_fresh) {
        // A caller woken by its completion may read stats() at once (a Reject counted in
        // rjt_pdus): refresh the counters first, not only at the end of the pump.
        std::lock_guard lock(mu_);
        snap_.stats = sess_->stats();
        snap_.stats.login_pdus = login_pdus_;
        stats_fresh = true;
        published_ = true;
      }
      dispatch(comp);
      progress = true;
    }
    if (!queued_.empty() && phase_ == Phase::full_feature &&
        sess_->state() == session::SessionState::logged_in &&
        (opts_.cmds_max == 0 || scsi_in_session_ < opts_.cmds_max)) {
      Pending p = std::move(queued_.front());
      queued_.pop_front();
      try_submit_now(std::move(p));
      progress = true;
    }
    if (!progress) break;
  }
  in_pump_ = false;
  if (conn_ && conn_->placed && sess_->placement_orphaned()) {
    // The task whose Data-In is being received ended anyway (cannot happen while the connection
    // is fine): its buffer is the caller's again, so the receive into it must not go on.
    rt_->log(conn_prefix() + "a task ended while its Data-In was being received; closing");
    close_conn();
    sess_->on_transport_error(cid_, ConnError::conn_failed, SteadyClock::now());
    pump();
    return;
  }
  const auto st = sess_->state();
  if (phase_ == Phase::full_feature || phase_ == Phase::logging_out) {
    if (st == session::SessionState::failed) {
      session_failed();
    } else if (st == session::SessionState::free && phase_ == Phase::logging_out) {
      // logged out: handled in dispatch()
    }
  }
  arm_tick();
  // Published already for the completions of this pump: again only if the state moved (the
  // commands their callbacks started are counted at the next pump; a lock less per command).
  if (!published_ || sess_->state() != published_state_) update_snapshot(false);
}

void Core::arm_tick() {
  if (!sess_ || (phase_ != Phase::full_feature && phase_ != Phase::logging_out)) {
    if (armed_deadline_) tick_timer_.cancel();
    armed_deadline_.reset();
    return;
  }
  const auto next = sess_->next_deadline();
  // Only ever move the timer earlier. The NOP-Out deadline moves later with every PDU received,
  // and re-arming costs a timerfd_settime plus a cancelled wait each time (a sixth of the io
  // thread at QD32). A timer that fires before the real deadline just ticks (nothing is due
  // yet, on_tick does nothing) and is re-armed here by the pump that follows.
  if (!next || (armed_deadline_ && *armed_deadline_ <= *next)) return;
  armed_deadline_ = next;
  tick_timer_.expires_at(*next);  // a wait still pending ends with operation_aborted
  tick_timer_.async_wait([self = shared_from_this(), at = *next](boost::system::error_code ec) {
    if (ec || self->armed_deadline_ != at) return;
    self->armed_deadline_.reset();
    if (!self->sess_ || (self->phase_ != Phase::full_feature && self->phase_ != Phase::logging_out)) {
      return;
    }
    self->sess_->on_tick(SteadyClock::now());
    self->pump();
  });
}

void Core::transport_error(const std::shared_ptr<Conn>& c, ConnError why) {
  if (c != conn_) return;
  if (phase_ == Phase::connecting || phase_ == Phase::logging_in) {
    login_attempt_failed(Errc::connect_failed,
                         "connection closed during login (" +
                             std::string(kernel_name(why)) + ")",
                         true);
    return;
  }
  if (phase_ == Phase::logging_out && logout_task_) {
    // The target may close right after the Logout Response; treat a close as the end.
  }
  if (sess_ && (phase_ == Phase::full_feature || phase_ == Phase::logging_out)) {
    sess_->on_transport_error(cid_, why, SteadyClock::now());
    pump();
  }
}

std::exception_ptr Core::failure_for(const session::Completion& comp) const {
  switch (comp.outcome) {
    case session::TaskOutcome::completed: return nullptr;
    case session::TaskOutcome::aborted:
      return make_error(Errc::task_aborted, "task aborted by task management");
    case session::TaskOutcome::rejected:
      return make_error(Errc::task_rejected, "the target rejected the command");
    case session::TaskOutcome::timed_out:
      return make_error(comp.kind == session::TaskKind::nop ? Errc::nop_timeout : Errc::tmf_timeout,
                        std::string(session::to_string(comp.kind)) + " timed out");
    case session::TaskOutcome::failed:
      if (repl_expired_) {
        return make_error(Errc::replacement_timeout,
                          "replacement_timeout expired (" + secs(opts_.replacement_timeout) + ")");
      }
      if (terminal_) return make_error(terminal_code_, terminal_detail_);
      return make_error(Errc::task_failed, "task failed: " +
                                               std::string(kernel_name(comp.error)) + " (" +
                                               std::string(describe(comp.error)) + ")");
  }
  return nullptr;
}

void Core::dispatch(session::Completion& comp) {
  if (logout_task_ && comp.id == *logout_task_) {
    logout_task_.reset();
    logout_timer_.cancel();
    const bool ok = comp.outcome == session::TaskOutcome::completed &&
                    comp.logout.response == pdu::LogoutResponseCode::closed_successfully;
    record(EventType::logout, ok ? "logged out" : "logout failed: " + pdu::to_string(comp.logout.response));
    if (async_logout_) {
      // The target asked for it: log in again (tasks, if any, were completed before).
      async_logout_ = false;
      close_conn(Close::graceful);
      phase_ = Phase::waiting_relogin;
      if (sess_->state() == session::SessionState::logged_in) {
        sess_->on_transport_error(cid_, ConnError::conn_failed, SteadyClock::now());
      }
      schedule_relogin(milliseconds(0));
      return;
    }
    terminal_ = true;
    terminal_code_ = Errc::session_closed;
    terminal_detail_ = "session logged out";
    close_conn(Close::graceful);
    phase_ = Phase::closed;
    fail_everything(Errc::session_closed, "session logged out");
    if (auto done = std::exchange(logout_done_, nullptr)) {
      done(ok ? nullptr
              : make_error(Errc::logout_failed, pdu::to_string(comp.logout.response)));
    }
    return;
  }
  auto it = handlers_.find(comp.id);
  if (it == handlers_.end()) return;
  const Handler h = std::move(it->second);
  handler_nodes_.erase(handlers_, it);
  if (h.scsi_command) --scsi_in_session_;
  if (auto err = failure_for(comp)) {
    h.fail(err);
  } else {
    h.complete(comp);
  }
}

void Core::handle_event(const session::Event& ev) {
  using session::EventKind;
  switch (ev.kind) {
    case EventKind::conn_error: {
      const std::string line = "detected conn error (" +
                               std::to_string(static_cast<int>(ev.conn_error)) + ") " +
                               std::string(kernel_name(ev.conn_error)) +
                               (ev.detail.empty() ? "" : ": " + ev.detail);
      record(EventType::conn_error, line, ev.conn_error);
      rt_->log(conn_prefix() + line);
      break;
    }
    case EventKind::nop_timeout:
      record(EventType::nop_timeout,
             "ping timeout of " + secs(opts_.noop_out_timeout) + " expired" +
                 (ev.detail.empty() ? "" : ": " + ev.detail),
             ConnError::nop_timedout);
      rt_->log(conn_prefix() + "ping timeout of " + secs(opts_.noop_out_timeout) + " expired");
      break;
    case EventKind::async_message: {
      std::string what = ev.async ? pdu::to_string(ev.async->async_event) : "async message";
      if (ev.async) what += async_parameters(*ev.async);
      record(EventType::async_event, what);
      rt_->log(conn_prefix() + "async event: " + what);
      // RFC 7143 11.9.1 event 2/3: the target drops the connection itself; the loss is then
      // handled as any other, with Parameter2 as Time2Wait (session_failed()). Event 4: we
      // cannot renegotiate in full feature phase, so, as open-iscsi does, drop the connection
      // and log in again, which negotiates every key anew; outstanding I/O is retried.
      if (ev.async && ev.async->async_event == pdu::AsyncEvent::negotiation_request &&
          phase_ == Phase::full_feature && sess_->state() == session::SessionState::logged_in) {
        rt_->log(conn_prefix() + "parameter negotiation requested: dropping the connection");
        sess_->on_transport_error(cid_, ConnError::conn_failed, SteadyClock::now());
      }
      if (ev.async && ev.async->async_event == pdu::AsyncEvent::logout_request &&
          phase_ == Phase::full_feature && !logout_task_) {
        auto id = sess_->logout(pdu::LogoutReason::close_session, SteadyClock::now());
        if (id) {
          logout_task_ = *id;
          async_logout_ = true;
          phase_ = Phase::logging_out;
        }
      }
      break;
    }
    case EventKind::capacity_changed:
      record(EventType::capacity_changed, ev.detail);
      request_rescan();
      break;
    case EventKind::luns_changed:
      record(EventType::luns_changed, ev.detail);
      request_rescan();
      break;
    case EventKind::reject:
      record(EventType::reject, "reject " + pdu::to_string(ev.reject_reason) +
                                    (ev.detail.empty() ? "" : ": " + ev.detail));
      break;
    case EventKind::tmf_timeout:
      record(EventType::tmf_timeout, ev.detail);
      break;
    case EventKind::session_state:
      record(EventType::state_change, std::string(session::to_string(ev.state)));
      break;
    case EventKind::logout_response:
    case EventKind::dropped_pdu:
      break;
  }
}

void Core::request_rescan() {
  if (kind_ != Kind::normal || rescan_running_) return;
  rescan_running_ = true;
  std::weak_ptr<Core> weak = weak_from_this();
  rt_->run_helper_job([weak] {
    auto self = weak.lock();
    if (!self) return;
    try {
      auto report = rescan(self);
      (void)report;
    } catch (const std::exception& e) {
      self->record(EventType::rescan, std::string("rescan failed: ") + e.what());
    }
    try {
      self->post([self] { self->rescan_running_ = false; });
    } catch (const std::exception&) {
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Requests

void Core::fail_pending(Pending& p, Errc code, const std::string& detail) {
  p.handler.fail(make_error(code, detail));
}

void Core::try_submit(Pending&& p) {
  if (terminal_) {
    fail_pending(p, terminal_code_, terminal_detail_);
    return;
  }
  if (repl_expired_) {
    fail_pending(p, Errc::replacement_timeout,
                 "replacement_timeout expired (" + secs(opts_.replacement_timeout) + ")");
    return;
  }
  // node.session.cmds_max bounds the SCSI commands handed to the session at once; the rest
  // wait here in order (as the host queue of the Linux initiator does).
  const bool full = p.what == Pending::What::scsi && opts_.cmds_max != 0 &&
                    scsi_in_session_ >= opts_.cmds_max;
  if (!sess_ || phase_ != Phase::full_feature ||
      sess_->state() != session::SessionState::logged_in || full ||
      (p.what == Pending::What::scsi && !queued_.empty())) {
    queued_.push_back(std::move(p));
    return;
  }
  try_submit_now(std::move(p));
}

void Core::try_submit_now(Pending&& p) {
  const auto now = SteadyClock::now();
  Result<session::TaskId> id = session::Errc::invalid_request;
  switch (p.what) {
    case Pending::What::scsi: id = sess_->submit(std::move(p.scsi), now); break;
    case Pending::What::tmf:
      if (p.ref_handle) {
        // A linear search: abort_task is rare, and a second map would cost every command.
        auto h = std::find_if(handlers_.begin(), handlers_.end(), [&](const auto& e) {
          return e.second.handle == *p.ref_handle;
        });
        if (h == handlers_.end()) {
          fail_pending(p, Errc::invalid_argument, "abort_task: the task is no longer outstanding");
          return;
        }
        p.tmf.referenced = h->first;
      }
      id = sess_->submit_tmf(p.tmf, now);
      break;
    case Pending::What::ping: id = sess_->ping(now); break;
    case Pending::What::text: id = sess_->send_text(std::move(p.text), now); break;
  }
  if (!id) {
    fail_pending(p, Errc::invalid_argument, id.error().message());
    return;
  }
  if (p.what == Pending::What::scsi) {
    p.handler.scsi_command = true;
    ++scsi_in_session_;
  }
  handler_nodes_.put(handlers_, *id, std::move(p.handler));
  if (!in_pump_) pump();
}

void Core::submit_scsi(session::ScsiRequest req, std::uint64_t handle, Done done) {
  Handler h;
  h.done = std::move(done);
  submit_scsi_to(std::move(req), handle, std::move(h));
}

void Core::submit_scsi(session::ScsiRequest req, std::uint64_t handle, ScsiDone done) {
  Handler h;
  h.scsi = std::move(done);
  submit_scsi_to(std::move(req), handle, std::move(h));
}

void Core::submit_scsi_to(session::ScsiRequest req, std::uint64_t handle, Handler h) {
  Pending p;
  p.what = Pending::What::scsi;
  p.scsi = std::move(req);
  p.handler = std::move(h);
  p.handler.handle = handle;
  try_submit(std::move(p));
}

void Core::submit_tmf(session::TmfRequest req, std::optional<std::uint64_t> ref_handle, Done done) {
  // open-iscsi's node.session.err_timeo.* per function.
  switch (req.function) {
    case pdu::TmfFunction::abort_task:
    case pdu::TmfFunction::abort_task_set:
    case pdu::TmfFunction::clear_task_set:
    case pdu::TmfFunction::clear_aca: req.timeout = opts_.abort_timeout; break;
    case pdu::TmfFunction::logical_unit_reset: req.timeout = opts_.lu_reset_timeout; break;
    default: req.timeout = opts_.tgt_reset_timeout; break;
  }
  Pending p;
  p.what = Pending::What::tmf;
  p.tmf = req;
  p.ref_handle = ref_handle;
  p.handler.done = std::move(done);
  try_submit(std::move(p));
}

void Core::submit_ping(Done done) {
  Pending p;
  p.what = Pending::What::ping;
  p.handler.done = std::move(done);
  try_submit(std::move(p));
}

void Core::submit_text(text::KeyValueList keys, Done done) {
  Pending p;
  p.what = Pending::What::text;
  p.text = std::move(keys);
  p.handler.done = std::move(done);
  try_submit(std::move(p));
}

void Core::logout(std::function<void(std::exception_ptr)> done) {
  if (terminal_ || !sess_ || phase_ != Phase::full_feature) {
    // Not logged in right now: just close.
    terminal_ = true;
    terminal_code_ = Errc::session_closed;
    terminal_detail_ = "session logged out";
    close_conn();
    phase_ = Phase::closed;
    retry_timer_.cancel();
    repl_timer_.cancel();
    fail_everything(Errc::session_closed, "session logged out");
    done(nullptr);
    return;
  }
  auto id = sess_->logout(pdu::LogoutReason::close_session, SteadyClock::now());
  if (!id) {
    done(make_error(Errc::logout_failed, id.error().message()));
    return;
  }
  logout_task_ = *id;
  logout_done_ = std::move(done);
  phase_ = Phase::logging_out;
  logout_timer_.expires_after(opts_.logout_timeout);
  logout_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || !self->logout_task_) return;
    self->logout_task_.reset();
    self->terminal_ = true;
    self->close_conn();
    self->phase_ = Phase::closed;
    self->fail_everything(Errc::session_closed, "session closed (logout timed out)");
    if (auto d = std::exchange(self->logout_done_, nullptr)) {
      d(make_error(Errc::logout_failed,
                   "logout_timeout expired (" + secs(self->opts_.logout_timeout) + ")"));
    }
  });
  pump();
}

void Core::fail_everything(Errc code, const std::string& detail) {
  std::map<session::TaskId, Handler> handlers;
  handlers.swap(handlers_);
  scsi_in_session_ = 0;
  std::deque<Pending> queued;
  queued.swap(queued_);
  for (auto& [id, h] : handlers) h.fail(make_error(code, detail));
  for (auto& p : queued) fail_pending(p, code, detail);
  if (auto done = std::exchange(start_done_, nullptr)) done(make_error(code, detail));
  update_snapshot();
}

void Core::shutdown() {
  terminal_ = true;
  terminal_code_ = Errc::session_closed;
  terminal_detail_ = "session closed";
  close_conn();
  phase_ = Phase::closed;
  retry_timer_.cancel();
  repl_timer_.cancel();
  logout_timer_.cancel();
  tick_timer_.cancel();
  logout_task_.reset();
  fail_everything(Errc::session_closed, "session closed");
  if (auto d = std::exchange(logout_done_, nullptr)) d(nullptr);
}

// ---------------------------------------------------------------------------------------------
// Recovery (ERL 0)

void Core::session_failed() {
  close_conn();
  if (logout_task_ && !async_logout_) {
    // The target closed the connection instead of answering our Logout: the session is over
    // all the same (open-iscsi treats it so too).
    logout_task_.reset();
    logout_timer_.cancel();
    terminal_ = true;
    terminal_code_ = Errc::session_closed;
    terminal_detail_ = "session logged out";
    phase_ = Phase::closed;
    record(EventType::logout, "connection closed during logout");
    fail_everything(Errc::session_closed, "session logged out");
    if (auto done = std::exchange(logout_done_, nullptr)) done(nullptr);
    return;
  }
  if (kind_ == Kind::discovery || terminal_) {
    phase_ = Phase::closed;
    terminal_ = true;
    terminal_code_ = Errc::task_failed;
    terminal_detail_ = "discovery connection failed";
    sess_->fail_all(ConnError::conn_failed);
    while (auto ev = sess_->pop_event()) handle_event(*ev);
    while (auto comp = sess_->pop_completion()) dispatch(*comp);
    fail_everything(terminal_code_, terminal_detail_);
    return;
  }
  phase_ = Phase::waiting_relogin;
  purpose_ = LoginPurpose::relogin;
  record(EventType::recovery_started,
         "session FAILED; replacement_timeout " + secs(opts_.replacement_timeout));
  // 0 fails at once; a negative value (open-iscsi's -1) waits for ever.
  if (!repl_running_ && !repl_expired_ && opts_.replacement_timeout.count() >= 0) {
    repl_running_ = true;
    repl_timer_.expires_after(opts_.replacement_timeout);
    repl_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || !self->repl_running_) return;
      self->replacement_expired();
    });
  }
  // Time2Wait: the negotiated DefaultTime2Wait, or what a drop request's async message said.
  std::uint32_t wait_s = sess_->config().params.default_time2wait;
  const auto& ar = sess_->async_requests();
  if (ar.connection_drop) wait_s = ar.connection_drop->parameter2;
  if (ar.session_drop) wait_s = ar.session_drop->parameter2;
  backoff_ = milliseconds(0);
  schedule_relogin(std::chrono::seconds(wait_s));
  update_snapshot();
}

void Core::schedule_relogin(milliseconds delay) {
  if (terminal_) return;
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->terminal_) return;
    if (self->opts_.reopen_max != 0 && self->reopen_attempts_ >= self->opts_.reopen_max) {
      self->give_up(Errc::reopen_max_exceeded,
                    "reopen_max (" + std::to_string(self->opts_.reopen_max) + ") relogins failed");
      return;
    }
    ++self->reopen_attempts_;
    self->purpose_ = LoginPurpose::relogin;
    {
      // A temporary redirect (0x0101) was for the login it answered: every relogin starts at
      // the configured portal again, or at a permanent redirect's (0x0102) new home.
      std::lock_guard lock(self->mu_);
      self->portal_ = self->original_portal_;
    }
    (void)self->sess_->begin_recovery();
    self->update_snapshot();
    self->connect();
  });
}

void Core::replacement_expired() {
  repl_running_ = false;
  repl_expired_ = true;
  const std::string detail =
      "replacement_timeout expired (" + secs(opts_.replacement_timeout) + ")";
  record(EventType::replacement_timeout, detail);
  rt_->log(conn_prefix() + detail + "; failing I/O");
  sess_->fail_all(ConnError::session_failed);
  while (auto ev = sess_->pop_event()) handle_event(*ev);
  // Before any handler runs: a caller woken by its failed I/O sees RECOVERY_FAILED.
  update_snapshot();
  while (auto comp = sess_->pop_completion()) dispatch(*comp);
  std::deque<Pending> queued;
  queued.swap(queued_);
  for (auto& p : queued) fail_pending(p, Errc::replacement_timeout, detail);
  update_snapshot();
}

void Core::give_up(Errc code, const std::string& detail) {
  terminal_ = true;
  terminal_code_ = code;
  terminal_detail_ = detail;
  phase_ = Phase::closed;
  repl_timer_.cancel();
  repl_running_ = false;
  record(EventType::login_failed, detail);
  sess_->fail_all(ConnError::session_failed);
  while (auto ev = sess_->pop_event()) handle_event(*ev);
  while (auto comp = sess_->pop_completion()) dispatch(*comp);
  fail_everything(code, detail);
}

}  // namespace iscsi::net::detail
