// SCSI status, sense and engine errors to errno (see io_error.hpp).
#include "nbd/io_error.hpp"

#include <cerrno>

#include "net/errors.hpp"
#include "proto/scsi/status.hpp"

namespace iscsi::nbd {

int errno_for_sense(const scsi::SenseData& sense) noexcept {
  using scsi::SenseKey;
  switch (sense.key) {
    case SenseKey::data_protect:
      // 0x27 WRITE PROTECTED and its relatives; NBD has no EROFS, nbdkit sends NBD_EPERM.
      return EROFS;
    case SenseKey::illegal_request:
      // 20/00 INVALID COMMAND OPERATION CODE: the LU does not have the command at all.
      if (sense.asc == 0x20 && sense.ascq == 0x00) return EOPNOTSUPP;
      // 25/00 LOGICAL UNIT NOT SUPPORTED: the LU went away under the export (deleted, unmapped);
      // the request itself was fine, so not EINVAL: the device failed.
      if (sense.asc == 0x25 && sense.ascq == 0x00) return EIO;
      return EINVAL;
    case SenseKey::volume_overflow:
      return ENOSPC;
    default:
      break;
  }
  // 27/07 SPACE ALLOCATION FAILED WRITE PROTECT (thin pool full) is reported as DATA PROTECT
  // above by SBC-4; some targets send it with other keys.
  if (sense.asc == 0x27 && sense.ascq == 0x07) return ENOSPC;
  return EIO;
}

bool good(const session::ScsiResult& r) noexcept {
  return r.response == pdu::ScsiResponseCode::command_completed_at_target &&
         r.status == static_cast<std::uint8_t>(scsi::Status::good);
}

IoError error_from_result(std::string_view what, const session::ScsiResult& r) {
  std::string msg(what);
  msg += ": ";
  if (r.response != pdu::ScsiResponseCode::command_completed_at_target) {
    msg += "target failure (iSCSI response " + pdu::to_string(r.response) + ")";
    return IoError(EIO, msg);
  }
  const auto status = static_cast<scsi::Status>(r.status);
  msg += scsi::to_string(status);
  if (r.sense) {
    msg += ", " + scsi::to_string(*r.sense);
    return IoError(errno_for_sense(*r.sense), msg);
  }
  if (status == scsi::Status::check_condition) msg += " without sense data";
  // RESERVATION CONFLICT: another initiator holds the LU; the client may not write it.
  if (status == scsi::Status::reservation_conflict) return IoError(EPERM, msg);
  return IoError(EIO, msg);
}

IoError error_from_exception(std::string_view what, std::exception_ptr e) {
  try {
    std::rethrow_exception(std::move(e));
  } catch (const net::NetError& ne) {
    const int err = ne.errc() == net::Errc::invalid_argument ? EINVAL : EIO;
    return IoError(err, std::string(what) + ": " + ne.what());
  } catch (const IoError& io) {
    return io;
  } catch (const std::exception& ex) {
    return IoError(EIO, std::string(what) + ": " + ex.what());
  } catch (...) {
    return IoError(EIO, std::string(what) + ": unknown failure");
  }
}

}  // namespace iscsi::nbd
