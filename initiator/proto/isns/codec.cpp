// iSNSP header, PDU splitting and reassembly. See codec.hpp.
#include "proto/isns/codec.hpp"

#include <algorithm>

namespace iscsi::isns {
namespace {
constexpr std::uint16_t kFramingFlags = flag::first_pdu | flag::last_pdu;
}  // namespace

void encode_header(const Header& h, std::uint8_t* out) {
  store_be16(out + kOffVersion, h.version);
  store_be16(out + kOffFunction, h.function);
  store_be16(out + kOffPduLength, h.pdu_length);
  store_be16(out + kOffFlags, h.flags);
  store_be16(out + kOffTransaction, h.transaction);
  store_be16(out + kOffSequence, h.sequence);
}

Header decode_header(const std::uint8_t* in) noexcept {
  Header h;
  h.version = load_be16(in + kOffVersion);
  h.function = load_be16(in + kOffFunction);
  h.pdu_length = load_be16(in + kOffPduLength);
  h.flags = load_be16(in + kOffFlags);
  h.transaction = load_be16(in + kOffTransaction);
  h.sequence = load_be16(in + kOffSequence);
  return h;
}

ByteVector encode_message(const Message& m, std::size_t max_pdu_payload) {
  const std::size_t step =
      std::max<std::size_t>(4, std::min(max_pdu_payload, kMaxPduPayload) & ~std::size_t{3});
  ByteVector out;
  std::size_t pos = 0;
  std::uint16_t sequence = 0;
  do {
    const std::size_t n = std::min(step, m.payload.size() - pos);
    Header h;
    h.function = m.function;
    h.pdu_length = static_cast<std::uint16_t>(n);
    h.flags = static_cast<std::uint16_t>(m.flags & ~kFramingFlags);
    if (pos == 0) h.flags |= flag::first_pdu;
    if (pos + n == m.payload.size()) h.flags |= flag::last_pdu;
    h.transaction = m.transaction;
    h.sequence = sequence++;
    std::uint8_t head[kHeaderSize];
    encode_header(h, head);
    out.insert(out.end(), head, head + kHeaderSize);
    out.insert(out.end(), m.payload.begin() + static_cast<std::ptrdiff_t>(pos),
               m.payload.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
  } while (pos < m.payload.size());
  return out;
}

std::error_code MessageAssembler::on_header() {
  header_ = decode_header(header_bytes_);
  if (header_.version != kVersion) return Errc::bad_version;
  if ((header_.flags & flag::auth_block) != 0) return Errc::auth_block_unsupported;
  const bool first = pdus_ == 0;
  if (first) {
    if ((header_.flags & flag::first_pdu) == 0) return Errc::first_pdu_flag_missing;
    if (header_.sequence != 0) return Errc::sequence_out_of_order;
    message_.function = header_.function;
    message_.flags = static_cast<std::uint16_t>(header_.flags & ~kFramingFlags);
    message_.transaction = header_.transaction;
  } else {
    if ((header_.flags & flag::first_pdu) != 0) return Errc::first_pdu_flag_repeated;
    if (header_.sequence != pdus_) return Errc::sequence_out_of_order;
    if (header_.function != message_.function) return Errc::pdu_changed_function;
    if (header_.transaction != message_.transaction) return Errc::pdu_changed_transaction;
  }
  if (message_.payload.size() + header_.pdu_length > max_) return Errc::message_too_long;
  ++pdus_;
  payload_left_ = header_.pdu_length;
  in_payload_ = true;
  return {};
}

Result<std::size_t> MessageAssembler::feed(ByteSpan in) {
  if (failed_) return make_error_code(Errc::assembler_failed);
  std::size_t used = 0;
  while (!complete_ && used < in.size()) {
    if (!in_payload_) {
      const std::size_t n = std::min(kHeaderSize - header_have_, in.size() - used);
      std::copy_n(in.data() + used, n, header_bytes_ + header_have_);
      header_have_ += n;
      used += n;
      if (header_have_ < kHeaderSize) break;
      header_have_ = 0;
      if (auto ec = on_header()) {
        failed_ = ec;
        return ec;
      }
    }
    const std::size_t n = std::min(payload_left_, in.size() - used);
    message_.payload.insert(message_.payload.end(), in.data() + used, in.data() + used + n);
    payload_left_ -= n;
    used += n;
    if (payload_left_ == 0) {
      in_payload_ = false;
      if ((header_.flags & flag::last_pdu) != 0) complete_ = true;
    }
  }
  return used;
}

Message MessageAssembler::take() {
  Message out = std::move(message_);
  *this = MessageAssembler(max_);
  return out;
}

Result<Message> decode_message(ByteSpan bytes, std::size_t max_payload) {
  MessageAssembler assembler(max_payload);
  auto used = assembler.feed(bytes);
  if (!used) return used.error();
  if (!assembler.complete()) return Errc::truncated;
  if (*used != bytes.size()) return Errc::trailing_bytes;
  return assembler.take();
}

}  // namespace iscsi::isns
