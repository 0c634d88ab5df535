// The streaming framer's state machine (header -> payload -> header ..., or -> failed for good)
// and its receive buffer. next_view() is the one transition function.
#include "proto/pdu/framer.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "proto/digest/crc32c.hpp"
#include "proto/pdu/codec_detail.hpp"
#include "proto/pdu/wire.hpp"

namespace iscsi::pdu {

namespace {

constexpr std::size_t kInitialBuffer = 16 * 1024;

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

std::string_view to_string(Framer::State s) noexcept {
  switch (s) {
    case Framer::State::header: return "header";
    case Framer::State::payload: return "payload";
    case Framer::State::failed: return "failed";
  }
  return "unknown";
}

Framer::Framer(FramerConfig config) : config_(config) {}

void Framer::set_digests(DigestConfig digests) noexcept {
  config_.digests = digests;
  // A header already checked under the old settings is checked again under the new ones:
  // nothing of it has been consumed yet.
  if (state_ == State::payload && !placed_) state_ = State::header;
}

void Framer::set_max_recv_data_segment_length(std::uint32_t n) noexcept {
  config_.max_recv_data_segment_length = n;
  if (state_ == State::payload && !placed_) state_ = State::header;
}

void Framer::make_room(std::size_t n) {
  if (buf_.size() - end_ >= n) return;
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (begin_ > 0) {
    // Move the partial PDU to the front; this is at most one PDU, and it happens only when the
    // tail is full, so it is amortised over the bytes consumed since the last move.
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() - end_ < n) {
    buf_.resize(std::max({end_ + n, buf_.size() * 2, kInitialBuffer}));
  }
}

void Framer::feed(ByteSpan bytes) {
  // A failed framer never parses again, so it need not keep what arrives.
  if (bytes.empty() || state_ == State::failed) return;
  if (placed_ && place_filled_ < place_.size()) {
    const std::size_t n = std::min(bytes.size(), place_.size() - place_filled_);
    std::memcpy(place_.data() + place_filled_, bytes.data(), n);
    place_filled_ += n;
    bytes = bytes.subspan(n);
    if (bytes.empty()) return;
  }
  make_room(bytes.size());
  std::memcpy(buf_.data() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

MutableByteSpan Framer::prepare(std::size_t min_size) {
  make_room(std::max<std::size_t>(min_size, 1));
  return {buf_.data() + end_, buf_.size() - end_};
}

void Framer::commit(std::size_t n) noexcept { end_ = std::min(end_ + n, buf_.size()); }

std::error_code Framer::fail(std::error_code ec) {
  state_ = State::failed;
  placed_ = false;  // the destination is never written again
  diag_.stream_offset = consumed_;
  if (diag_.errc == Errc::ok) {  // a path that did not fill the diagnostic
    diag_.errc = static_cast<Errc>(ec.value());
    diag_.conn_error = classify(diag_.errc);
  }
  return ec;
}

std::size_t Framer::header_length() const noexcept {
  return kBhsLength + lengths_.ahs + (config_.digests.header ? digest::kDigestLength : 0);
}

std::size_t Framer::bytes_wanted() const noexcept {
  const std::size_t have = end_ - begin_;
  switch (state_) {
    case State::failed: return 0;
    case State::payload:
      if (placed_ && place_filled_ < place_.size()) return place_.size() - place_filled_;
      return total_length_ > have ? total_length_ - have : 0;
    case State::header: {
      if (have < kBhsLength) return kBhsLength - have;
      const BhsLengths l = peek_lengths(ByteSpan(buf_.data() + begin_, kBhsLength).first<kBhsLength>());
      const std::size_t need = config_.digests.header
                                   ? kBhsLength + l.ahs + digest::kDigestLength
                                   : kBhsLength;
      return need > have ? need - have : 0;
    }
  }
  return 0;
}

const Pdu* Framer::pending_header() const noexcept {
  // Without HeaderDigest the header is checked once the BHS is in: the AHS may not be yet.
  return state_ == State::payload && !placed_ && end_ - begin_ >= header_length_ ? &pending_
                                                                                 : nullptr;
}

std::size_t Framer::pending_data_buffered() const noexcept {
  if (state_ != State::payload || placed_) return 0;
  const std::size_t have = end_ - begin_;
  return have > header_length_ ? std::min<std::size_t>(have - header_length_, lengths_.data) : 0;
}

void Framer::place(MutableByteSpan dest) {
  if (pending_header() == nullptr || dest.size() != lengths_.data || dest.empty()) return;
  // The buffer keeps the header and whatever follows the data segment (padding, digest, the
  // next PDU); the data bytes already received move to dest.
  const std::size_t k = pending_data_buffered();
  std::uint8_t* data = buf_.data() + begin_ + header_length_;
  std::memcpy(dest.data(), data, k);
  std::memmove(data, data + k, end_ - (begin_ + header_length_ + k));
  end_ -= k;
  total_length_ -= lengths_.data;
  placed_ = true;
  place_ = dest;
  place_filled_ = k;
}

Result<std::optional<FrameView>> Framer::next_view() {
  if (state_ == State::failed) return make_error_code(diag_.errc);
  const ByteSpan avail(buf_.data() + begin_, end_ - begin_);

  if (state_ == State::header) {
    if (avail.size() < kBhsLength) return std::optional<FrameView>{};
    lengths_ = peek_lengths(avail.first<kBhsLength>());
    header_length_ = header_length();
    if (config_.digests.header) {
      if (avail.size() < header_length_) return std::optional<FrameView>{};
      // Checked first: a corrupted header is a digest error, whatever its bytes then claim.
      const ByteSpan covered = avail.first(kBhsLength + lengths_.ahs);
      const std::uint8_t* received = avail.data() + covered.size();
      if (!detail::header_digest_ok(covered, received)) {
        return fail(detail::fail(&diag_, Errc::header_digest, avail[0] & detail::kOpcodeMask,
                                 "header digest received " +
                                     hex32(digest::load_digest(received)) + ", computed " +
                                     hex32(digest::crc32c(covered))));
      }
    }
    const detail::ReceiveLimits limits{config_.receive, config_.max_recv_data_segment_length,
                                       config_.login_max_data_segment_length};
    if (auto ec = detail::decode_header(avail.first(kBhsLength), config_.decode, limits, &diag_,
                                        pending_)) {
      return fail(ec);
    }
    const bool data_digest = config_.digests.data && lengths_.data != 0;
    total_length_ = header_length_ + padded_length(lengths_.data) +
                    (data_digest ? digest::kDigestLength : 0);
    state_ = State::payload;
  }

  // State::payload
  if (placed_ && place_filled_ < place_.size()) return std::optional<FrameView>{};
  if (avail.size() < total_length_) return std::optional<FrameView>{};
  // The data segment is in the buffer after the header, or (placed) in the destination with
  // only its padding left in the buffer.
  const std::size_t pad = padded_length(lengths_.data) - lengths_.data;
  const ByteSpan data = placed_ ? ByteSpan(place_) : avail.subspan(header_length_, lengths_.data);
  const ByteSpan padding =
      avail.subspan(header_length_ + (placed_ ? 0 : lengths_.data), pad);
  bool damaged = false;
  if (config_.digests.data && lengths_.data != 0) {
    const std::uint8_t* received = padding.data() + padding.size();
    digest::Crc32c crc;
    crc.update(data);
    crc.update(padding);
    if (crc.value() != digest::load_digest(received)) {
      Diagnostic* into = &diag_;
      if (config_.recover_data_in_digest_errors && opcode_of(pending_) == Opcode::scsi_data_in) {
        damaged = true;
        damage_ = {};
        into = &damage_;
        ++damaged_pdus_;
      }
      auto ec = detail::fail(into, Errc::data_digest, avail[0] & detail::kOpcodeMask,
                             to_string(opcode_of(pending_)) + " data digest received " +
                                 hex32(digest::load_digest(received)) + ", computed " +
                                 hex32(crc.value()) + " over " +
                                 std::to_string(data.size() + pad) + " bytes");
      if (!damaged) return fail(ec);
      damage_.stream_offset = consumed_;
    }
  }
  const ByteSpan ahs = avail.subspan(kBhsLength, lengths_.ahs);
  if (auto ec = detail::attach_ahs(pending_, ahs, &diag_)) return fail(ec);

  std::optional<FrameView> view(std::in_place);
  view->header = &pending_;
  view->bhs = avail.first(kBhsLength);
  view->ahs = ahs;
  view->data = data;
  view->wire_length = total_length_ + (placed_ ? lengths_.data : 0);
  view->stream_offset = consumed_;
  view->data_damaged = damaged;
  last_damaged_ = damaged;
  begin_ += total_length_;
  consumed_ += view->wire_length;
  state_ = State::header;
  placed_ = false;
  return view;
}

Result<std::optional<Pdu>> Framer::next() {
  auto view = next_view();
  if (!view) return view.error();
  if (!*view) return std::optional<Pdu>{};
  // The view's header is pending_, which the next header decode overwrites anyway.
  std::optional<Pdu> pdu(std::move(pending_));
  if (!(*view)->data_damaged) detail::attach_data(*pdu, (*view)->data);
  return pdu;
}

std::error_code Framer::finish() {
  if (state_ == State::failed) return make_error_code(diag_.errc);
  const std::size_t have = end_ - begin_ + (placed_ ? place_filled_ : 0);
  if (have == 0) return {};
  std::string what;
  if (have < kBhsLength) {
    what = "stream ended " + std::to_string(have) + " bytes into a BHS";
  } else {
    // Make sure the announced total is known even if next_view() was never called.
    const BhsLengths l = peek_lengths(ByteSpan(buf_.data() + begin_, kBhsLength).first<kBhsLength>());
    const bool data_digest = config_.digests.data && l.data != 0;
    const std::size_t total = kBhsLength + l.ahs +
                              (config_.digests.header ? digest::kDigestLength : 0) +
                              padded_length(l.data) + (data_digest ? digest::kDigestLength : 0);
    what = "stream ended " + std::to_string(have) + " bytes into a PDU of " +
           std::to_string(total) + " bytes";
  }
  return fail(detail::fail(&diag_, Errc::truncated, buf_[begin_] & detail::kOpcodeMask,
                           std::move(what)));
}

}  // namespace iscsi::pdu
