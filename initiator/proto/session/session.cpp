// The full-feature-phase session machine (see session.hpp for the contract and the choices
// made where the RFC leaves room): construction, connections, completions and the outputs. The
// rest is in the session_*.cpp files named in session.hpp. Wire fields are only read through
// the pdu structs.
#include "proto/session/session.hpp"

#include <algorithm>
#include <utility>

namespace iscsi::session {

namespace {

bool is_unit_attention(const scsi::SenseData& s, std::uint8_t asc, std::uint8_t ascq) {
  return s.is(scsi::SenseKey::unit_attention, asc, ascq);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Construction and connections

Session::Session(SessionConfig config, TimePoint now)
    : config_(std::move(config)),
      policy_(config_.params.error_recovery_level),
      tasks_(config_.first_itt) {
  cmd_sn_ = config_.cmd_sn;
  exp_cmd_sn_ = config_.exp_cmd_sn;
  max_cmd_sn_ = config_.max_cmd_sn;
  set_session_state(SessionEvent::login_complete);
  (void)add_connection(config_.cid, config_.exp_stat_sn,
                       config_.params.max_send_data_segment_length, now);
}

std::error_code Session::add_connection(std::uint16_t cid, SerialNumber exp_stat_sn,
                                        std::uint32_t max_send_dsl, TimePoint now) {
  if (auto it = conns_.find(cid); it != conns_.end()) {
    if (it->second.sm.state() != ConnState::free) return Errc::duplicate_connection;
    conn_cache_.last = nullptr;
    conns_.erase(it);
  }
  Connection c;
  c.cid = cid;
  (void)c.sm.on(ConnEvent::logged_in);
  c.exp_stat_sn = exp_stat_sn;
  c.next_stat_sn = exp_stat_sn;
  // A zero limit would make no progress; the RFC's floor is 512.
  c.max_send_dsl = std::max<std::uint32_t>(max_send_dsl, 512);
  c.last_rx = now;
  conns_.emplace(cid, std::move(c));
  return {};
}

std::vector<std::uint16_t> Session::connection_ids() const {
  std::vector<std::uint16_t> ids;
  for (const auto& [cid, c] : conns_) ids.push_back(cid);
  return ids;
}

Session::Connection* Session::conn(std::uint16_t cid) noexcept {
  if (conn_cache_.last != nullptr && conn_cache_.last->cid == cid) return conn_cache_.last;
  auto it = conns_.find(cid);
  if (it == conns_.end()) return nullptr;
  conn_cache_.last = &it->second;
  return conn_cache_.last;
}
const Session::Connection* Session::conn(std::uint16_t cid) const noexcept {
  return const_cast<Session*>(this)->conn(cid);
}

ConnState Session::connection_state(std::uint16_t cid) const noexcept {
  const Connection* c = conn(cid);
  return c ? c->sm.state() : ConnState::free;
}
ConnError Session::connection_error(std::uint16_t cid) const noexcept {
  const Connection* c = conn(cid);
  return c ? c->error : ConnError::none;
}
std::string Session::connection_error_detail(std::uint16_t cid) const {
  const Connection* c = conn(cid);
  return c ? c->error_detail : std::string();
}
SerialNumber Session::exp_stat_sn(std::uint16_t cid) const noexcept {
  const Connection* c = conn(cid);
  return c ? c->exp_stat_sn : SerialNumber{};
}

Result<std::uint16_t> Session::pick_connection(std::optional<std::uint16_t> cid) const {
  if (cid) {
    const Connection* c = conn(*cid);
    if (!c) return Errc::unknown_connection;
    if (!c->sm.usable()) return Errc::not_logged_in;
    return *cid;
  }
  for (const auto& [id, c] : conns_) {
    if (c.sm.usable()) return id;
  }
  return Errc::not_logged_in;
}

std::error_code Session::check_accepting() const {
  if (logout_pending_ || sm_.state() == SessionState::logging_out) {
    return Errc::logout_in_progress;
  }
  if (sm_.state() != SessionState::logged_in) return Errc::not_logged_in;
  return {};
}

bool Session::window_open() const noexcept {
  return SerialNumber::distance(cmd_sn_, max_cmd_sn_) >= 0;
}

std::optional<std::uint32_t> Session::itt_of(TaskId id) const noexcept {
  const Task* t = tasks_.find(id);
  if (t == nullptr || t->itt == pdu::kReservedTag) return std::nullopt;
  return t->itt;
}

std::vector<TaskId> Session::retry_list() const { return {retry_.begin(), retry_.end()}; }

void Session::emit(Event e) { events_.push_back(std::move(e)); }

void Session::set_session_state(SessionEvent e) {
  const SessionState before = sm_.state();
  if (sm_.on(e)) return;  // illegal: the machine records it (sticky)
  if (sm_.state() != before) {
    Event ev;
    ev.kind = EventKind::session_state;
    ev.state = sm_.state();
    emit(std::move(ev));
  }
}

bool Session::pop_completion(Completion& out) {
  Completion* c = completions_.take();
  if (c == nullptr) return false;
  out = std::move(*c);
  completions_.recycle(*c);
  return true;
}

std::optional<Completion> Session::pop_completion() {
  Completion out;
  if (!pop_completion(out)) return std::nullopt;
  return out;
}

std::optional<Event> Session::pop_event() {
  if (events_.empty()) return std::nullopt;
  return events_.take_front();
}

void Session::finish(Task& t, Completion&& c) {
  if (end_task(t)) completions_.push() = std::move(c);
}

bool Session::end_task(Task& t) {
  if (placed_task_ == t.id) {  // only a failed connection ends a task mid-placement
    placed_task_.reset();
    placement_orphaned_ = true;
  }
  if (Connection* cn = conn(t.cid)) {
    if (cn->ping == t.id) cn->ping.reset();
    if (cn->text_task == t.id) cn->text_task.reset();
    if (t.held_stat_sn) release_stat_sn(*cn, *t.held_stat_sn);
  }
  const bool internal = (t.kind == TaskKind::nop && t.internal_ping) ||
                        (t.kind == TaskKind::tmf && t.internal_reassign);
  tasks_.remove(t);  // `t` is a reset Task in a kept node from here
  return !internal;
}

void Session::complete_simple(Task& t, TaskOutcome outcome, ConnError why) {
  Completion c;
  c.id = t.id;
  c.kind = t.kind;
  c.outcome = outcome;
  c.error = why;
  if (t.kind == TaskKind::scsi) {
    c.scsi.read_bytes = t.read_high;
    if (!t.read_buf.empty()) {
      c.scsi.data = std::move(t.read_buf);
      c.scsi.data.resize(t.read_high);
    }
  }
  finish(t, std::move(c));
}

void Session::complete_each(const std::vector<TaskId>& ids, TaskOutcome outcome,
                            ConnError why) {
  for (TaskId id : ids) {
    if (Task* t = tasks_.find(id)) complete_simple(*t, outcome, why);
  }
}

void Session::complete_scsi(Task& t, ScsiResult&& r) {
  r.read_bytes = t.read_high;
  if (t.req.read_into.empty()) {
    t.read_buf.resize(t.read_high);
    r.data = std::move(t.read_buf);
  }
  const TaskId id = t.id;
  if (!end_task(t)) return;
  // Written in its queue slot (a recycled one is at its defaults: kind scsi, completed).
  Completion& c = completions_.push();
  c.id = id;
  c.kind = TaskKind::scsi;
  c.outcome = TaskOutcome::completed;
  c.scsi = std::move(r);
}

void Session::note_sense(const scsi::SenseData& sense, std::uint16_t cid,
                         std::optional<TaskId> task) {
  EventKind kind;
  if (is_unit_attention(sense, 0x2A, 0x09)) {
    kind = EventKind::capacity_changed;
  } else if (is_unit_attention(sense, 0x3F, 0x0E)) {
    kind = EventKind::luns_changed;
  } else {
    return;
  }
  Event e;
  e.kind = kind;
  e.cid = cid;
  e.sense = sense;
  e.task = task;
  emit(std::move(e));
}

}  // namespace iscsi::session
