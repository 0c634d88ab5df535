// The full-feature-phase session machine (see session.hpp for the contract and the choices
// made where the RFC leaves room). Wire fields are only read through the pdu structs.
#include "proto/session/session.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>
#include <variant>

#include "proto/text/codec.hpp"
#include "proto/text/sendtargets.hpp"

namespace iscsi::session {

namespace {

// How many retired ITTs we remember to tell a late answer (no_scsi_cmd, dropped) from an ITT
// we never issued (bad_itt, fatal).
constexpr std::size_t kRecentItts = 1024;
// A Text answer larger than this fails the task (RFC 7143 6.1 leaves the bound to us).
constexpr std::size_t kMaxTextAnswer = 1024 * 1024;

std::string fmt_u32(std::uint32_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = "0x";
  bool started = false;
  for (int shift = 28; shift >= 0; shift -= 4) {
    const auto nib = (v >> static_cast<unsigned>(shift)) & 0xFu;
    if (nib != 0 || started || shift == 0) {
      s.push_back(kHex[nib]);
      started = true;
    }
  }
  return s;
}

bool is_unit_attention(const scsi::SenseData& s, std::uint8_t asc, std::uint8_t ascq) {
  return s.is(scsi::SenseKey::unit_attention, asc, ascq);
}

}  // namespace

std::string_view to_string(TaskKind k) noexcept {
  switch (k) {
    case TaskKind::scsi: return "scsi";
    case TaskKind::tmf: return "tmf";
    case TaskKind::nop: return "nop";
    case TaskKind::text: return "text";
    case TaskKind::logout: return "logout";
  }
  return "unknown";
}

std::string_view to_string(TaskOutcome o) noexcept {
  switch (o) {
    case TaskOutcome::completed: return "completed";
    case TaskOutcome::aborted: return "aborted";
    case TaskOutcome::rejected: return "rejected";
    case TaskOutcome::timed_out: return "timed_out";
    case TaskOutcome::failed: return "failed";
  }
  return "unknown";
}

std::string_view to_string(EventKind k) noexcept {
  switch (k) {
    case EventKind::async_message: return "async_message";
    case EventKind::capacity_changed: return "capacity_changed";
    case EventKind::luns_changed: return "luns_changed";
    case EventKind::nop_timeout: return "nop_timeout";
    case EventKind::conn_error: return "conn_error";
    case EventKind::dropped_pdu: return "dropped_pdu";
    case EventKind::reject: return "reject";
    case EventKind::logout_response: return "logout_response";
    case EventKind::tmf_timeout: return "tmf_timeout";
    case EventKind::session_state: return "session_state";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// Construction and connections

Session::Session(SessionConfig config, TimePoint now) : config_(std::move(config)) {
  cmd_sn_ = config_.cmd_sn;
  exp_cmd_sn_ = config_.exp_cmd_sn;
  max_cmd_sn_ = config_.max_cmd_sn;
  next_itt_ = config_.first_itt;
  set_session_state(SessionEvent::login_complete);
  (void)add_connection(config_.cid, config_.exp_stat_sn,
                       config_.params.max_send_data_segment_length, now);
}

std::error_code Session::add_connection(std::uint16_t cid, SerialNumber exp_stat_sn,
                                        std::uint32_t max_send_dsl, TimePoint now) {
  if (auto it = conns_.find(cid); it != conns_.end()) {
    if (it->second.sm.state() != ConnState::free) return Errc::duplicate_connection;
    conns_.erase(it);
  }
  Connection c;
  c.cid = cid;
  (void)c.sm.on(ConnEvent::logged_in);
  c.exp_stat_sn = exp_stat_sn;
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
  auto it = conns_.find(cid);
  return it == conns_.end() ? nullptr : &it->second;
}
const Session::Connection* Session::conn(std::uint16_t cid) const noexcept {
  auto it = conns_.find(cid);
  return it == conns_.end() ? nullptr : &it->second;
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
  auto it = tasks_.find(id);
  if (it == tasks_.end() || it->second.itt == pdu::kReservedTag) return std::nullopt;
  return it->second.itt;
}

std::vector<TaskId> Session::retry_list() const { return {retry_.begin(), retry_.end()}; }

Result<std::uint32_t> Session::allocate_itt() {
  if (by_itt_.size() >= 0xFFFFFFFEu) return Errc::itt_space_exhausted;
  while (true) {
    const std::uint32_t itt = next_itt_++;
    if (next_itt_ == 0) itt_wrapped_ = true;
    if (itt == pdu::kReservedTag) continue;
    // Until the counter wraps, every ITT it yields is new: nothing in flight or recently
    // retired can carry it.
    if (!itt_wrapped_) return itt;
    if (by_itt_.count(itt) != 0) continue;
    // Prefer not to hand out a tag a late answer may still carry.
    if (recently_retired(itt)) continue;
    return itt;
  }
}

bool Session::recently_retired(std::uint32_t itt) const noexcept {
  return std::find(recent_itts_.begin(), recent_itts_.end(), itt) != recent_itts_.end();
}

void Session::retire_itt(std::uint32_t itt) {
  if (recent_itts_.size() < kRecentItts) {
    recent_itts_.push_back(itt);
  } else {
    recent_itts_[recent_next_] = itt;
    recent_next_ = (recent_next_ + 1) % kRecentItts;
  }
}

Session::Task& Session::add_task(TaskKind kind, std::uint16_t cid) {
  const TaskId id = next_task_id_++;
  Task& t = task_nodes_.put_default(tasks_, id);
  t.id = id;
  t.kind = kind;
  t.cid = cid;
  return t;
}

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

// ---------------------------------------------------------------------------------------------
// Requests

Result<TaskId> Session::submit(ScsiRequest req, TimePoint /*now*/,
                               std::optional<std::uint16_t> cid) {
  if (auto ec = check_accepting()) return ec;
  if (req.cdb.empty() || req.cdb.size() > 16 + 244) return Errc::invalid_request;
  const bool writes = req.direction == DataDirection::write ||
                      req.direction == DataDirection::bidirectional;
  const bool reads = req.direction == DataDirection::read ||
                     req.direction == DataDirection::bidirectional;
  if (!writes && !req.write_data().empty()) return Errc::invalid_request;
  if (!reads && req.read_length != 0) return Errc::invalid_request;
  if (!req.read_into.empty() && (!reads || req.read_into.size() < req.read_length)) {
    return Errc::invalid_request;
  }
  if (req.write_data().size() > 0xFFFFFFFFu) return Errc::invalid_request;
  auto picked = pick_connection(cid);
  if (!picked) return picked.error();
  auto itt = allocate_itt();
  if (!itt) return itt.error();
  Task& t = add_task(TaskKind::scsi, *picked);
  t.itt = *itt;
  itt_nodes_.put(by_itt_, t.itt, t.id);
  t.write_length = static_cast<std::uint32_t>(req.write_data().size());
  t.req = std::move(req);
  waiting_.push_back(t.id);
  const TaskId id = t.id;
  issue_waiting();
  return id;
}

Result<TaskId> Session::submit_tmf(TmfRequest req, TimePoint now,
                                   std::optional<std::uint16_t> cid) {
  if (auto ec = check_accepting()) return ec;
  Task* ref = nullptr;
  if (req.function == pdu::TmfFunction::abort_task) {
    if (!req.referenced) return Errc::invalid_request;
    auto it = tasks_.find(*req.referenced);
    if (it == tasks_.end() || it->second.kind != TaskKind::scsi) return Errc::unknown_task;
    ref = &it->second;
    if (ref->itt == pdu::kReservedTag) return Errc::unknown_task;
    // RFC 7143 7.1.2 (ERL < 2): ABORT TASK goes on the connection the task is allegiant to.
    cid = ref->cid;
  }
  auto picked = pick_connection(cid);
  if (!picked) return picked.error();
  auto itt = allocate_itt();
  if (!itt) return itt.error();
  Task& t = add_task(TaskKind::tmf, *picked);
  t.itt = *itt;
  itt_nodes_.put(by_itt_, t.itt, t.id);
  t.tmf = req;
  const TaskId id = t.id;
  if (ref != nullptr) {
    t.ref_itt = ref->itt;
    t.ref_cmd_sn = ref->cmd_sn;
    t.tmf.lun = ref->req.lun;
    if (!ref->sent) {
      // Never sent: nothing to ask the target; abort locally and answer the TMF ourselves.
      Completion rc;
      rc.id = ref->id;
      rc.kind = TaskKind::scsi;
      rc.outcome = TaskOutcome::aborted;
      finish(*ref, std::move(rc));
      Completion tc;
      tc.id = id;
      tc.kind = TaskKind::tmf;
      tc.tmf_response = pdu::TmfResponse::function_complete;
      finish(tasks_.at(id), std::move(tc));
      return id;
    }
  }
  pdu::TaskMgmtRequest p;
  p.immediate = true;
  p.function = t.tmf.function;
  p.lun = t.tmf.lun;
  p.itt = t.itt;
  p.referenced_task_tag = t.ref_itt.value_or(pdu::kReservedTag);
  p.cmd_sn = cmd_sn_;  // immediate: carries the next CmdSN without taking it
  // RefCmdSN is the aborted task's CmdSN for ABORT TASK; for the task-set functions RFC 7143
  // 11.5.4 asks for the TMF's own CmdSN (tasks up to it are affected).
  p.ref_cmd_sn = t.ref_itt ? t.ref_cmd_sn : cmd_sn_;
  t.cmd_sn = cmd_sn_;
  t.sent = true;
  t.deadline = now + req.timeout;
  queue(*conn(*picked), std::move(p));
  return id;
}

Result<TaskId> Session::ping(TimePoint now, ByteVector data, std::optional<std::uint16_t> cid) {
  if (auto ec = check_accepting()) return ec;
  auto picked = pick_connection(cid);
  if (!picked) return picked.error();
  Connection& c = *conn(*picked);
  if (data.size() > c.max_send_dsl) return Errc::invalid_request;
  auto itt = allocate_itt();
  if (!itt) return itt.error();
  Task& t = add_task(TaskKind::nop, *picked);
  t.itt = *itt;
  itt_nodes_.put(by_itt_, t.itt, t.id);
  t.ping_data = data;
  t.cmd_sn = cmd_sn_;
  t.sent = true;
  if (config_.noop_out_timeout.count() > 0) t.deadline = now + config_.noop_out_timeout;
  pdu::NopOut p;
  p.immediate = true;
  p.itt = t.itt;
  p.ttt = pdu::kReservedTag;
  p.cmd_sn = cmd_sn_;
  p.data = std::move(data);
  const TaskId id = t.id;
  queue(c, std::move(p));
  return id;
}

Result<TaskId> Session::send_text(text::KeyValueList keys, TimePoint /*now*/,
                                  std::optional<std::uint16_t> cid) {
  if (auto ec = check_accepting()) return ec;
  auto picked = pick_connection(cid);
  if (!picked) return picked.error();
  Connection& c = *conn(*picked);
  if (c.text_task) return Errc::text_in_progress;
  text::TextOptions opts;
  opts.allow_duplicate_keys = true;
  auto encoded = text::encode(keys, opts);
  if (!encoded) return Errc::invalid_request;
  auto itt = allocate_itt();
  if (!itt) return itt.error();
  Task& t = add_task(TaskKind::text, *picked);
  t.itt = *itt;
  itt_nodes_.put(by_itt_, t.itt, t.id);
  t.text_out = std::move(*encoded);
  c.text_task = t.id;
  waiting_.push_back(t.id);
  const TaskId id = t.id;
  issue_waiting();
  return id;
}

Result<TaskId> Session::logout(pdu::LogoutReason reason, TimePoint /*now*/,
                               std::optional<std::uint16_t> cid, std::uint16_t logout_cid) {
  if (auto ec = check_accepting()) return ec;
  auto picked = pick_connection(cid);
  if (!picked) return picked.error();
  if (reason != pdu::LogoutReason::close_session && conn(logout_cid) == nullptr) {
    return Errc::unknown_connection;
  }
  auto itt = allocate_itt();
  if (!itt) return itt.error();
  Task& t = add_task(TaskKind::logout, *picked);
  t.itt = *itt;
  itt_nodes_.put(by_itt_, t.itt, t.id);
  t.logout_reason = reason;
  t.logout_cid = reason == pdu::LogoutReason::close_session ? 0 : logout_cid;
  t.cmd_sn = cmd_sn_;
  t.sent = true;
  Connection& c = *conn(*picked);
  pdu::LogoutRequest p;
  // Sent immediate, as open-iscsi does, so a closed window cannot hold it back.
  p.immediate = true;
  p.reason = reason;
  p.itt = t.itt;
  p.cid = t.logout_cid;
  p.cmd_sn = cmd_sn_;
  const TaskId id = t.id;
  if (reason == pdu::LogoutReason::close_session) {
    logout_pending_ = true;
    set_session_state(SessionEvent::logout_started);
    (void)c.sm.on(ConnEvent::logout_sent);
  } else if (logout_cid == c.cid) {
    (void)c.sm.on(ConnEvent::logout_sent);
  }
  queue(c, std::move(p));
  return id;
}

// ---------------------------------------------------------------------------------------------
// Sending

void Session::queue(Connection& c, pdu::Pdu p) {
  detail::OutItem item;
  item.pdu = std::move(p);
  c.out.push_back(std::move(item));
}

void Session::issue_waiting() {
  while (!waiting_.empty() && window_open() && sm_.state() == SessionState::logged_in) {
    const TaskId id = waiting_.front();
    waiting_.pop_front();
    auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;  // aborted or failed while waiting
    issue(it->second);
  }
}

void Session::issue(Task& t) {
  Connection* c = conn(t.cid);
  if (c == nullptr || !c->sm.usable()) {
    complete_simple(t, TaskOutcome::failed, ConnError::conn_failed);
    return;
  }
  t.cmd_sn = cmd_sn_;
  ++cmd_sn_;
  t.sent = true;
  if (t.kind == TaskKind::scsi) {
    issue_scsi(t, *c);
  } else if (t.kind == TaskKind::text) {
    issue_text(t, *c);
  }
}

void Session::issue_scsi(Task& t, Connection& c) {
  const ScsiRequest& req = t.req;
  const auto& params = config_.params;
  pdu::ScsiCommand p;
  p.immediate = false;
  p.read = req.direction == DataDirection::read || req.direction == DataDirection::bidirectional;
  p.write = req.direction == DataDirection::write ||
            req.direction == DataDirection::bidirectional;
  p.attr = req.attr;
  p.lun = req.lun;
  p.itt = t.itt;
  p.cmd_sn = t.cmd_sn;
  const std::size_t first = std::min<std::size_t>(req.cdb.size(), 16);
  std::copy_n(req.cdb.begin(), first, p.cdb.begin());
  if (req.cdb.size() > 16) p.extended_cdb.assign(req.cdb.begin() + 16, req.cdb.end());
  if (req.direction == DataDirection::read) {
    p.expected_data_transfer_length = req.read_length;
  } else {
    p.expected_data_transfer_length = t.write_length;
  }
  if (req.direction == DataDirection::bidirectional) p.bidi_read_data_length = req.read_length;
  std::uint32_t immediate = 0;
  std::uint32_t unsolicited_end = 0;
  if (p.write) {
    // RFC 7143 13.13/13.14: immediate data up to FirstBurstLength and the target's
    // MaxRecvDataSegmentLength; with InitialR2T=No, unsolicited Data-Out up to FirstBurstLength
    // (immediate data included).
    if (params.immediate_data) {
      immediate = std::min({t.write_length, params.first_burst_length, c.max_send_dsl});
    }
    unsolicited_end = params.initial_r2t
                          ? immediate
                          : std::min(t.write_length, params.first_burst_length);
    unsolicited_end = std::max(unsolicited_end, immediate);
    const ByteSpan data = req.write_data();
    p.data.assign(data.begin(), data.begin() + immediate);
  }
  t.unsolicited_end = unsolicited_end;
  p.final_pdu = unsolicited_end == immediate;
  queue(c, std::move(p));
  if (unsolicited_end > immediate) {
    detail::OutItem seq;
    seq.task = t.id;
    seq.ttt = pdu::kReservedTag;
    seq.offset = immediate;
    seq.end = unsolicited_end;
    seq.data_sn = SerialNumber{0};
    seq.solicited = false;
    c.out.push_back(std::move(seq));
  }
}

void Session::issue_text(Task& t, Connection& c) {
  pdu::TextRequest p;
  p.immediate = false;
  p.itt = t.itt;
  p.ttt = t.text_ttt;
  p.cmd_sn = t.cmd_sn;
  if (t.text_continue_empty) {
    // Asking for the rest of the target's answer: an empty request echoing its TTT.
    p.final_pdu = true;
    p.cont = false;
    t.text_continue_empty = false;
  } else {
    const std::size_t remaining = t.text_out.size() - t.text_sent;
    const std::size_t n = std::min<std::size_t>(remaining, c.max_send_dsl);
    p.data.assign(t.text_out.begin() + static_cast<std::ptrdiff_t>(t.text_sent),
                  t.text_out.begin() + static_cast<std::ptrdiff_t>(t.text_sent + n));
    t.text_sent += n;
    p.cont = t.text_sent < t.text_out.size();
    p.final_pdu = !p.cont;
  }
  queue(c, std::move(p));
}

bool Session::has_pdu(std::uint16_t cid) const noexcept {
  const Connection* c = conn(cid);
  return c != nullptr && !c->out.empty();
}

std::optional<pdu::Pdu> Session::pop_pdu(std::uint16_t cid) {
  Connection* c = conn(cid);
  if (c == nullptr) return std::nullopt;
  while (!c->out.empty()) {
    detail::OutItem& item = c->out.front();
    std::optional<pdu::Pdu> result;
    if (item.pdu) {
      result = std::move(item.pdu);
      c->out.pop_front();
    } else {
      auto it = tasks_.find(item.task);
      if (it == tasks_.end()) {  // the task ended (aborted, answered early): drop the rest
        c->out.pop_front();
        continue;
      }
      Task& t = it->second;
      const ByteSpan data = t.req.write_data();
      const std::uint32_t n = std::min(item.end - item.offset, c->max_send_dsl);
      pdu::DataOut d;
      d.lun = t.req.lun;
      d.itt = t.itt;
      d.ttt = item.ttt;
      d.data_sn = item.data_sn;
      d.buffer_offset = item.offset;
      d.data.assign(data.begin() + item.offset, data.begin() + item.offset + n);
      item.offset += n;
      ++item.data_sn;
      d.final_pdu = item.offset == item.end;
      if (d.final_pdu) {
        if (item.solicited && t.outstanding_r2t > 0) --t.outstanding_r2t;
        c->out.pop_front();
      }
      result = pdu::Pdu(std::move(d));
    }
    // ExpStatSN is stamped at send time so it is as fresh as possible.
    std::visit(
        [&](auto& p) {
          if constexpr (requires { p.exp_stat_sn; }) p.exp_stat_sn = c->exp_stat_sn;
        },
        *result);
    switch (pdu::opcode_of(*result)) {
      case pdu::Opcode::nop_out: ++stats_.noptx_pdus; break;
      case pdu::Opcode::scsi_command:
        ++stats_.scsicmd_pdus;
        stats_.txdata_octets += pdu::data_of(*result).size();
        break;
      case pdu::Opcode::task_mgmt_request: ++stats_.tmfcmd_pdus; break;
      case pdu::Opcode::text_request: ++stats_.text_pdus; break;
      case pdu::Opcode::scsi_data_out:
        ++stats_.dataout_pdus;
        stats_.txdata_octets += pdu::data_of(*result).size();
        break;
      case pdu::Opcode::logout_request: ++stats_.logout_pdus; break;
      case pdu::Opcode::snack_request: ++stats_.snack_pdus; break;
      case pdu::Opcode::login_request: ++stats_.login_pdus; break;
      default: break;
    }
    return result;
  }
  return std::nullopt;
}

bool Session::pop_completion(Completion& out) {
  if (completions_.empty()) return false;
  completions_.take_front_into(out);
  return true;
}

std::optional<Completion> Session::pop_completion() {
  if (completions_.empty()) return std::nullopt;
  return completions_.take_front();
}

std::optional<Event> Session::pop_event() {
  if (events_.empty()) return std::nullopt;
  return events_.take_front();
}

// ---------------------------------------------------------------------------------------------
// Completion

MutableByteSpan Session::data_in_destination(std::uint16_t cid, const pdu::DataIn& p,
                                             std::size_t len) {
  if (len == 0 || placed_task_) return {};
  auto it = by_itt_.find(p.itt);
  if (it == by_itt_.end()) return {};
  auto tt = tasks_.find(it->second);
  if (tt == tasks_.end()) return {};
  const Task& t = tt->second;
  // Only what on_data_in() will accept as the next in-order payload: anything else takes the
  // framer's buffer and is judged (and refused) there.
  if (t.kind != TaskKind::scsi || !t.sent || t.cid != cid || t.req.read_into.empty() ||
      p.data_sn != t.next_data_sn || p.buffer_offset != t.read_next ||
      std::uint64_t{p.buffer_offset} + len > t.req.read_length) {
    return {};
  }
  placed_task_ = t.id;
  placement_orphaned_ = false;
  return t.req.read_into.subspan(p.buffer_offset, len);
}

void Session::finish(Task& t, Completion c) {
  if (t.itt != pdu::kReservedTag) {
    itt_nodes_.erase(by_itt_, t.itt);
    retire_itt(t.itt);
  }
  if (placed_task_ == t.id) {  // only a failed connection ends a task mid-placement
    placed_task_.reset();
    placement_orphaned_ = true;
  }
  if (Connection* cn = conn(t.cid)) {
    if (cn->ping == t.id) cn->ping.reset();
    if (cn->text_task == t.id) cn->text_task.reset();
  }
  const bool internal = t.kind == TaskKind::nop && t.internal_ping;
  task_nodes_.erase(tasks_, t.id);  // `t` is a reset Task in a kept node from here
  if (!internal) completions_.push_back(std::move(c));
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

void Session::complete_scsi(Task& t, ScsiResult r) {
  r.read_bytes = t.read_high;
  if (t.req.read_into.empty()) {
    t.read_buf.resize(t.read_high);
    r.data = std::move(t.read_buf);
  }
  Completion c;
  c.id = t.id;
  c.kind = TaskKind::scsi;
  c.outcome = TaskOutcome::completed;
  c.scsi = std::move(r);
  finish(t, std::move(c));
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

// ---------------------------------------------------------------------------------------------
// Receiving

std::error_code Session::receive(std::uint16_t cid, const pdu::Pdu& pdu, TimePoint now) {
  Connection* cp = conn(cid);
  if (cp == nullptr) return Errc::unknown_connection;
  Connection& c = *cp;
  const ConnState cs = c.sm.state();
  if (cs == ConnState::free || cs == ConnState::cleanup_wait) return Errc::not_logged_in;
  c.last_rx = now;
  std::string detail;
  ConnError err = ConnError::none;
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, pdu::NopIn>) {
          ++stats_.noprx_pdus;
          err = on_nop_in(c, p, now, detail);
        } else if constexpr (std::is_same_v<T, pdu::ScsiResponse>) {
          ++stats_.scsirsp_pdus;
          err = on_scsi_response(c, p, detail);
        } else if constexpr (std::is_same_v<T, pdu::DataIn>) {
          ++stats_.datain_pdus;
          stats_.rxdata_octets += p.data.size();
          err = on_data_in(c, p, p.data, detail);
        } else if constexpr (std::is_same_v<T, pdu::R2T>) {
          ++stats_.r2t_pdus;
          err = on_r2t(c, p, detail);
        } else if constexpr (std::is_same_v<T, pdu::TaskMgmtResponse>) {
          ++stats_.tmfrsp_pdus;
          err = on_tmf_response(c, p, detail);
        } else if constexpr (std::is_same_v<T, pdu::TextResponse>) {
          ++stats_.textrsp_pdus;
          err = on_text_response(c, p, detail);
        } else if constexpr (std::is_same_v<T, pdu::LogoutResponse>) {
          ++stats_.logoutrsp_pdus;
          err = on_logout_response(c, p, detail);
        } else if constexpr (std::is_same_v<T, pdu::AsyncMessage>) {
          ++stats_.async_pdus;
          err = on_async(c, p, detail);
        } else if constexpr (std::is_same_v<T, pdu::Reject>) {
          ++stats_.rjt_pdus;
          err = on_reject(c, p, detail);
        } else {
          // Initiator PDUs, and Login Responses once in full feature phase, must not arrive.
          err = ConnError::proto;
          detail = pdu::to_string(T::kOpcode) + " must not arrive in full feature phase";
        }
      },
      pdu);
  return after_receive(c, err, detail);
}

std::error_code Session::receive_data_in(std::uint16_t cid, const pdu::DataIn& p, ByteSpan data,
                                         TimePoint now) {
  Connection* cp = conn(cid);
  if (cp == nullptr) return Errc::unknown_connection;
  Connection& c = *cp;
  const ConnState cs = c.sm.state();
  if (cs == ConnState::free || cs == ConnState::cleanup_wait) return Errc::not_logged_in;
  c.last_rx = now;
  std::string detail;
  ++stats_.datain_pdus;
  stats_.rxdata_octets += data.size();
  const ConnError err = on_data_in(c, p, data, detail);
  return after_receive(c, err, detail);
}

// What every received PDU ends with: a dropped PDU reported, a failure failing the connection,
// or commands the new window admits sent.
std::error_code Session::after_receive(Connection& c, ConnError err, std::string& detail) {
  if (err == ConnError::no_scsi_cmd) {
    Event e;
    e.kind = EventKind::dropped_pdu;
    e.cid = c.cid;
    e.conn_error = err;
    e.detail = std::move(detail);
    emit(std::move(e));
    return {};
  }
  if (err != ConnError::none) {
    fail_connection(c, err, std::move(detail));
    return Errc::connection_failed;
  }
  issue_waiting();
  return {};
}

ConnError Session::update_window(SerialNumber exp_cmd_sn, SerialNumber max_cmd_sn) {
  // RFC 7143 4.2.2.1: MaxCmdSN - ExpCmdSN + 1 outside [0, 2^31) -> ignore both.
  const std::uint32_t span = max_cmd_sn.value() - exp_cmd_sn.value() + 1u;
  if (span >= 0x80000000u) return ConnError::none;
  if (max_cmd_sn > max_cmd_sn_) max_cmd_sn_ = max_cmd_sn;
  if (exp_cmd_sn > exp_cmd_sn_) exp_cmd_sn_ = exp_cmd_sn;
  return ConnError::none;
}

ConnError Session::check_stat_sn(Connection& c, SerialNumber stat_sn, bool advances) {
  if (!advances) return ConnError::none;
  if (stat_sn != c.exp_stat_sn) {
    // ERL 0 has no SNACK to fetch a missing status: the connection cannot continue.
    return ConnError::proto;
  }
  c.exp_stat_sn = stat_sn + 1;
  return ConnError::none;
}

ConnError Session::lookup(std::uint32_t itt, TaskKind kind, Task*& out, std::string& detail) {
  out = nullptr;
  auto it = by_itt_.find(itt);
  if (it == by_itt_.end()) {
    if (recently_retired(itt)) {
      detail = "response for ITT " + fmt_u32(itt) + " which is no longer in flight; dropped";
      return ConnError::no_scsi_cmd;
    }
    detail = "ITT " + fmt_u32(itt) + " was never issued";
    return ConnError::bad_itt;
  }
  Task& t = tasks_.at(it->second);
  if (t.kind != kind || !t.sent) {
    detail = "ITT " + fmt_u32(itt) + " belongs to a " + std::string(to_string(t.kind)) +
             " task, not a " + std::string(to_string(kind)) + " task";
    return ConnError::bad_itt;
  }
  out = &t;
  return ConnError::none;
}

ConnError Session::on_nop_in(Connection& c, const pdu::NopIn& p, TimePoint /*now*/,
                             std::string& detail) {
  (void)update_window(p.exp_cmd_sn, p.max_cmd_sn);
  if (p.itt != pdu::kReservedTag) {
    // The answer to our ping: StatSN advances (RFC 7143 11.19.3).
    if (p.ttt != pdu::kReservedTag) {
      detail = "NOP-In answering a ping must carry TTT 0xffffffff";
      return ConnError::proto;
    }
    if (auto e = check_stat_sn(c, p.stat_sn, true); e != ConnError::none) {
      detail = "NOP-In StatSN " + std::to_string(p.stat_sn.value()) + ", expected " +
               std::to_string(c.exp_stat_sn.value());
      return e;
    }
    Task* t = nullptr;
    if (auto e = lookup(p.itt, TaskKind::nop, t, detail); e != ConnError::none) return e;
    Completion done;
    done.id = t->id;
    done.kind = TaskKind::nop;
    done.ping_data = p.data;
    finish(*t, std::move(done));
    return ConnError::none;
  }
  // Unsolicited NOP-In: StatSN is not advanced. A valid TTT asks for an answer.
  if (p.ttt != pdu::kReservedTag) {
    pdu::NopOut reply;
    reply.immediate = true;
    reply.lun = p.lun;
    reply.itt = pdu::kReservedTag;
    reply.ttt = p.ttt;
    reply.cmd_sn = cmd_sn_;
    queue(c, std::move(reply));
  }
  return ConnError::none;
}

ConnError Session::on_scsi_response(Connection& c, const pdu::ScsiResponse& p,
                                    std::string& detail) {
  (void)update_window(p.exp_cmd_sn, p.max_cmd_sn);
  if (auto e = check_stat_sn(c, p.stat_sn, true); e != ConnError::none) {
    detail = "SCSI Response StatSN " + std::to_string(p.stat_sn.value()) + ", expected " +
             std::to_string(c.exp_stat_sn.value());
    return e;
  }
  Task* t = nullptr;
  if (auto e = lookup(p.itt, TaskKind::scsi, t, detail); e != ConnError::none) return e;
  if (t->cid != c.cid) {
    detail = "SCSI Response on a connection the task is not allegiant to";
    return ConnError::proto;
  }
  ScsiResult r;
  r.response = p.response;
  r.status = p.status;
  r.overflow = p.overflow;
  r.underflow = p.underflow;
  r.residual_count = p.residual_count;
  r.bidi_read_overflow = p.bidi_read_overflow;
  r.bidi_read_underflow = p.bidi_read_underflow;
  r.bidi_read_residual_count = p.bidi_read_residual_count;
  if (!p.data.empty()) {
    auto split = pdu::split_sense_data(p.data);
    if (!split) {
      detail = "SCSI Response SenseLength runs past the data segment";
      return ConnError::proto;
    }
    r.sense_raw.assign(split->sense.begin(), split->sense.end());
    if (!r.sense_raw.empty()) {
      if (auto sense = scsi::decode_sense(r.sense_raw)) r.sense = *sense;
    }
  }
  const TaskId id = t->id;
  std::optional<scsi::SenseData> seen = r.sense;
  complete_scsi(*t, std::move(r));
  if (seen) note_sense(*seen, c.cid, id);
  return ConnError::none;
}

ConnError Session::on_data_in(Connection& c, const pdu::DataIn& p, ByteSpan data,
                              std::string& detail) {
  (void)update_window(p.exp_cmd_sn, p.max_cmd_sn);
  if (p.status_present) {
    if (auto e = check_stat_sn(c, p.stat_sn, true); e != ConnError::none) {
      detail = "Data-In StatSN " + std::to_string(p.stat_sn.value()) + ", expected " +
               std::to_string(c.exp_stat_sn.value());
      return e;
    }
  }
  Task* t = nullptr;
  if (auto e = lookup(p.itt, TaskKind::scsi, t, detail); e != ConnError::none) return e;
  if (t->cid != c.cid) {
    detail = "Data-In on a connection the task is not allegiant to";
    return ConnError::proto;
  }
  if (p.data_sn != t->next_data_sn) {
    detail = "Data-In DataSN " + std::to_string(p.data_sn.value()) + ", expected " +
             std::to_string(t->next_data_sn.value());
    return ConnError::datasn;
  }
  const std::uint32_t capacity = t->req.read_length;
  const std::uint64_t end = std::uint64_t{p.buffer_offset} + data.size();
  if (end > capacity) {
    detail = "Data-In [" + std::to_string(p.buffer_offset) + ", " + std::to_string(end) +
             ") runs past the expected read length " + std::to_string(capacity);
    return ConnError::data_offset;
  }
  if (config_.params.data_pdu_in_order && !data.empty() && p.buffer_offset != t->read_next) {
    detail = "Data-In at offset " + std::to_string(p.buffer_offset) + ", expected " +
             std::to_string(t->read_next) + " (DataPDUInOrder=Yes)";
    return ConnError::data_offset;
  }
  ++t->next_data_sn;
  if (!data.empty() && !t->req.read_into.empty()) {
    std::uint8_t* dest = t->req.read_into.data() + p.buffer_offset;
    if (data.data() != dest) std::memcpy(dest, data.data(), data.size());  // placed: already there
    t->read_high = std::max(t->read_high, static_cast<std::uint32_t>(end));
    t->read_next = static_cast<std::uint32_t>(end);
  } else if (!data.empty()) {
    if (p.buffer_offset == t->read_buf.size()) {
      // In order (the usual case): append, so the buffer is never zero-filled first.
      if (t->read_buf.capacity() < capacity) t->read_buf.reserve(capacity);
      t->read_buf.insert(t->read_buf.end(), data.begin(), data.end());
    } else {
      if (t->read_buf.size() < end) t->read_buf.resize(capacity);
      std::copy(data.begin(), data.end(), t->read_buf.begin() + p.buffer_offset);
    }
    t->read_high = std::max(t->read_high, static_cast<std::uint32_t>(end));
    t->read_next = static_cast<std::uint32_t>(end);
  }
  // The A bit asks for a DataACK SNACK, which exists only at ERL > 0; ignored at ERL 0.
  if (p.status_present) {
    ScsiResult r;
    r.status = p.status;
    r.overflow = p.overflow;
    r.underflow = p.underflow;
    r.residual_count = p.residual_count;
    complete_scsi(*t, std::move(r));
  }
  return ConnError::none;
}

ConnError Session::on_r2t(Connection& c, const pdu::R2T& p, std::string& detail) {
  (void)update_window(p.exp_cmd_sn, p.max_cmd_sn);
  Task* t = nullptr;
  if (auto e = lookup(p.itt, TaskKind::scsi, t, detail); e != ConnError::none) return e;
  if (t->cid != c.cid) {
    detail = "R2T on a connection the task is not allegiant to";
    return ConnError::proto;
  }
  if (t->req.direction != DataDirection::write &&
      t->req.direction != DataDirection::bidirectional) {
    detail = "R2T for a command that writes no data";
    return ConnError::proto;
  }
  if (p.r2t_sn != t->next_r2t_sn) {
    detail = "R2TSN " + std::to_string(p.r2t_sn.value()) + ", expected " +
             std::to_string(t->next_r2t_sn.value());
    return ConnError::r2tsn;
  }
  if (p.ttt == pdu::kReservedTag) {
    detail = "R2T with the reserved TTT 0xffffffff";
    return ConnError::proto;
  }
  const std::uint64_t end = std::uint64_t{p.buffer_offset} + p.desired_data_transfer_length;
  if (end > t->write_length) {
    detail = "R2T [" + std::to_string(p.buffer_offset) + ", " + std::to_string(end) +
             ") runs past the write length " + std::to_string(t->write_length);
    return ConnError::data_offset;
  }
  if (p.desired_data_transfer_length == 0 ||
      p.desired_data_transfer_length > config_.params.max_burst_length) {
    detail = "R2T desired length " + std::to_string(p.desired_data_transfer_length) +
             " not in [1, MaxBurstLength " + std::to_string(config_.params.max_burst_length) +
             "]";
    return ConnError::datalen;
  }
  if (t->outstanding_r2t >= config_.params.max_outstanding_r2t) {
    detail = "more R2Ts outstanding than MaxOutstandingR2T " +
             std::to_string(config_.params.max_outstanding_r2t);
    return ConnError::proto;
  }
  ++t->next_r2t_sn;
  ++t->outstanding_r2t;
  detail::OutItem seq;
  seq.task = t->id;
  seq.ttt = p.ttt;
  seq.offset = p.buffer_offset;
  seq.end = static_cast<std::uint32_t>(end);
  seq.data_sn = SerialNumber{0};
  seq.solicited = true;
  c.out.push_back(std::move(seq));
  return ConnError::none;
}

void Session::abort_tasks_for(const Task& tmf) {
  using F = pdu::TmfFunction;
  std::vector<TaskId> victims;
  for (auto& [id, t] : tasks_) {
    if (t.kind != TaskKind::scsi) continue;
    // The target acts on the tasks it received before the TMF (CmdSN below the TMF's); tasks
    // still waiting for the window end here too (as in Linux's fail_scsi_tasks), while tasks
    // sent after the TMF are not affected.
    if (t.sent && SerialNumber::distance(t.cmd_sn, tmf.cmd_sn) <= 0) continue;
    switch (tmf.tmf.function) {
      case F::abort_task:
        if (tmf.tmf.referenced == id) victims.push_back(id);
        break;
      case F::abort_task_set:
      case F::clear_task_set:
      case F::logical_unit_reset:
        if (t.req.lun == tmf.tmf.lun) victims.push_back(id);
        break;
      case F::target_warm_reset:
      case F::target_cold_reset:
        victims.push_back(id);
        break;
      default:
        break;
    }
  }
  for (TaskId id : victims) {
    auto it = tasks_.find(id);
    if (it != tasks_.end()) complete_simple(it->second, TaskOutcome::aborted);
  }
}

ConnError Session::on_tmf_response(Connection& c, const pdu::TaskMgmtResponse& p,
                                   std::string& detail) {
  (void)update_window(p.exp_cmd_sn, p.max_cmd_sn);
  if (auto e = check_stat_sn(c, p.stat_sn, true); e != ConnError::none) {
    detail = "Task Management Response StatSN " + std::to_string(p.stat_sn.value()) +
             ", expected " + std::to_string(c.exp_stat_sn.value());
    return e;
  }
  Task* t = nullptr;
  if (auto e = lookup(p.itt, TaskKind::tmf, t, detail); e != ConnError::none) return e;
  if (p.response == pdu::TmfResponse::function_complete) abort_tasks_for(*t);
  Completion done;
  done.id = t->id;
  done.kind = TaskKind::tmf;
  done.tmf_response = p.response;
  finish(*t, std::move(done));
  return ConnError::none;
}

ConnError Session::on_text_response(Connection& c, const pdu::TextResponse& p,
                                    std::string& detail) {
  (void)update_window(p.exp_cmd_sn, p.max_cmd_sn);
  if (auto e = check_stat_sn(c, p.stat_sn, true); e != ConnError::none) {
    detail = "Text Response StatSN " + std::to_string(p.stat_sn.value()) + ", expected " +
             std::to_string(c.exp_stat_sn.value());
    return e;
  }
  Task* t = nullptr;
  if (auto e = lookup(p.itt, TaskKind::text, t, detail); e != ConnError::none) return e;
  if (p.final_pdu && p.cont) {
    detail = "Text Response with both F and C set";
    return ConnError::proto;
  }
  if (t->text_in.size() + p.data.size() > kMaxTextAnswer) {
    complete_simple(*t, TaskOutcome::failed, ConnError::datalen);
    return ConnError::none;
  }
  t->text_in.insert(t->text_in.end(), p.data.begin(), p.data.end());
  if (t->text_sent < t->text_out.size()) {
    // Mid-request: the target acknowledged a C=1 piece; send the next one.
    t->text_ttt = p.ttt;
    waiting_.push_back(t->id);
    return ConnError::none;
  }
  if (!p.final_pdu) {
    // More answer to come: an empty request with the target's TTT fetches it.
    if (p.ttt == pdu::kReservedTag) {
      detail = "Text Response with F=0 and the reserved TTT";
      return ConnError::proto;
    }
    t->text_ttt = p.ttt;
    t->text_continue_empty = true;
    waiting_.push_back(t->id);
    return ConnError::none;
  }
  auto list = text::decode(t->text_in, text::send_targets_text_options());
  Completion done;
  done.id = t->id;
  done.kind = TaskKind::text;
  if (list) {
    done.text = std::move(*list);
  } else {
    done.outcome = TaskOutcome::failed;
    done.error = ConnError::proto;
  }
  finish(*t, std::move(done));
  return ConnError::none;
}

ConnError Session::on_logout_response(Connection& c, const pdu::LogoutResponse& p,
                                      std::string& detail) {
  (void)update_window(p.exp_cmd_sn, p.max_cmd_sn);
  if (auto e = check_stat_sn(c, p.stat_sn, true); e != ConnError::none) {
    detail = "Logout Response StatSN " + std::to_string(p.stat_sn.value()) + ", expected " +
             std::to_string(c.exp_stat_sn.value());
    return e;
  }
  Task* t = nullptr;
  if (auto e = lookup(p.itt, TaskKind::logout, t, detail); e != ConnError::none) return e;
  const pdu::LogoutReason reason = t->logout_reason;
  const std::uint16_t target_cid = t->logout_cid;
  const bool ok = p.response == pdu::LogoutResponseCode::closed_successfully;
  Completion done;
  done.id = t->id;
  done.kind = TaskKind::logout;
  done.logout = p;
  finish(*t, std::move(done));
  Event e;
  e.kind = EventKind::logout_response;
  e.cid = c.cid;
  e.logout = p;
  emit(std::move(e));
  if (reason == pdu::LogoutReason::close_session) {
    logout_pending_ = false;
    if (ok) {
      // Every connection of the session is gone; what is left fails.
      std::vector<TaskId> rest;
      for (auto& [id, task] : tasks_) rest.push_back(id);
      for (TaskId id : rest) {
        auto it = tasks_.find(id);
        if (it != tasks_.end()) complete_simple(it->second, TaskOutcome::failed,
                                                ConnError::session_failed);
      }
      waiting_.clear();
      for (auto& [id, cn] : conns_) {
        if (cn.sm.state() != ConnState::in_logout) (void)cn.sm.on(ConnEvent::logout_sent);
        (void)cn.sm.on(ConnEvent::logout_response);
        cn.out.clear();
      }
      set_session_state(SessionEvent::logout_complete);
    } else {
      if (c.sm.state() == ConnState::in_logout) (void)c.sm.on(ConnEvent::logout_refused);
      set_session_state(SessionEvent::logout_failed);
    }
  } else if (Connection* closed = conn(target_cid)) {
    if (!ok) {
      if (closed->sm.state() == ConnState::in_logout) (void)closed->sm.on(ConnEvent::logout_refused);
    } else {
      // The connection is gone (possibly one other than the one the Logout went on): its tasks
      // end with it, since there is no connection recovery to move them (ERL < 2).
      if (closed->sm.state() != ConnState::in_logout) (void)closed->sm.on(ConnEvent::logout_sent);
      (void)closed->sm.on(ConnEvent::logout_response);
      closed->out.clear();
      closed->ping.reset();
      closed->text_task.reset();
      std::vector<TaskId> orphans;
      for (auto& [id, task] : tasks_) {
        if (task.cid == target_cid) orphans.push_back(id);
      }
      for (TaskId id : orphans) {
        auto it = tasks_.find(id);
        if (it != tasks_.end()) complete_simple(it->second, TaskOutcome::failed, ConnError::conn_failed);
      }
    }
  }
  return ConnError::none;
}

ConnError Session::on_async(Connection& c, const pdu::AsyncMessage& p, std::string& detail) {
  (void)update_window(p.exp_cmd_sn, p.max_cmd_sn);
  if (auto e = check_stat_sn(c, p.stat_sn, true); e != ConnError::none) {
    detail = "Async Message StatSN " + std::to_string(p.stat_sn.value()) + ", expected " +
             std::to_string(c.exp_stat_sn.value());
    return e;
  }
  Event e;
  e.kind = EventKind::async_message;
  e.cid = c.cid;
  e.async = p;
  std::optional<scsi::SenseData> sense;
  switch (p.async_event) {
    case pdu::AsyncEvent::scsi_async_event: {
      auto split = pdu::split_sense_data(p.data);
      if (split && !split->sense.empty()) {
        if (auto s = scsi::decode_sense(split->sense)) sense = *s;
      }
      break;
    }
    case pdu::AsyncEvent::logout_request:
      async_.logout_within_s = p.parameter3;
      if (c.sm.state() == ConnState::logged_in) (void)c.sm.on(ConnEvent::logout_requested);
      break;
    case pdu::AsyncEvent::connection_drop:
      async_.connection_drop = p;
      break;
    case pdu::AsyncEvent::session_drop:
      async_.session_drop = p;
      break;
    case pdu::AsyncEvent::negotiation_request:
      async_.negotiate_within_s = p.parameter3;
      break;
    default:
      break;
  }
  e.sense = sense;
  emit(std::move(e));
  if (sense) note_sense(*sense, c.cid, std::nullopt);
  return ConnError::none;
}

ConnError Session::on_reject(Connection& c, const pdu::Reject& p, std::string& detail) {
  (void)update_window(p.exp_cmd_sn, p.max_cmd_sn);
  if (auto e = check_stat_sn(c, p.stat_sn, true); e != ConnError::none) {
    detail = "Reject StatSN " + std::to_string(p.stat_sn.value()) + ", expected " +
             std::to_string(c.exp_stat_sn.value());
    return e;
  }
  Event e;
  e.kind = EventKind::reject;
  e.cid = c.cid;
  e.reject_reason = p.reason;
  if (p.data.size() >= pdu::kBhsLength) {
    e.rejected_opcode = static_cast<std::uint8_t>(p.data[0] & 0x3Fu);
    auto header = pdu::decode_bhs(ByteSpan(p.data).first(pdu::kBhsLength));
    if (header) {
      e.rejected_opcode = static_cast<std::uint8_t>(pdu::opcode_of(*header));
      e.rejected_itt = pdu::itt_of(*header);
    }
  } else {
    e.detail = "Reject without the rejected header";
  }
  // A rejected command PDU ends its task (the target will not answer it). A rejected Data-Out
  // (data digest error at ERL 0) leaves the task to the target's SCSI Response.
  if (e.rejected_itt != pdu::kReservedTag && p.reason != pdu::RejectReason::data_digest_error) {
    auto it = by_itt_.find(e.rejected_itt);
    if (it != by_itt_.end()) {
      Task& t = tasks_.at(it->second);
      const auto op = static_cast<pdu::Opcode>(e.rejected_opcode);
      const bool command_pdu =
          (t.kind == TaskKind::scsi && op == pdu::Opcode::scsi_command) ||
          (t.kind == TaskKind::tmf && op == pdu::Opcode::task_mgmt_request) ||
          (t.kind == TaskKind::nop && op == pdu::Opcode::nop_out) ||
          (t.kind == TaskKind::text && op == pdu::Opcode::text_request) ||
          (t.kind == TaskKind::logout && op == pdu::Opcode::logout_request);
      if (command_pdu && t.sent) {
        e.task = t.id;
        if (t.kind == TaskKind::logout) {
          logout_pending_ = false;
          if (c.sm.state() == ConnState::in_logout) (void)c.sm.on(ConnEvent::logout_refused);
          if (sm_.state() == SessionState::logging_out) {
            set_session_state(SessionEvent::logout_failed);
          }
        }
        complete_simple(t, TaskOutcome::rejected);
      }
    }
  }
  emit(std::move(e));
  return ConnError::none;
}

// ---------------------------------------------------------------------------------------------
// Failure and recovery

void Session::fail_connection(Connection& c, ConnError why, std::string detail) {
  if (c.sm.state() == ConnState::cleanup_wait || c.sm.state() == ConnState::free) return;
  (void)c.sm.on(ConnEvent::failed);
  c.error = why;
  c.error_detail = detail;
  c.out.clear();
  c.ping.reset();
  c.text_task.reset();
  if (why == ConnError::hdr_dgst || why == ConnError::data_dgst) ++stats_.digest_err;
  Event e;
  e.kind = EventKind::conn_error;
  e.cid = c.cid;
  e.conn_error = why;
  e.detail = std::move(detail);
  emit(std::move(e));

  const bool session_wide = config_.params.error_recovery_level == 0;
  // At ERL 0 a connection failure is a session failure: every connection goes, and every task
  // waits for reinstatement (SCSI) or fails (everything else).
  std::vector<TaskId> ids;
  for (auto& [id, t] : tasks_) {
    if (session_wide || t.cid == c.cid) ids.push_back(id);
  }
  for (TaskId id : ids) {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;
    Task& t = it->second;
    if (t.kind == TaskKind::scsi) {
      if (t.itt != pdu::kReservedTag) {
        itt_nodes_.erase(by_itt_, t.itt);
        t.itt = pdu::kReservedTag;
      }
      t.sent = false;
      retry_.push_back(id);
    } else {
      complete_simple(t, TaskOutcome::failed, why);
    }
  }
  std::sort(retry_.begin(), retry_.end());
  retry_.erase(std::unique(retry_.begin(), retry_.end()), retry_.end());
  std::erase_if(waiting_, [&](TaskId id) {
    auto it = tasks_.find(id);
    return it == tasks_.end() || it->second.itt == pdu::kReservedTag;
  });
  if (session_wide) {
    for (auto& [id, other] : conns_) {
      if (&other == &c) continue;
      if (other.sm.state() == ConnState::cleanup_wait || other.sm.state() == ConnState::free) {
        continue;
      }
      fail_connection(other, ConnError::session_failed, "another connection of the session failed");
    }
  }
  // At ERL > 0 the session survives while another connection is in full feature phase (the
  // failed connection's tasks then wait for connection recovery, which is not implemented).
  bool any_usable = false;
  for (const auto& [id, other] : conns_) any_usable = any_usable || other.sm.usable();
  if (!session_wide && any_usable) return;
  const SessionState s = sm_.state();
  if (s == SessionState::logged_in || s == SessionState::logging_out ||
      s == SessionState::failed || s == SessionState::in_recovery) {
    logout_pending_ = false;
    set_session_state(SessionEvent::conn_failed);
  }
}

void Session::on_receive_error(std::uint16_t cid, const pdu::Diagnostic& diag, TimePoint) {
  Connection* c = conn(cid);
  if (c == nullptr) return;
  const ConnError why = diag.conn_error != ConnError::none ? diag.conn_error : ConnError::proto;
  fail_connection(*c, why, pdu::to_string(diag));
}

void Session::on_transport_error(std::uint16_t cid, ConnError why, TimePoint) {
  Connection* c = conn(cid);
  if (c == nullptr) return;
  fail_connection(*c, why == ConnError::none ? ConnError::conn_failed : why,
                  std::string(describe(why)));
}

std::error_code Session::begin_recovery() {
  if (sm_.state() != SessionState::failed) return Errc::illegal_transition;
  set_session_state(SessionEvent::recovery_started);
  return {};
}

std::error_code Session::reinstate(SessionConfig config, TimePoint now) {
  const SessionState s = sm_.state();
  if (s != SessionState::failed && s != SessionState::in_recovery &&
      s != SessionState::recovery_failed) {
    return Errc::illegal_transition;
  }
  config_ = std::move(config);
  conns_.clear();
  cmd_sn_ = config_.cmd_sn;
  exp_cmd_sn_ = config_.exp_cmd_sn;
  max_cmd_sn_ = config_.max_cmd_sn;
  logout_pending_ = false;
  // The old connection's requests (drop with its Time2Wait, logout, negotiate) are spent: a
  // later failure must not wait a Time2Wait the target gave for an earlier one.
  async_ = {};
  set_session_state(SessionEvent::login_complete);
  if (auto ec = add_connection(config_.cid, config_.exp_stat_sn,
                               config_.params.max_send_data_segment_length, now)) {
    return ec;
  }
  // Old ITTs belong to the old session: a late answer cannot arrive on the new connection.
  recent_itts_.clear();
  recent_next_ = 0;
  std::deque<TaskId> again;
  again.swap(retry_);
  for (TaskId id : again) {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;
    Task& t = it->second;
    auto itt = allocate_itt();
    if (!itt) {
      complete_simple(t, TaskOutcome::failed, ConnError::session_failed);
      continue;
    }
    t.itt = *itt;
    itt_nodes_.put(by_itt_, t.itt, id);
    t.cid = config_.cid;
    t.sent = false;
    t.unsolicited_end = 0;
    t.next_r2t_sn = SerialNumber{0};
    t.outstanding_r2t = 0;
    t.read_buf.clear();
    t.read_high = 0;
    t.read_next = 0;
    t.next_data_sn = SerialNumber{0};
    waiting_.push_back(id);
  }
  issue_waiting();
  return {};
}

void Session::fail_all(ConnError why) {
  std::vector<TaskId> ids;
  for (auto& [id, t] : tasks_) ids.push_back(id);
  for (TaskId id : ids) {
    auto it = tasks_.find(id);
    if (it != tasks_.end()) complete_simple(it->second, TaskOutcome::failed, why);
  }
  retry_.clear();
  waiting_.clear();
  const SessionState s = sm_.state();
  if (s == SessionState::failed || s == SessionState::in_recovery) {
    set_session_state(SessionEvent::recovery_timeout);
  }
}

// ---------------------------------------------------------------------------------------------
// Time

void Session::on_tick(TimePoint now) {
  // Timeouts first: a ping that timed out must not be replaced by a new one.
  std::vector<TaskId> expired;
  for (auto& [id, t] : tasks_) {
    if (t.deadline && *t.deadline <= now) expired.push_back(id);
  }
  for (TaskId id : expired) {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;
    Task& t = it->second;
    Connection* c = conn(t.cid);
    ++stats_.timeout_err;
    if (t.kind == TaskKind::tmf) {
      Event e;
      e.kind = EventKind::tmf_timeout;
      e.cid = t.cid;
      e.task = id;
      e.detail = "no Task Management Response for " + pdu::to_string(t.tmf.function);
      const std::string why = e.detail + " within its timeout";
      emit(std::move(e));
      complete_simple(t, TaskOutcome::timed_out);
      // As the Linux initiator (iscsi_eh_abort / _device_reset / _target_reset on
      // TMF_TIMEDOUT): a target that does not answer task management cannot be trusted with
      // the tasks it names, so the connection is dropped (ISCSI_ERR_SCSI_EH_SESSION_RST) and
      // the session recovered; at ERL 0 the reinstatement ends every task of the old session
      // at the target, and the outstanding commands are retried on the new one.
      if (c != nullptr && c->sm.state() == ConnState::logged_in) {
        fail_connection(*c, ConnError::scsi_eh_session_rst, why);
      }
    } else if (t.kind == TaskKind::nop) {
      Event e;
      e.kind = EventKind::nop_timeout;
      e.cid = t.cid;
      e.conn_error = ConnError::nop_timedout;
      if (!t.internal_ping) e.task = id;
      emit(std::move(e));
      if (t.internal_ping && c != nullptr) {
        fail_connection(*c, ConnError::nop_timedout, "no NOP-In answered the ping");
      } else {
        complete_simple(t, TaskOutcome::timed_out);
      }
    } else {
      t.deadline.reset();
    }
  }
  if (sm_.state() != SessionState::logged_in || config_.noop_out_interval.count() <= 0) return;
  for (auto& [cid, c] : conns_) {
    if (!c.sm.usable() || c.ping) continue;
    if (now < c.last_rx + config_.noop_out_interval) continue;
    auto itt = allocate_itt();
    if (!itt) continue;
    Task& t = add_task(TaskKind::nop, cid);
    t.itt = *itt;
    itt_nodes_.put(by_itt_, t.itt, t.id);
    t.internal_ping = true;
    t.cmd_sn = cmd_sn_;
    t.sent = true;
    if (config_.noop_out_timeout.count() > 0) t.deadline = now + config_.noop_out_timeout;
    c.ping = t.id;
    pdu::NopOut p;
    p.immediate = true;
    p.itt = t.itt;
    p.ttt = pdu::kReservedTag;
    p.cmd_sn = cmd_sn_;
    queue(c, std::move(p));
  }
}

std::optional<TimePoint> Session::next_deadline() const {
  std::optional<TimePoint> best;
  auto consider = [&](TimePoint t) {
    if (!best || t < *best) best = t;
  };
  for (const auto& [id, t] : tasks_) {
    if (t.deadline) consider(*t.deadline);
  }
  if (sm_.state() == SessionState::logged_in && config_.noop_out_interval.count() > 0) {
    for (const auto& [cid, c] : conns_) {
      if (c.sm.usable() && !c.ping) consider(c.last_rx + config_.noop_out_interval);
    }
  }
  return best;
}

}  // namespace iscsi::session
