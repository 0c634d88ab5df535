// The state of one path, as one table keyed by (state, event) like the login machine: every
// pair is listed, an unlisted one is an error that leaves the machine where it was.
//
//   up      the path takes I/O (checker answered, ALUA state active or no ALUA)
//   ghost   the path answers but ALUA says no I/O (standby, unavailable, transitioning,
//           offline): multipathd's PATH_GHOST; it is not failed, it is simply not chosen
//   failed  the path is down (dm-multipath's failed path): a connection error, a session not
//           logged in, a checker command that failed or timed out
//
// Events come from the checker (check_up, check_ghost, check_down), from I/O completions
// (io_transport_error, io_not_accessible) and from the session watcher (session_down). A path
// leaves `failed` only through the checker, as in multipathd: a session that logs in again is
// checked at once, and reinstated when the check answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace iscsi::mpath {

enum class PathState : std::uint8_t { up, ghost, failed };
enum class PathEvent : std::uint8_t {
  check_up,            // TEST UNIT READY answered and ALUA allows I/O
  check_ghost,         // TEST UNIT READY answered, ALUA does not allow I/O
  check_down,          // the check failed: transport error, timeout, or a status meaning down
  io_transport_error,  // a command on the path failed with a transport-level error
  io_not_accessible,   // a command got an ALUA "not accessible" sense (04/0A, 04/0B, 04/0C)
  session_down,        // the path's session is not logged in (failed, in recovery, closed)
};
// What a transition means for the event log and the group choice.
enum class PathAction : std::uint8_t {
  none,
  fail,        // path_failed
  reinstate,   // path_reinstated (from failed)
  alua_change, // up <-> ghost: the group's usable paths changed
};

std::string_view to_string(PathState s) noexcept;   // "up", "ghost", "failed"
std::string_view to_string(PathEvent e) noexcept;
// multipathd show paths' dm state column: "active" or "failed".
std::string_view dm_state(PathState s) noexcept;

struct PathTransition {
  PathState next;
  PathAction action;
};
// The table's row for (state, event); nullopt when the pair is not listed.
std::optional<PathTransition> path_transition(PathState state, PathEvent event) noexcept;

class PathMachine {
 public:
  PathState state() const noexcept { return state_; }
  // Applies the event; an unlisted pair returns nullopt and changes nothing.
  std::optional<PathAction> on(PathEvent event) noexcept;

 private:
  PathState state_ = PathState::up;
};

}  // namespace iscsi::mpath
