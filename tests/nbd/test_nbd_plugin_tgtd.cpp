// nbdkit-lab-iscsi-plugin.so end to end: a real tgtd on loopback, nbdkit serving its file LUN
// through the plugin on a Unix socket (--run: the server lives as long as the command), and
// NBD clients (nbdcopy, nbdinfo, fio's nbd engine) doing I/O through it. nbdkit's log filter
// records every NBD request and its result, so each test can see that its request reached the
// plugin and what came back; the bytes are checked on tgtd's backing file itself.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <thread>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "net/fault_proxy.hpp"
#include "support/tgtd_fixture.hpp"

#ifdef NBD_PLUGIN_PATH

namespace iscsi::test {
namespace {

namespace fs = std::filesystem;
constexpr std::uint64_t kLunBytes = 8u << 20;

std::vector<char> random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<char> v(n);
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t x = rng();
    for (std::size_t j = 0; j < 8 && i + j < n; ++j) v[i + j] = static_cast<char>(x >> (8 * j));
  }
  return v;
}

void write_file(const fs::path& p, const std::vector<char>& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<char> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// FNV-1a 64: a checksum to print when two files differ (the comparison itself is bytewise).
std::uint64_t checksum(const std::vector<char>& v) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : v) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

bool all_zero(const std::vector<char>& v, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    if (v[i] != 0) return false;
  }
  return true;
}

int count(const std::string& text, const std::regex& re) {
  return static_cast<int>(std::distance(std::sregex_iterator(text.begin(), text.end(), re),
                                        std::sregex_iterator()));
}

class NbdPluginTgtd : public TgtdFixture {
 protected:
  TgtdOptions options() const override {
    TgtdOptions o;
    o.targets[0].file_lun_bytes = kLunBytes;
    return o;
  }

  void SetUp() override {
    TgtdFixture::SetUp();
    dir_ = fs::temp_directory_path() / ("nbd-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
    else std::printf("kept %s (nbdkit.log)\n", dir_.c_str());
    TgtdFixture::TearDown();
  }

  std::string url(int lun = TgtdTarget::kFileLun) {
    return "url=iscsi://" + tgtd().portal() + "/" + tgtd().iqn() + "/" + std::to_string(lun);
  }

  // nbdkit -U - --run SCRIPT with the plugin and the log filter; $uri names the export in the
  // script. `params` go after the URL (open-iscsi settings, ...).
  ProcessResult serve(const std::string& script, const std::vector<std::string>& params = {},
                      std::chrono::seconds timeout = std::chrono::seconds{120}, bool verbose = false) {
    std::vector<std::string> argv = {"/usr/bin/nbdkit", "-U", "-"};
    if (verbose) argv.push_back("-v");
    argv.insert(argv.end(), {"--filter=log", NBD_PLUGIN_PATH, "logfile=" + log().string(), url()});
    argv.insert(argv.end(), params.begin(), params.end());
    // "cd; script", not "cd && script": a script that starts with a background job would take
    // the cd into the background with it.
    argv.insert(argv.end(), {"--run", "cd " + dir_.string() + " || exit 1; " + script});
    std::vector<std::string> env;
#ifdef NBD_PLUGIN_PRELOAD
    // The asan build: nbdkit (and what --run starts) is not instrumented, so ASan's runtime is
    // preloaded for the plugin, and leak checks are left to the instrumented tests.
    env = {"LD_PRELOAD=" NBD_PLUGIN_PRELOAD, "ASAN_OPTIONS=detect_leaks=0"};
#endif
    return run_process(argv, env, timeout);
  }

  fs::path log() const { return dir_ / "nbdkit.log"; }
  std::string log_text() const {
    auto v = read_file(log());
    return {v.begin(), v.end()};
  }
  std::vector<char> backing() { return read_file(tgtd().backing_file()); }

  fs::path dir_;
};

TEST_F(NbdPluginTgtd, NbdcopyRoundTripKeepsEveryByte) {
  const auto in = random_bytes(kLunBytes, 14);
  write_file(dir_ / "in.bin", in);
  auto r = serve("nbdcopy in.bin \"$uri\" && nbdcopy \"$uri\" out.bin");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto out = read_file(dir_ / "out.bin");
  const auto lu = backing();
  EXPECT_EQ(checksum(out), checksum(in));
  EXPECT_TRUE(out == in) << "read back through NBD differs";
  EXPECT_TRUE(lu == in) << "tgtd's backing file differs from what was copied in";
  const std::string l = log_text();
  // Size and block size come from READ CAPACITY: 8 MiB of 512-byte blocks.
  EXPECT_NE(l.find("size=0x800000 minsize=0x200"), std::string::npos) << l.substr(0, 2000);
  EXPECT_GT(count(l, std::regex("Write id=\\d+ offset=0x[0-9a-f]+ count=0x[0-9a-f]+ fua=0 \\.\\.\\.")), 0);
  EXPECT_EQ(count(l, std::regex("error=")), 0) << l;
}

TEST_F(NbdPluginTgtd, NbdinfoShowsTheLu) {
  auto r = serve("nbdinfo --json \"$uri\"; nbdinfo --can trim \"$uri\"; echo can_trim=$?");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"export-size\": 8388608"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"is_read_only\": false"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"can_flush\": true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"can_zero\": true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"can_multi_conn\": true"), std::string::npos) << r.out;
  // tgtd's file LUN without thin_provisioning: LBPU = 0, so no trim.
  EXPECT_NE(r.out.find("\"can_trim\": false"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("can_trim=2"), std::string::npos) << r.out;
}

TEST_F(NbdPluginTgtd, ReadOnlyLuIsAReadOnlyExport) {
  tgtd().tgtadm({"--mode", "logicalunit", "--op", "update", "--tid", std::to_string(tgtd().tid()),
                 "--lun", std::to_string(TgtdTarget::kFileLun), "--params", "readonly=1"});
  write_file(dir_ / "in.bin", random_bytes(1u << 20, 5));
  auto r = serve("nbdinfo --json \"$uri\"; nbdcopy in.bin \"$uri\"; echo copy_rc=$?");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // MODE SENSE's WP bit: nbdkit advertises NBD_FLAG_READ_ONLY and refuses writes itself.
  EXPECT_NE(r.out.find("\"is_read_only\": true"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("copy_rc=0"), std::string::npos) << r.out << r.err;
  EXPECT_TRUE(all_zero(backing(), 0, 1u << 20)) << "a read-only LU was written";
}

TEST_F(NbdPluginTgtd, ZeroAndFlushReachTheLu) {
  // Fill the LU, then copy in a file whose last 7 MiB are a hole: nbdcopy zeroes holes with
  // NBD_CMD_WRITE_ZEROES (WRITE SAME(16) here), and --flush ends with NBD_CMD_FLUSH.
  write_file(dir_ / "fill.bin", random_bytes(kLunBytes, 1));
  auto head = random_bytes(1u << 20, 2);
  write_file(dir_ / "sparse.bin", head);
  fs::resize_file(dir_ / "sparse.bin", kLunBytes);
  auto r = serve("nbdcopy fill.bin \"$uri\" && nbdcopy --flush sparse.bin \"$uri\"", {},
                 std::chrono::seconds{120}, true);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lu = backing();
  ASSERT_EQ(lu.size(), kLunBytes);
  EXPECT_TRUE(std::equal(head.begin(), head.end(), lu.begin()));
  EXPECT_TRUE(all_zero(lu, head.size(), lu.size())) << "the zeroed range does not read back zeroes";
  const std::string l = log_text();
  EXPECT_GT(count(l, std::regex("\\.\\.\\.Zero id=\\d+ return=0")), 0) << l;
  EXPECT_GT(count(l, std::regex("\\.\\.\\.Flush id=\\d+ return=0")), 0) << l;
  // The zero went out as WRITE SAME, not as nbdkit's fallback of writing zeroes.
  EXPECT_EQ(r.err.find("WRITE SAME(16): not supported"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("zero: "), std::string::npos);
}

TEST_F(NbdPluginTgtd, TrimUnmapsWhenTheLuIsThinProvisioned) {
  tgtd().tgtadm({"--mode", "logicalunit", "--op", "update", "--tid", std::to_string(tgtd().tid()),
                 "--lun", std::to_string(TgtdTarget::kFileLun), "--params", "thin_provisioning=1"});
  write_file(dir_ / "fill.bin", random_bytes(kLunBytes, 3));
  auto r = serve(
      "nbdcopy fill.bin \"$uri\" && nbdinfo --can trim \"$uri\" && "
      "fio --name=trim --ioengine=nbd --uri=\"$uri\" --rw=trim --bs=64k --offset=1m --size=2m "
      "--iodepth=4");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string l = log_text();
  EXPECT_GT(count(l, std::regex("\\.\\.\\.Trim id=\\d+ return=0")), 0) << l;
  const auto lu = backing();
  ASSERT_EQ(lu.size(), kLunBytes);
  EXPECT_TRUE(all_zero(lu, 1u << 20, 3u << 20)) << "the unmapped range still holds data";
  EXPECT_FALSE(all_zero(lu, 0, 1u << 20));
  EXPECT_FALSE(all_zero(lu, 3u << 20, kLunBytes));
}

// A script step: wait (up to 60 s) until nbdkit's log filter shows a completed read, so that a
// fault comes with reads in flight, not after a fixed sleep: on a loaded machine fio can take
// longer than a sleep to connect, and then it meets the fault at connect instead of in a read.
const std::string kUntilReadsFlow =
    "for i in $(seq 1200); do grep -q '\\.\\.\\.Read id=' nbdkit.log && break; sleep 0.05; "
    "done; sleep 0.2; ";

TEST_F(NbdPluginTgtd, DeletedLunFailsIoAtOnceWithEio) {
  // The target stays, the LU goes: tgtd answers LOGICAL UNIT NOT SUPPORTED, which the client
  // sees as EIO at once (no timer involved).
  const std::string script =
      "fio --name=r --ioengine=nbd --uri=\"$uri\" --rw=randread --bs=4k --iodepth=4 "
      "--time_based --runtime=100 > fio.out 2>&1 & f=$!; " + kUntilReadsFlow +
      // tgtd refuses to delete an LU with commands in flight ("device busy"): ask until it does
      "for i in $(seq 100); do /usr/sbin/tgtadm -C " + std::to_string(tgtd().control_port()) +
      " --lld iscsi --mode logicalunit --op delete --tid " + std::to_string(tgtd().tid()) +
      " --lun " + std::to_string(TgtdTarget::kFileLun) +
      " 2>>tgtadm.err && echo deleted && break; sleep 0.05; done; "
      "t0=$(date +%s%N); wait $f; rc=$?; t1=$(date +%s%N); "
      "echo fio_rc=$rc elapsed_ms=$(( (t1 - t0) / 1000000 ))";
  auto r = serve(script, {}, std::chrono::seconds{150});
  ASSERT_FALSE(r.timed_out) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("fio_rc=(\\d+) elapsed_ms=(\\d+)")))
      << r.out << r.err;
  ASSERT_NE(r.out.find("deleted"), std::string::npos) << "tgtd kept the LU: " << r.out;
  EXPECT_NE(m[1], "0") << "fio did not see an error";
  EXPECT_LT(std::stoi(m[2]), 10000);
  const std::string l = log_text();
  EXPECT_GT(count(l, std::regex("\\.\\.\\.Read id=\\d+ return=-1 error=EIO")), 0);
  EXPECT_NE(r.err.find("LOGICAL UNIT NOT SUPPORTED"), std::string::npos) << r.err;
}

TEST_F(NbdPluginTgtd, KilledTargetFailsIoWithinReplacementTimeout) {
#ifdef NBD_PLUGIN_PRELOAD
  // Under the asan preset the reads fail in time, but the new connection afterwards leaves a
  // forked nbdkit stuck in exit (a lock held across fork with ASan preloaded: glibc's
  // setlocale lock in _dl_call_fini). Not understood yet; the default build runs this test.
  GTEST_SKIP() << "hangs in nbdkit's exit with ASan preloaded (see the comment)";
#endif
  // Reads in flight, then tgtd is killed: the session fails, relogin is refused, and after
  // replacement_timeout (2 s) the reads fail with EIO. The process timeout (150 s) catches a
  // hang; the bound asserted is much tighter.
  const std::string script =
      "fio --name=r --ioengine=nbd --uri=\"$uri\" --rw=randread --bs=4k --iodepth=4 "
      "--time_based --runtime=100 > fio.out 2>&1 & f=$!; " + kUntilReadsFlow + "kill -9 " +
      std::to_string(tgtd().pid()) +
      "; t0=$(date +%s%N); wait $f; rc=$?; t1=$(date +%s%N); "
      "echo fio_rc=$rc elapsed_ms=$(( (t1 - t0) / 1000000 )); "
      "t0=$(date +%s%N); nbdinfo \"$uri\" >/dev/null 2>&1; rc=$?; t1=$(date +%s%N); "
      "echo info_rc=$rc info_ms=$(( (t1 - t0) / 1000000 ))";
  const auto t0 = std::chrono::steady_clock::now();
  auto r = serve(script,
                 {"node.session.timeo.replacement_timeout=2",
                  "node.conn0.timeo.noop_out_interval=1", "node.conn0.timeo.noop_out_timeout=2",
                  "node.session.initial_login_retry_max=1"},
                 std::chrono::seconds{150});
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.timed_out) << "nbdkit + fio hung: " << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("fio_rc=(\\d+) elapsed_ms=(\\d+)")))
      << r.out << r.err;
  EXPECT_NE(m[1], "0") << "fio did not see an error: " << r.out;
  std::printf("reads failed %s ms after the kill\n", m[2].str().c_str());
  EXPECT_LT(std::stoi(m[2]), 20000) << "reads failed only after " << m[2] << " ms";
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("info_rc=(\\d+) info_ms=(\\d+)"))) << r.out;
  EXPECT_NE(m[1], "0") << "a new connection to a dead target succeeded";
  std::printf("a new connection failed after %s ms\n", m[2].str().c_str());
  EXPECT_LT(std::stoi(m[2]), 60000);
  EXPECT_LT(took, std::chrono::seconds{100});
  const std::string l = log_text();
  EXPECT_GT(count(l, std::regex("\\.\\.\\.Read id=\\d+ return=-1 error=EIO")), 0) << l.substr(l.size() > 3000 ? l.size() - 3000 : 0);
  EXPECT_NE(r.err.find("replacement_timeout"), std::string::npos) << r.err;
}

// Two url= make the export a multipath device (mpath::Device) over two portals of tgtd; the
// second path goes through a FaultProxy. nbdcopy streams 8 MiB from a pipe: the first 3 MiB,
// then the script waits until the test has blackholed the second path (its connection stays
// open and moves no byte; new connections are refused), then the rest. Writes that round-robin
// sends to the dead path hang until the NOP-Out ping fails the session (1 + 2 s) and come back
// after fast_io_fail_tmo (1 s, the sessions' replacement_timeout); the device sends them again
// on the first path. nbdcopy exits 0, tgtd's backing file holds every byte, and the device's
// events (logged at close) show the path failed and commands failed over.
TEST_F(NbdPluginTgtd, MultipathExportSurvivesAPathDyingMidCopy) {
  const std::string second = tgtd().add_portal();
  const auto second_port = std::stoi(second.substr(second.find(':') + 1));
  net::test::FaultProxy proxy("127.0.0.1", static_cast<std::uint16_t>(second_port));
  const auto in = random_bytes(kLunBytes, 21);
  write_file(dir_ / "in.bin", in);
  constexpr std::size_t kFirst = 3u << 20;
  const std::string script =
      "{ head -c " + std::to_string(kFirst) + " in.bin; "
      "for i in $(seq 600); do [ -e cut ] && break; sleep 0.05; done; "
      "tail -c +" + std::to_string(kFirst + 1) + " in.bin; } | nbdcopy --flush - \"$uri\"; "
      "echo copy_rc=$?";
  auto run = std::async(std::launch::async, [&] {
    return serve(script,
                 {"url=iscsi://" + proxy.portal() + "/" + tgtd().iqn() + "/" +
                      std::to_string(TgtdTarget::kFileLun),
                  "path_grouping_policy=multibus", "path_selector=round-robin 0",
                  "fast_io_fail_tmo=1", "polling_interval=1",
                  "node.conn0.timeo.noop_out_interval=1", "node.conn0.timeo.noop_out_timeout=2"},
                 std::chrono::seconds{120}, true);
  });
  // Wait until writes arrive (nbdkit's log filter), then the second path dies.
  const std::regex write_done("\\.\\.\\.Write id=\\d+ return=0");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (count(log_text(), write_done) < 8 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  const int writes_before_cut = count(log_text(), write_done);
  proxy.refuse(true);
  proxy.blackhole(true);
  write_file(dir_ / "cut", {});
  auto r = run.get();
  ASSERT_FALSE(r.timed_out) << r.err;
  ASSERT_GE(writes_before_cut, 8) << "no writes reached the plugin: " << r.out << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("copy_rc=0"), std::string::npos) << r.out << r.err;
  const auto lu = backing();
  EXPECT_EQ(checksum(lu), checksum(in));
  EXPECT_TRUE(lu == in) << "tgtd's backing file differs from what was copied in";
  // What the device saw, for the log: path failed, failovers, reinstated.
  const std::regex event("multipath event: [^\\n]*");
  for (std::sregex_iterator it(r.err.begin(), r.err.end(), event), end; it != end; ++it) {
    std::printf("%s\n", it->str().c_str());
  }
  const int writes = count(log_text(), write_done);
  std::printf("writes before the cut: %d, in all: %d\n", writes_before_cut, writes);
  // The export was the device over both paths, and the second one failed under the copy.
  EXPECT_NE(r.err.find("multipath of 2 paths"), std::string::npos) << r.err.substr(0, 3000);
  EXPECT_NE(r.err.find("multipath event: path_failed " + proxy.portal()), std::string::npos)
      << r.err.substr(r.err.size() > 6000 ? r.err.size() - 6000 : 0);
  const std::string tail = r.err.substr(r.err.size() > 6000 ? r.err.size() - 6000 : 0);
  EXPECT_NE(r.err.find("multipath event: io_failover"), std::string::npos)
      << "no command was in flight on the dead path: " << tail;
  EXPECT_GT(writes, writes_before_cut) << "nothing was written after the cut";
  EXPECT_EQ(count(log_text(), std::regex("error=")), 0) << log_text();
}

}  // namespace
}  // namespace iscsi::test
#else
// Built without nbdkit-plugin-dev: say so as a failure, not silence.
TEST(NbdPluginTgtd, NeedsThePlugin) { FAIL() << "nbdkit-plugin-dev missing: the plugin was not built"; }
#endif
