// The control socket (see control_socket.hpp).
#include "cli/control_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace iscsi::cli {

namespace {

std::string errno_words() { return std::strerror(errno); }

sockaddr_un address_of(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) {
    throw ControlError("control socket path too long (" + std::to_string(path.size()) +
                       " bytes; a unix socket path has at most " +
                       std::to_string(sizeof a.sun_path - 1) + "): " + path);
  }
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

bool connectable(const sockaddr_un& a) {
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd.get() >= 0 && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
}

// Reads exactly n bytes; false on EOF, error or when the deadline passes.
bool read_exact(int fd, char* out, std::size_t n, std::chrono::steady_clock::time_point deadline,
                bool bounded, std::string& error) {
  std::size_t got = 0;
  while (got < n) {
    if (bounded) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        error = "timed out waiting for the rest of the message";
        return false;
      }
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
    }
    const ssize_t r = ::read(fd, out + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      error = "read failed: " + errno_words();
      return false;
    }
    if (r == 0) {
      error = got == 0 && n == kControlHeaderSize ? "closed without a message" : "closed mid-message";
      return false;
    }
    got += static_cast<std::size_t>(r);
  }
  return true;
}

std::optional<ControlMessage> read_frame(int fd, std::chrono::milliseconds timeout, bool bounded,
                                         std::string& error) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char header[kControlHeaderSize];
  if (!read_exact(fd, header, sizeof header, deadline, bounded, error)) return std::nullopt;
  const auto n = control_payload_length(std::string_view(header, sizeof header));
  if (!n) {
    error = "message longer than " + std::to_string(kControlMaxPayload) + " bytes";
    return std::nullopt;
  }
  std::string payload(*n, '\0');
  if (!read_exact(fd, payload.data(), payload.size(), deadline, bounded, error)) return std::nullopt;
  auto decoded = decode_control_payload(payload);
  if (!decoded.message) {
    error = decoded.error;
    return std::nullopt;
  }
  return std::move(decoded.message);
}

}  // namespace

int listen_control_socket(const std::string& path) {
  const sockaddr_un a = address_of(path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw ControlError(path + " exists and is not a socket");
    if (connectable(a)) throw ControlError("another lab-iscsid is listening on " + path);
    ::unlink(path.c_str());  // stale: its daemon is gone
  }
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw ControlError("socket: " + errno_words());
  // 0600 from the start: no moment where another user could connect.
  const mode_t old = ::umask(0177);
  const int b = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a);
  const int bind_errno = errno;
  ::umask(old);
  if (b != 0) throw ControlError("cannot bind " + path + ": " + std::strerror(bind_errno));
  if (::listen(fd.get(), 16) != 0) throw ControlError("listen on " + path + ": " + errno_words());
  return fd.release();
}

bool peer_allowed(int fd, std::string& who) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    who = "unknown peer (" + errno_words() + ")";
    return false;
  }
  who = "pid " + std::to_string(cred.pid) + " uid " + std::to_string(cred.uid);
  return cred.uid == 0 || cred.uid == ::geteuid();
}

std::optional<ControlMessage> read_control_frame(int fd, std::chrono::milliseconds timeout,
                                                 std::string& error) {
  return read_frame(fd, timeout, true, error);
}

bool write_control_frame(int fd, const ControlMessage& m) {
  const std::string frame = encode_control_frame(m);
  std::size_t sent = 0;
  while (sent < frame.size()) {
    const ssize_t r = ::send(fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    sent += static_cast<std::size_t>(r);
  }
  return true;
}

ControlMessage call_daemon(const std::string& path, const ControlMessage& request) {
  const sockaddr_un a = address_of(path);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw ControlError("socket: " + errno_words());
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    throw ControlError("cannot connect to lab-iscsid at " + path + ": " + errno_words() +
                       " (is lab-iscsid running with the same --root?)");
  }
  // A daemon that refuses us (another user) answers and closes before reading: the send may
  // then fail, but its answer is still there to read.
  const bool sent = write_control_frame(fd.get(), request);
  const std::string send_error = sent ? "" : errno_words();
  std::string error;
  auto answer = read_frame(fd.get(), std::chrono::milliseconds(0), false, error);
  if (!answer && !sent) throw ControlError("cannot send to lab-iscsid at " + path + ": " + send_error);
  if (!answer) throw ControlError("no valid answer from lab-iscsid at " + path + ": " + error);
  return std::move(*answer);
}

}  // namespace iscsi::cli
