// The record database's writer lock (open-iscsi takes /run/lock/iscsi/lock for the same
// purpose): an exclusive flock on <root>/lock, held by one lab-iscsiadm or lab-iscsid at a time
// while it changes records, so two concurrent discoveries cannot interleave their deletes and
// writes. Readers need no lock: each record is replaced atomically.
#pragma once

#include <chrono>
#include <filesystem>

#include "config/settings.hpp"

namespace iscsi::config {

class DbLock {
 public:
  // Waits up to `wait` for the lock; the root is created (0700) if missing.
  static Checked<DbLock> acquire(const std::filesystem::path& root,
                                 std::chrono::milliseconds wait = std::chrono::seconds(30));
  DbLock(DbLock&& other) noexcept;
  DbLock& operator=(DbLock&&) = delete;
  DbLock(const DbLock&) = delete;
  ~DbLock();

 private:
  explicit DbLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace iscsi::config
