// The SCSI data path's target PDUs: SCSI Response, Data-In and R2T (RFC 7143 11.4, 11.7, 11.8).
#include "proto/session/session.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace iscsi::session {

ConnError Session::on_scsi_response(Connection& c, const pdu::ScsiResponse& p, Received& rx) {
  Task* t = rx.task;
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
      rx.detail = "SCSI Response SenseLength runs past the data segment";
      return ConnError::proto;
    }
    r.sense_raw.assign(split->sense.begin(), split->sense.end());
    if (!r.sense_raw.empty()) {
      if (auto sense = scsi::decode_sense(r.sense_raw)) r.sense = *sense;
    }
  }
  if (ask_for_tail(*t, c, p, r, rx.now)) return ConnError::none;  // ends when the data is in
  const TaskId id = t->id;
  std::optional<scsi::SenseData> seen = r.sense;
  complete_scsi(*t, std::move(r));
  if (seen) note_sense(*seen, c.cid, id);
  return ConnError::none;
}

ConnError Session::on_data_in(Connection& c, const pdu::DataIn& p, Received& rx) {
  Task* t = rx.task;
  const ByteSpan data = rx.data;
  if (rx.damage != nullptr) {
    // The policy's decision point for a damaged payload.
    switch (policy_.on_digest_error(ConnError::data_dgst)) {
      case recovery::OnPduError::fail_connection:
        rx.detail = rx.damage->detail;
        return ConnError::data_dgst;
      case recovery::OnPduError::request_again:
        ++stats_.digest_err;
        ++stats_.datain_discarded;
        break;
    }
  }
  if (SerialNumber::distance(t->next_data_sn, p.data_sn) < 0) {
    // Behind the next DataSN: one asked for again, or (ERL 1) a copy we no longer need.
    if (policy_.on_data_sn_gap() == recovery::OnPduError::request_again) {
      return take_resent_data_in(*t, c, p, rx);
    }
    rx.detail = "Data-In DataSN " + std::to_string(p.data_sn.value()) + ", expected " +
                std::to_string(t->next_data_sn.value());
    return ConnError::datasn;
  }
  const std::uint32_t capacity = t->req.read_length;
  // A damaged payload's length is the one its header announced.
  const std::uint32_t length =
      rx.damage != nullptr ? rx.damaged_length : static_cast<std::uint32_t>(data.size());
  if (p.data_sn != t->next_data_sn) {
    // The policy's decision point for a lost Data-In: ERL 1 asks for the missing run.
    switch (policy_.on_data_sn_gap()) {
      case recovery::OnPduError::fail_connection:
        rx.detail = "Data-In DataSN " + std::to_string(p.data_sn.value()) + ", expected " +
                    std::to_string(t->next_data_sn.value());
        return ConnError::datasn;
      case recovery::OnPduError::request_again: {
        const auto run =
            static_cast<std::uint32_t>(SerialNumber::distance(t->next_data_sn, p.data_sn));
        ask_again(*t, c, t->next_data_sn, run, 0, 0, false, rx.now);
        t->next_data_sn = p.data_sn;
        t->read_next = p.buffer_offset;  // the gap's bytes come with the SNACK's answer
        break;
      }
    }
  }
  if (!t->missing_data_in.empty()) take_open_tail(*t, p);
  const std::uint64_t end = std::uint64_t{p.buffer_offset} + length;
  if (end > capacity) {
    rx.detail = "Data-In [" + std::to_string(p.buffer_offset) + ", " + std::to_string(end) +
                ") runs past the expected read length " + std::to_string(capacity);
    return ConnError::data_offset;
  }
  if (config_.params.data_pdu_in_order && length != 0 && p.buffer_offset != t->read_next) {
    rx.detail = "Data-In at offset " + std::to_string(p.buffer_offset) + ", expected " +
                std::to_string(t->read_next) + " (DataPDUInOrder=Yes)";
    return ConnError::data_offset;
  }
  ++t->next_data_sn;
  if (rx.damage != nullptr) {
    // Discarded: ask for this one PDU again. The in-order position moves past it, by the
    // length its header announced (the header digest, when on, vouched for it).
    ask_again(*t, c, p.data_sn, 1, p.buffer_offset, length, p.status_present, rx.now);
  } else {
    store_data_in(*t, p.buffer_offset, data);
  }
  t->read_next = static_cast<std::uint32_t>(end);
  if (p.acknowledge && policy_.acknowledges_data()) acknowledge_data(*t, c, p);
  if (p.status_present) {
    ScsiResult r;
    r.status = p.status;
    r.overflow = p.overflow;
    r.underflow = p.underflow;
    r.residual_count = p.residual_count;
    if (!t->missing_data_in.empty()) {
      hold_status(*t, c, std::move(r), p.stat_sn);  // ends when the PDUs asked for are in
    } else {
      complete_scsi(*t, std::move(r));
    }
  }
  return ConnError::none;
}

void Session::store_data_in(Task& t, std::uint32_t offset, ByteSpan data) {
  if (data.empty()) return;
  const std::uint32_t capacity = t.req.read_length;
  const auto end = static_cast<std::uint32_t>(offset + data.size());
  if (!t.req.read_into.empty()) {
    std::uint8_t* dest = t.req.read_into.data() + offset;
    if (data.data() != dest) std::memcpy(dest, data.data(), data.size());  // placed: already there
  } else if (offset == t.read_buf.size()) {
    // In order (the usual case): append, so the buffer is never zero-filled first.
    if (t.read_buf.capacity() < capacity) t.read_buf.reserve(capacity);
    t.read_buf.insert(t.read_buf.end(), data.begin(), data.end());
  } else {
    if (t.read_buf.size() < end) t.read_buf.resize(capacity);
    std::copy(data.begin(), data.end(), t.read_buf.begin() + offset);
  }
  t.read_high = std::max(t.read_high, end);
}

ConnError Session::on_r2t(Connection& c, const pdu::R2T& p, Received& rx) {
  Task* t = rx.task;
  if (t->req.direction != DataDirection::write &&
      t->req.direction != DataDirection::bidirectional) {
    rx.detail = "R2T for a command that writes no data";
    return ConnError::proto;
  }
  // > 0: R2Ts before this one were lost; < 0: one asked for again (or a second copy of it).
  const std::int64_t ahead = SerialNumber::distance(t->next_r2t_sn, p.r2t_sn);
  if (ahead != 0 && policy_.on_r2t_sn_gap() == recovery::OnPduError::fail_connection) {
    rx.detail = "R2TSN " + std::to_string(p.r2t_sn.value()) + ", expected " +
                std::to_string(t->next_r2t_sn.value());
    return ConnError::r2tsn;
  }
  if (p.ttt == pdu::kReservedTag) {
    rx.detail = "R2T with the reserved TTT 0xffffffff";
    return ConnError::proto;
  }
  const std::uint64_t end = std::uint64_t{p.buffer_offset} + p.desired_data_transfer_length;
  if (end > t->write_length) {
    rx.detail = "R2T [" + std::to_string(p.buffer_offset) + ", " + std::to_string(end) +
                ") runs past the write length " + std::to_string(t->write_length);
    return ConnError::data_offset;
  }
  if (p.desired_data_transfer_length == 0 ||
      p.desired_data_transfer_length > config_.params.max_burst_length) {
    rx.detail = "R2T desired length " + std::to_string(p.desired_data_transfer_length) +
                " not in [1, MaxBurstLength " + std::to_string(config_.params.max_burst_length) +
                "]";
    return ConnError::datalen;
  }
  bool resent = false;  // one of ours asked for again: counted as outstanding when it was lost
  if (ahead < 0) {
    auto it = std::find(t->missing_r2t.begin(), t->missing_r2t.end(), p.r2t_sn);
    // A copy we no longer need (an R2T SNACK asked twice and both were answered): its data
    // went out with the first copy, and sending it again would give LIO data outside its
    // current sequence.
    if (it == t->missing_r2t.end()) return ConnError::none;
    t->missing_r2t.erase(it);
    ++stats_.r2t_recovered;
    resent = true;
  }
  // The R2Ts skipped can only still be outstanding if they fit under MaxOutstandingR2T beside
  // this one. When they do not, the target has given up on them and this one replaces them: LIO
  // 6.1 at ERL 1 keeps MaxOutstandingR2T at 1 (with DataSequenceInOrder=Yes) and, when an
  // R2T's data does not come, sends a recovery R2T with the next R2TSN for the same data
  // (iscsit_handle_dataout_timeout). Only R2Ts received count, and one sent again at our request
  // is not held to the limit.
  const std::uint64_t max_r2t = config_.params.max_outstanding_r2t;
  const bool replaced =
      ahead > 0 && t->outstanding_r2t + static_cast<std::uint64_t>(ahead) + 1 > max_r2t;
  if (replaced) stats_.r2t_replaced += static_cast<std::uint64_t>(ahead);
  if (!resent && t->outstanding_r2t >= max_r2t) {
    rx.detail = "more R2Ts outstanding than MaxOutstandingR2T " +
                std::to_string(config_.params.max_outstanding_r2t);
    return ConnError::proto;
  }
  ++t->outstanding_r2t;
  if (ahead > 0 && !replaced) {
    ask_for_r2ts(*t, c, t->next_r2t_sn, static_cast<std::uint32_t>(ahead), rx.now);
  }
  if (ahead >= 0) t->next_r2t_sn = p.r2t_sn + 1;
  const Task::HeldR2T r2t{p.r2t_sn, p.ttt, p.buffer_offset, static_cast<std::uint32_t>(end)};
  if (t->missing_r2t.empty() && t->held_r2t.empty()) {
    answer_r2t(*t, c, r2t);  // the usual case: nothing lost before it
  } else {
    t->held_r2t.push_back(r2t);
    release_held_r2ts(*t, c);
  }
  return ConnError::none;
}

void Session::answer_r2t(Task& t, Connection& c, const Task::HeldR2T& r2t) {
  detail::OutItem seq;
  seq.task = t.id;
  seq.ttt = r2t.ttt;
  seq.offset = r2t.offset;
  seq.end = r2t.end;
  seq.data_sn = SerialNumber{0};
  seq.solicited = true;
  c.out.push_back(std::move(seq));
}

}  // namespace iscsi::session
