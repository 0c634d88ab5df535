// Caller-owned buffers (ScsiCommand::read_into / write_view) through the whole engine: against
// tgtd, reads land byte-exact in the caller's memory and nowhere else, with and without digests
// and at sizes below and above the direct-placement threshold (large Data-In payloads are
// received by the kernel straight into the caller's buffer, small ones copied from the
// framer's); against the scripted target, a read cut by a connection loss is retried after the
// relogin into the same buffer.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "net/initiator.hpp"
#include "net_test_helpers.hpp"
#include "proto/scsi/cdb.hpp"
#include "scripted_target.hpp"
#include "support/tgtd_fixture.hpp"

namespace iscsi::net {
namespace {

using test::event_log;
using ::iscsi::test::TgtdTarget;

constexpr std::uint16_t kFileLun = TgtdTarget::kFileLun;
constexpr std::uint8_t kGuard = 0xA5;  // what the bytes around the read window hold

ByteVector pattern(std::size_t n, std::uint32_t seed) {
  ByteVector v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

ScsiCommand read16_into(std::uint64_t lba, std::uint32_t blocks, MutableByteSpan into,
                        std::uint16_t lun) {
  ScsiCommand c;
  c.lun = lun;
  auto cdb = scsi::read16(lba, blocks);
  c.cdb.assign(cdb->bytes.begin(), cdb->bytes.begin() + cdb->length);
  c.direction = session::DataDirection::read;
  c.read_length = blocks * 512;
  c.read_into = into;
  return c;
}

ScsiCommand write16_view(std::uint64_t lba, ByteSpan data, std::uint16_t lun) {
  ScsiCommand c;
  c.lun = lun;
  auto cdb = scsi::write16(lba, static_cast<std::uint32_t>(data.size() / 512));
  c.cdb.assign(cdb->bytes.begin(), cdb->bytes.begin() + cdb->length);
  c.direction = session::DataDirection::write;
  c.write_view = data;
  return c;
}

class NetReadInto : public ::iscsi::test::TgtdFixture {};

TEST_F(NetReadInto, ReadsLandByteExactInTheCallersBufferAndNowhereElse) {
  for (const auto& [hd, dd] : std::vector<std::pair<std::string, std::string>>{
           {"None", "None"}, {"CRC32C", "CRC32C"}}) {
    SCOPED_TRACE(hd + "/" + dd);
    tgtd().set_param("HeaderDigest", "CRC32C,None");
    tgtd().set_param("DataDigest", "CRC32C,None");
    Initiator ini;
    SessionOptions o;
    o.initial_login_retry_max = 0;
    o.iscsi.header_digest = hd;
    o.iscsi.data_digest = dd;
    auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), o);
    (void)s->read_capacity(kFileLun);  // tgt's power-on UNIT ATTENTION, retried there
    // 1 block; 8 (4 KiB, below the placement threshold); 129 (over 64 KiB in one PDU);
    // 2048 (1 MiB: several 256 KiB Data-In PDUs, each placed); 2049 (a short tail PDU).
    std::uint32_t seed = 7;
    for (std::uint32_t blocks : {1u, 8u, 129u, 2048u, 2049u}) {
      SCOPED_TRACE("blocks=" + std::to_string(blocks));
      const std::uint64_t lba = ++seed * 4096;
      const ByteVector data = pattern(std::size_t{blocks} * 512, seed);
      auto wr = s->scsi(write16_view(lba, data, kFileLun));
      ASSERT_EQ(wr.status, 0) << event_log(*s);
      // The window sits inside a larger buffer: the bytes on either side must stay untouched.
      ByteVector buf(data.size() + 2 * 4096, kGuard);
      MutableByteSpan window(buf.data() + 4096, data.size());
      auto r = s->scsi(read16_into(lba, blocks, window, kFileLun));
      EXPECT_EQ(r.status, 0);
      EXPECT_TRUE(r.data.empty()) << "read_into given, yet the session returned its own copy";
      EXPECT_EQ(r.read_bytes, data.size());
      EXPECT_TRUE(std::equal(data.begin(), data.end(), window.begin())) << "data differs";
      EXPECT_TRUE(std::all_of(buf.begin(), buf.begin() + 4096, [](auto b) { return b == kGuard; }))
          << "bytes before the window were written";
      EXPECT_TRUE(std::all_of(buf.end() - 4096, buf.end(), [](auto b) { return b == kGuard; }))
          << "bytes after the window were written";
    }
    EXPECT_EQ(s->stats().digest_err, 0u);
    s->logout();
  }
}

TEST_F(NetReadInto, ManyReadsInFlightEachIntoItsOwnBuffer) {
  Initiator ini;
  SessionOptions o;
  o.initial_login_retry_max = 0;
  auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), o);
  (void)s->read_capacity(kFileLun);
  constexpr int kReads = 16;
  constexpr std::uint32_t kBlocks = 256;  // 128 KiB each
  std::vector<ByteVector> written;
  for (int i = 0; i < kReads; ++i) {
    written.push_back(pattern(kBlocks * 512, 1000 + i));
    s->write(100000 + static_cast<std::uint64_t>(i) * kBlocks, written.back(), kFileLun);
  }
  std::vector<ByteVector> bufs(kReads, ByteVector(kBlocks * 512, kGuard));
  std::vector<ScsiTask> tasks;
  for (int i = 0; i < kReads; ++i) {
    tasks.push_back(s->start(read16_into(100000 + static_cast<std::uint64_t>(i) * kBlocks, kBlocks,
                                         bufs[i], kFileLun)));
  }
  for (int i = 0; i < kReads; ++i) {
    auto r = tasks[i].result.get();
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.read_bytes, kBlocks * 512);
    EXPECT_EQ(bufs[i], written[i]) << "read " << i;
  }
}

TEST_F(NetReadInto, ABufferShorterThanTheReadIsRefusedBeforeAnythingIsSent) {
  Initiator ini;
  SessionOptions o;
  o.initial_login_retry_max = 0;
  auto s = ini.login(tgtd().iqn(), Portal::parse(tgtd().portal()), o);
  ByteVector small(1024);
  const auto cmds_before = s->stats().scsicmd_pdus;
  try {
    (void)s->start(read16_into(0, 8, small, kFileLun)).result.get();
    FAIL() << "a 1 KiB buffer was accepted for a 4 KiB read";
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::invalid_argument) << e.what();
    EXPECT_NE(std::string(e.what()).find("read_into"), std::string::npos) << e.what();
  }
  ScsiCommand both = write16_view(0, small, kFileLun);
  both.write_data = small;
  try {
    (void)s->start(std::move(both)).result.get();
    FAIL() << "write_data and write_view together were accepted";
  } catch (const NetError& e) {
    EXPECT_EQ(e.errc(), Errc::invalid_argument) << e.what();
  }
  EXPECT_EQ(s->stats().scsicmd_pdus, cmds_before);
}

TEST(NetReadIntoScripted, ScriptedTargetClosingMidDataInRetriesIntoTheSameBuffer) {
  test::ScriptedTarget target;
  Initiator ini;
  SessionOptions o = test::quiet_options();
  o.replacement_timeout = Seconds{30};
  auto s = ini.login(test::ScriptedTarget::kIqn, Portal{"127.0.0.1", target.port()}, o);
  (void)s->read_capacity(0);
  target.set_misbehave(test::ScriptedTarget::Misbehave::close_mid_data_in);
  ByteVector buf(4 * 512, kGuard);
  auto r = s->scsi(read16_into(100, 4, buf, 0));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.read_bytes, buf.size());
  EXPECT_EQ(buf, test::ScriptedTarget::pattern(100, buf.size())) << event_log(*s);
  EXPECT_EQ(s->reinstatements(), 1u) << event_log(*s);
}

}  // namespace
}  // namespace iscsi::net
