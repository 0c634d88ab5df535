// Words for iSNSP response status codes (RFC 4171 section 6.4).
#include "proto/isns/status.hpp"

namespace iscsi::isns {

std::string_view status_name(std::uint32_t status) noexcept {
  switch (static_cast<Status>(status)) {
    case Status::successful: return "successful";
    case Status::unknown_error: return "unknown error";
    case Status::message_format_error: return "message format error";
    case Status::invalid_registration: return "invalid registration";
    case Status::invalid_query: return "invalid query";
    case Status::source_unknown: return "source unknown";
    case Status::source_absent: return "source absent";
    case Status::source_unauthorized: return "source unauthorized";
    case Status::no_such_entry: return "no such entry";
    case Status::version_not_supported: return "version not supported";
    case Status::internal_error: return "internal error";
    case Status::busy: return "busy";
    case Status::option_not_understood: return "option not understood";
    case Status::invalid_update: return "invalid update";
    case Status::message_not_supported: return "message (function ID) not supported";
    case Status::scn_event_rejected: return "SCN event rejected";
    case Status::scn_registration_rejected: return "SCN registration rejected";
    case Status::attribute_not_implemented: return "attribute not implemented";
    case Status::fc_domain_id_not_available: return "FC_DOMAIN_ID not available";
    case Status::fc_domain_id_not_allocated: return "FC_DOMAIN_ID not allocated";
    case Status::esi_not_available: return "ESI not available";
    case Status::invalid_deregistration: return "invalid deregistration";
    case Status::registration_feature_not_supported: return "registration feature not supported";
  }
  return "reserved status";
}

std::string describe_status(std::uint32_t status) {
  return "iSNS status " + std::to_string(status) + " (" + std::string(status_name(status)) + ")";
}

}  // namespace iscsi::isns
