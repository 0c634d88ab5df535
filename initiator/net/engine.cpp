// The per-session engine: construction, the snapshot other threads read, and the event
// record. The flow is in engine.hpp; the parts are engine_login.cpp, engine_transport.cpp,
// engine_pump.cpp, engine_requests.cpp and engine_recovery.cpp.
#include "net/engine.hpp"

#include <random>
#include <utility>

#include "net/engine_internal.hpp"

namespace iscsi::net::detail {

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

}  // namespace iscsi::net::detail
