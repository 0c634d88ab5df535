// multipath.conf's keys: defaults, every value form, and errors that name key, value and
// what is accepted.
#include <gtest/gtest.h>

#include "mpath/settings.hpp"

namespace iscsi::mpath {
namespace {

using namespace std::chrono_literals;

TEST(MpathSettings, DefaultsAreMultipathTools) {
  const Settings s = parse_settings({});
  EXPECT_EQ(s.polling_interval, 5000ms);
  EXPECT_EQ(s.path_selector, SelectorKind::service_time);
  EXPECT_EQ(s.path_grouping_policy, GroupingPolicy::failover);
  EXPECT_EQ(s.failback.kind, Failback::Kind::manual);
  EXPECT_EQ(s.no_path_retry.kind, NoPathRetry::Kind::fail);
  EXPECT_EQ(s.rr_min_io_rq, 1u);
  EXPECT_EQ(fast_io_fail_tmo(s), 5);
  EXPECT_EQ(s.checker_timeout, 30000ms);
}

TEST(MpathSettings, EveryKey) {
  const Settings s = parse_settings({{"polling_interval", "0.25"},
                                     {"path_selector", "round-robin 0"},
                                     {"path_grouping_policy", "multibus"},
                                     {"failback", "30"},
                                     {"no_path_retry", "12"},
                                     {"rr_min_io_rq", "4"},
                                     {"fast_io_fail_tmo", "2"},
                                     {"checker_timeout", "3"}});
  EXPECT_EQ(s.polling_interval, 250ms);
  EXPECT_EQ(s.path_selector, SelectorKind::round_robin);
  EXPECT_EQ(s.path_grouping_policy, GroupingPolicy::multibus);
  EXPECT_EQ(s.failback, (Failback{Failback::Kind::deferred, 30s}));
  EXPECT_EQ(s.no_path_retry, (NoPathRetry{NoPathRetry::Kind::checks, 12}));
  EXPECT_EQ(s.rr_min_io_rq, 4u);
  EXPECT_EQ(fast_io_fail_tmo(s), 2);
  EXPECT_EQ(s.checker_timeout, 3000ms);
  EXPECT_EQ(to_string(s.failback), "30");
  EXPECT_EQ(to_string(s.no_path_retry), "12");
  EXPECT_EQ(to_string(s.path_selector), "round-robin 0");
}

TEST(MpathSettings, ValueForms) {
  EXPECT_EQ(parse_settings({{"path_selector", "round-robin"}}).path_selector, SelectorKind::round_robin);
  EXPECT_EQ(parse_settings({{"path_selector", "queue-length 0"}}).path_selector,
            SelectorKind::queue_length);
  EXPECT_EQ(parse_settings({{"path_selector", " service-time 0 "}}).path_selector,
            SelectorKind::service_time);
  EXPECT_EQ(parse_settings({{"path_grouping_policy", "group_by_prio"}}).path_grouping_policy,
            GroupingPolicy::group_by_prio);
  EXPECT_EQ(parse_settings({{"failback", "immediate"}}).failback.kind, Failback::Kind::immediate);
  EXPECT_EQ(parse_settings({{"failback", "followover"}}).failback.kind, Failback::Kind::followover);
  EXPECT_EQ(parse_settings({{"no_path_retry", "queue"}}).no_path_retry.kind, NoPathRetry::Kind::queue);
  EXPECT_FALSE(parse_settings({{"fast_io_fail_tmo", "off"}}).fast_io_fail_tmo);
  EXPECT_FALSE(fast_io_fail_tmo(parse_settings({{"fast_io_fail_tmo", "off"}})));
}

TEST(MpathSettings, QueueIfNoPathAndNoPathRetry) {
  EXPECT_EQ(parse_settings({{"queue_if_no_path", "yes"}}).no_path_retry.kind, NoPathRetry::Kind::queue);
  EXPECT_EQ(parse_settings({{"features", "1 queue_if_no_path"}}).no_path_retry.kind,
            NoPathRetry::Kind::queue);
  EXPECT_EQ(parse_settings({{"queue_if_no_path", "no"}}).no_path_retry.kind, NoPathRetry::Kind::fail);
  // multipathd: no_path_retry overrides the feature.
  EXPECT_EQ(parse_settings({{"queue_if_no_path", "yes"}, {"no_path_retry", "fail"}}).no_path_retry.kind,
            NoPathRetry::Kind::fail);
  EXPECT_EQ(parse_settings({{"features", "1 queue_if_no_path"}, {"no_path_retry", "3"}}).no_path_retry,
            (NoPathRetry{NoPathRetry::Kind::checks, 3}));
}

void expect_error(const std::map<std::string, std::string>& m, const std::string& needle) {
  try {
    (void)parse_settings(m);
    ADD_FAILURE() << "no error for " << m.begin()->first;
  } catch (const SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(MpathSettings, ErrorsSayWhatIsAccepted) {
  expect_error({{"path_selector", "historical-service-time 0"}},
               "path_selector: \"historical-service-time 0\" is not one of \"round-robin 0\"");
  expect_error({{"path_grouping_policy", "group_by_serial"}}, "not implemented");
  expect_error({{"failback", "soon"}}, "failback: \"soon\" is not immediate, manual, followover");
  expect_error({{"failback", "0"}}, "failback: \"0\"");
  expect_error({{"no_path_retry", "-1"}}, "no_path_retry: \"-1\" is not fail, queue or a number");
  expect_error({{"rr_min_io_rq", "0"}}, "rr_min_io_rq: \"0\"");
  expect_error({{"polling_interval", "0"}}, "polling_interval: \"0\" is not a number of seconds");
  expect_error({{"polling_interval", "x"}}, "polling_interval");
  expect_error({{"fast_io_fail_tmo", "never"}}, "fast_io_fail_tmo: \"never\" is not off or");
  expect_error({{"queue_if_no_path", "maybe"}}, "yes or no");
  expect_error({{"features", "1 retain_attached_hw_handler"}}, "features");
  expect_error({{"pollinginterval", "5"}}, "unknown multipath setting \"pollinginterval\" (known: polling_interval");
}

}  // namespace
}  // namespace iscsi::mpath
