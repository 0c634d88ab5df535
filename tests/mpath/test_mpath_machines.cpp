// The path state table and the no_path_retry table: every listed pair, and what they do.
#include <gtest/gtest.h>

#include "mpath/no_path.hpp"
#include "mpath/path_state.hpp"

namespace iscsi::mpath {
namespace {

constexpr PathState kStates[] = {PathState::up, PathState::ghost, PathState::failed};
constexpr PathEvent kEvents[] = {PathEvent::check_up,   PathEvent::check_ghost,
                                 PathEvent::check_down, PathEvent::io_transport_error,
                                 PathEvent::io_not_accessible, PathEvent::session_down};

TEST(MpathPathState, EveryPairIsListed) {
  for (auto s : kStates) {
    for (auto e : kEvents) {
      EXPECT_TRUE(path_transition(s, e)) << to_string(s) << " " << to_string(e);
    }
  }
}

TEST(MpathPathState, FailureAndReinstatement) {
  PathMachine m;
  EXPECT_EQ(m.state(), PathState::up);
  EXPECT_EQ(m.on(PathEvent::io_transport_error), PathAction::fail);
  EXPECT_EQ(m.state(), PathState::failed);
  EXPECT_EQ(dm_state(m.state()), "failed");
  // Late completions and the watcher change nothing on a failed path; only the checker does.
  EXPECT_EQ(m.on(PathEvent::io_transport_error), PathAction::none);
  EXPECT_EQ(m.on(PathEvent::session_down), PathAction::none);
  EXPECT_EQ(m.on(PathEvent::io_not_accessible), PathAction::none);
  EXPECT_EQ(m.state(), PathState::failed);
  EXPECT_EQ(m.on(PathEvent::check_up), PathAction::reinstate);
  EXPECT_EQ(m.state(), PathState::up);
  EXPECT_EQ(dm_state(m.state()), "active");
}

TEST(MpathPathState, GhostIsNotFailed) {
  PathMachine m;
  EXPECT_EQ(m.on(PathEvent::io_not_accessible), PathAction::alua_change);
  EXPECT_EQ(m.state(), PathState::ghost);
  EXPECT_EQ(dm_state(m.state()), "active");
  EXPECT_EQ(m.on(PathEvent::check_ghost), PathAction::none);
  EXPECT_EQ(m.on(PathEvent::check_up), PathAction::alua_change);
  EXPECT_EQ(m.on(PathEvent::check_down), PathAction::fail);
  EXPECT_EQ(m.on(PathEvent::check_ghost), PathAction::reinstate);
  EXPECT_EQ(m.state(), PathState::ghost);
  EXPECT_EQ(m.on(PathEvent::session_down), PathAction::fail);
}

using NP = NoPathMachine;

TEST(MpathNoPath, FailFailsAtOnce) {
  NP m({NoPathRetry::Kind::fail, 0});
  EXPECT_EQ(m.on(NP::Event::paths_lost), NP::Action::fail_now);
  EXPECT_EQ(m.state(), NP::State::failing);
  EXPECT_EQ(m.on(NP::Event::tick), NP::Action::none);
  EXPECT_EQ(m.on(NP::Event::path_back), NP::Action::resume);
  EXPECT_EQ(m.state(), NP::State::serving);
}

TEST(MpathNoPath, QueueQueuesForEver) {
  NP m({NoPathRetry::Kind::queue, 0});
  EXPECT_EQ(m.on(NP::Event::paths_lost), NP::Action::start_queueing);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(m.on(NP::Event::tick), NP::Action::none);
  EXPECT_EQ(m.state(), NP::State::queueing);
  EXPECT_EQ(m.on(NP::Event::path_back), NP::Action::resume);
}

TEST(MpathNoPath, CountedChecksThenFail) {
  NP m({NoPathRetry::Kind::checks, 3});
  EXPECT_EQ(m.on(NP::Event::paths_lost), NP::Action::start_queueing);
  EXPECT_EQ(m.on(NP::Event::tick), NP::Action::none);
  EXPECT_EQ(m.on(NP::Event::tick), NP::Action::none);
  EXPECT_EQ(m.ticks(), 2u);
  EXPECT_EQ(m.on(NP::Event::tick), NP::Action::give_up);
  EXPECT_EQ(m.state(), NP::State::failing);
  // A path back re-arms the countdown.
  EXPECT_EQ(m.on(NP::Event::path_back), NP::Action::resume);
  EXPECT_EQ(m.on(NP::Event::paths_lost), NP::Action::start_queueing);
  EXPECT_EQ(m.ticks(), 0u);
}

TEST(MpathNoPath, UnlistedPairsAreErrors) {
  NP m({NoPathRetry::Kind::queue, 0});
  EXPECT_FALSE(m.on(NP::Event::tick));
  EXPECT_FALSE(m.on(NP::Event::path_back));
  EXPECT_EQ(m.state(), NP::State::serving);
  (void)m.on(NP::Event::paths_lost);
  EXPECT_FALSE(m.on(NP::Event::paths_lost));
  EXPECT_EQ(m.state(), NP::State::queueing);
}

}  // namespace
}  // namespace iscsi::mpath
