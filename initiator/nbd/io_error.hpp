// How a failed SCSI command or a failed session becomes what an NBD client sees: an errno
// (nbdkit turns it into NBD_EIO, NBD_EPERM, NBD_EINVAL, NBD_ENOSPC, NBD_ENOTSUP, ...) and a
// sentence for nbdkit_error naming the command and the sense in words:
//   "WRITE(16) at LBA 8 (16 blocks): CHECK CONDITION, DATA PROTECT: WRITE PROTECTED (0x7/0x27/0x00)"
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

#include "proto/scsi/sense.hpp"
#include "proto/session/types.hpp"

namespace iscsi::nbd {

// What a plugin callback reports: the errno and the sentence.
class IoError : public std::runtime_error {
 public:
  IoError(int error, const std::string& message) : std::runtime_error(message), error_(error) {}
  int error() const noexcept { return error_; }

 private:
  int error_;
};

// MEDIUM/HARDWARE ERROR and most others -> EIO, DATA PROTECT -> EROFS, ILLEGAL REQUEST ->
// EINVAL (INVALID COMMAND OPERATION CODE -> EOPNOTSUPP; LOGICAL UNIT NOT SUPPORTED, an LU that
// went away, -> EIO), VOLUME OVERFLOW and space allocation
// failures -> ENOSPC.
int errno_for_sense(const scsi::SenseData& sense) noexcept;

// True when the command completed with GOOD status.
bool good(const session::ScsiResult& r) noexcept;

// The IoError for a completed command that was not GOOD. `what` names the command and range.
IoError error_from_result(std::string_view what, const session::ScsiResult& r);

// The IoError for an exception out of net::Session (NetError: replacement_timeout, closed
// session, failed task, ... -> EIO; invalid_argument -> EINVAL; anything else -> EIO).
IoError error_from_exception(std::string_view what, std::exception_ptr e);

}  // namespace iscsi::nbd
