// ERL 1 within-command recovery of reads (RFC 7143 7.1.4.1, 11.16): Data SNACKs for Data-In PDUs
// that were damaged (data digest) or never came (DataSN gap), the PDUs the target sends again,
// DataACKs when the target asks, and the timer that asks once more and then gives up.
#include "proto/session/session.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace iscsi::session {

namespace {

// A SNACK is asked once more after snack_timeout; after the second wait the connection fails.
constexpr unsigned kSnackTries = 2;

// RunLength for a run: 0 ("this DataSN and all after it", RFC 7143 11.16.4) when the run ends
// with the status PDU. It names the same PDUs, and LIO 6.1 rejects a RunLength that reaches
// the last DataSN it sent (scenarios/FINDINGS.md, F4).
std::uint32_t data_snack_run_length(std::uint32_t run, bool last) { return last ? 0 : run; }

}  // namespace

void Session::ask_again(Task& t, Connection& c, SerialNumber first, std::uint32_t run,
                        std::uint32_t offset, std::uint32_t length, bool last, TimePoint now) {
  for (std::uint32_t i = 0; i < run; ++i) {
    const SerialNumber sn = first + i;
    const bool known = std::any_of(t.missing_data_in.begin(), t.missing_data_in.end(),
                                   [&](const auto& m) { return m.data_sn == sn; });
    if (!known) {
      t.missing_data_in.push_back(
          {sn, run == 1 ? offset : 0, run == 1 ? length : 0, last && i + 1 == run});
    }
  }
  pdu::SnackRequest s;
  s.type = pdu::SnackType::data_r2t;
  s.lun = t.req.lun;
  s.itt = t.itt;
  s.ttt = pdu::kReservedTag;
  s.beg_run = first.value();
  s.run_length = data_snack_run_length(run, last);
  queue(c, std::move(s));
  if (!t.snack_deadline) t.snack_deadline = now + config_.snack_timeout;
  t.snack_tries = std::max(t.snack_tries, 1u);
}

ConnError Session::take_resent_data_in(Task& t, Connection& c, const pdu::DataIn& p,
                                       Received& rx) {
  auto it = std::find_if(t.missing_data_in.begin(), t.missing_data_in.end(),
                         [&](const auto& m) { return m.data_sn == p.data_sn; });
  if (it == t.missing_data_in.end()) return ConnError::none;  // a copy we no longer need
  if (rx.damage != nullptr) return ConnError::none;  // damaged again: the timer asks again
  const std::uint64_t end = std::uint64_t{p.buffer_offset} + rx.data.size();
  if (end > t.req.read_length ||
      (it->length != 0 && (p.buffer_offset != it->offset || rx.data.size() != it->length))) {
    rx.detail = "Data-In DataSN " + std::to_string(p.data_sn.value()) + " sent again as [" +
                std::to_string(p.buffer_offset) + ", " + std::to_string(end) + ")";
    if (it->length != 0) {
      rx.detail += ", first announced as [" + std::to_string(it->offset) + ", " +
                   std::to_string(it->offset + it->length) + ")";
    }
    return ConnError::data_offset;
  }
  store_data_in(t, p.buffer_offset, rx.data);
  t.missing_data_in.erase(it);
  ++stats_.datain_recovered;
  if (p.acknowledge && policy_.acknowledges_data()) acknowledge_data(t, c, p);
  if (!t.missing_data_in.empty()) return ConnError::none;
  t.snack_deadline.reset();
  t.snack_tries = 0;
  if (p.status_present && !t.held_status && !rx.repeated_status) {
    // The first status for this command came with the resent PDU.
    ScsiResult r;
    r.status = p.status;
    r.overflow = p.overflow;
    r.underflow = p.underflow;
    r.residual_count = p.residual_count;
    t.held_status = std::move(r);
  }
  if (t.held_status) {
    ScsiResult r = std::move(*t.held_status);
    t.held_status.reset();
    complete_scsi(t, std::move(r));
  }
  return ConnError::none;
}

void Session::acknowledge_data(Task& t, Connection& c, const pdu::DataIn& p) {
  // Everything below BegRun is acknowledged: stop at the first DataSN still missing.
  SerialNumber next = t.next_data_sn;
  for (const auto& m : t.missing_data_in) {
    if (SerialNumber::distance(m.data_sn, next) > 0) next = m.data_sn;
  }
  // BegRun 0 acknowledges nothing, and LIO 6.1 closes the connection for it (its acknowledged
  // DataSN starts at 0; FINDINGS.md, F4): the next A bit acknowledges the data instead.
  if (next.value() == 0) return;
  pdu::SnackRequest s;
  s.type = pdu::SnackType::data_ack;
  s.lun = t.req.lun;
  s.itt = t.itt;
  s.ttt = p.ttt;
  s.beg_run = next.value();
  s.run_length = 0;
  queue(c, std::move(s));
}

void Session::on_snack_timers(TimePoint now) {
  const auto due = tasks_.ids_where([&](const Task& t) {
    return t.snack_deadline && *t.snack_deadline <= now && !t.missing_data_in.empty();
  });
  for (TaskId id : due) {
    Task* t = tasks_.find(id);
    if (t == nullptr) continue;
    Connection* c = conn(t->cid);
    if (c == nullptr || !c->sm.usable()) continue;
    const SerialNumber first = t->missing_data_in.front().data_sn;
    if (t->snack_tries >= kSnackTries) {
      fail_connection(*c, ConnError::datasn,
                      "Data-In DataSN " + std::to_string(first.value()) +
                          " not received after " + std::to_string(kSnackTries) +
                          " Data SNACKs");
      continue;
    }
    ++t->snack_tries;
    t->snack_deadline = now + config_.snack_timeout;
    for (const auto& m : t->missing_data_in) {
      pdu::SnackRequest s;
      s.type = pdu::SnackType::data_r2t;
      s.lun = t->req.lun;
      s.itt = t->itt;
      s.ttt = pdu::kReservedTag;
      s.beg_run = m.data_sn.value();
      s.run_length = data_snack_run_length(1, m.last);
      queue(*c, std::move(s));
    }
  }
}

}  // namespace iscsi::session
