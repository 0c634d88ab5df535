// The path checker's reading of a TEST UNIT READY answer, as multipathd's "tur" checker reads
// it (sans-IO; the device sends the command every polling_interval):
//   GOOD, or a UNIT ATTENTION (the device answered; the condition is cleared)   -> answered
//   CHECK CONDITION NOT READY 04/0B standby, 04/0C unavailable, 04/0A transitioning
//                                                                                -> ghost
//   no status (transport error, session not logged in), any other status or sense
//                                                                                -> down
// An answered path of an LU with ALUA then has REPORT TARGET PORT GROUPS say whether it is up
// (active states) or ghost.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include "proto/scsi/alua.hpp"
#include "proto/session/session.hpp"

namespace iscsi::mpath {

struct CheckOutcome {
  enum class Kind : std::uint8_t { answered, ghost, down };
  Kind kind = Kind::down;
  scsi::AluaSense alua = scsi::AluaSense::none;  // the ALUA code the answer carried, if any
  std::string why;                               // for down and ghost: what was seen
};

CheckOutcome classify_tur(const session::ScsiResult* result, const std::exception_ptr& error);

// The AccessState an ALUA "not accessible" code stands for (standby, unavailable,
// transitioning); active/optimized for anything else.
scsi::AccessState state_of(scsi::AluaSense s) noexcept;

}  // namespace iscsi::mpath
