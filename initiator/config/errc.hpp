// Error codes of the config area: open-iscsi's settings files (iscsid.conf, initiatorname.iscsi)
// and its flat-file record database (nodes/, send_targets/, ifaces/). The code names the kind of
// failure; the Diagnostic that travels with it names the file, the line and what was expected.
#pragma once

#include <string_view>

#include "proto/common/error.hpp"

namespace iscsi::config {

enum class Errc {
  // Content of a file or of a command-line override.
  unknown_setting = 1,   // a key no table row knows (open-iscsi's ISCSI_ERR_PARAM_NOT_FOUND)
  malformed_line,        // not "key = value", not a comment, not blank
  invalid_value,         // the value does not parse as the setting's type (Yes/No, number, list)
  out_of_range,          // a number outside the setting's range
  value_too_long,        // longer than open-iscsi's 255-byte value field
  wrong_scope,           // a key of another record kind (discovery.* in a node record, ...)
  read_only_setting,     // an identity key (node.name, node.tpgt, ...) given to -o update
  missing_record_begin,  // a record file that does not start with "# BEGIN RECORD <version>"
  missing_record_end,    // a record file without "# END RECORD" (truncated write)
  content_after_end,     // settings after "# END RECORD"
  missing_initiator_name,  // initiatorname.iscsi without an InitiatorName= line
  invalid_initiator_name,  // InitiatorName / iface.initiatorname is not an iSCSI name
  inconsistent_settings,   // each value valid alone, not together (FirstBurstLength > MaxBurstLength)
  // The record database.
  invalid_record_id,     // a target, portal or iface name that cannot be a path component
  record_not_found,
  io_error,              // open/read/write/fsync/rename failed (the message has strerror)
};

const char* category_name(Errc) noexcept;
std::string_view describe(Errc e) noexcept;
using iscsi::make_error_code;

}  // namespace iscsi::config

ISCSI_DECLARE_ERROR_ENUM(iscsi::config::Errc)
