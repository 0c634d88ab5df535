// lab-iscsi-perf option parsing: iscsi-perf's letters, long names and defaults, and clear errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "cli/cli_error.hpp"
#include "cli/perf_options.hpp"

namespace iscsi::cli {
namespace {

using ::testing::HasSubstr;

PerfOptions parse(std::vector<std::string_view> args) { return parse_perf_options(args); }

std::string error_of(std::vector<std::string_view> args) {
  try {
    (void)parse_perf_options(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no error)";
}

constexpr std::string_view kUrl = "iscsi://127.0.0.1/iqn.x:t/1";

TEST(PerfOptions, DefaultsAreIscsiPerfs) {
  auto o = parse({kUrl});
  EXPECT_EQ(o.url, kUrl);
  EXPECT_EQ(o.max_in_flight, 32u);
  EXPECT_EQ(o.blocks_per_io, 8u);
  EXPECT_EQ(o.runtime_s, 0u);
  EXPECT_FALSE(o.random);
  EXPECT_FALSE(o.write);
  EXPECT_FALSE(o.ignore_errors);
  EXPECT_EQ(o.max_reconnects, -1);
}

TEST(PerfOptions, ShortOptionsWithSeparateOrAttachedValues) {
  auto o =
      parse({"-t", "2", "-b8", "-m", "1", "-i", "iqn.2026-11.org.example:me", "-x", "3", kUrl});
  EXPECT_EQ(o.runtime_s, 2u);
  EXPECT_EQ(o.blocks_per_io, 8u);
  EXPECT_EQ(o.max_in_flight, 1u);
  EXPECT_EQ(o.initiator_name, "iqn.2026-11.org.example:me");
  EXPECT_EQ(o.max_reconnects, 3);
}

TEST(PerfOptions, LongOptionsWithSpaceOrEquals) {
  auto o = parse({"--runtime=5", "--blocks", "2048", "--max=8", "--initiator-name", "iqn.a:b",
                  "--random", "--ignore-errors", "--logging", "--write", "--random-blocks", kUrl});
  EXPECT_EQ(o.runtime_s, 5u);
  EXPECT_EQ(o.blocks_per_io, 2048u);
  EXPECT_EQ(o.max_in_flight, 8u);
  EXPECT_EQ(o.initiator_name, "iqn.a:b");
  EXPECT_TRUE(o.random);
  EXPECT_TRUE(o.ignore_errors);
  EXPECT_TRUE(o.logging);
  EXPECT_TRUE(o.write);
  EXPECT_TRUE(o.random_blocks);
}

TEST(PerfOptions, GroupedFlagsAndAValueAtTheEnd) {
  auto o = parse({"-rnwm4", kUrl});
  EXPECT_TRUE(o.random);
  EXPECT_TRUE(o.ignore_errors);
  EXPECT_TRUE(o.write);
  EXPECT_EQ(o.max_in_flight, 4u);
}

TEST(PerfOptions, UrlMayComeFirstAndDoubleDashEndsOptions) {
  EXPECT_EQ(parse({kUrl, "-t", "1"}).runtime_s, 1u);
  EXPECT_EQ(parse({"--", kUrl}).url, kUrl);
}

TEST(PerfOptions, HelpNeedsNoUrl) {
  EXPECT_TRUE(parse({"--help"}).help);
  EXPECT_TRUE(parse({"-h"}).help);
  EXPECT_THAT(perf_usage(), HasSubstr("[-t timeout] [-r|--random]"));
}

TEST(PerfOptions, SessionsAndLoginConcurrency) {
  auto o = parse({kUrl});
  EXPECT_EQ(o.sessions, 0u) << "not given: one session per URL, several URLs are paths";
  EXPECT_EQ(o.login_concurrency, 64u);
  o = parse({"--sessions", "1000", "--login-concurrency=8", kUrl, "iscsi://127.0.0.1/iqn.x:u/1"});
  EXPECT_EQ(o.sessions, 1000u);
  EXPECT_EQ(o.login_concurrency, 8u);
  EXPECT_EQ(o.urls.size(), 2u);
  EXPECT_THAT(error_of({"--sessions", "0", kUrl}),
              HasSubstr("--sessions: expected sessions per URL"));
  EXPECT_THAT(error_of({"--sessions", "65536", kUrl}), HasSubstr("--sessions"));
  EXPECT_THAT(error_of({"--login-concurrency", "0", kUrl}), HasSubstr("--login-concurrency"));
  EXPECT_THAT(error_of({"--sessions", "2", "-M", "path_selector=round-robin 0", kUrl}),
              HasSubstr("--sessions and -M do not mix"));
}

TEST(PerfOptions, ErrorsNameTheOptionAndTheValue) {
  EXPECT_THAT(error_of({"-m", "0", kUrl}), HasSubstr("-m/--max: expected requests in flight"));
  EXPECT_THAT(error_of({"-m", "abc", kUrl}), HasSubstr("got 'abc'"));
  EXPECT_THAT(error_of({"-b", "-1", kUrl}), HasSubstr("-b/--blocks"));
  EXPECT_THAT(error_of({"-b", "8x", kUrl}), HasSubstr("got '8x'"));
  EXPECT_THAT(error_of({"-t", "", kUrl}), HasSubstr("-t/--runtime"));
  EXPECT_THAT(error_of({"-x", "-2", kUrl}), HasSubstr("-x/--max-reconnects"));
  EXPECT_THAT(error_of({"-q", kUrl}), HasSubstr("unknown option '-q'"));
  EXPECT_THAT(error_of({"--quick", kUrl}), HasSubstr("unknown option '--quick'"));
  EXPECT_THAT(error_of({"--random=1", kUrl}), HasSubstr("takes no value"));
  EXPECT_THAT(error_of({kUrl, "-m"}), HasSubstr("-m/--max needs a value"));
  EXPECT_THAT(error_of({"--max"}), HasSubstr("needs a value"));
  EXPECT_THAT(error_of({"-i", "", kUrl}), HasSubstr("initiator name is empty"));
  EXPECT_THAT(error_of({}), HasSubstr("missing the iSCSI URL"));
  EXPECT_THAT(error_of({kUrl, "extra"}), HasSubstr("'extra' is extra"));
}

}  // namespace
}  // namespace iscsi::cli
