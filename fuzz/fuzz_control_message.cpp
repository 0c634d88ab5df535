// libFuzzer target: lab-iscsid's control-socket decoder (cli::decode_control_payload), the only
// input the daemon takes from other processes, and the frame header. Invariants: a decoded
// payload re-encodes to bytes that decode to the same message; an encoded message decodes to
// itself; a header length is never above kControlMaxPayload.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cli/control_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace iscsi::cli;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto decoded = decode_control_payload(input);
  if (decoded.message) {
    if (!decoded.error.empty()) std::abort();
    auto again = decode_control_payload(encode_control_payload(*decoded.message));
    if (!again.message || *again.message != *decoded.message) std::abort();
  } else if (decoded.error.empty()) {
    std::abort();  // a refusal always says why
  }
  if (size >= kControlHeaderSize) {
    auto n = control_payload_length(input.substr(0, kControlHeaderSize));
    if (n && *n > kControlMaxPayload) std::abort();
  }
  // Any bytes as a value survive the round trip.
  ControlMessage m;
  m.add("out", std::string(input));
  auto back = decode_control_payload(encode_control_payload(m));
  if (!back.message || *back.message != m) std::abort();
  return 0;
}
