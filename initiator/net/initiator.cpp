// net::Initiator: the io_context, its worker thread, discovery and login entry points; Portal
// parsing; event names.
#include "net/initiator.hpp"

#include <charconv>

#include "net/engine.hpp"

namespace iscsi::net {

std::string_view to_string(EventType t) noexcept {
  switch (t) {
    case EventType::login: return "login";
    case EventType::login_failed: return "login_failed";
    case EventType::conn_error: return "conn_error";
    case EventType::nop_timeout: return "nop_timeout";
    case EventType::recovery_started: return "recovery_started";
    case EventType::recovery_ended: return "recovery_ended";
    case EventType::replacement_timeout: return "replacement_timeout";
    case EventType::async_event: return "async_event";
    case EventType::capacity_changed: return "capacity_changed";
    case EventType::luns_changed: return "luns_changed";
    case EventType::reject: return "reject";
    case EventType::tmf_timeout: return "tmf_timeout";
    case EventType::logout: return "logout";
    case EventType::state_change: return "state_change";
    case EventType::rescan: return "rescan";
    case EventType::setting_capped: return "setting_capped";
  }
  return "unknown";
}

Portal Portal::parse(std::string_view text) {
  Portal p;
  if (auto comma = text.rfind(','); comma != std::string_view::npos) text = text.substr(0, comma);
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      throw NetError(Errc::invalid_argument, "portal \"" + std::string(text) + "\": missing ]");
    }
    p.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        throw NetError(Errc::invalid_argument, "portal \"" + std::string(text) + "\": bad port");
      }
      port = rest.substr(1);
    }
  } else {
    const auto colon = text.rfind(':');
    // More than one colon without brackets: a bare IPv6 address, no port.
    if (colon != std::string_view::npos && text.find(':') == colon) {
      p.host = std::string(text.substr(0, colon));
      port = text.substr(colon + 1);
    } else {
      p.host = std::string(text);
    }
  }
  if (!port.empty()) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || ptr != port.data() + port.size() || v == 0 || v > 65535) {
      throw NetError(Errc::invalid_argument, "portal \"" + std::string(text) + "\": bad port");
    }
    p.port = static_cast<std::uint16_t>(v);
  }
  if (p.host.empty()) throw NetError(Errc::invalid_argument, "portal: empty host");
  return p;
}

std::string Portal::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Initiator::Initiator(InitiatorOptions options) : rt_(std::make_shared<detail::Runtime>()) {
  rt_->options = std::move(options);
  rt_->work.emplace(rt_->io.get_executor());
  rt_->thread = std::thread([rt = rt_.get()] { rt->io.run(); });
  rt_->helper = std::thread([rt = rt_.get()] {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(rt->mu);
        rt->cv.wait(lock, [rt] { return rt->stopping || !rt->jobs.empty(); });
        if (rt->jobs.empty()) return;
        job = std::move(rt->jobs.front());
        rt->jobs.pop_front();
      }
      job();
    }
  });
}

Initiator::~Initiator() {
  std::vector<std::shared_ptr<detail::Core>> cores;
  {
    std::lock_guard lock(rt_->mu);
    rt_->stopping = true;
    for (auto& w : rt_->cores) {
      if (auto c = w.lock()) cores.push_back(std::move(c));
    }
    rt_->cores.clear();
    rt_->jobs.clear();
  }
  rt_->cv.notify_all();
  for (auto& c : cores) {
    boost::asio::post(rt_->io, [c] { c->shutdown(); });
  }
  cores.clear();
  rt_->work.reset();
  if (rt_->thread.joinable()) rt_->thread.join();
  if (rt_->helper.joinable()) rt_->helper.join();
}

namespace {

void register_core(detail::Runtime& rt, const std::shared_ptr<detail::Core>& core) {
  std::lock_guard lock(rt.mu);
  if (rt.stopping) throw NetError(Errc::session_closed, "initiator shut down");
  std::erase_if(rt.cores, [](const auto& w) { return w.expired(); });
  rt.cores.push_back(core);
}

SessionOptions discovery_session_options(const DiscoveryOptions& d) {
  SessionOptions o;
  o.initiator_name = d.initiator_name;
  o.isid = d.isid;
  o.login_timeout = d.login_timeout;
  o.auth = d.auth.clone();
  o.iscsi.max_recv_data_segment_length = d.max_recv_data_segment_length;
  o.noop_out_interval = Seconds{0};
  o.noop_out_timeout = Seconds{0};
  o.initial_login_retry_max = 0;
  return o;
}

}  // namespace

std::future<std::vector<text::DiscoveredTarget>> Initiator::discover_async(
    const Portal& portal, const DiscoveryOptions& options) {
  using Targets = std::vector<text::DiscoveredTarget>;
  auto promise = std::make_shared<std::promise<Targets>>();
  auto fut = promise->get_future();
  try {
    auto core = std::make_shared<detail::Core>(rt_, detail::Core::Kind::discovery, std::string{},
                                               portal, discovery_session_options(options),
                                               options.send_targets);
    register_core(*rt_, core);
    const std::string st = options.send_targets.empty() ? "All" : options.send_targets;
    core->post([core, promise, st, portal] {
      core->start([core, promise, st, portal](std::exception_ptr e) {
        if (e) return promise->set_exception(e);
        core->submit_text(
            {{"SendTargets", st}},
            [core, promise, portal](session::Completion* comp, std::exception_ptr e2) {
              if (e2) {
                core->shutdown();
                return promise->set_exception(e2);
              }
              auto parsed = text::parse_send_targets(comp->text);
              if (!parsed) {
                core->shutdown();
                return promise->set_exception(std::make_exception_ptr(NetError(
                    Errc::discovery_failed, "SendTargets answer: " + parsed.error().message())));
              }
              Targets targets = std::move(*parsed);
              for (auto& t : targets) {
                if (t.addresses.empty()) {
                  text::TargetAddress a;
                  a.host = portal.host;
                  a.port = portal.port;
                  a.kind = portal.host.find(':') != std::string::npos ? text::HostKind::ipv6
                                                                     : text::HostKind::hostname;
                  t.addresses.push_back(a);
                }
              }
              core->logout([promise, targets = std::move(targets)](std::exception_ptr) mutable {
                // A failed discovery logout does not undo the answer we already have.
                promise->set_value(std::move(targets));
              });
            });
      });
    });
  } catch (...) {
    promise->set_exception(std::current_exception());
  }
  return fut;
}

std::vector<text::DiscoveredTarget> Initiator::discover(const Portal& portal,
                                                        const DiscoveryOptions& options) {
  return discover_async(portal, options).get();
}

std::future<std::shared_ptr<Session>> Initiator::login_async(const std::string& target,
                                                             const Portal& portal,
                                                             const SessionOptions& options) {
  auto promise = std::make_shared<std::promise<std::shared_ptr<Session>>>();
  auto fut = promise->get_future();
  try {
    auto core = std::make_shared<detail::Core>(rt_, detail::Core::Kind::normal, target, portal,
                                               options.clone());
    register_core(*rt_, core);
    core->post([core, promise] {
      core->start([core, promise](std::exception_ptr e) {
        if (e) {
          core->shutdown();
          return promise->set_exception(e);
        }
        promise->set_value(std::shared_ptr<Session>(new Session(core)));
      });
    });
  } catch (...) {
    promise->set_exception(std::current_exception());
  }
  return fut;
}

std::shared_ptr<Session> Initiator::login(const std::string& target, const Portal& portal,
                                          const SessionOptions& options) {
  return login_async(target, portal, options).get();
}

}  // namespace iscsi::net
