// Reading a TEST UNIT READY answer.
#include "mpath/checker.hpp"

#include "proto/scsi/sense.hpp"
#include "proto/scsi/status.hpp"

namespace iscsi::mpath {

CheckOutcome classify_tur(const session::ScsiResult* result, const std::exception_ptr& error) {
  CheckOutcome out;
  if (error || result == nullptr) {
    out.why = "TEST UNIT READY: no answer";
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        out.why = std::string("TEST UNIT READY: ") + e.what();
      } catch (...) {
      }
    }
    return out;
  }
  const auto status = static_cast<scsi::Status>(result->status);
  if (status == scsi::Status::good) {
    out.kind = CheckOutcome::Kind::answered;
    return out;
  }
  if (status == scsi::Status::check_condition && result->sense) {
    out.alua = scsi::classify_alua_sense(*result->sense);
    if (scsi::not_accessible(out.alua)) {
      out.kind = CheckOutcome::Kind::ghost;
      out.why = "TEST UNIT READY: " + scsi::to_string(*result->sense);
      return out;
    }
    if (result->sense->key == scsi::SenseKey::unit_attention) {
      out.kind = CheckOutcome::Kind::answered;
      return out;
    }
    out.why = "TEST UNIT READY: " + scsi::to_string(*result->sense);
    return out;
  }
  out.why = "TEST UNIT READY: status " + std::string(scsi::to_string(status));
  return out;
}

scsi::AccessState state_of(scsi::AluaSense s) noexcept {
  switch (s) {
    case scsi::AluaSense::standby: return scsi::AccessState::standby;
    case scsi::AluaSense::unavailable: return scsi::AccessState::unavailable;
    case scsi::AluaSense::transitioning: return scsi::AccessState::transitioning;
    default: return scsi::AccessState::active_optimized;
  }
}

}  // namespace iscsi::mpath
