// Receiving: the steps every target PDU goes through, as its row of the receive table
// (receive_table.hpp) describes them, and direct placement of Data-In payloads.
#include "proto/session/session.hpp"

#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace iscsi::session {

// Every target PDU: its row of the receive table, then the steps the row describes, then the
// row's handler.
template <class T>
std::error_code Session::receive_row(std::uint16_t cid, const T& p, ByteSpan data,
                                     TimePoint now, const pdu::Diagnostic* damage,
                                     std::uint32_t damaged_length) {
  Connection* cp = conn(cid);
  if (cp == nullptr) return Errc::unknown_connection;
  Connection& c = *cp;
  const ConnState cs = c.sm.state();
  if (cs == ConnState::free || cs == ConnState::cleanup_wait) return Errc::not_logged_in;
  c.last_rx = now;
  Received rx;
  rx.data = data;
  rx.now = now;
  rx.damage = damage;
  rx.damaged_length = damaged_length;
  const detail::ReceiveRow* row = detail::ReceiveTable::find(T::kOpcode);
  if (row == nullptr) {
    // Initiator PDUs, and Login Responses once in full feature phase, must not arrive.
    rx.detail = pdu::to_string(T::kOpcode) + " must not arrive in full feature phase";
    return after_receive(c, ConnError::proto, rx.detail);
  }
  ++(stats_.*(row->counter));
  if (row->counts_data) stats_.rxdata_octets += data.size();
  if constexpr (requires { p.exp_cmd_sn; }) update_window(p.exp_cmd_sn, p.max_cmd_sn);

  // For the rules that depend on it: a NOP-In answers our ping when its ITT is one of ours.
  bool answering = false;
  if constexpr (requires { p.itt; }) answering = p.itt != pdu::kReservedTag;
  bool status = false;
  switch (row->stat_sn) {
    case detail::StatSnRule::none: break;
    case detail::StatSnRule::advances: status = true; break;
    case detail::StatSnRule::when_answering: status = answering; break;
    case detail::StatSnRule::with_status:
      if constexpr (requires { p.status_present; }) status = p.status_present;
      break;
  }
  if constexpr (requires { p.stat_sn; }) {
    if (status) {
      if (const ConnError e = take_stat_sn(c, p.stat_sn, row->name, rx); e != ConnError::none) {
        return after_receive(c, e, rx.detail);
      }
    } else if constexpr (std::is_same_v<T, pdu::NopIn>) {
      // The target's own ping carries the next StatSN: statuses lost at the tail show here.
      notice_next_stat_sn(c, p.stat_sn, now);
    }
  }

  const bool needs_task = row->task == detail::TaskRule::required ||
                          (row->task == detail::TaskRule::when_answering && answering);
  if constexpr (requires { p.itt; }) {
    if (needs_task) {
      if (auto e = tasks_.lookup(p.itt, row->kind, rx.task, rx.detail); e != ConnError::none) {
        return after_receive(c, e, rx.detail);
      }
      if (rx.task->cid != c.cid) {  // RFC 7143 5.1: answers come on the task's connection
        rx.detail = std::string(row->name) + " on a connection the task is not allegiant to";
        return after_receive(c, ConnError::proto, rx.detail);
      }
    }
  }
  const ConnError err = row->handle(*this, c, &p, rx);
  return after_receive(c, err, rx.detail);
}

std::error_code Session::receive(std::uint16_t cid, const pdu::Pdu& pdu, TimePoint now) {
  return std::visit(
      [&](const auto& p) {
        if constexpr (requires { p.data; }) return receive_row(cid, p, ByteSpan(p.data), now);
        return receive_row(cid, p, ByteSpan(), now);
      },
      pdu);
}

std::error_code Session::receive_data_in(std::uint16_t cid, const pdu::DataIn& p, ByteSpan data,
                                         TimePoint now) {
  return receive_row(cid, p, data, now);
}

std::error_code Session::receive_damaged_data_in(std::uint16_t cid, const pdu::DataIn& p,
                                                 std::uint32_t data_length,
                                                 const pdu::Diagnostic& damage, TimePoint now) {
  return receive_row(cid, p, ByteSpan(), now, &damage, data_length);
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

void Session::update_window(SerialNumber exp_cmd_sn, SerialNumber max_cmd_sn) {
  // RFC 7143 4.2.2.1: MaxCmdSN - ExpCmdSN + 1 outside [0, 2^31) -> ignore both.
  const std::uint32_t span = max_cmd_sn.value() - exp_cmd_sn.value() + 1u;
  if (span >= 0x80000000u) return;
  if (max_cmd_sn > max_cmd_sn_) max_cmd_sn_ = max_cmd_sn;
  if (exp_cmd_sn > exp_cmd_sn_) exp_cmd_sn_ = exp_cmd_sn;
}

MutableByteSpan Session::data_in_destination(std::uint16_t cid, const pdu::DataIn& p,
                                             std::size_t len) {
  if (len == 0 || placed_task_) return {};
  const Task* tp = tasks_.by_itt(p.itt);
  if (tp == nullptr) return {};
  const Task& t = *tp;
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

}  // namespace iscsi::session
