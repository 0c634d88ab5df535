// Sending: tasks issued as the CmdSN window allows, and each connection's send queue drained
// PDU by PDU (Data-Out sequences generated as they go, so a large write is never copied whole).
#include "proto/session/session.hpp"

#include <algorithm>
#include <utility>
#include <variant>

namespace iscsi::session {

void Session::queue(Connection& c, pdu::Pdu p) {
  detail::OutItem item;
  item.pdu = std::move(p);
  c.out.push_back(std::move(item));
}

void Session::issue_waiting() {
  while (!waiting_.empty() && window_open() && sm_.state() == SessionState::logged_in) {
    const TaskId id = waiting_.front();
    waiting_.pop_front();
    if (Task* t = tasks_.find(id)) issue(*t);  // else aborted or failed while waiting
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

void Session::command_fields(const Task& t, pdu::ScsiCommand& p) const {
  const ScsiRequest& req = t.req;
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
  std::fill(p.cdb.begin() + static_cast<std::ptrdiff_t>(first), p.cdb.end(), std::uint8_t{0});
  if (req.cdb.size() > 16) {
    p.extended_cdb.assign(req.cdb.begin() + 16, req.cdb.end());
  } else {
    p.extended_cdb.clear();
  }
  if (req.direction == DataDirection::read) {
    p.expected_data_transfer_length = req.read_length;
  } else {
    p.expected_data_transfer_length = t.write_length;
  }
  if (req.direction == DataDirection::bidirectional) {
    p.bidi_read_data_length = req.read_length;
  } else {
    p.bidi_read_data_length.reset();
  }
}

void Session::issue_scsi(Task& t, Connection& c) {
  const ScsiRequest& req = t.req;
  const auto& params = config_.params;
  const bool writes = req.direction == DataDirection::write ||
                      req.direction == DataDirection::bidirectional;
  std::uint32_t immediate = 0;
  std::uint32_t unsolicited_end = 0;
  if (writes) {
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
  }
  t.unsolicited_end = unsolicited_end;
  if (immediate == 0 && req.cdb.size() <= 16 && req.direction != DataDirection::bidirectional) {
    // No AHS, no data segment: the PDU is encoded from the task when it is sent.
    detail::OutItem cmd;
    cmd.task = t.id;
    cmd.scsi_command = true;
    c.out.push_back(std::move(cmd));
  } else {
    pdu::ScsiCommand p;
    command_fields(t, p);
    const ByteSpan data = req.write_data();
    p.data.assign(data.begin(), data.begin() + immediate);
    p.final_pdu = unsolicited_end == immediate;
    queue(c, std::move(p));
  }
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

bool Session::pop_scsi_command(std::uint16_t cid, pdu::ScsiCommand& out) {
  Connection* c = conn(cid);
  if (c == nullptr) return false;
  while (!c->out.empty() && c->out.front().scsi_command) {
    const Task* t = tasks_.find(c->out.front().task);
    c->out.pop_front();
    if (t == nullptr) continue;  // the task ended before its command was sent: nothing to send
    command_fields(*t, out);
    out.final_pdu = t->unsolicited_end == 0;
    out.exp_stat_sn = c->exp_stat_sn;
    out.data.clear();
    ++stats_.scsicmd_pdus;
    return true;
  }
  return false;
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
    } else if (item.scsi_command) {
      const Task* t = tasks_.find(item.task);
      c->out.pop_front();
      if (t == nullptr) continue;  // as in pop_scsi_command()
      pdu::ScsiCommand p;
      command_fields(*t, p);
      p.final_pdu = t->unsolicited_end == 0;
      result = pdu::Pdu(std::move(p));
    } else {
      Task* tp = tasks_.find(item.task);
      if (tp == nullptr) {  // the task ended (aborted, answered early): drop the rest
        c->out.pop_front();
        continue;
      }
      Task& t = *tp;
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

}  // namespace iscsi::session
