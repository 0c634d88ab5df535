// Text continuation across PDUs (RFC 7143 section 6.1, the C bit of Login and Text PDUs).
//
// Receiving: TextAssembler takes successive data segments with their C bit and yields the
// complete KeyValueList only when a segment arrives with C=0 (the end of the "logical text data
// segment"). Pairs are parsed as they complete, so a bad key fails at the segment that carries it;
// the total is bounded (64 KiB by default); a C=0 segment that leaves a pair without its NUL is an
// error. Errors are sticky until reset().
//
// Sending: split_text() cuts an encoded text into segments of at most MaxRecvDataSegmentLength
// bytes (the peer's), with C set on all but the last. The RFC lets a pair span PDUs, so the cut is
// at byte granularity.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/text/codec.hpp"
#include "proto/text/key_value.hpp"

namespace iscsi::text {

class TextAssembler {
 public:
  enum class State : std::uint8_t {
    idle,        // no segment of the current text yet
    collecting,  // saw C=1 segments; waiting for the C=0 one
    failed,      // sticky until reset()
  };

  explicit TextAssembler(const TextOptions& options = {}) : options_(options), decoder_(options) {}

  // Feeds one PDU's data segment (without padding) and its C bit. Returns nullopt while the text
  // continues (C=1), the complete list on C=0, or an error.
  Result<std::optional<KeyValueList>> add(ByteSpan segment, bool continue_bit);

  void reset();
  State state() const noexcept { return state_; }
  std::error_code error() const noexcept { return error_; }
  // Total bytes of the current text received so far.
  std::size_t received() const noexcept { return received_; }
  const TextDiagnostic& diagnostic() const noexcept { return decoder_.diagnostic(); }

 private:
  std::error_code fail(std::error_code ec);

  TextOptions options_;
  Decoder decoder_;
  ByteVector tail_;  // the partial pair carried into the next segment
  std::size_t received_ = 0;
  State state_ = State::idle;
  std::error_code error_;
};

std::string_view to_string(TextAssembler::State s) noexcept;

struct TextSegment {
  ByteSpan data;       // points into the text passed to split_text()
  bool continue_bit;   // C: more segments of this text follow
};

// Splits `text` into segments of at most `max_segment_length` bytes; an empty text gives one empty
// segment with C=0. The spans refer to `text`, which must outlive them.
Result<std::vector<TextSegment>> split_text(ByteSpan text, std::size_t max_segment_length);

}  // namespace iscsi::text
