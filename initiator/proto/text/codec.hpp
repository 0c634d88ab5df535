// The key=value text codec of RFC 7143 section 6.1: "key=value\0key=value\0...", as carried in
// the data segment of Login and Text PDUs (after the assembler joined C-bit continuations).
//
//   decode(bytes)         -> KeyValueList or the specific Errc (+ TextDiagnostic: where)
//   Decoder::put(bytes)   -> streaming: parses the complete pairs, returns bytes consumed
//   encode(list)          -> bytes, validating keys and values with the same rules
//
// Generic rules only: key syntax, value lengths, UTF-8, NUL framing, duplicates. What a key
// means and its per-key limits live in the negotiation table (login/keys.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <system_error>

#include "proto/common/bytes.hpp"
#include "proto/common/result.hpp"
#include "proto/text/errors.hpp"
#include "proto/text/key_value.hpp"

namespace iscsi::text {

struct TextOptions {
  // RFC 7143 section 6.1: a key-name (standard-label) is at most 63 characters.
  std::size_t max_key_length = 63;
  // "If not otherwise specified, the maximum length of a simple-value (not its encoded
  // representation) is 255 bytes, not including the delimiter (comma or null)." Applied to each
  // comma-separated item, since the codec cannot tell a list from a simple value.
  std::size_t max_value_length = 255;
  // Values written as hex (0x) or base64 (0b) constants are measured by their binary length.
  // 1024 bytes is the RFC's cap for CHAP_C / CHAP_R large-binary-values; keys with a smaller
  // limit get it from the negotiation table.
  std::size_t max_binary_value_length = 1024;
  // The whole logical text data segment. The RFC's floor is 8192 bytes, 64 KiB when an
  // authentication method needs long items.
  std::size_t max_text_length = 64 * 1024;
  // A SendTargets response legitimately repeats TargetName and TargetAddress.
  bool allow_duplicate_keys = false;
  // Accept a run of NULs after the last pair (a caller passing the padded segment, or a peer that
  // pads); an empty pair before another pair is always an error.
  bool allow_trailing_nuls = true;
  // Section 6.1: key=value pairs are UTF-8.
  bool require_utf8 = true;
};

// Where a decode or encode failed: byte offset into the text, index of the pair, and its key
// (empty when the key itself was the problem or not yet known).
struct TextDiagnostic {
  std::size_t offset = 0;
  std::size_t pair_index = 0;
  std::string key;
};

// Whole-text decode: every pair must end in NUL.
Result<KeyValueList> decode(ByteSpan text, const TextOptions& options = {},
                            TextDiagnostic* diagnostic = nullptr);

// Streaming decoder for text that arrives in pieces. put() parses every complete (NUL-terminated)
// pair in `input` and returns how many bytes it consumed; the caller keeps the rest (a partial
// pair) and presents it again with more bytes. finish() ends the text: `leftover` must be empty
// (else unterminated_pair), and duplicates are checked. Errors are sticky.
class Decoder {
 public:
  explicit Decoder(const TextOptions& options = {}) : options_(options) {}

  Result<std::size_t> put(ByteSpan input);
  Result<KeyValueList> finish(ByteSpan leftover = {});
  void reset();

  std::size_t bytes_consumed() const noexcept { return offset_; }
  const TextDiagnostic& diagnostic() const noexcept { return diagnostic_; }
  const KeyValueList& pairs() const noexcept { return pairs_; }

 private:
  std::error_code fail(std::error_code ec, std::size_t offset, std::string key = {});

  TextOptions options_;
  KeyValueList pairs_;
  std::size_t offset_ = 0;         // bytes of the text consumed so far
  bool in_trailing_nuls_ = false;  // saw an empty pair; only more NULs may follow
  std::size_t partial_scanned_ = 0;  // leading bytes of the pending partial pair known NUL-free
  std::error_code error_;
  TextDiagnostic diagnostic_;
};

// Syntax checks shared by the decoder and the encoder.
std::error_code validate_key(std::string_view key, const TextOptions& options = {}) noexcept;
std::error_code validate_value(std::string_view value, const TextOptions& options = {}) noexcept;
// Index of the second occurrence of a repeated key, or npos.
std::size_t find_duplicate_key(const KeyValueList& list);

// Appends "key=value\0" for each pair, after validating it.
std::error_code encode_to(const KeyValueList& list, ByteVector& out, const TextOptions& options = {},
                          TextDiagnostic* diagnostic = nullptr);
Result<ByteVector> encode(const KeyValueList& list, const TextOptions& options = {},
                          TextDiagnostic* diagnostic = nullptr);
// Size encode() would produce (no validation).
std::size_t encoded_size(const KeyValueList& list) noexcept;

}  // namespace iscsi::text
