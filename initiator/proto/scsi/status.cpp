#include "proto/scsi/status.hpp"

namespace iscsi::scsi {

std::string_view to_string(Status s) noexcept {
  switch (s) {
    case Status::good: return "GOOD";
    case Status::check_condition: return "CHECK CONDITION";
    case Status::condition_met: return "CONDITION MET";
    case Status::busy: return "BUSY";
    case Status::intermediate: return "INTERMEDIATE";
    case Status::intermediate_condition_met: return "INTERMEDIATE-CONDITION MET";
    case Status::reservation_conflict: return "RESERVATION CONFLICT";
    case Status::command_terminated: return "COMMAND TERMINATED";
    case Status::task_set_full: return "TASK SET FULL";
    case Status::aca_active: return "ACA ACTIVE";
    case Status::task_aborted: return "TASK ABORTED";
  }
  return "UNKNOWN STATUS";
}

bool is_known(Status s) noexcept { return to_string(s) != "UNKNOWN STATUS"; }

}  // namespace iscsi::scsi
