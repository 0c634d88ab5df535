// POSIX implementation of the atomic write (mkstemp, write, fsync, fchmod, rename, fsync dir).
#include "config/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace iscsi::config {
namespace {

Diagnostic io_failure(const std::filesystem::path& path, std::string_view what, int err) {
  return {path.string(), 0, make_error_code(Errc::io_error),
          std::string(what) + ": " + std::strerror(err)};
}

// Closes on scope exit so every early return releases the descriptor.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace

Status make_directories(const std::filesystem::path& dir, mode_t mode) {
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST)
      return io_failure(partial, "cannot create directory", errno);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return io_failure(dir, "cannot stat directory", errno);
  if (!S_ISDIR(st.st_mode)) return io_failure(dir, "not a directory", ENOTDIR);
  return ok_status();
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view content,
                         mode_t mode) {
  const std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  std::string tmpl = (dir / (std::string(kTempPrefix) + path.filename().string() +
                             std::string(kTempInfix) + "XXXXXX"))
                         .string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  Fd fd(::mkstemp(name.data()));  // created 0600, O_EXCL: never reuses a stray temp file
  if (fd.get() < 0) return io_failure(path, "cannot create temporary file", errno);
  const std::string tmp_path(name.data());
  auto fail = [&](std::string_view what) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    return Status(io_failure(path, what, err));
  };
  if (::fchmod(fd.get(), mode) != 0) return fail("cannot set mode");
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("cannot fsync");
  if (::close(fd.release()) != 0) return fail("cannot close");
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) return fail("cannot rename into place");
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0)
    return io_failure(dir, "cannot fsync directory", errno);
  return ok_status();
}

Checked<std::string> read_text_file(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT)
      return Diagnostic{path.string(), 0, make_error_code(Errc::record_not_found),
                        "no such file"};
    return io_failure(path, "cannot open", errno);
  }
  std::string out;
  char buffer[8192];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_failure(path, "cannot read", errno);
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > (1u << 20))
      return Diagnostic{path.string(), 0, make_error_code(Errc::value_too_long),
                        "larger than 1 MiB; not a settings file"};
  }
  return out;
}

}  // namespace iscsi::config
