// iSNSP PDUs (RFC 4171 section 5): the 12-byte header, a message split into PDUs (First/Last PDU
// flags, Sequence IDs from 0) and a streaming assembler that puts a message back together from
// bytes as they arrive. A message is its Function ID, Transaction ID, the flags that are not about
// framing, and the payload (the PDU payloads in order).
#pragma once

#include <cstddef>
#include <cstdint>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/isns/errors.hpp"
#include "proto/isns/wire.hpp"

namespace iscsi::isns {

struct Header {
  std::uint16_t version = kVersion;
  std::uint16_t function = 0;
  std::uint16_t pdu_length = 0;
  std::uint16_t flags = 0;
  std::uint16_t transaction = 0;
  std::uint16_t sequence = 0;

  friend bool operator==(const Header&, const Header&) = default;
};

void encode_header(const Header& header, std::uint8_t* out);  // kHeaderSize bytes
Header decode_header(const std::uint8_t* in) noexcept;        // raw fields, no checks

struct Message {
  std::uint16_t function = 0;
  std::uint16_t flags = 0;  // client / server / replace; First and Last PDU are framing, not kept
  std::uint16_t transaction = 0;
  ByteVector payload;

  friend bool operator==(const Message&, const Message&) = default;
};

// The largest payload of one PDU we send: the 16-bit PDU Length, kept a multiple of 4.
inline constexpr std::size_t kMaxPduPayload = 65532;
// What the assembler accepts by default: a query response listing thousands of targets.
inline constexpr std::size_t kDefaultMaxMessage = 4u << 20;

// PDUs of `message`, each with at most `max_pdu_payload` bytes of payload (rounded down to a
// multiple of 4; at least 4). An empty payload is one PDU.
ByteVector encode_message(const Message& message, std::size_t max_pdu_payload = kMaxPduPayload);

// Streaming reassembly of one message. feed() consumes bytes up to the end of the message's last
// PDU and no further (what follows belongs to the next message); errors are sticky.
//   MessageAssembler a; while (!a.complete()) { auto n = a.feed(bytes); ... }
class MessageAssembler {
 public:
  explicit MessageAssembler(std::size_t max_payload = kDefaultMaxMessage) : max_(max_payload) {}

  // Bytes used from `in`; an error when a PDU breaks a rule (see errors.hpp).
  Result<std::size_t> feed(ByteSpan in);
  bool complete() const noexcept { return complete_; }
  // How many PDUs went into the message so far.
  std::size_t pdus() const noexcept { return pdus_; }
  // The message; valid once complete(). Resets the assembler for the next message.
  Message take();

 private:
  std::error_code on_header();

  std::size_t max_;
  std::uint8_t header_bytes_[kHeaderSize] = {};
  std::size_t header_have_ = 0;
  Header header_;
  std::size_t payload_left_ = 0;
  bool in_payload_ = false;
  bool complete_ = false;
  std::size_t pdus_ = 0;
  Message message_;
  std::error_code failed_;
};

// Exactly one message from `bytes`: truncated input and bytes after its last PDU are errors.
Result<Message> decode_message(ByteSpan bytes, std::size_t max_payload = kDefaultMaxMessage);

}  // namespace iscsi::isns
