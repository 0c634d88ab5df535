// The seed corpus of fuzz/fuzz_session_rx.cpp: generated here by running the fuzz scenario's
// session against the fake target and recording what the target sends (with
// ISCSI_WRITE_SESSION_SEEDS=<dir> set, the seeds are written there), and replayed through the
// fuzz harness as a regression test.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fake_target.hpp"
#include "fuzz_scenario.hpp"

namespace iscsi::session::test {
namespace {

struct Recorded {
  ByteVector stream;
  std::size_t completions = 0;
};

// Runs the fuzz scenario against the fake target; `extra` may queue more target PDUs at the end.
Recorded record(std::uint8_t flags, const std::function<void(FakeTarget&)>& extra = {},
                const std::function<bool(pdu::Pdu&)>& tamper = {}) {
  const auto p = fuzz::params_from(flags);
  FakeTargetConfig cfg;
  cfg.immediate_data = p.immediate_data;
  cfg.initial_r2t = p.initial_r2t;
  cfg.first_burst_length = 8192;
  cfg.max_burst_length = 8192;
  cfg.target_mrdsl = p.mrdsl;
  cfg.initiator_mrdsl = p.mrdsl;
  cfg.max_outstanding_r2t = p.max_outstanding_r2t;
  cfg.first_cmd_sn = fuzz::kFirstCmdSn;
  cfg.first_stat_sn = fuzz::kFirstStatSn;
  cfg.window = fuzz::kWindow;
  cfg.targets = {{"iqn.2026-11.org.example:t0", {{"192.0.2.1", text::HostKind::ipv4, 3260, true, 1}}}};
  FakeTarget target(cfg);
  target.tamper = tamper;
  TimePoint now{};
  Session s(fuzz::session_config(p), now);
  fuzz::submit_tasks(s, now);
  Recorded out;
  pdu::Framer framer({.receive = pdu::Direction::target_to_initiator,
                      .max_recv_data_segment_length = p.mrdsl});
  bool extra_done = false;
  for (int round = 0; round < 1000; ++round) {
    bool moved = false;
    while (auto pdu = s.pop_pdu(fuzz::kCid)) {
      moved = true;
      target.receive(*pdu);
    }
    if (!moved && !extra_done && extra) {
      extra(target);
      extra_done = true;
    }
    while (auto pdu = target.pop()) {
      moved = true;
      auto bytes = pdu::encode(*pdu);
      EXPECT_TRUE(bytes);
      out.stream.insert(out.stream.end(), bytes->begin(), bytes->end());
      framer.feed(*bytes);
      while (auto next = framer.next()) {
        if (!*next) break;
        (void)s.receive(fuzz::kCid, **next, now);
      }
    }
    if (!moved) break;
  }
  while (s.pop_completion()) ++out.completions;
  EXPECT_TRUE(target.violations.empty()) << target.violations.front();
  return out;
}

std::filesystem::path corpus_dir() {
  return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / "fuzz" / "corpus" /
         "session_rx";
}

struct Seed {
  std::string name;
  std::uint8_t flags;
  Recorded rec;
};

std::vector<Seed> make_seeds() {
  std::vector<Seed> seeds;
  seeds.push_back({"clean_imm_r2t", 0x03, record(0x03)});
  seeds.push_back({"clean_unsolicited", 0x00, record(0x00)});
  seeds.push_back({"clean_512_r2t4", 0x0e, record(0x0e)});
  seeds.push_back({"async_ping_reject", 0x03, record(0x03, [](FakeTarget& t) {
                     t.send_ping(0x77);
                     t.send_async(pdu::AsyncEvent::scsi_async_event, 0, 0, 0,
                                  pdu::make_sense_data(scsi::build_fixed_sense(
                                      scsi::SenseKey::unit_attention, 0x2A, 0x09)));
                     t.send_async(pdu::AsyncEvent::logout_request, 0, 0, 10);
                     t.send_reject(pdu::RejectReason::protocol_error, ByteVector(48));
                   })});
  int n = 0;
  seeds.push_back({"datasn_gap", 0x07, record(0x07, {}, [&n](pdu::Pdu& p) {
                     if (auto* d = std::get_if<pdu::DataIn>(&p); d && n++ == 1) {
                       d->data_sn = SerialNumber{9};
                     }
                     return true;
                   })});
  return seeds;
}

TEST(SessionFuzzSeeds, ScenarioCompletesAgainstTheFakeTarget) {
  // read, write, TUR, text, ping
  EXPECT_EQ(record(0x03).completions, 5u);
  EXPECT_EQ(record(0x00).completions, 5u);
  EXPECT_EQ(record(0x0e).completions, 5u);
  EXPECT_EQ(record(0x1f).completions, 5u);
}

TEST(SessionFuzzSeeds, GeneratedSeedsReplayAndFitTheSizeLimit) {
  const char* out_dir = std::getenv("ISCSI_WRITE_SESSION_SEEDS");
  for (const auto& seed : make_seeds()) {
    ByteVector file{seed.flags};
    file.insert(file.end(), seed.rec.stream.begin(), seed.rec.stream.end());
    EXPECT_LT(file.size(), 4096u) << seed.name;
    fuzz::run(file[0], ByteSpan(file).subspan(1));
    if (out_dir != nullptr) {
      std::ofstream f(std::filesystem::path(out_dir) / seed.name, std::ios::binary);
      f.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    }
  }
}

TEST(SessionFuzzSeeds, CheckedInCorpusReplays) {
  const auto dir = corpus_dir();
  ASSERT_TRUE(std::filesystem::exists(dir)) << "the seed corpus ships in the repository: " << dir;
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream f(entry.path(), std::ios::binary);
    ByteVector bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (bytes.empty()) continue;
    fuzz::run(bytes[0], ByteSpan(bytes).subspan(1));
    ++n;
  }
  EXPECT_GT(n, 0u);
}

}  // namespace
}  // namespace iscsi::session::test
