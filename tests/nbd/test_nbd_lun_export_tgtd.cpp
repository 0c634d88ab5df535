// LunExport against tgtd, without nbdkit: what NBD clients that honour the advertised block
// size never send (libnbd refuses unaligned requests itself) still works, because nbdkit 1.32
// does not enforce it for other clients: unaligned reads, read-modify-write of partial blocks
// from several threads at once, unaligned zeroing; and what the LU reports.
#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>
#include <vector>

#include "nbd/lun_export.hpp"
#include "support/tgtd_fixture.hpp"

namespace iscsi::nbd {
namespace {

using ::iscsi::test::TgtdTarget;
constexpr std::uint64_t kLunBytes = 4u << 20;

ByteVector random_bytes(std::size_t n, std::uint32_t seed) {
  ByteVector v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

class NbdLunExportTgtd : public ::iscsi::test::TgtdFixture {
 protected:
  ::iscsi::test::TgtdOptions options() const override {
    ::iscsi::test::TgtdOptions o;
    o.targets[0].file_lun_bytes = kLunBytes;
    return o;
  }
  std::unique_ptr<LunExport> open() {
    session_ = ini_.login(tgtd().iqn(), net::Portal::parse(tgtd().portal()), {});
    return std::make_unique<LunExport>(session_, TgtdTarget::kFileLun);
  }
  ByteVector backing() {
    std::ifstream in(tgtd().backing_file(), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  net::Initiator ini_;
  std::shared_ptr<net::Session> session_;
};

TEST_F(NbdLunExportTgtd, FactsComeFromTheLu) {
  auto lun = open();
  EXPECT_EQ(lun->size(), kLunBytes);
  EXPECT_EQ(lun->block_length(), 512u);
  EXPECT_TRUE(lun->facts().mode_sense_ok);
  EXPECT_FALSE(lun->facts().write_protected);
  EXPECT_FALSE(lun->facts().unmap);  // tgtd without thin_provisioning
  EXPECT_FALSE(lun->facts().summary().empty());
}

TEST_F(NbdLunExportTgtd, ConcurrentUnalignedWritesLoseNoBytes) {
  auto lun = open();
  ByteVector expect = random_bytes(kLunBytes, 1);
  lun->pwrite(expect, 0, false);
  // 4 threads write 1000-byte pieces round robin over the first 1 MB: neighbouring pieces share
  // a 512-byte block and belong to different threads, so every shared block is patched twice
  // at nearly the same time.
  const ByteVector fresh = random_bytes(1'000'000, 2);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t piece = t; piece < 1000; piece += 4) {
        try {
          lun->pwrite(ByteSpan(fresh).subspan(piece * 1000, 1000), 7 + piece * 1000, false);
        } catch (...) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  std::copy(fresh.begin(), fresh.end(), expect.begin() + 7);
  ByteVector back(kLunBytes);
  lun->pread(back, 0);
  EXPECT_TRUE(back == expect) << "read back through the export differs";
  EXPECT_TRUE(backing() == expect) << "tgtd's backing file differs";
  // An unaligned read returns exactly the bytes asked for.
  ByteVector part(777);
  lun->pread(part, 12345);
  EXPECT_TRUE(std::equal(part.begin(), part.end(), expect.begin() + 12345));
}

TEST_F(NbdLunExportTgtd, ZeroUnalignedAndAlignedAndFlush) {
  auto lun = open();
  ByteVector expect = random_bytes(kLunBytes, 3);
  lun->pwrite(expect, 0, true);
  lun->zero(100'000, 1000, false, false, false);     // partial blocks at both ends
  lun->zero(1u << 20, 1u << 20, true, true, false);  // whole blocks: WRITE SAME(16)
  EXPECT_TRUE(lun->write_same_supported());
  lun->flush();
  std::fill(expect.begin() + 1000, expect.begin() + 101'000, 0);
  std::fill(expect.begin() + (1u << 20), expect.begin() + (2u << 20), 0);
  EXPECT_TRUE(backing() == expect);
  // A fast zero of partial blocks would need a write: refused, not done slowly.
  try {
    lun->zero(100, 3, false, false, true);
    FAIL() << "fast zero of a partial block was accepted";
  } catch (const IoError& e) {
    EXPECT_EQ(e.error(), EOPNOTSUPP);
  }
  // Trim on an LU without LBPU: refused with EOPNOTSUPP, nothing changed.
  EXPECT_THROW(lun->trim(4096, 0), IoError);
  EXPECT_TRUE(backing() == expect);
}

TEST_F(NbdLunExportTgtd, ReadPastTheEndIsAnErrorInWords) {
  auto lun = open();
  ByteVector buf(4096);
  try {
    lun->pread(buf, kLunBytes);
    FAIL() << "a read past the end succeeded";
  } catch (const IoError& e) {
    EXPECT_EQ(e.error(), EINVAL) << e.what();
    EXPECT_NE(std::string(e.what()).find("ILLEGAL REQUEST"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace iscsi::nbd
