// The path state table.
#include "mpath/path_state.hpp"

#include <array>

namespace iscsi::mpath {

namespace {

struct Row {
  PathState from;
  PathEvent event;
  PathState to;
  PathAction action;
};

using S = PathState;
using E = PathEvent;
using A = PathAction;

constexpr std::array<Row, 18> kTable{{
    {S::up, E::check_up, S::up, A::none},
    {S::up, E::check_ghost, S::ghost, A::alua_change},
    {S::up, E::check_down, S::failed, A::fail},
    {S::up, E::io_transport_error, S::failed, A::fail},
    {S::up, E::io_not_accessible, S::ghost, A::alua_change},
    {S::up, E::session_down, S::failed, A::fail},

    {S::ghost, E::check_up, S::up, A::alua_change},
    {S::ghost, E::check_ghost, S::ghost, A::none},
    {S::ghost, E::check_down, S::failed, A::fail},
    {S::ghost, E::io_transport_error, S::failed, A::fail},
    {S::ghost, E::io_not_accessible, S::ghost, A::none},
    {S::ghost, E::session_down, S::failed, A::fail},

    // Late completions of commands sent before the failure change nothing; only the checker
    // brings a failed path back.
    {S::failed, E::check_up, S::up, A::reinstate},
    {S::failed, E::check_ghost, S::ghost, A::reinstate},
    {S::failed, E::check_down, S::failed, A::none},
    {S::failed, E::io_transport_error, S::failed, A::none},
    {S::failed, E::io_not_accessible, S::failed, A::none},
    {S::failed, E::session_down, S::failed, A::none},
}};

}  // namespace

std::string_view to_string(PathState s) noexcept {
  switch (s) {
    case PathState::up: return "up";
    case PathState::ghost: return "ghost";
    case PathState::failed: return "failed";
  }
  return "unknown";
}

std::string_view to_string(PathEvent e) noexcept {
  switch (e) {
    case PathEvent::check_up: return "check_up";
    case PathEvent::check_ghost: return "check_ghost";
    case PathEvent::check_down: return "check_down";
    case PathEvent::io_transport_error: return "io_transport_error";
    case PathEvent::io_not_accessible: return "io_not_accessible";
    case PathEvent::session_down: return "session_down";
  }
  return "unknown";
}

std::string_view dm_state(PathState s) noexcept {
  return s == PathState::failed ? "failed" : "active";
}

std::optional<PathTransition> path_transition(PathState state, PathEvent event) noexcept {
  for (const auto& r : kTable) {
    if (r.from == state && r.event == event) return PathTransition{r.to, r.action};
  }
  return std::nullopt;
}

std::optional<PathAction> PathMachine::on(PathEvent event) noexcept {
  const auto t = path_transition(state_, event);
  if (!t) return std::nullopt;
  state_ = t->next;
  return t->action;
}

}  // namespace iscsi::mpath
