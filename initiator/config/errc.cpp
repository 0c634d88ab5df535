// Names and one-line descriptions of the config area's error codes.
#include "config/errc.hpp"

namespace iscsi::config {

const char* category_name(Errc) noexcept { return "iscsi.config"; }

std::string_view describe(Errc e) noexcept {
  switch (e) {
    case Errc::unknown_setting: return "unknown setting";
    case Errc::malformed_line: return "malformed line: expected 'key = value'";
    case Errc::invalid_value: return "invalid value for this setting";
    case Errc::out_of_range: return "value out of the setting's range";
    case Errc::value_too_long: return "value longer than 255 bytes";
    case Errc::wrong_scope: return "setting does not belong to this kind of record";
    case Errc::read_only_setting: return "setting identifies the record and cannot be updated";
    case Errc::missing_record_begin: return "record does not start with '# BEGIN RECORD'";
    case Errc::missing_record_end: return "record does not end with '# END RECORD' (truncated?)";
    case Errc::content_after_end: return "content after '# END RECORD'";
    case Errc::missing_initiator_name: return "no InitiatorName= line";
    case Errc::invalid_initiator_name: return "initiator name is not a valid iSCSI name";
    case Errc::inconsistent_settings: return "settings contradict each other";
    case Errc::invalid_record_id: return "target, portal or iface name cannot name a record";
    case Errc::record_not_found: return "no such record";
    case Errc::io_error: return "file system error";
  }
  return "unknown config error";
}

}  // namespace iscsi::config
