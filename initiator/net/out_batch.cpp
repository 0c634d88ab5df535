// OutBatch: gathered encoding of outgoing PDUs (see out_batch.hpp).
#include "net/out_batch.hpp"

#include <array>
#include <span>

#include "proto/digest/crc32c.hpp"

namespace iscsi::net::detail {

void OutBatch::add_internal(std::size_t from) {
  const std::size_t len = bytes_.size() - from;
  if (len == 0) return;
  if (!segments_.empty()) {
    Segment& last = segments_.back();
    if (last.external == nullptr && last.offset + last.length == from) {
      last.length += len;
      return;
    }
  }
  segments_.push_back(Segment{nullptr, from, len});
}

std::error_code OutBatch::append(pdu::Pdu&& p, const pdu::DigestConfig& digests) {
  const ByteSpan data = pdu::data_of(p);
  if (data.size() < kGatherThreshold) {
    const std::size_t from = bytes_.size();
    if (auto ec = pdu::encode(p, digests, bytes_)) {
      bytes_.resize(from);
      return ec;
    }
    add_internal(from);
    return {};
  }
  kept_.push_back(std::move(p));  // deque: earlier elements (and their data) stay put
  const pdu::Pdu& kept = kept_.back();
  const ByteSpan payload = pdu::data_of(kept);
  // Header: BHS (+ AHS for a SCSI Command) + header digest.
  const std::size_t from = bytes_.size();
  bytes_.resize(from + pdu::kBhsLength);
  if (auto ec = pdu::encode_bhs(kept, std::span<std::uint8_t, pdu::kBhsLength>(
                                          bytes_.data() + from, pdu::kBhsLength))) {
    bytes_.resize(from);
    kept_.pop_back();
    return ec;
  }
  if (const auto* cmd = std::get_if<pdu::ScsiCommand>(&kept)) {
    pdu::AhsFields ahs;
    ahs.extended_cdb = cmd->extended_cdb;
    ahs.bidi_read_data_length = cmd->bidi_read_data_length;
    pdu::encode_ahs(ahs, bytes_);
  }
  if (digests.header) {
    const std::uint32_t crc =
        digest::crc32c(ByteSpan(bytes_.data() + from, bytes_.size() - from));
    const std::size_t at = bytes_.size();
    bytes_.resize(at + digest::kDigestLength);
    digest::store_digest(bytes_.data() + at, crc);
  }
  add_internal(from);
  segments_.push_back(Segment{payload.data(), 0, payload.size()});
  // Trailer: zero padding to a 4-byte boundary, then the data digest over data + padding.
  static constexpr std::array<std::uint8_t, 4> kZeros{};
  const std::size_t pad = padded_length(payload.size()) - payload.size();
  const std::size_t trailer = bytes_.size();
  bytes_.insert(bytes_.end(), kZeros.begin(), kZeros.begin() + static_cast<std::ptrdiff_t>(pad));
  if (digests.data) {
    digest::Crc32c crc;
    crc.update(payload);
    crc.update(ByteSpan(kZeros.data(), pad));
    const std::size_t at = bytes_.size();
    bytes_.resize(at + digest::kDigestLength);
    digest::store_digest(bytes_.data() + at, crc.value());
  }
  add_internal(trailer);
  return {};
}

std::error_code OutBatch::append(const pdu::ScsiCommand& cmd, const pdu::DigestConfig& digests) {
  if (!cmd.data.empty() || !cmd.extended_cdb.empty() || cmd.bidi_read_data_length) {
    return append(pdu::Pdu(cmd), digests);
  }
  const std::size_t from = bytes_.size();
  const std::size_t header_digest = digests.header ? digest::kDigestLength : 0;
  bytes_.resize(from + pdu::kBhsLength + header_digest);
  if (auto ec = pdu::encode_bhs(
          cmd, std::span<std::uint8_t, pdu::kBhsLength>(bytes_.data() + from, pdu::kBhsLength))) {
    bytes_.resize(from);
    return ec;
  }
  if (header_digest != 0) {
    digest::store_digest(bytes_.data() + from + pdu::kBhsLength,
                         digest::crc32c(ByteSpan(bytes_.data() + from, pdu::kBhsLength)));
  }
  add_internal(from);
  return {};
}

std::size_t OutBatch::size() const noexcept {
  std::size_t n = 0;
  for (const Segment& s : segments_) n += s.length;
  return n;
}

void OutBatch::clear() noexcept {
  bytes_.clear();
  segments_.clear();
  kept_.clear();
}

}  // namespace iscsi::net::detail
