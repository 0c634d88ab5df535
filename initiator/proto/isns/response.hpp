// iSNSP responses (RFC 4171 section 5.7): a status code (status.hpp), then the attributes the
// server returns (for a query: the Message Key, a Delimiter, then the operating attributes of the
// objects found). decode_response checks what a client must before it trusts the answer;
// encode_response is the server's side, for round-trip tests, fuzzing and scripted servers.
#pragma once

#include <cstdint>

#include "proto/common/result.hpp"
#include "proto/isns/attributes.hpp"
#include "proto/isns/codec.hpp"
#include "proto/isns/status.hpp"

namespace iscsi::isns {

struct Response {
  std::uint16_t function = 0;  // with kResponseBit
  std::uint16_t flags = flag::server;
  std::uint16_t transaction = 0;
  std::uint32_t status = 0;
  AttributeList attributes;

  bool ok() const noexcept { return status == 0; }
  friend bool operator==(const Response&, const Response&) = default;
};

// A response from a server: the response bit and the Server flag are set, a status is there, and
// the attributes after it decode (a server may send only the status when it refuses).
Result<Response> decode_response(const Message& message, Diagnostic* diag = nullptr);

// The reply to `request`: same Transaction ID, response Function ID. Checked by the client.
std::error_code check_answers(const Response& response, const Message& request) noexcept;

Message encode_response(const Response& response);

}  // namespace iscsi::isns
