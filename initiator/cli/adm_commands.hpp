// What lab-iscsiadm does for each mode: record operations on the database (directly, under its
// lock), discovery (directly, on its own net::Initiator), and session operations (through
// lab-iscsid). The daemon is reached through `call`, so tests can put an in-process IscsidServer
// there instead of a socket.
#pragma once

#include <functional>
#include <ostream>

#include "cli/adm_options.hpp"
#include "cli/adm_status.hpp"
#include "cli/control_message.hpp"

namespace iscsi::cli {

using DaemonCall = std::function<ControlMessage(const ControlMessage&)>;

// Runs one command; returns the exit status. Throws nothing: every problem is a line on `err`
// and a status.
AdmStatus run_adm(const AdmOptions& options, const DaemonCall& call, std::ostream& out,
                  std::ostream& err);

}  // namespace iscsi::cli
