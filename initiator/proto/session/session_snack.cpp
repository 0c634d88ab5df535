// ERL 1 within-command recovery (RFC 7143 7.1.4.1, 11.16): Data SNACKs for Data-In PDUs that
// were damaged (data digest) or never came (DataSN gap), the PDUs the target sends again,
// DataACKs when the target asks, R2T SNACKs for R2Ts lost on the way to a write, Status SNACKs
// for skipped StatSNs, and the timers that ask once more and then give up.
#include "proto/session/session.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace iscsi::session {

namespace {

// A SNACK is asked once more after snack_timeout; after the second wait the connection fails.
constexpr unsigned kSnackTries = 2;
// A PDU sent again whose data digest fails again is asked for at once (the target answered;
// the path damaged it), up to this many damaged copies; then the connection fails as at ERL 0.
constexpr unsigned kDamagedCopies = 4;

// RunLength for a run: 0 ("this DataSN and all after it", RFC 7143 11.16.4) when the run ends
// with the status PDU. It names the same PDUs, and LIO 6.1 rejects a RunLength that reaches
// the last DataSN it sent (scenarios/FINDINGS.md, F4).
std::uint32_t data_snack_run_length(std::uint32_t run, bool last) { return last ? 0 : run; }

// A Data/R2T SNACK (RFC 7143 11.16.1) for the task's DataSNs or R2TSNs [beg_run, +run_length).
pdu::SnackRequest data_r2t_snack(const detail::Task& t, std::uint32_t beg_run,
                                 std::uint32_t run_length) {
  pdu::SnackRequest s;
  s.type = pdu::SnackType::data_r2t;
  s.lun = t.req.lun;
  s.itt = t.itt;
  s.ttt = pdu::kReservedTag;
  s.beg_run = beg_run;
  s.run_length = run_length;
  return s;
}

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
  queue(c, data_r2t_snack(t, first.value(), data_snack_run_length(run, last)));
  if (!t.snack_deadline) t.snack_deadline = now + config_.snack_timeout;
  t.snack_tries = std::max(t.snack_tries, 1u);
}

ConnError Session::take_resent_data_in(Task& t, Connection& c, const pdu::DataIn& p,
                                       Received& rx) {
  auto it = std::find_if(t.missing_data_in.begin(), t.missing_data_in.end(),
                         [&](const auto& m) { return m.data_sn == p.data_sn; });
  if (it == t.missing_data_in.end()) return ConnError::none;  // a copy we no longer need
  if (rx.damage != nullptr) {
    if (++it->damaged_copies >= kDamagedCopies) {
      rx.detail = "Data-In DataSN " + std::to_string(p.data_sn.value()) + ": data digest failed "
                  "on " + std::to_string(it->damaged_copies) + " copies sent again";
      return ConnError::data_dgst;
    }
    const Task::MissingDataIn again = *it;
    ask_again(t, c, again.data_sn, 1, again.offset, again.length, again.last, rx.now);
    return ConnError::none;
  }
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
  if (p.status_present && !t.held_status && !rx.repeated_status) {
    // The first status for this command came with the resent PDU.
    ScsiResult r;
    r.status = p.status;
    r.overflow = p.overflow;
    r.underflow = p.underflow;
    r.residual_count = p.residual_count;
    hold_status(t, c, std::move(r), p.stat_sn);
  }
  if (!t.missing_data_in.empty()) return ConnError::none;
  t.snack_deadline.reset();
  t.snack_tries = 0;
  if (t.held_status) {
    ScsiResult r = std::move(*t.held_status);
    t.held_status.reset();
    complete_scsi(t, std::move(r));
  }
  return ConnError::none;
}

void Session::hold_status(Task& t, Connection& c, ScsiResult r, SerialNumber stat_sn) {
  t.held_status = std::move(r);
  if (t.held_stat_sn) return;
  t.held_stat_sn = stat_sn;
  c.held_stat_sn.push_back(stat_sn);
  settle_exp_stat_sn(c);
}

void Session::release_stat_sn(Connection& c, SerialNumber sn) {
  auto it = std::find(c.held_stat_sn.begin(), c.held_stat_sn.end(), sn);
  if (it == c.held_stat_sn.end()) return;
  c.held_stat_sn.erase(it);
  settle_exp_stat_sn(c);
}

void Session::settle_exp_stat_sn(Connection& c) {
  c.exp_stat_sn = c.next_stat_sn;
  for (const auto* v : {&c.missing_stat_sn, &c.held_stat_sn}) {
    for (SerialNumber sn : *v) {
      if (SerialNumber::distance(sn, c.exp_stat_sn) > 0) c.exp_stat_sn = sn;
    }
  }
}

void Session::acknowledge_data(Task& t, Connection& c, const pdu::DataIn& p) {
  // A Data-In that also carries the status is acknowledged with the status, by ExpStatSN; a
  // DataACK is optional then and must not come after that (RFC 7143 11.7.2), and LIO 6.1 frees
  // the command at that ExpStatSN and closes the connection for a DataACK naming its TTT.
  if (p.status_present) return;
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
  s.itt = pdu::kReservedTag;  // RFC 7143 11.16.1: reserved for a DataACK (the TTT names it)
  s.ttt = p.ttt;
  s.beg_run = next.value();
  s.run_length = 0;
  queue(c, std::move(s));
}

// --- R2T SNACK (RFC 7143 7.1.4.1, 11.16): R2Ts lost on the way to a write ------------------

void Session::ask_for_r2ts(Task& t, Connection& c, SerialNumber first, std::uint32_t run,
                           TimePoint now) {
  for (std::uint32_t i = 0; i < run; ++i) t.missing_r2t.push_back(first + i);
  // LIO 6.1 sends again every R2T of [BegRun, BegRun + RunLength) that it had sent
  // (iscsit_handle_r2t_snack), with its R2TSN, and rejects a run past its newest R2T.
  queue(c, data_r2t_snack(t, first.value(), run));
  if (!t.snack_deadline) t.snack_deadline = now + config_.snack_timeout;
  t.snack_tries = std::max(t.snack_tries, 1u);
}

void Session::release_held_r2ts(Task& t, Connection& c) {
  // Data-Out sequences go out in R2TSN order, which is offset order (DataSequenceInOrder):
  // an R2T waits while one before it is missing.
  std::sort(t.held_r2t.begin(), t.held_r2t.end(), [](const auto& a, const auto& b) {
    return SerialNumber::distance(a.r2t_sn, b.r2t_sn) > 0;
  });
  std::size_t n = 0;
  for (; n < t.held_r2t.size(); ++n) {
    const SerialNumber sn = t.held_r2t[n].r2t_sn;
    const bool blocked = std::any_of(t.missing_r2t.begin(), t.missing_r2t.end(), [&](auto m) {
      return SerialNumber::distance(m, sn) > 0;
    });
    if (blocked) break;
    answer_r2t(t, c, t.held_r2t[n]);
  }
  t.held_r2t.erase(t.held_r2t.begin(), t.held_r2t.begin() + static_cast<std::ptrdiff_t>(n));
  if (t.missing_r2t.empty() && t.missing_data_in.empty()) {
    t.snack_deadline.reset();
    t.snack_tries = 0;
  }
}

// --- Status SNACK (RFC 7143 11.16.2): a StatSN skipped on a connection ----------------------

ConnError Session::take_stat_sn(Connection& c, SerialNumber sn, std::string_view what,
                                Received& rx) {
  if (sn == c.next_stat_sn) {
    ++c.next_stat_sn;
    settle_exp_stat_sn(c);
    return ConnError::none;
  }
  if (SerialNumber::distance(sn, c.next_stat_sn) > 0) {
    // Behind: a status asked for again, or (ERL 1) one resent that was had already.
    auto it = std::find(c.missing_stat_sn.begin(), c.missing_stat_sn.end(), sn);
    if (it != c.missing_stat_sn.end()) {
      c.missing_stat_sn.erase(it);
      ++stats_.status_recovered;
      if (c.missing_stat_sn.empty()) {
        c.status_snack_deadline.reset();
        c.status_snack_tries = 0;
      }
      settle_exp_stat_sn(c);
      return ConnError::none;
    }
    if (policy_.takes_repeated_status()) {
      rx.repeated_status = true;  // already acknowledged (or had): ExpStatSN stays
      return ConnError::none;
    }
  } else if (policy_.on_stat_sn_gap() == recovery::OnPduError::request_again) {
    // Ahead: the statuses in between were lost. This one is taken; those are asked for.
    ask_for_status(c, c.next_stat_sn, sn, rx.now);
    c.next_stat_sn = sn + 1;
    settle_exp_stat_sn(c);
    return ConnError::none;
  }
  rx.detail = std::string(what) + " StatSN " + std::to_string(sn.value()) + ", expected " +
              std::to_string(c.next_stat_sn.value());
  return ConnError::proto;
}

void Session::notice_next_stat_sn(Connection& c, SerialNumber next_from_target, TimePoint now) {
  if (policy_.on_stat_sn_gap() != recovery::OnPduError::request_again) return;
  if (SerialNumber::distance(c.next_stat_sn, next_from_target) <= 0) return;
  ask_for_status(c, c.next_stat_sn, next_from_target, now);
  c.next_stat_sn = next_from_target;
  settle_exp_stat_sn(c);
}

void Session::ask_for_status(Connection& c, SerialNumber first, SerialNumber end, TimePoint now) {
  for (SerialNumber sn = first; sn != end; ++sn) c.missing_stat_sn.push_back(sn);
  pdu::SnackRequest s;
  s.type = pdu::SnackType::status;
  s.itt = pdu::kReservedTag;  // RFC 7143 11.16.1: reserved for a Status SNACK
  s.beg_run = first.value();
  s.run_length = static_cast<std::uint32_t>(SerialNumber::distance(first, end));
  queue(c, std::move(s));
  if (!c.status_snack_deadline) c.status_snack_deadline = now + config_.snack_timeout;
  c.status_snack_tries = std::max(c.status_snack_tries, 1u);
}

bool Session::ask_for_tail(Task& t, Connection& c, const pdu::ScsiResponse& p, ScsiResult& r,
                           TimePoint now) {
  // A read's SCSI Response (sent as such, or in answer to a Status SNACK) while Data-In are
  // missing: the status waits until they are in. When the last ones were lost, no later DataSN
  // shows it (RFC 7143 11.4.8).
  if (policy_.on_data_sn_gap() != recovery::OnPduError::request_again) return false;
  if (t.req.direction != DataDirection::read || t.req.read_length == 0) return false;
  const std::uint32_t expected =
      r.underflow ? t.req.read_length - std::min(r.residual_count, t.req.read_length)
                  : t.req.read_length;
  if (SerialNumber::distance(t.next_data_sn, p.exp_data_sn) > 0) {
    // ExpDataSN counts the Data-In PDUs sent: ask for those that never came.
    const auto run =
        static_cast<std::uint32_t>(SerialNumber::distance(t.next_data_sn, p.exp_data_sn));
    ask_again(t, c, t.next_data_sn, run, 0, 0, true, now);
    t.next_data_sn = p.exp_data_sn;
  } else if (r.status == 0 && t.read_next < expected) {
    // LIO leaves ExpDataSN 0: the bytes short of what the status implies show the tail was
    // lost. Ask from the next DataSN on (RunLength 0) and take them as they come.
    ask_again(t, c, t.next_data_sn, 1, 0, 0, true, now);
    for (auto& m : t.missing_data_in) {
      if (m.data_sn == t.next_data_sn) m.open_tail = true;
    }
  } else if (t.missing_data_in.empty()) {
    return false;
  }
  hold_status(t, c, std::move(r), p.stat_sn);
  return true;
}

void Session::take_open_tail(Task& t, const pdu::DataIn& p) {
  auto it = std::find_if(t.missing_data_in.begin(), t.missing_data_in.end(),
                         [&](const auto& m) { return m.open_tail && m.data_sn == p.data_sn; });
  if (it == t.missing_data_in.end()) return;
  t.missing_data_in.erase(it);
  ++stats_.datain_recovered;
  if (!p.status_present) {
    Task::MissingDataIn next;
    next.data_sn = p.data_sn + 1;
    next.last = true;
    next.open_tail = true;
    t.missing_data_in.push_back(next);
  } else if (t.missing_data_in.empty()) {
    t.snack_deadline.reset();
    t.snack_tries = 0;
  }
}

void Session::on_snack_timers(TimePoint now) {
  for (auto& [cid, c] : conns_) {
    if (!c.status_snack_deadline || *c.status_snack_deadline > now || !c.sm.usable()) continue;
    if (c.missing_stat_sn.empty()) {
      c.status_snack_deadline.reset();
      continue;
    }
    const SerialNumber first = *std::min_element(
        c.missing_stat_sn.begin(), c.missing_stat_sn.end(),
        [](SerialNumber a, SerialNumber b) { return SerialNumber::distance(a, b) > 0; });
    if (c.status_snack_tries >= kSnackTries) {
      fail_connection(c, ConnError::proto,
                      "StatSN " + std::to_string(first.value()) + " not received after " +
                          std::to_string(kSnackTries) + " Status SNACKs");
      continue;
    }
    ++c.status_snack_tries;
    c.status_snack_deadline = now + config_.snack_timeout;
    for (SerialNumber sn : c.missing_stat_sn) {
      pdu::SnackRequest s;
      s.type = pdu::SnackType::status;
      s.itt = pdu::kReservedTag;
      s.beg_run = sn.value();
      s.run_length = 1;
      queue(c, std::move(s));
    }
  }

  const auto due = tasks_.ids_where([&](const Task& t) {
    return t.snack_deadline && *t.snack_deadline <= now &&
           (!t.missing_data_in.empty() || !t.missing_r2t.empty());
  });
  for (TaskId id : due) {
    Task* t = tasks_.find(id);
    if (t == nullptr) continue;
    Connection* c = conn(t->cid);
    if (c == nullptr || !c->sm.usable()) continue;
    if (!t->missing_r2t.empty()) {
      if (t->snack_tries >= kSnackTries) {
        fail_connection(*c, ConnError::r2tsn,
                        "R2TSN " + std::to_string(t->missing_r2t.front().value()) +
                            " not received after " + std::to_string(kSnackTries) +
                            " R2T SNACKs");
        continue;
      }
      ++t->snack_tries;
      t->snack_deadline = now + config_.snack_timeout;
      for (SerialNumber sn : t->missing_r2t) queue(*c, data_r2t_snack(*t, sn.value(), 1));
      continue;
    }
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
      queue(*c, data_r2t_snack(*t, m.data_sn.value(), data_snack_run_length(1, m.last)));
    }
  }
}

}  // namespace iscsi::session
