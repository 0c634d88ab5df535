// Fuzzes the session machine from the user's side and the target's behaviour at once: each input
// byte picks an operation (submit a read / write / TMF / ping / SendTargets / logout, advance
// simulated time, pump PDUs both ways, make the in-memory fake target misbehave - corrupt a
// field, drop PDUs, hold answers, send pings / async messages / rejects -, fail the transport,
// reinstate, fail everything). Invariants checked: a completion names a task that was submitted
// and completes it exactly once; after fail_all() nothing is outstanding and every task has
// completed. The fake target lives in tests/proto/session/fake_target.hpp.
#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "../tests/proto/session/fake_target.hpp"

namespace {

using namespace iscsi;
using namespace iscsi::session;
using namespace iscsi::session::test;

struct Input {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t next() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
};

struct Checker {
  std::set<TaskId> submitted;
  std::set<TaskId> completed;
  void add(const Result<TaskId>& r) {
    if (r) submitted.insert(*r);
  }
  void drain(Pair& pair) {
    while (auto c = pair.session.pop_completion()) {
      if (submitted.count(c->id) == 0) __builtin_trap();    // unknown task
      if (!completed.insert(c->id).second) __builtin_trap();  // completed twice
    }
    while (pair.session.pop_event()) {
    }
  }
};

// Corrupts one field of a target PDU, as picked by `mode`.
bool corrupt(pdu::Pdu& p, std::uint8_t mode) {
  switch (mode % 10) {
    case 0: return true;
    case 1:
      if (auto* d = std::get_if<pdu::DataIn>(&p)) d->data_sn = d->data_sn + 1;
      return true;
    case 2:
      std::visit([](auto& x) { if constexpr (requires { x.stat_sn; }) x.stat_sn = x.stat_sn + 1; }, p);
      return true;
    case 3:
      if (auto* d = std::get_if<pdu::DataIn>(&p)) d->buffer_offset += 512;
      if (auto* r = std::get_if<pdu::R2T>(&p)) r->buffer_offset += 512;
      return true;
    case 4:
      if (auto* r = std::get_if<pdu::R2T>(&p)) r->r2t_sn = r->r2t_sn + 1;
      return true;
    case 5: return false;  // drop
    case 6:
      std::visit([](auto& x) { if constexpr (requires { x.itt; }) x.itt ^= 1u; }, p);
      return true;
    case 7:
      if (auto* r = std::get_if<pdu::R2T>(&p)) r->desired_data_transfer_length = 0;
      if (auto* t = std::get_if<pdu::TextResponse>(&p)) t->cont = !t->cont;
      return true;
    case 8:
      std::visit([](auto& x) {
        if constexpr (requires { x.max_cmd_sn; }) x.max_cmd_sn = x.exp_cmd_sn + 0x90000000u;
      }, p);
      return true;
    default:
      if (auto* d = std::get_if<pdu::DataIn>(&p)) d->status_present = d->final_pdu;
      return true;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  Input in{data, size};
  const std::uint8_t flags = in.next();
  FakeTargetConfig cfg;
  cfg.immediate_data = (flags & 1) != 0;
  cfg.initial_r2t = (flags & 2) != 0;
  cfg.target_mrdsl = (flags & 4) ? 512 : 8192;
  cfg.initiator_mrdsl = cfg.target_mrdsl;
  cfg.first_burst_length = 4096;
  cfg.max_burst_length = 8192;
  cfg.max_outstanding_r2t = (flags & 8) ? 2 : 1;
  cfg.phase_collapse = (flags & 16) != 0;
  cfg.window = (flags & 32) ? 1 : 8;
  cfg.blocks = 256;
  cfg.text_chunk = 64;
  cfg.targets = {{"iqn.2026-11.org.example:t0", {{"192.0.2.1", text::HostKind::ipv4, 3260, true, 1}}},
                 {"iqn.2026-11.org.example:t1", {}}};
  Pair pair(cfg);
  Checker check;
  std::uint8_t tamper_mode = 0;
  std::uint32_t tamper_every = 0;
  std::uint32_t tamper_count = 0;
  const auto tamper = [&](pdu::Pdu& p) {
    if (tamper_every == 0 || ++tamper_count % tamper_every != 0) return true;
    return corrupt(p, tamper_mode);
  };
  pair.target.tamper = tamper;
  std::vector<ByteVector> buffers;  // write data kept alive for the tasks' lifetime
  buffers.reserve(256);
  std::vector<TaskId> ids;
  for (int steps = 0; steps < 200 && in.n > 0; ++steps) {
    const std::uint8_t op = in.next();
    switch (op % 16) {
      case 0: {
        const std::uint32_t blocks = in.next() % 8 + 1;
        auto r = read_request(in.next() % 200, blocks * 512);
        if (in.next() & 1) r.read_length += 512;  // an underflow
        auto id = pair.session.submit(r, pair.now);
        check.add(id);
        if (id) ids.push_back(*id);
        break;
      }
      case 1: {
        if (buffers.size() == buffers.capacity()) break;
        const std::uint32_t blocks = in.next() % 24 + 1;
        buffers.push_back(pattern(blocks * 512, op));
        auto id = pair.session.submit(write_request(in.next() % 200, buffers.back()), pair.now);
        check.add(id);
        if (id) ids.push_back(*id);
        break;
      }
      case 2: {
        ScsiRequest r;
        r.cdb = cdb_bytes(scsi::test_unit_ready());
        check.add(pair.session.submit(r, pair.now));
        break;
      }
      case 3: {
        TmfRequest t;
        t.function = static_cast<pdu::TmfFunction>(in.next() % 7 + 1);
        if (!ids.empty()) t.referenced = ids[in.next() % ids.size()];
        t.timeout = std::chrono::seconds(in.next() % 20 + 1);
        check.add(pair.session.submit_tmf(t, pair.now));
        break;
      }
      case 4: check.add(pair.session.ping(pair.now, ByteVector(in.next() % 8, 0x5a))); break;
      case 5: check.add(pair.session.send_text({{"SendTargets", "All"}}, pair.now)); break;
      case 6: check.add(pair.session.logout(pdu::LogoutReason::close_session, pair.now)); break;
      case 7: pair.advance(std::chrono::milliseconds(in.next()) * 50); break;
      case 8:
      case 15: pair.pump(); break;
      case 9:
        tamper_mode = in.next();
        tamper_every = in.next() % 8;
        break;
      case 10: {
        const std::uint8_t which = in.next();
        if (which & 1) pair.target.hold_commands = !pair.target.hold_commands;
        if (which & 2) pair.target.hold_tmf = !pair.target.hold_tmf;
        if (which & 4) pair.target.silent = !pair.target.silent;
        if (which & 8) pair.target.tmf_response = static_cast<pdu::TmfResponse>(which >> 4);
        break;
      }
      case 11: {
        const std::uint8_t which = in.next();
        if (which % 3 == 0) pair.target.send_ping(0x100u + which);
        if (which % 3 == 1) {
          pair.target.send_async(static_cast<pdu::AsyncEvent>(in.next() % 6), in.next(), in.next(),
                                 in.next(),
                                 pdu::make_sense_data(scsi::build_fixed_sense(
                                     scsi::SenseKey::unit_attention, 0x2A, 0x09)));
        }
        if (which % 3 == 2 && !pair.target.commands.empty()) {
          pair.target.send_reject(static_cast<pdu::RejectReason>(in.next() % 11 + 2),
                                  pair.target.last_command_header());
        }
        break;
      }
      case 12: {
        pair.session.on_transport_error(Pair::kCid, ConnError::tcp_conn_close, pair.now);
        if (in.next() & 1) {
          (void)pair.session.begin_recovery();
          FakeTargetConfig again = cfg;
          again.first_cmd_sn = 1000u + in.next();
          pair.target = FakeTarget(again);
          pair.target.tamper = tamper;
          pair.reset_transport();
          (void)pair.session.reinstate(make_session_config(again), pair.now);
        }
        break;
      }
      case 13:
        if (in.next() % 4 == 0) pair.session.fail_all(ConnError::session_failed);
        break;
      case 14:
        pair.target.set_window(in.next() % 4);
        pair.target.send_window_update();
        break;
    }
    check.drain(pair);
    (void)pair.session.next_deadline();
  }
  pair.pump();
  check.drain(pair);
  pair.session.fail_all(ConnError::session_failed);
  check.drain(pair);
  if (pair.session.outstanding() != 0) __builtin_trap();
  if (check.completed != check.submitted) __builtin_trap();
  return 0;
}
