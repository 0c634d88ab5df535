// The engine behind net::Session: one Core per session (normal or discovery), living on the
// Initiator's io_context thread. It owns the socket, the PDU framer, the login machine and the
// sans-IO session::Session, and moves bytes and time between them:
//
//   connect -> LoginMachine (login_timeout) -> full feature phase: pump()
//   pump(): drain pop_pdu -> encode into one reused buffer -> async_write;
//           drain completions -> callers' handlers; drain events -> log, recovery, rescan;
//           one steady_timer re-armed at next_deadline() -> on_tick(now).
//   connection error -> FAILED, replacement_timeout, relogin after DefaultTime2Wait with
//   backoff (same ISID, TSIH 0: RFC 7143 6.3.5 reinstatement), outstanding tasks retried.
//
// Everything except the snapshot (guarded by mu_) is touched only on the io thread.
#pragma once

// <utility> first: Boost 1.74 asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/errors.hpp"
#include "net/initiator.hpp"
#include "net/connection.hpp"
#include "net/options.hpp"
#include "net/out_batch.hpp"
#include "proto/common/slot_map.hpp"
#include "proto/login/login_machine.hpp"
#include "proto/pdu/framer.hpp"
#include "proto/session/session.hpp"

namespace iscsi::net::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// The io_context and its worker thread, shared by the Initiator and every Core (a Session that
// outlives its Initiator then fails its calls instead of touching a dead io_context).
struct Runtime {
  // One thread runs it (concurrency hint 1): handlers the io thread posts for itself (write
  // completions) then skip the scheduler's lock and wake-up. Other threads still post safely.
  // One thread runs it, and every socket operation starts on that thread (callers post to it),
  // so the reactor's per-descriptor locking is not needed: two mutex round trips less per
  // I/O. Posting from other threads stays safe (the scheduler still locks).
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  // A second thread for blocking helper jobs the engine starts itself (rescan after a SCSI
  // async event), so they never block the io thread.
  std::thread helper;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  bool stopping = false;
  std::vector<std::weak_ptr<Core>> cores;
  std::uint32_t next_sid = 1;
  InitiatorOptions options;

  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }
  bool stopped() {
    std::lock_guard lock(mu);
    return stopping;
  }
  void run_helper_job(std::function<void()> job);
};

// Called once per request with the completion, or with an exception (NetError).
// The completion is the engine's own copy: a handler may move the data out of it.
using Done = std::function<void(session::Completion*, std::exception_ptr)>;
// The caller's own SCSI callback (Session::start_with_callback), called without a wrapper.
using ScsiDone = std::function<void(session::ScsiResult*, std::exception_ptr)>;

// Whom a request's completion goes to: one of the two forms, so that a command started with a
// callback costs one std::function, not a second one wrapping it.
struct Handler {
  Done done;
  ScsiDone scsi;
  std::uint64_t handle = 0;  // a SCSI command's handle (abort_task)
  bool scsi_command = false;  // counted in scsi_in_session_ (cmds_max)
  explicit operator bool() const noexcept { return done || scsi; }
  void fail(const std::exception_ptr& e) const {
    if (scsi) {
      scsi(nullptr, e);
    } else if (done) {
      done(nullptr, e);
    }
  }
  void complete(session::Completion& c) const {
    if (scsi) {
      scsi(&c.scsi, nullptr);
    } else if (done) {
      done(&c, nullptr);
    }
  }
};

class Core : public std::enable_shared_from_this<Core> {
 public:
  enum class Kind : std::uint8_t { normal, discovery };
  enum class Phase : std::uint8_t { idle, connecting, logging_in, full_feature, waiting_relogin,
                                    logging_out, closed };

  Core(std::shared_ptr<Runtime> rt, Kind kind, std::string target, Portal portal,
       SessionOptions options, std::string send_targets = {});

  // --- called on the io thread (post to it) ---
  // Initial login with initial_login_retry_max retries; `done` gets nullptr on success.
  void start(std::function<void(std::exception_ptr)> done);
  void submit_scsi(session::ScsiRequest&& req, std::uint64_t handle, Done&& done);
  void submit_scsi(session::ScsiRequest&& req, std::uint64_t handle, ScsiDone&& done);
  void submit_tmf(session::TmfRequest req, std::optional<std::uint64_t> ref_handle, Done done);
  void submit_ping(Done done);
  void submit_text(text::KeyValueList keys, Done done);
  void logout(std::function<void(std::exception_ptr)> done);
  void shutdown();

  // --- any thread ---
  std::uint64_t next_handle() { return next_handle_.fetch_add(1); }
  void post(std::function<void()> fn);
  bool on_io_thread() const { return rt_->io.get_executor().running_in_this_thread(); }
  Runtime& runtime() { return *rt_; }

  struct Snapshot {
    session::SessionState state = session::SessionState::free;
    session::Stats stats;
    login::NegotiatedParams params;
    std::uint16_t tsih = 0;
    std::vector<EventRecord> events;
    std::uint64_t reinstatements = 0;
    std::map<std::uint16_t, std::uint32_t> block_length;  // cached per LUN for read/write
    std::map<std::uint16_t, LunInfo> last_rescan;
    bool rescanned = false;
  };
  template <class F>
  auto with_snapshot(F&& f) const {
    std::lock_guard lock(mu_);
    return f(snap_);
  }
  template <class F>
  auto with_snapshot_mut(F&& f) {
    std::lock_guard lock(mu_);
    return f(snap_);
  }
  const std::string& target() const noexcept { return target_; }
  Portal portal() const;
  pdu::Isid isid() const noexcept { return isid_; }
  Kind kind() const noexcept { return kind_; }

 private:
  struct Pending {
    enum class What : std::uint8_t { scsi, tmf, ping, text } what = What::scsi;
    session::ScsiRequest scsi;
    session::TmfRequest tmf;
    std::optional<std::uint64_t> ref_handle;
    text::KeyValueList text;
    Handler handler;
  };
  // relogin: session reinstatement (TSIH 0); reinstate_connection: ERL 2 connection
  // reinstatement (the session's TSIH, the same CID).
  enum class LoginPurpose : std::uint8_t { initial, relogin, reinstate_connection };

  // connection + login
  void connect();
  void connect_bound(const std::shared_ptr<Conn>& c, const tcp::resolver::results_type& r);
  void on_connected(const std::shared_ptr<Conn>& c);
  void start_read(const std::shared_ptr<Conn>& c);
  void on_read(const std::shared_ptr<Conn>& c, boost::system::error_code ec, std::size_t n,
               bool placed);
  // Lends the framer the task's read_into buffer for a large pending Data-In payload; empty
  // when there is none to lend.
  MutableByteSpan try_place(const std::shared_ptr<Conn>& c);
  void end_placement(Conn& c);
  void process_frames(const std::shared_ptr<Conn>& c);
  void handle_login_pdu(const std::shared_ptr<Conn>& c, const pdu::Pdu& p);
  void send_pdu(const std::shared_ptr<Conn>& c, pdu::Pdu&& p);
  void send_command(const std::shared_ptr<Conn>& c, const pdu::ScsiCommand& p);
  void flush(const std::shared_ptr<Conn>& c);
  void login_attempt_failed(Errc code, const std::string& detail, bool retryable);
  void logged_in(const login::LoggedIn& li);
  // Abortive unless a Logout completed: SO_LINGER 0 drops what the kernel still holds to send
  // and resets the connection, so nothing of a connection we gave up on can reach the target
  // later. A graceful close keeps retransmitting it: after a blackholed link came back, LIO
  // executed WRITEs that had been resent on another path and overwritten since (stale blocks,
  // scenarios/FINDINGS.md F3).
  enum class Close : std::uint8_t { abortive, graceful };
  void close_conn(Close how = Close::abortive);
  Result<login::LoginMachine> make_login_machine();

  // full feature phase
  void pump();
  void transport_error(const std::shared_ptr<Conn>& c, ConnError why);
  void dispatch(session::Completion& comp);
  void handle_event(const session::Event& ev);
  void arm_tick();
  void submit_scsi_to(session::ScsiRequest&& req, std::uint64_t handle, Handler&& h);
  // A SCSI command goes straight to the session (no Pending, no queue) when this holds.
  bool accepts_scsi_now() const;
  void submit_scsi_now(session::ScsiRequest&& req, Handler&& h);
  void try_submit(Pending&& p);
  void try_submit_now(Pending&& p);
  void fail_pending(Pending& p, Errc code, const std::string& detail);
  std::exception_ptr failure_for(const session::Completion& comp) const;

  // recovery
  void session_failed();
  void schedule_relogin(std::chrono::milliseconds delay);
  // ERL 2: connection recovery given up (Time2Retain passed, login refused): ERL 0's way on.
  void abandon_connection_recovery(const std::string& why);
  void replacement_expired();
  void give_up(Errc code, const std::string& detail);
  void fail_everything(Errc code, const std::string& detail);
  void request_rescan();

  void record(EventType type, std::string detail, ConnError ce = ConnError::none);
  // State and counters; with_params also the negotiated parameters (they change only at login).
  void update_snapshot(bool with_params = true);
  std::string conn_prefix() const;

  std::shared_ptr<Runtime> rt_;
  Kind kind_;
  std::string target_;
  Portal portal_;
  // Where every login starts: the configured portal, or a permanent redirect's (0x0102) new
  // one. portal_ is where the current login went (a temporary redirect's for that login only).
  Portal original_portal_;
  SessionOptions opts_;
  std::string send_targets_;
  std::uint32_t sid_ = 0;
  pdu::Isid isid_;

  Phase phase_ = Phase::idle;
  LoginPurpose purpose_ = LoginPurpose::initial;
  std::shared_ptr<Conn> conn_;
  std::optional<login::LoginMachine> login_;
  std::optional<session::Session> sess_;
  pdu::DigestConfig out_digests_{};
  std::uint16_t cid_ = 0;
  std::uint32_t login_itt_ = 0x1000;
  unsigned redirects_ = 0;

  asio::steady_timer tick_timer_;
  std::optional<session::TimePoint> armed_deadline_;
  asio::steady_timer login_timer_;
  asio::steady_timer retry_timer_;
  asio::steady_timer repl_timer_;
  asio::steady_timer logout_timer_;
  bool repl_running_ = false;
  bool repl_expired_ = false;
  bool capped_said_ = false;   // the settings asking for more than is implemented were logged
  bool terminal_ = false;  // no more logins: shut down, logged out, reopen_max
  Errc terminal_code_ = Errc::session_closed;
  std::string terminal_detail_ = "session closed";

  unsigned initial_attempts_ = 0;
  unsigned reopen_attempts_ = 0;
  std::chrono::milliseconds backoff_{0};
  std::function<void(std::exception_ptr)> start_done_;
  std::function<void(std::exception_ptr)> logout_done_;
  std::optional<session::TaskId> logout_task_;
  bool async_logout_ = false;  // the target asked for a logout: log in again afterwards
  std::uint64_t login_pdus_ = 0;
  std::uint64_t reinstatements_ = 0;
  // ERL 2: until when the target keeps the failed connection's tasks (DefaultTime2Retain from
  // the failure); unset while no connection recovery is under way.
  std::optional<std::chrono::steady_clock::time_point> retain_until_;

  SlotMap<Handler> handlers_;  // requests handed to the session, by task id
  std::size_t scsi_in_session_ = 0;               // how many of them are SCSI commands
  std::deque<Pending> queued_;
  std::atomic<std::uint64_t> next_handle_{1};
  bool rescan_running_ = false;
  bool in_pump_ = false;
  bool published_ = false;  // this pump has published the counters
  session::SessionState published_state_ = session::SessionState::free;

  mutable std::mutex mu_;
  Snapshot snap_;
};

// The shared body of Session::rescan() and the rescan the engine starts on a SCSI async event.
RescanReport rescan(const std::shared_ptr<Core>& core);

}  // namespace iscsi::net::detail
