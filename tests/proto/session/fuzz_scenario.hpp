// The logged-in session the session fuzzer (fuzz/fuzz_session_rx.cpp) feeds PDUs into, shared
// with the test that generates and replays its seed corpus (test_fuzz_seeds.cpp), so the seeds'
// ITTs and sequence numbers match the tasks outstanding here.
//
// Input layout: byte 0 picks the parameters (bit 0 ImmediateData, bit 1 InitialR2T, bit 2 a
// 512-byte MaxRecvDataSegmentLength both ways, bit 3 MaxOutstandingR2T 4, bit 4 DataPDUInOrder=No);
// the rest is the byte stream from the target. Outstanding: a 1 KiB read, a 16 KiB write, a TEST
// UNIT READY, a SendTargets text request and a NOP-Out ping.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "proto/pdu/framer.hpp"
#include "proto/session/session.hpp"

namespace iscsi::session::fuzz {

struct ScenarioParams {
  bool immediate_data = true;
  bool initial_r2t = true;
  std::uint32_t mrdsl = 8192;
  std::uint32_t max_outstanding_r2t = 1;
  bool data_pdu_in_order = true;
};

inline ScenarioParams params_from(std::uint8_t flags) {
  ScenarioParams p;
  p.immediate_data = (flags & 1) != 0;
  p.initial_r2t = (flags & 2) != 0;
  p.mrdsl = (flags & 4) ? 512 : 8192;
  p.max_outstanding_r2t = (flags & 8) ? 4 : 1;
  p.data_pdu_in_order = (flags & 16) == 0;
  return p;
}

inline constexpr std::uint32_t kFirstCmdSn = 1;
inline constexpr std::uint32_t kFirstStatSn = 0x100;
inline constexpr std::uint32_t kWindow = 16;
inline constexpr std::uint16_t kCid = 1;

inline SessionConfig session_config(const ScenarioParams& p) {
  SessionConfig s;
  s.params.immediate_data = p.immediate_data;
  s.params.initial_r2t = p.initial_r2t;
  s.params.first_burst_length = 8192;
  s.params.max_burst_length = 8192;
  s.params.max_outstanding_r2t = p.max_outstanding_r2t;
  s.params.max_send_data_segment_length = p.mrdsl;
  s.params.max_recv_data_segment_length = p.mrdsl;
  s.params.data_pdu_in_order = p.data_pdu_in_order;
  s.cmd_sn = SerialNumber{kFirstCmdSn};
  s.exp_cmd_sn = SerialNumber{kFirstCmdSn};
  s.max_cmd_sn = SerialNumber{kFirstCmdSn + kWindow - 1};
  s.exp_stat_sn = SerialNumber{kFirstStatSn};
  s.cid = kCid;
  return s;
}

inline const ByteVector& write_data() {
  static const ByteVector data = [] {
    ByteVector d(16384);
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(i * 7 + 3);
    return d;
  }();
  return data;
}

// Submits the outstanding tasks (in a fixed order, so ITTs are fixed too).
inline void submit_tasks(Session& s, TimePoint now) {
  ScsiRequest read;
  read.cdb = {0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0};  // READ(16) lba 0, 2 blocks
  read.direction = DataDirection::read;
  read.read_length = 1024;
  (void)s.submit(read, now);
  ScsiRequest write;
  write.cdb = {0x8A, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 32, 0, 0};  // WRITE(16) lba 8, 32 blocks
  write.direction = DataDirection::write;
  write.write_data_view = write_data();
  (void)s.submit(write, now);
  ScsiRequest tur;
  tur.cdb = {0, 0, 0, 0, 0, 0};
  (void)s.submit(tur, now);
  (void)s.send_text({{"SendTargets", "All"}}, now);
  (void)s.ping(now, ByteVector{0xde, 0xad});
}

// Drains every output of the session (what the pump would do).
inline void drain(Session& s) {
  while (s.pop_pdu(kCid)) {
  }
  while (s.pop_completion()) {
  }
  while (s.pop_event()) {
  }
}

// Feeds `stream` through a framer into a fresh scenario session; one simulated second per PDU.
inline void run(std::uint8_t flags, ByteSpan stream) {
  const ScenarioParams p = params_from(flags);
  TimePoint now{};
  Session s(session_config(p), now);
  submit_tasks(s, now);
  drain(s);
  pdu::Framer framer({.receive = pdu::Direction::target_to_initiator,
                      .max_recv_data_segment_length = p.mrdsl});
  framer.feed(stream);
  while (true) {
    auto next = framer.next();
    if (!next) {
      s.on_receive_error(kCid, framer.diagnostic(), now);
      break;
    }
    if (!*next) break;
    (void)s.receive(kCid, **next, now);
    drain(s);
    now += std::chrono::seconds(1);
    s.on_tick(now);
    (void)s.next_deadline();
  }
  drain(s);
  // Recovery paths on whatever state is left.
  if (s.state() == SessionState::failed) {
    (void)s.reinstate(session_config(p), now);
    drain(s);
    s.fail_all(ConnError::session_failed);
  }
}

}  // namespace iscsi::session::fuzz
