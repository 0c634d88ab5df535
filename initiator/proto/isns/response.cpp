// iSNSP response decoding and encoding. See response.hpp.
#include "proto/isns/response.hpp"

namespace iscsi::isns {

Result<Response> decode_response(const Message& message, Diagnostic* diag) {
  if ((message.function & kResponseBit) == 0 || (message.flags & flag::server) == 0) {
    return Errc::not_a_response;
  }
  if (message.payload.size() < kStatusSize) return Errc::status_missing;
  Response r;
  r.function = message.function;
  r.flags = message.flags;
  r.transaction = message.transaction;
  r.status = load_be32(message.payload.data());
  auto attrs = decode_attributes(ByteSpan(message.payload).subspan(kStatusSize), diag);
  if (!attrs) {
    if (diag != nullptr) diag->offset += kStatusSize;
    return attrs.error();
  }
  r.attributes = std::move(*attrs);
  return r;
}

std::error_code check_answers(const Response& response, const Message& request) noexcept {
  if (response.function != (request.function | kResponseBit)) return Errc::unexpected_function;
  if (response.transaction != request.transaction) return Errc::unexpected_transaction;
  return {};
}

Message encode_response(const Response& response) {
  Message m;
  m.function = response.function;
  m.flags = response.flags;
  m.transaction = response.transaction;
  m.payload.resize(kStatusSize);
  store_be32(m.payload.data(), response.status);
  for (const auto& a : response.attributes) append_attribute(m.payload, a);
  return m;
}

}  // namespace iscsi::isns
