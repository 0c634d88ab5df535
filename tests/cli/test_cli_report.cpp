// The output lines of lab-iscsi-perf, in iscsi-perf's format, and the parser scripts rely on.
#include <gtest/gtest.h>

#include "cli/perf_report.hpp"

namespace iscsi::cli {
namespace {

TEST(PerfReport, FinalLineIsIscsiPerfs) {
  // MB/s = iops * bytes per request >> 20, as iscsi-perf computes it.
  EXPECT_EQ(final_line(110019, 4096), "iops average 110019 (429 MB/s)");
  EXPECT_EQ(final_line(0, 4096), "iops average 0 (0 MB/s)");
}

TEST(PerfReport, ProgressLineIsIscsiPerfs) {
  ProgressFigures f;
  f.remaining_s = 3661;
  f.lba = 875080;
  f.iops_current = 109352;
  f.bytes_current = 109352ull * 4096;
  f.iops_average = 109352;
  f.bytes_average = 109352ull * 4096;
  f.in_flight = 32;
  f.busy = 0;
  EXPECT_EQ(progress_line(f),
            "01:01:01 - lba 875080, iops current 109352 (427 MB/s), iops average 109352 "
            "(427 MB/s), in_flight 32, busy 0");
}

TEST(PerfReport, ParsesTheLastFinalLineOfAWholeRun) {
  // Byte for byte what libiscsi 1.19's iscsi-perf printed against tgtd (progress lines are
  // rewritten in place with \r).
  const std::string out =
      "iscsi-perf version 0.1\n\nconnected to iscsi://127.0.0.1:3299/iqn.x:t/1\n\n"
      "\r00:00:01 - lba 875080, iops current 109352 (427 MB/s), iops average 109352 (427 MB/s), "
      "in_flight 32, busy 0        \riops average 110019 (429 MB/s)          \n\nfinished.\n";
  auto f = parse_final_line(out);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->iops, 110019u);
  EXPECT_EQ(f->mb_per_s, 429u);
}

TEST(PerfReport, NoFinalLineInAnAbortedRun) {
  EXPECT_FALSE(
      parse_final_line("\r00:00:01 - lba 8, iops current 1 (0 MB/s), iops average 1 "
                       "(0 MB/s), in_flight 1, busy 0\nABORTED!\n"));
  EXPECT_FALSE(parse_final_line("iops average x (1 MB/s)\n"));
  EXPECT_FALSE(parse_final_line("iops average 5 (1 MB/s) trailing\n"));
}

}  // namespace
}  // namespace iscsi::cli
