// The unix stream socket between lab-iscsiadm and lab-iscsid: one request and one answer per
// connection, each a control_message frame. The socket is 0600 in a 0700 directory and the
// daemon also checks the caller's uid (SO_PEERCRED): only the daemon's own user and root may
// drive its sessions.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include "cli/control_message.hpp"

namespace iscsi::cli {

// Thrown on the client side when the daemon cannot be reached or answers garbage; the message
// is in words ("cannot connect to lab-iscsid at /x.sock: No such file or directory (is lab-iscsid
// running?)").
class ControlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A listening socket at `path`, mode 0600. A stale socket file (nobody listening) is replaced;
// a live one is an error ("another lab-iscsid is listening"). Throws ControlError.
int listen_control_socket(const std::string& path);

// The connecting process's uid is ours or root.
bool peer_allowed(int fd, std::string& who);

// Reads one frame within `timeout`; nullopt with `error` in words on EOF, timeout, an oversized
// length or a malformed payload.
std::optional<ControlMessage> read_control_frame(int fd, std::chrono::milliseconds timeout,
                                                 std::string& error);
bool write_control_frame(int fd, const ControlMessage& m);

// Client: connect, send, wait for the answer (no time limit: a login waits as long as its
// settings say). Throws ControlError.
ControlMessage call_daemon(const std::string& path, const ControlMessage& request);

}  // namespace iscsi::cli
