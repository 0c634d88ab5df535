// SCSI status codes (SAM-5 5.3): the byte a device server returns with every command. The
// iSCSI SCSI Response PDU carries it; CHECK CONDITION comes with sense data (sense.hpp).
#pragma once

#include <cstdint>
#include <string_view>

namespace iscsi::scsi {

enum class Status : std::uint8_t {
  good = 0x00,
  check_condition = 0x02,
  condition_met = 0x04,
  busy = 0x08,
  intermediate = 0x10,                  // obsolete
  intermediate_condition_met = 0x14,    // obsolete
  reservation_conflict = 0x18,
  command_terminated = 0x22,            // obsolete
  task_set_full = 0x28,
  aca_active = 0x30,
  task_aborted = 0x40,
};

// "GOOD", "CHECK CONDITION", ... ; "UNKNOWN STATUS" for a value SAM does not define.
std::string_view to_string(Status s) noexcept;
// True for the values SAM-5 defines (including the obsolete ones).
bool is_known(Status s) noexcept;

}  // namespace iscsi::scsi
