#include "config/db_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "config/atomic_file.hpp"
#include "config/errc.hpp"

namespace iscsi::config {

Checked<DbLock> DbLock::acquire(const std::filesystem::path& root, std::chrono::milliseconds wait) {
  if (auto st = make_directories(root); !st) return st.diagnostics();
  const auto path = root / "lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Diagnostic{path.string(), 0, make_error_code(Errc::io_error),
                      std::string("cannot open the database lock: ") + std::strerror(errno)};
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const int e = errno;
      ::close(fd);
      return Diagnostic{path.string(), 0, make_error_code(Errc::io_error),
                        std::string("cannot lock the database: ") + std::strerror(e)};
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      return Diagnostic{path.string(), 0, make_error_code(Errc::io_error),
                        "the database is locked by another lab-iscsiadm or lab-iscsid (waited " +
                            std::to_string(wait.count()) + " ms)"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return DbLock(fd);
}

DbLock::DbLock(DbLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DbLock::~DbLock() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the flock
}

}  // namespace iscsi::config
