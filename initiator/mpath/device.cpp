// The multipath device: routing commands to paths, completions and failover, the checker, the
// session watcher, the group choice and no_path_retry, wired together. The decisions
// themselves live in the sans-IO files (failover, checker, path_state, no_path, failback,
// grouping, selector, prio); this file holds the state they act on and the threads.
//
// Locking rule: `mu_` guards everything mutable. Work that calls out (a session's
// start_with_callback, a user callback) is collected in a Work under the lock and run after it
// is released, so no callback ever runs with the lock held and the engine's thread never waits
// for anything but that short lock.
#include "mpath/device.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "mpath/checker.hpp"
#include "mpath/failback.hpp"
#include "mpath/failover.hpp"
#include "mpath/grouping.hpp"
#include "mpath/no_path.hpp"
#include "mpath/path_state.hpp"
#include "mpath/prio.hpp"
#include "mpath/probe.hpp"
#include "mpath/selector.hpp"
#include "proto/scsi/cdb.hpp"
#include "proto/scsi/status.hpp"
#include "proto/session/session_state.hpp"

namespace iscsi::mpath {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kWatchPeriod = std::chrono::milliseconds{50};
constexpr std::size_t kMaxEvents = 100000;

std::string seconds_text(std::chrono::milliseconds d) {
  const auto ms = d.count();
  std::string s = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    std::string frac = std::to_string(1000 + ms % 1000).substr(1);
    while (frac.back() == '0') frac.pop_back();
    s += "." + frac;
  }
  return s + " s";
}

std::uint64_t data_bytes(const net::ScsiCommand& c) {
  if (c.direction == session::DataDirection::write) {
    return c.write_view.empty() ? c.write_data.size() : c.write_view.size();
  }
  return c.read_length;
}

std::string path_name(const net::Session& s, std::uint16_t lun) {
  return s.portal().to_string() + " LUN " + std::to_string(lun);
}

std::string status_words(const session::ScsiResult& r) {
  std::string s = "SCSI status " + std::string(scsi::to_string(static_cast<scsi::Status>(r.status)));
  if (r.sense) s += " (" + scsi::to_string(*r.sense) + ")";
  return s;
}

}  // namespace

// A command of the caller's, kept until its final outcome; it may visit several paths.
struct Request {
  net::ScsiCommand cmd;  // owned write data lives in `owned`, cmd.write_view points at it
  ByteVector owned;
  Device::Callback done;
  std::uint64_t handle = 0;
  std::uint64_t bytes = 0;
  unsigned alua_resends = 0;
  unsigned transport_resends = 0;
};
using RequestPtr = std::shared_ptr<Request>;

struct Path {
  PathSpec spec;
  std::string name;
  std::string target;
  PathAlua alua;
  int priority = 1;
  PathMachine machine;
  std::uint64_t completed = 0;
  std::uint64_t failures = 0;
  bool checking = false;
  std::uint64_t check_generation = 0;
  Clock::time_point check_started{};
  Clock::time_point next_check{};
  std::uint64_t reinstatements = 0;  // the session's count at the last watch
  bool session_down = false;
};

class Device::Core : public std::enable_shared_from_this<Device::Core> {
 public:
  Core(std::vector<Path> paths, Settings settings, LuIdentity identity, net::Capacity capacity)
      : settings_(std::move(settings)),
        identity_(std::move(identity)),
        capacity_(capacity),
        paths_(std::move(paths)),
        chooser_(settings_.failback),
        no_path_(settings_.no_path_retry),
        selector_(make_selector(settings_.path_selector, settings_.rr_min_io_rq)) {}

  void start() {
    Work w;
    {
      std::lock_guard lock(mu_);
      const auto now = Clock::now();
      for (auto& p : paths_) {
        p.priority = priority(p.alua);
        if (!alua_usable(p.alua)) (void)p.machine.on(PathEvent::check_ghost);
        p.next_check = now + settings_.polling_interval;
        p.reinstatements = p.spec.session->reinstatements();
      }
      regroup_locked();
      next_tick_ = now + settings_.polling_interval;
      update_locked(w, now);
    }
    run(w);
    // The thread holds the core: stop() detaches it when called on the thread itself.
    thread_ = std::thread([self = shared_from_this()] { self->loop(); });
  }

  void stop() {
    std::deque<RequestPtr> queued;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      queued.swap(queue_);
    }
    cv_.notify_all();
    if (thread_.joinable()) {
      // A user callback run by the device's own thread may drop the last Device reference.
      if (thread_.get_id() == std::this_thread::get_id()) {
        thread_.detach();
      } else {
        thread_.join();
      }
    }
    for (auto& r : queued) {
      r->done(nullptr, std::make_exception_ptr(net::NetError(
                           net::Errc::session_closed, "multipath device closed with the command queued")));
    }
  }

  std::uint64_t submit(net::ScsiCommand cmd, Callback done) {
    auto r = std::make_shared<Request>();
    if (!cmd.write_data.empty() && cmd.write_view.empty()) {
      r->owned = std::move(cmd.write_data);
      cmd.write_data.clear();
      cmd.write_view = ByteSpan(r->owned);
    }
    r->bytes = data_bytes(cmd);
    r->cmd = std::move(cmd);
    r->done = std::move(done);
    {
      std::lock_guard lock(mu_);
      r->handle = next_handle_++;
    }
    const std::uint64_t handle = r->handle;
    route(std::move(r));
    return handle;
  }

  std::vector<PathStatus> status() const {
    // Session states first, without our lock (see the locking rule).
    std::vector<std::string> states;
    for (const auto& p : paths_) states.push_back(p.spec.session->state_name());
    std::lock_guard lock(mu_);
    std::vector<PathStatus> out;
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      const Path& p = paths_[i];
      PathStatus s;
      s.index = i;
      s.path = p.name;
      s.target = p.target;
      const auto g = group_of_locked(i);
      s.group = g ? *g + 1 : 0;
      s.group_active = g && current_ == g;
      s.priority = p.priority;
      s.dm_state = std::string(dm_state(p.machine.state()));
      s.path_state = std::string(to_string(p.machine.state()));
      switch (p.machine.state()) {
        case PathState::up: s.checker_state = "ready"; break;
        case PathState::ghost: s.checker_state = "ghost"; break;
        case PathState::failed: s.checker_state = "faulty"; break;
      }
      if (p.checking) s.checker_state += " (checking)";
      s.session_state = states[i];
      s.alua = describe(p.alua);
      const PathLoad load = selector_->load(i);
      s.outstanding = load.ios;
      s.outstanding_bytes = load.bytes;
      s.completed = p.completed;
      s.failures = p.failures;
      out.push_back(std::move(s));
    }
    return out;
  }

  DeviceStatus device_status() const {
    std::lock_guard lock(mu_);
    DeviceStatus d;
    d.wwid = identity_.wwid();
    d.selector = std::string(selector_->name());
    d.grouping_policy = std::string(to_string(settings_.path_grouping_policy));
    d.failback = to_string(settings_.failback);
    d.no_path_retry = to_string(settings_.no_path_retry);
    d.no_path_state = std::string(to_string(no_path_.state()));
    d.groups = groups_.size();
    d.active_group = current_ ? *current_ + 1 : 0;
    d.queued = queue_.size();
    d.failovers = failovers_;
    return d;
  }

  std::vector<EventRecord> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

  void check_now() {
    {
      std::lock_guard lock(mu_);
      check_all_now_ = true;
      wake_ = true;
    }
    cv_.notify_all();
  }

  const Settings& settings() const noexcept { return settings_; }
  const LuIdentity& identity() const noexcept { return identity_; }
  net::Capacity capacity() const noexcept { return capacity_; }

 private:
  // What was decided under the lock and is done after it.
  struct Work {
    std::vector<RequestPtr> route;
    std::vector<std::pair<RequestPtr, std::exception_ptr>> fail;
    std::vector<std::pair<std::size_t, std::uint64_t>> checks;  // path, generation
    std::optional<std::pair<std::size_t, std::uint64_t>> refresh;  // RTPG through path, generation
  };

  void run(Work& w) {
    for (auto& [r, e] : w.fail) r->done(nullptr, e);
    for (auto& r : w.route) route(std::move(r));
    for (auto [p, gen] : w.checks) start_tur(p, gen);
    if (w.refresh) start_rtpg(w.refresh->first, w.refresh->second, /*refresh=*/true);
  }

  // --- routing --------------------------------------------------------------------------------

  void route(RequestPtr r) {
    Work w;
    std::optional<std::size_t> p;
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) {
          w.fail.emplace_back(r, std::make_exception_ptr(net::NetError(
                                     net::Errc::session_closed, "multipath device closed")));
          p.reset();
          break;
        }
        p = pick_locked(r->bytes);
        if (!p) {
          queue_.push_back(std::move(r));
          update_locked(w, Clock::now());
          break;
        }
      }
      // A session that failed since the watcher's last look (it looks every 50 ms) would hold
      // the command until replacement_timeout: fail its path now and choose again. Read
      // outside our lock (the session has its own).
      const auto state = paths_[*p].spec.session->state();
      std::lock_guard lock(mu_);
      if (state == session::SessionState::logged_in) {
        selector_->started(*p, r->bytes);
        break;
      }
      paths_[*p].session_down = true;
      if (paths_[*p].machine.state() != PathState::failed) {
        path_event_locked(*p, PathEvent::session_down,
                          "session " + std::string(session::to_string(state)), w);
        update_locked(w, Clock::now());
      }
    }
    if (p && r) dispatch(std::move(r), *p);
    run(w);
  }

  std::optional<std::size_t> pick_locked(std::uint64_t bytes) {
    if (!current_ || *current_ >= groups_.size()) return std::nullopt;
    std::vector<std::size_t> candidates;
    for (std::size_t p : groups_[*current_]) {
      if (paths_[p].machine.state() == PathState::up) candidates.push_back(p);
    }
    if (candidates.empty()) return std::nullopt;
    return selector_->select(candidates, bytes);
  }

  void dispatch(RequestPtr r, std::size_t p) {
    // paths_[p].spec never changes after construction: read without the lock.
    const PathSpec& spec = paths_[p].spec;
    net::ScsiCommand cmd = r->cmd;
    cmd.lun = spec.lun;
    auto self = shared_from_this();
    try {
      spec.session->start_with_callback(
          std::move(cmd), [self, r, p](session::ScsiResult* res, std::exception_ptr err) {
            self->on_done(r, p, res, std::move(err));
          });
    } catch (...) {
      on_done(r, p, nullptr, std::current_exception());
    }
  }

  void on_done(const RequestPtr& r, std::size_t p, session::ScsiResult* res,
               std::exception_ptr err) {
    const Decision d = decide(r->cmd.cdb, r->cmd.attr, res, err, r->alua_resends);
    Work w;
    {
      std::lock_guard lock(mu_);
      selector_->ended(p, r->bytes);
      ++paths_[p].completed;
      const auto now = Clock::now();
      if (d.path_event) {
        if (*d.path_event == PathEvent::io_not_accessible && res && res->sense) {
          paths_[p].alua.state = state_of(scsi::classify_alua_sense(*res->sense));
        }
        path_event_locked(p, *d.path_event, d.why, w);
      }
      if (d.refresh_alua) want_refresh_locked();
      if (d.verdict == Decision::Verdict::resend) {
        ++failovers_;
        if (d.path_event == PathEvent::io_transport_error) {
          ++r->transport_resends;
        } else {
          ++r->alua_resends;
        }
        record_locked(EventType::io_failover, paths_[p].name, d.why);
        w.route.push_back(r);
      }
      update_locked(w, now);
    }
    if (d.verdict == Decision::Verdict::complete) {
      r->done(res, err);
    } else if (d.verdict == Decision::Verdict::fail) {
      net::Errc code = net::Errc::task_failed;
      try {
        std::rethrow_exception(err);
      } catch (const net::NetError& e) {
        code = e.errc();
      } catch (...) {
      }
      r->done(nullptr, std::make_exception_ptr(net::NetError(code, d.why)));
    }
    if (d.refresh_alua) cv_.notify_all();
    run(w);
  }

  // --- paths, groups, no path ---------------------------------------------------------------

  std::optional<std::size_t> group_of_locked(std::size_t p) const {
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      if (std::find(groups_[g].begin(), groups_[g].end(), p) != groups_[g].end()) return g;
    }
    return std::nullopt;
  }

  void path_event_locked(std::size_t p, PathEvent e, const std::string& why, Work& w) {
    Path& path = paths_[p];
    const auto g = group_of_locked(p);
    bool group_had_up = false;
    if (g) {
      for (std::size_t q : groups_[*g]) group_had_up |= paths_[q].machine.state() == PathState::up;
    }
    const auto action = path.machine.on(e);
    if (!action) return;  // every pair is listed; kept for the rule's sake
    switch (*action) {
      case PathAction::fail:
        ++path.failures;
        record_locked(EventType::path_failed, path.name, why);
        break;
      case PathAction::reinstate:
        record_locked(EventType::path_reinstated, path.name,
                      "checker: " + std::string(to_string(path.machine.state())) +
                          (path.alua.supported ? " (" + describe(path.alua) + ")" : ""));
        if (g && !group_had_up && path.machine.state() == PathState::up) came_back_[*g] = true;
        break;
      case PathAction::alua_change:
        if (e == PathEvent::io_not_accessible || e == PathEvent::check_ghost) {
          record_locked(EventType::path_alua_changed, path.name,
                        "not used for I/O: " + why);
        } else if (e == PathEvent::check_up) {
          record_locked(EventType::path_alua_changed, path.name,
                        "used for I/O again: checker: up" +
                            (path.alua.supported ? " (" + describe(path.alua) + ")" : std::string()));
        }
        break;
      case PathAction::none:
        break;
    }
    (void)w;
  }

  // The groups from the paths' priorities (path_grouping_policy); the group in use stays the
  // one holding the same first path.
  void regroup_locked() {
    std::optional<std::size_t> anchor;
    if (current_ && *current_ < groups_.size() && !groups_[*current_].empty()) {
      anchor = groups_[*current_].front();
    }
    std::vector<int> prios;
    for (const auto& p : paths_) prios.push_back(p.priority);
    groups_ = build_groups(settings_.path_grouping_policy, prios);
    current_.reset();
    if (anchor) current_ = group_of_locked(*anchor);
    chooser_.reset();
    came_back_.assign(groups_.size(), false);
  }

  // After any change: which group takes I/O, and what no_path_retry says.
  void update_locked(Work& w, Clock::time_point now) {
    std::vector<int> prios;
    std::vector<bool> usable;
    for (const auto& p : paths_) {
      prios.push_back(p.priority);
      usable.push_back(p.machine.state() == PathState::up);
    }
    std::vector<GroupView> views;
    for (const auto& g : groups_) views.push_back(view_of(g, prios, usable));
    const auto choice = chooser_.choose(now, current_, views, came_back_);
    came_back_.assign(groups_.size(), false);
    failback_at_ = choice.recheck_at;
    if (choice.group && choice.group != current_) {
      if (current_) {
        record_locked(EventType::group_switched, "",
                      "group " + std::to_string(*current_ + 1) + " -> group " +
                          std::to_string(*choice.group + 1) + ": " + choice.why);
      }
      current_ = choice.group;
    }
    const bool any = choice.group.has_value();
    if (any) {
      if (no_path_.state() != NoPathMachine::State::serving) {
        const bool was_queueing = no_path_.state() == NoPathMachine::State::queueing;
        (void)no_path_.on(NoPathMachine::Event::path_back);
        if (was_queueing) {
          record_locked(EventType::queueing_ended, "",
                        "a path is usable again; " + std::to_string(queue_.size()) +
                            " queued command(s) resume");
        }
      }
      while (!queue_.empty()) {
        w.route.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      return;
    }
    // No usable path. While an ALUA refresh is due, commands wait for its answer whatever
    // no_path_retry says: a transition is not a path loss.
    if (refresh_pending_locked()) return;
    if (no_path_.state() == NoPathMachine::State::serving) {
      const auto action = no_path_.on(NoPathMachine::Event::paths_lost);
      if (action == NoPathMachine::Action::start_queueing) {
        record_locked(EventType::queueing_started, "",
                      "no usable path; no_path_retry " + to_string(settings_.no_path_retry));
      }
    }
    if (no_path_.state() == NoPathMachine::State::failing) {
      fail_queue_locked(w, "no usable path (no_path_retry " + to_string(settings_.no_path_retry) +
                               (settings_.no_path_retry.kind == NoPathRetry::Kind::checks
                                    ? ", exhausted)"
                                    : ")"));
    }
  }

  void fail_queue_locked(Work& w, const std::string& why) {
    if (queue_.empty()) return;
    record_locked(EventType::io_failed_no_path, "",
                  std::to_string(queue_.size()) + " command(s) failed: " + why);
    for (auto& r : queue_) {
      w.fail.emplace_back(r, std::make_exception_ptr(
                                 net::NetError(net::Errc::task_failed, "multipath: " + why)));
    }
    queue_.clear();
  }

  bool refresh_pending_locked() const { return refresh_wanted_ || refreshing_; }

  void want_refresh_locked() {
    for (const auto& p : paths_) {
      if (p.alua.supported) {
        refresh_wanted_ = true;
        wake_ = true;
        return;
      }
    }
  }

  void record_locked(EventType type, std::string path, std::string detail) {
    if (events_.size() >= kMaxEvents) events_.erase(events_.begin(), events_.begin() + kMaxEvents / 10);
    events_.push_back({type, Clock::now(), std::chrono::system_clock::now(), std::move(path),
                       std::move(detail)});
  }

  // --- ALUA ---------------------------------------------------------------------------------

  // Every path of the LU learns its group's state from one answer; a path that is not failed
  // turns up or ghost with it.
  void apply_groups_locked(const scsi::TargetPortGroups& tpgs, Work& w) {
    bool prio_changed = false;
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      Path& p = paths_[i];
      if (!p.alua.supported) continue;
      const PathAlua old = p.alua;
      if (!apply_rtpg(p.alua, tpgs)) continue;
      if (p.alua != old) {
        record_locked(EventType::path_alua_changed, p.name, describe(old) + " -> " + describe(p.alua));
      }
      const int prio = priority(p.alua);
      if (prio != p.priority) {
        p.priority = prio;
        prio_changed = true;
      }
      if (p.machine.state() != PathState::failed) {
        path_event_locked(i, alua_usable(p.alua) ? PathEvent::check_up : PathEvent::check_ghost,
                          "REPORT TARGET PORT GROUPS: " + describe(p.alua), w);
      }
    }
    if (prio_changed && settings_.path_grouping_policy != GroupingPolicy::multibus) regroup_locked();
  }

  // --- the checker and the watcher (the device's thread) -------------------------------------

  void loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      Work w;
      housekeeping_locked(Clock::now(), w);
      lock.unlock();
      run(w);
      // Session states for the next round, read without our lock.
      std::vector<std::pair<session::SessionState, std::uint64_t>> sessions;
      for (const auto& p : paths_) {
        sessions.emplace_back(p.spec.session->state(), p.spec.session->reinstatements());
      }
      lock.lock();
      sessions_ = std::move(sessions);
      if (stopping_) break;
      cv_.wait_for(lock, kWatchPeriod, [this] { return stopping_ || wake_; });
      wake_ = false;
    }
  }

  void housekeeping_locked(Clock::time_point now, Work& w) {
    const bool all_now = std::exchange(check_all_now_, false);
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      Path& p = paths_[i];
      // The watcher: a session that is not logged in, or that was reinstated since the last
      // look (a connection error and a relogin between two looks), fails the path at once.
      if (i < sessions_.size()) {
        const auto [state, reinst] = sessions_[i];
        if (state != session::SessionState::logged_in) {
          p.session_down = true;
          if (p.checking) {
            // A check sent before the session went down may still be answered (the target
            // answers the TEST UNIT READY ahead of the logout): that answer says nothing about
            // the path now, and must not reinstate the path failed here.
            ++p.check_generation;
            p.checking = false;
          }
          if (p.machine.state() != PathState::failed) {
            path_event_locked(i, PathEvent::session_down,
                              "session " + std::string(session::to_string(state)), w);
          }
        } else if (reinst != p.reinstatements) {
          if (p.machine.state() != PathState::failed) {
            path_event_locked(i, PathEvent::session_down,
                              "session reinstated after a connection error", w);
          }
          p.next_check = now;  // and check it again at once
        } else if (p.session_down) {
          p.session_down = false;
          p.next_check = now;
        }
        p.reinstatements = reinst;
      }
      if (p.checking && now - p.check_started > settings_.checker_timeout) {
        ++p.check_generation;  // a late answer is ignored
        p.checking = false;
        path_event_locked(i, PathEvent::check_down,
                          "checker: no answer within checker_timeout " +
                              seconds_text(settings_.checker_timeout),
                          w);
      }
      if (!p.checking && !p.session_down && (all_now || now >= p.next_check)) {
        p.checking = true;
        p.check_started = now;
        p.next_check = now + settings_.polling_interval;
        w.checks.emplace_back(i, ++p.check_generation);
      }
    }
    if (refreshing_ && now - refresh_started_ > settings_.checker_timeout) {
      refreshing_ = false;  // give up on it; the checker reads the groups anyway
      ++refresh_generation_;
    }
    if (refresh_wanted_ && !refreshing_) {
      refresh_wanted_ = false;
      std::optional<std::size_t> via;
      for (std::size_t i = 0; i < paths_.size(); ++i) {
        const auto st = paths_[i].machine.state();
        if (!paths_[i].alua.supported || st == PathState::failed || paths_[i].session_down) continue;
        if (!via || (st == PathState::up && paths_[*via].machine.state() != PathState::up)) via = i;
      }
      if (via) {
        refreshing_ = true;
        refresh_started_ = now;
        w.refresh.emplace(*via, ++refresh_generation_);
      }
    }
    if (now >= next_tick_) {
      next_tick_ = now + settings_.polling_interval;
      if (no_path_.state() == NoPathMachine::State::queueing) {
        const auto action = no_path_.on(NoPathMachine::Event::tick);
        if (action == NoPathMachine::Action::give_up) {
          record_locked(EventType::queueing_ended, "",
                        "no_path_retry " + to_string(settings_.no_path_retry) +
                            ": no path for that many checks; failing I/O");
        }
      }
    }
    update_locked(w, now);
  }

  void start_tur(std::size_t p, std::uint64_t gen) {
    const PathSpec& spec = paths_[p].spec;
    auto self = shared_from_this();
    try {
      spec.session->start_with_callback(
          tur_command(spec.lun), [self, p, gen](session::ScsiResult* res, std::exception_ptr err) {
            self->on_tur(p, gen, res, err);
          });
    } catch (...) {
      on_tur(p, gen, nullptr, std::current_exception());
    }
  }

  void start_rtpg(std::size_t p, std::uint64_t gen, bool refresh) {
    const PathSpec& spec = paths_[p].spec;
    auto self = shared_from_this();
    auto done = [self, p, gen, refresh](session::ScsiResult* res, std::exception_ptr err) {
      self->on_rtpg(p, gen, refresh, res, err);
    };
    try {
      spec.session->start_with_callback(rtpg_command(spec.lun), done);
    } catch (...) {
      on_rtpg(p, gen, refresh, nullptr, std::current_exception());
    }
  }

  void on_tur(std::size_t p, std::uint64_t gen, session::ScsiResult* res,
              const std::exception_ptr& err) {
    const CheckOutcome c = classify_tur(res, err);
    Work w;
    bool then_rtpg = false;
    {
      std::lock_guard lock(mu_);
      Path& path = paths_[p];
      if (!path.checking || path.check_generation != gen) return;  // timed out already
      if (c.kind == CheckOutcome::Kind::answered && path.alua.supported) {
        then_rtpg = true;  // still checking: the groups decide up or ghost
      } else {
        path.checking = false;
        if (c.kind == CheckOutcome::Kind::ghost) {
          path.alua.state = state_of(c.alua);
          if (path.alua.supported) want_refresh_locked();
        }
        const PathEvent e = c.kind == CheckOutcome::Kind::answered ? PathEvent::check_up
                            : c.kind == CheckOutcome::Kind::ghost  ? PathEvent::check_ghost
                                                                   : PathEvent::check_down;
        path_event_locked(p, e, "checker: " + c.why, w);
        update_locked(w, Clock::now());
      }
    }
    if (then_rtpg) start_rtpg(p, gen, /*refresh=*/false);
    run(w);
  }

  void on_rtpg(std::size_t p, std::uint64_t gen, bool refresh, session::ScsiResult* res,
               const std::exception_ptr& err) {
    Work w;
    {
      std::lock_guard lock(mu_);
      Path& path = paths_[p];
      if (refresh) {
        if (!refreshing_ || refresh_generation_ != gen) return;
        refreshing_ = false;
      } else {
        if (!path.checking || path.check_generation != gen) return;
        path.checking = false;
      }
      std::optional<scsi::TargetPortGroups> groups;
      if (!err && res && res->status == 0) {
        if (auto g = scsi::decode_report_target_port_groups(res->data)) groups = std::move(*g);
      }
      if (groups) apply_groups_locked(*groups, w);
      if (!refresh) {
        if (err) {
          path_event_locked(p, PathEvent::check_down,
                            "checker: REPORT TARGET PORT GROUPS: " + classify_tur(nullptr, err).why, w);
        } else {
          path_event_locked(p, alua_usable(path.alua) ? PathEvent::check_up : PathEvent::check_ghost,
                            "checker: " + describe(path.alua) +
                                (groups ? "" : " (REPORT TARGET PORT GROUPS: " +
                                                   (res ? status_words(*res) : std::string("no data")) + ")"),
                            w);
        }
      }
      update_locked(w, Clock::now());
    }
    run(w);
  }

  const Settings settings_;
  const LuIdentity identity_;
  const net::Capacity capacity_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  bool stopping_ = false;
  bool wake_ = false;
  bool check_all_now_ = false;
  std::vector<Path> paths_;  // the vector never changes size; its specs never change
  std::vector<std::pair<session::SessionState, std::uint64_t>> sessions_;  // the watcher's last look
  PathGroups groups_;
  std::optional<std::size_t> current_;
  GroupChooser chooser_;
  std::optional<Clock::time_point> failback_at_;
  std::vector<bool> came_back_;
  NoPathMachine no_path_;
  std::unique_ptr<Selector> selector_;
  std::deque<RequestPtr> queue_;
  bool refresh_wanted_ = false;
  bool refreshing_ = false;
  std::uint64_t refresh_generation_ = 0;
  Clock::time_point refresh_started_{};
  Clock::time_point next_tick_{};
  std::uint64_t next_handle_ = 1;
  std::uint64_t failovers_ = 0;
  std::vector<EventRecord> events_;
};

// --- Device -------------------------------------------------------------------------------------

std::shared_ptr<Device> Device::create(std::vector<PathSpec> specs, Settings settings) {
  if (specs.empty()) throw std::invalid_argument("multipath: no paths");
  std::vector<Path> paths;
  std::vector<PathProbe> probes;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (!specs[i].session) {
      throw std::invalid_argument("multipath: path " + std::to_string(i) + " has no session");
    }
    Path p;
    p.spec = specs[i];
    p.name = path_name(*p.spec.session, p.spec.lun);
    p.target = p.spec.session->target_name();
    try {
      probes.push_back(probe_path(*p.spec.session, p.spec.lun));
    } catch (const net::NetError& e) {
      throw net::NetError(e.errc(), "multipath: probing " + p.name + ": " + e.what());
    }
    if (!probes.back().identity) {
      throw IdentityError("multipath: " + p.name +
                          ": the LU has no designator in VPD page 0x83 and no unit serial number "
                          "(VPD page 0x80); it cannot be told apart from another LU");
    }
    p.alua = probes.back().alua;
    paths.push_back(std::move(p));
  }
  std::string mismatch;
  for (std::size_t i = 1; i < paths.size(); ++i) {
    if (auto diff = difference(*probes[0].identity, *probes[i].identity)) {
      mismatch += "\n  " + paths[i].name + " (" + paths[i].target + ") is not the LU of " +
                  paths[0].name + " (" + paths[0].target + "): " + *diff;
    }
  }
  if (!mismatch.empty()) {
    throw IdentityError("multipath: the paths do not reach one logical unit:" + mismatch);
  }
  auto core = std::make_shared<Core>(std::move(paths), std::move(settings),
                                     *probes[0].identity, probes[0].capacity);
  core->start();
  return std::shared_ptr<Device>(new Device(std::move(core)));
}

Device::Device(std::shared_ptr<Core> core) : core_(std::move(core)) {}

Device::~Device() { core_->stop(); }

std::uint64_t Device::submit(net::ScsiCommand cmd, Callback done) {
  return core_->submit(std::move(cmd), std::move(done));
}

Device::SubmitFunction Device::submit_function() {
  // The function keeps the device's core alive, as submit_to(session) keeps the session.
  return [core = core_](net::ScsiCommand cmd, Callback done) {
    return core->submit(std::move(cmd), std::move(done));
  };
}

session::ScsiResult Device::scsi(net::ScsiCommand cmd) {
  auto promise = std::make_shared<std::promise<session::ScsiResult>>();
  auto future = promise->get_future();
  submit(std::move(cmd), [promise](session::ScsiResult* r, std::exception_ptr e) {
    if (e) return promise->set_exception(e);
    promise->set_value(std::move(*r));
  });
  return future.get();
}

namespace {

net::ScsiCommand rw_command(const Result<scsi::Cdb>& cdb, const char* what) {
  if (!cdb) throw net::NetError(net::Errc::invalid_argument, std::string(what) + ": " + cdb.error().message());
  net::ScsiCommand c;
  c.cdb.assign(cdb->bytes.begin(), cdb->bytes.begin() + cdb->length);
  return c;
}

void check_good(const session::ScsiResult& r, const char* what) {
  if (r.status != 0) throw net::NetError(net::Errc::scsi_error, std::string(what) + ": " + status_words(r));
}

}  // namespace

ByteVector Device::read(std::uint64_t lba, std::uint32_t blocks) {
  const std::uint64_t len = std::uint64_t{blocks} * capacity().block_length;
  if (len > 0xFFFFFFFFu) throw net::NetError(net::Errc::invalid_argument, "READ(16): transfer too long");
  auto cmd = rw_command(scsi::read16(lba, blocks), "READ(16)");
  cmd.direction = session::DataDirection::read;
  cmd.read_length = static_cast<std::uint32_t>(len);
  auto r = scsi(std::move(cmd));
  check_good(r, "READ(16)");
  return std::move(r.data);
}

std::uint32_t Device::read_into(std::uint64_t lba, MutableByteSpan buffer) {
  const std::uint32_t bl = capacity().block_length;
  if (bl == 0 || buffer.size() % bl != 0 || buffer.size() > 0xFFFFFFFFu) {
    throw net::NetError(net::Errc::invalid_argument,
                        "READ(16): the buffer is not a whole number of " + std::to_string(bl) +
                            "-byte blocks");
  }
  auto cmd = rw_command(scsi::read16(lba, static_cast<std::uint32_t>(buffer.size() / bl)), "READ(16)");
  cmd.direction = session::DataDirection::read;
  cmd.read_length = static_cast<std::uint32_t>(buffer.size());
  cmd.read_into = buffer;
  auto r = scsi(std::move(cmd));
  check_good(r, "READ(16)");
  return r.read_bytes;
}

void Device::write(std::uint64_t lba, ByteSpan data) {
  const std::uint32_t bl = capacity().block_length;
  if (bl == 0 || data.size() % bl != 0 || data.size() > 0xFFFFFFFFu) {
    throw net::NetError(net::Errc::invalid_argument,
                        "WRITE(16): the data is not a whole number of " + std::to_string(bl) +
                            "-byte blocks");
  }
  auto cmd = rw_command(scsi::write16(lba, static_cast<std::uint32_t>(data.size() / bl)), "WRITE(16)");
  cmd.direction = session::DataDirection::write;
  cmd.write_view = data;  // the caller's, alive until this returns
  auto r = scsi(std::move(cmd));
  check_good(r, "WRITE(16)");
}

std::vector<PathStatus> Device::status() const { return core_->status(); }
DeviceStatus Device::device_status() const { return core_->device_status(); }
std::vector<EventRecord> Device::events() const { return core_->events(); }
const LuIdentity& Device::identity() const noexcept { return core_->identity(); }
const Settings& Device::settings() const noexcept { return core_->settings(); }
net::Capacity Device::capacity() const noexcept { return core_->capacity(); }
void Device::check_now() { core_->check_now(); }

}  // namespace iscsi::mpath
