// The status code at the start of every iSNSP response (RFC 4171 section 6.4, table of status
// codes), in words: "invalid query", "source unknown", ... A non-zero status is the server's
// answer, not a decoding error, so it is data here and the caller decides what it means.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace iscsi::isns {

enum class Status : std::uint32_t {
  successful = 0,
  unknown_error = 1,
  message_format_error = 2,
  invalid_registration = 3,
  // 4 is reserved
  invalid_query = 5,
  source_unknown = 6,
  source_absent = 7,
  source_unauthorized = 8,
  no_such_entry = 9,
  version_not_supported = 10,
  internal_error = 11,
  busy = 12,
  option_not_understood = 13,
  invalid_update = 14,
  message_not_supported = 15,
  scn_event_rejected = 16,
  scn_registration_rejected = 17,
  attribute_not_implemented = 18,
  fc_domain_id_not_available = 19,
  fc_domain_id_not_allocated = 20,
  esi_not_available = 21,
  invalid_deregistration = 22,
  registration_feature_not_supported = 23,
};

// "invalid query"; "reserved status" for 4 and 24 and up.
std::string_view status_name(std::uint32_t status) noexcept;
// "iSNS status 5 (invalid query)"
std::string describe_status(std::uint32_t status);

}  // namespace iscsi::isns
