// OutBatch: the PDUs queued for one gathered write. Small PDUs are encoded into one reused
// byte buffer; a PDU with a large data segment (a Data-Out or immediate data) is kept whole and
// its data is referenced, not copied: only its header, padding and digests go to the buffer.
// The write is then one scatter/gather list. Two batches alternate (pending / being written),
// so after warm-up the send path allocates nothing but what the session's PDUs already own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/pdu/pdu.hpp"

namespace iscsi::net::detail {

class OutBatch {
 public:
  // Data segments at least this long are referenced instead of copied.
  static constexpr std::size_t kGatherThreshold = 8192;

  struct Segment {
    const std::uint8_t* external = nullptr;  // nullptr: bytes_[offset, offset + length)
    std::size_t offset = 0;
    std::size_t length = 0;
  };

  // Appends the wire form of `pdu` (byte-for-byte what pdu::encode produces).
  // An rvalue: a small PDU is only read (encoded), a large one moved in and kept.
  std::error_code append(pdu::Pdu&& pdu, const pdu::DigestConfig& digests);
  std::error_code append(const pdu::Pdu& pdu, const pdu::DigestConfig& digests) {
    return append(pdu::Pdu(pdu), digests);
  }

  // A SCSI Command as its own struct (the session's command path): with no data segment and no
  // AHS only its BHS (and header digest) is written, straight into the buffer.
  std::error_code append(const pdu::ScsiCommand& cmd, const pdu::DigestConfig& digests);

  bool empty() const noexcept { return segments_.empty(); }
  std::size_t size() const noexcept;  // wire bytes queued
  // Calls f(pointer, length) for each piece in order.
  template <class F>
  void for_each(F&& f) const {
    for (const Segment& s : segments_) {
      f(s.external != nullptr ? s.external : bytes_.data() + s.offset, s.length);
    }
  }
  void clear() noexcept;
  // Member by member: std::swap would move-construct the deque, which allocates.
  void swap(OutBatch& other) noexcept {
    bytes_.swap(other.bytes_);
    segments_.swap(other.segments_);
    kept_.swap(other.kept_);
  }

 private:
  void add_internal(std::size_t from);

  ByteVector bytes_;
  std::vector<Segment> segments_;
  std::deque<pdu::Pdu> kept_;
};

}  // namespace iscsi::net::detail
