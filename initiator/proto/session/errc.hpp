// Error codes of the full-feature-phase session area (category "iscsi.session"). These are the
// errors the session returns to its caller (a request it cannot take, an input in the wrong
// state). A protocol violation by the target is not one of these: it fails the connection and is
// classified as an iscsi::ConnError (ISCSI_ERR_*), reported through an Event; receive() then
// returns Errc::connection_failed so the pump knows to stop feeding that connection.
#pragma once

#include <cstdint>
#include <string_view>

#include "proto/common/error.hpp"

namespace iscsi::session {

enum class Errc : std::uint8_t {
  ok = 0,
  not_logged_in,          // the session or connection is not in a state that takes this request
  unknown_connection,     // no connection with this CID
  duplicate_connection,   // add_connection() with a CID already in use
  unknown_task,           // a TaskId that is not outstanding
  invalid_request,        // inconsistent request (write data vs direction, CDB too long, ...)
  illegal_transition,     // a state machine met an event its state does not take (sticky)
  connection_failed,      // this input failed the connection (see the ConnError event)
  text_in_progress,       // only one Text negotiation per connection at a time (RFC 7143 6.2)
  logout_in_progress,     // a Logout is outstanding; no new tasks
  itt_space_exhausted,    // every ITT is in flight (2^32 - 1 tasks)
};

const char* category_name(Errc) noexcept;
std::string_view describe(Errc e) noexcept;
std::string_view to_string(Errc e) noexcept;
using iscsi::make_error_code;

}  // namespace iscsi::session

ISCSI_DECLARE_ERROR_ENUM(iscsi::session::Errc)
