// Text continuation across PDUs (C bit): receive-side assembler and send-side splitter.
// See continuation.hpp.
#include "proto/text/continuation.hpp"

#include <algorithm>

namespace iscsi::text {

std::string_view to_string(TextAssembler::State s) noexcept {
  switch (s) {
    case TextAssembler::State::idle: return "idle";
    case TextAssembler::State::collecting: return "collecting";
    case TextAssembler::State::failed: return "failed";
  }
  return "unknown";
}

std::error_code TextAssembler::fail(std::error_code ec) {
  state_ = State::failed;
  error_ = ec;
  return ec;
}

void TextAssembler::reset() {
  decoder_.reset();
  tail_.clear();
  received_ = 0;
  state_ = State::idle;
  error_ = {};
}

// The transition function: (state, C bit) -> state. Every state/event pair is handled here.
Result<std::optional<KeyValueList>> TextAssembler::add(ByteSpan segment, bool continue_bit) {
  if (state_ == State::failed) return error_;
  if (continue_bit && segment.empty()) return fail(Errc::empty_continuation_segment);
  received_ += segment.size();
  if (received_ > options_.max_text_length) return fail(Errc::text_too_long);

  // Parse the partial pair left from the previous segment together with this one. When nothing
  // is pending, parse the segment in place and copy only its unfinished tail.
  ByteSpan input = segment;
  if (!tail_.empty()) {
    tail_.insert(tail_.end(), segment.begin(), segment.end());
    input = tail_;
  }
  auto used = decoder_.put(input);
  if (!used) return fail(used.error());
  ByteVector rest(input.begin() + static_cast<std::ptrdiff_t>(*used), input.end());
  tail_ = std::move(rest);

  if (continue_bit) {
    state_ = State::collecting;
    return std::optional<KeyValueList>{};
  }
  auto list = decoder_.finish(tail_);
  if (!list) return fail(list.error());
  tail_.clear();
  received_ = 0;
  state_ = State::idle;
  return std::optional<KeyValueList>{std::move(*list)};
}

Result<std::vector<TextSegment>> split_text(ByteSpan text, std::size_t max_segment_length) {
  if (max_segment_length == 0) return Errc::segment_size_zero;
  std::vector<TextSegment> out;
  if (text.empty()) {
    out.push_back(TextSegment{text, false});
    return out;
  }
  out.reserve((text.size() + max_segment_length - 1) / max_segment_length);
  for (std::size_t off = 0; off < text.size(); off += max_segment_length) {
    std::size_t n = std::min(max_segment_length, text.size() - off);
    out.push_back(TextSegment{text.subspan(off, n), off + n < text.size()});
  }
  return out;
}

}  // namespace iscsi::text
