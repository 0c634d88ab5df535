// The streaming PDU framer: bytes from the connection in (any chunking, down to one byte at a
// time), complete and checked PDUs out. Sans-IO: the caller reads the socket and feeds.
//
//   Framer framer({.receive = Direction::target_to_initiator});
//   framer.feed(bytes);                       // or: auto buf = prepare(n); read into it; commit(k)
//   while (true) {
//     auto next = framer.next();              // Result<std::optional<Pdu>>
//     if (!next) { framer.diagnostic() says what and which ConnError; the framer stays failed }
//     if (!*next) break;                      // need more bytes
//     handle(**next);
//   }
//
// Checks, in order, before any payload byte is looked at: (with HeaderDigest) the header digest
// over BHS+AHS; a known opcode; the opcode's direction; AHS/data presence for the type;
// DataSegmentLength against the limit (kLoginMaxDataSegmentLength for Login PDUs,
// MaxRecvDataSegmentLength for all others); the RFC's field rules (DecodeOptions). Then, once
// the PDU is complete: AHS contents and the data digest. The first error fails the framer for
// good (a byte stream cannot be resynchronised after a bad header).
//
// Settings (digests, limits) may change between PDUs: parsing is lazy, so a change made after
// next() returned the last Login Response applies to every PDU not yet returned - which is
// exactly what turning digests on at the start of full feature phase needs.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/pdu/pdu.hpp"

namespace iscsi::pdu {

struct FramerConfig {
  // Which PDUs this side receives: an initiator receives target_to_initiator PDUs.
  Direction receive = Direction::target_to_initiator;
  DigestConfig digests{};
  std::uint32_t max_recv_data_segment_length = kDefaultMaxRecvDataSegmentLength;
  std::uint32_t login_max_data_segment_length = kLoginMaxDataSegmentLength;
  DecodeOptions decode{};
  // ErrorRecoveryLevel 1 and up (RFC 7143 7.8): a data digest error on a SCSI Data-In whose
  // header checked out does not fail the framer: the PDU is returned with data_damaged set (its
  // length was sound, so the stream stays in step) and the session asks for it again. Every
  // other digest error still fails the framer.
  bool recover_data_in_digest_errors = false;
};

// A received PDU without copying or moving anything: `header` points at the decoded PDU (data
// member empty, AHS-borne fields filled), held by the framer; it and the spans, which point into
// the framer's buffer, stay valid until the next call of next_view(), next(), feed(), prepare()
// or commit().
struct FrameView {
  const Pdu* header = nullptr;
  ByteSpan bhs;
  ByteSpan ahs;
  ByteSpan data;                // DataSegmentLength bytes, without padding
  std::size_t wire_length = 0;  // every byte of the PDU, digests and padding included
  std::uint64_t stream_offset = 0;
  // The data digest did not match (only with recover_data_in_digest_errors): `data` must not be
  // used; Framer::damage() says what was received and computed.
  bool data_damaged = false;
};

// std::allocator whose value-less construct() default-initialises: resize() of a byte vector
// then leaves the new bytes unwritten (and their pages untouched) instead of zeroing them.
template <class T>
struct UninitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <class U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

class Framer {
 public:
  // Waiting for a complete header (BHS, plus AHS and digest when HeaderDigest is on); header
  // checked and waiting for the rest of the PDU; failed for good.
  enum class State : std::uint8_t { header, payload, failed };

  explicit Framer(FramerConfig config = {});

  const FramerConfig& config() const noexcept { return config_; }
  void set_digests(DigestConfig digests) noexcept;
  void set_max_recv_data_segment_length(std::uint32_t n) noexcept;
  void set_recover_data_in_digest_errors(bool on) noexcept {
    config_.recover_data_in_digest_errors = on;
  }

  // Appends received bytes (one copy); dropped once the framer has failed.
  void feed(ByteSpan bytes);
  // Zero-copy receive: returns at least `min_size` writable bytes at the end of the buffer;
  // read from the socket into them, then commit() how many arrived.
  MutableByteSpan prepare(std::size_t min_size);
  void commit(std::size_t n) noexcept;

  // Direct placement of a large payload, so that it is copied once (socket -> destination)
  // rather than twice. Once next_view() has returned nullopt with the header checked (state
  // payload), pending_header() is that header (data member empty) and pending_data_length()
  // its DataSegmentLength. place(dest), with dest.size() == pending_data_length(), moves the
  // payload bytes already buffered into dest; the caller then receives straight into
  // placement() and commit_placed()s, or feed()s (which fills the placement first). Once the
  // placement is full, padding and digest are buffered as usual and next_view() yields the PDU
  // with `data` pointing at dest, the data digest checked over dest and the padding. dest must
  // stay valid until then (or until the framer fails). A placed PDU's header is not checked
  // again by set_digests()/set_max_recv_data_segment_length().
  // nullptr unless a checked header (with its AHS) waits for its payload, unplaced.
  const Pdu* pending_header() const noexcept;
  std::size_t pending_data_length() const noexcept { return lengths_.data; }
  // Payload bytes of the pending PDU already buffered (what place() will copy).
  std::size_t pending_data_buffered() const noexcept;
  void place(MutableByteSpan dest);
  // The part of the placement still to be received (empty when there is none).
  MutableByteSpan placement() const noexcept {
    return placed_ ? place_.subspan(place_filled_) : MutableByteSpan{};
  }
  void commit_placed(std::size_t n) noexcept {
    place_filled_ = std::min(place_filled_ + n, place_.size());
  }

  // The next complete PDU, or nullopt when more bytes are needed.
  Result<std::optional<FrameView>> next_view();
  // Same, as an owned PDU with the payload copied into its `data` (one allocation per PDU).
  // A damaged PDU (see recover_data_in_digest_errors) comes with `data` empty and
  // last_damaged() true.
  Result<std::optional<Pdu>> next();
  bool last_damaged() const noexcept { return last_damaged_; }
  // The DataSegmentLength of the PDU next()/next_view() returned last.
  std::uint32_t last_data_length() const noexcept { return lengths_.data; }

  // The peer closed the stream: Errc::truncated (and the framer fails) when a PDU is partly
  // buffered; success when the stream ended on a PDU boundary.
  std::error_code finish();

  State state() const noexcept { return state_; }
  bool failed() const noexcept { return state_ == State::failed; }
  // Why the framer failed (errc ok while it has not).
  const Diagnostic& diagnostic() const noexcept { return diag_; }
  // The last data digest error recovered from (see recover_data_in_digest_errors), and how many.
  const Diagnostic& damage() const noexcept { return damage_; }
  std::uint64_t damaged_pdus() const noexcept { return damaged_pdus_; }
  // Bytes buffered and not yet returned as PDUs.
  std::size_t buffered() const noexcept { return end_ - begin_; }
  // Bytes still needed before next() can make progress (a read-size hint; 0 when a PDU is
  // ready or the framer failed).
  std::size_t bytes_wanted() const noexcept;
  // Offset in the stream of the first buffered byte.
  std::uint64_t stream_offset() const noexcept { return consumed_; }

 private:
  std::error_code fail(std::error_code ec);
  void make_room(std::size_t n);
  std::size_t header_length() const noexcept;

  FramerConfig config_;
  State state_ = State::header;
  Diagnostic diag_;
  Diagnostic damage_;
  std::uint64_t damaged_pdus_ = 0;
  bool last_damaged_ = false;
  // Grown without zero-filling (only [begin_, end_) is ever read, and all of it was written):
  // the engine asks for 64 KiB per socket read, and zero-filling made all of it resident for
  // every connection, though one doing small I/O only ever touches its first pages. That was
  // 64 of the 81 KiB each of 1000 sessions cost (bench/scale_sessions.py).
  std::vector<std::uint8_t, UninitAllocator<std::uint8_t>> buf_;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last received byte
  std::uint64_t consumed_ = 0;
  // Valid in State::payload: the checked header and the lengths it announced.
  Pdu pending_;
  BhsLengths lengths_{};
  std::size_t header_length_ = 0;  // BHS + AHS + header digest of the pending PDU
  std::size_t total_length_ = 0;   // the pending PDU's bytes in buf_ (all, unless placed)
  // Placement of the pending PDU's data segment (see place()).
  bool placed_ = false;
  MutableByteSpan place_;
  std::size_t place_filled_ = 0;
};

std::string_view to_string(Framer::State s) noexcept;

}  // namespace iscsi::pdu
