// key=value text codec (RFC 7143 section 6.1). See codec.hpp.
#include "proto/text/codec.hpp"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "proto/text/values.hpp"

namespace iscsi::text {
namespace {

constexpr bool is_letter(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_key_char(char c) noexcept {
  return is_letter(c) || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == '@' ||
         c == '_';
}

// Checks the key part of a pair, `key` being what precedes the first '=' (or, for a partial pair
// whose '=' has not arrived, everything so far). Returns the first definite error.
std::error_code check_key_prefix(std::string_view key, const TextOptions& options) noexcept {
  if (key.empty()) return {};
  if (!is_letter(key[0])) return Errc::key_must_start_with_letter;
  std::size_t n = std::min(key.size(), options.max_key_length + 1);
  for (std::size_t i = 1; i < n; ++i) {
    char c = key[i];
    // "X#" introduces the RFC's public extension keys (X#NodeArchitecture).
    if (c == '#' && i == 1 && key[0] == 'X') continue;
    if (!is_key_char(c)) return Errc::key_invalid_character;
  }
  if (key.size() > options.max_key_length) return Errc::key_too_long;
  return {};
}

bool valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      unsigned char cc = p[i + k];
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) {
      return false;  // overlong
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

}  // namespace

std::error_code validate_key(std::string_view key, const TextOptions& options) noexcept {
  if (key.empty()) return Errc::key_empty;
  if (key.find('=') != std::string_view::npos) return Errc::key_invalid_character;
  return check_key_prefix(key, options);
}

std::error_code validate_value(std::string_view value, const TextOptions& options) noexcept {
  if (value.find('\0') != std::string_view::npos) return Errc::value_contains_nul;
  if (options.require_utf8 && !valid_utf8(value)) return Errc::value_invalid_utf8;
  bool check_binary_always = options.max_binary_value_length < options.max_value_length;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = value.find(',', start);
    std::size_t end = comma == std::string_view::npos ? value.size() : comma;
    std::string_view item = value.substr(start, end - start);
    if (item.size() > options.max_value_length || check_binary_always) {
      auto binary = binary_decoded_length(item);
      if (binary) {
        if (*binary > options.max_binary_value_length) return Errc::binary_value_too_long;
      } else if (item.size() > options.max_value_length) {
        return Errc::value_too_long;
      }
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return {};
}

std::size_t find_duplicate_key(const KeyValueList& list) {
  const std::size_t n = list.size();
  if (n < 2) return std::string_view::npos;
  if (n <= 16) {
    for (std::size_t j = 1; j < n; ++j) {
      for (std::size_t i = 0; i < j; ++i) {
        if (list[i].key == list[j].key) return j;
      }
    }
    return std::string_view::npos;
  }
  std::vector<std::pair<std::string_view, std::size_t>> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i) keys.emplace_back(list[i].key, i);
  std::sort(keys.begin(), keys.end());
  std::size_t first_repeat = std::string_view::npos;
  for (std::size_t i = 1; i < n; ++i) {
    if (keys[i].first == keys[i - 1].first) first_repeat = std::min(first_repeat, keys[i].second);
  }
  return first_repeat;
}

// --- Decoder -----------------------------------------------------------------------------------

std::error_code Decoder::fail(std::error_code ec, std::size_t offset, std::string key) {
  error_ = ec;
  diagnostic_.offset = offset;
  diagnostic_.pair_index = pairs_.size();
  diagnostic_.key = std::move(key);
  return ec;
}

void Decoder::reset() {
  pairs_.clear();
  offset_ = 0;
  in_trailing_nuls_ = false;
  partial_scanned_ = 0;
  error_ = {};
  diagnostic_ = {};
}

Result<std::size_t> Decoder::put(ByteSpan input) {
  if (error_) return error_;
  if (offset_ + input.size() > options_.max_text_length) {
    return fail(Errc::text_too_long, options_.max_text_length);
  }
  const char* base = reinterpret_cast<const char*>(input.data());
  std::size_t pos = 0;
  while (pos < input.size()) {
    const std::size_t abs = offset_ + pos;
    if (in_trailing_nuls_) {
      if (base[pos] != '\0') return fail(Errc::key_empty, abs - 1);
      ++pos;
      continue;
    }
    // The caller presents an unconsumed partial pair again with more bytes after it; the part
    // already searched holds no NUL, so skip it (keeps byte-at-a-time feeding linear).
    const std::size_t skip = pos == 0 ? std::min(partial_scanned_, input.size()) : 0;
    const void* nul = std::memchr(base + pos + skip, '\0', input.size() - pos - skip);
    if (nul == nullptr) {
      // A partial pair: report what is already certain to be wrong with its key.
      std::string_view partial(base + pos, input.size() - pos);
      std::string_view head = partial.substr(0, options_.max_key_length + 1);
      std::string_view key = head.substr(0, std::min(head.find('='), head.size()));
      if (auto ec = check_key_prefix(key, options_)) return fail(ec, abs);
      partial_scanned_ = partial.size();
      break;
    }
    partial_scanned_ = 0;
    const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nul) - base);
    std::string_view pair(base + pos, end - pos);
    if (pair.empty()) {
      if (!options_.allow_trailing_nuls) return fail(Errc::key_empty, abs);
      in_trailing_nuls_ = true;
      ++pos;
      continue;
    }
    std::size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, std::min(eq, pair.size()));
    if (key.empty()) return fail(Errc::key_empty, abs);
    if (auto ec = check_key_prefix(key, options_)) return fail(ec, abs);
    if (eq == std::string_view::npos) return fail(Errc::missing_equals, abs, std::string(key));
    std::string_view value = pair.substr(eq + 1);
    if (auto ec = validate_value(value, options_)) {
      return fail(ec, abs + eq + 1, std::string(key));
    }
    pairs_.push_back(KeyValue{std::string(key), std::string(value)});
    pos = end + 1;
  }
  offset_ += pos;
  return pos;
}

Result<KeyValueList> Decoder::finish(ByteSpan leftover) {
  if (error_) return error_;
  if (!leftover.empty()) {
    // Anything left over is a pair whose NUL never came (its key was already vetted by put()).
    std::string_view partial = as_chars(leftover);
    std::string_view key = partial.substr(0, std::min(partial.find('='), partial.size()));
    if (key.empty()) return fail(Errc::key_empty, offset_);
    return fail(Errc::unterminated_pair, offset_, std::string(key));
  }
  if (!options_.allow_duplicate_keys) {
    std::size_t dup = find_duplicate_key(pairs_);
    if (dup != std::string_view::npos) {
      error_ = Errc::duplicate_key;
      diagnostic_.offset = 0;
      for (std::size_t i = 0; i < dup; ++i) {
        diagnostic_.offset += pairs_[i].key.size() + pairs_[i].value.size() + 2;
      }
      diagnostic_.pair_index = dup;
      diagnostic_.key = pairs_[dup].key;
      return error_;
    }
  }
  KeyValueList out = std::move(pairs_);
  reset();
  return out;
}

Result<KeyValueList> decode(ByteSpan text, const TextOptions& options, TextDiagnostic* diagnostic) {
  Decoder decoder(options);
  auto used = decoder.put(text);
  Result<KeyValueList> result = used ? decoder.finish(text.subspan(*used))
                                     : Result<KeyValueList>(used.error());
  if (!result && diagnostic != nullptr) *diagnostic = decoder.diagnostic();
  return result;
}

// --- Encoder -----------------------------------------------------------------------------------

std::size_t encoded_size(const KeyValueList& list) noexcept {
  std::size_t n = 0;
  for (const KeyValue& kv : list) n += kv.key.size() + kv.value.size() + 2;
  return n;
}

std::error_code encode_to(const KeyValueList& list, ByteVector& out, const TextOptions& options,
                          TextDiagnostic* diagnostic) {
  auto fail = [&](std::error_code ec, std::size_t index, std::size_t offset) {
    if (diagnostic != nullptr) {
      diagnostic->offset = offset;
      diagnostic->pair_index = index;
      diagnostic->key = index < list.size() ? list[index].key : std::string();
    }
    return ec;
  };
  std::size_t offset = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (auto ec = validate_key(list[i].key, options)) return fail(ec, i, offset);
    if (auto ec = validate_value(list[i].value, options)) {
      return fail(ec, i, offset + list[i].key.size() + 1);
    }
    offset += list[i].key.size() + list[i].value.size() + 2;
  }
  if (offset > options.max_text_length) return fail(Errc::text_too_long, list.size(), offset);
  if (!options.allow_duplicate_keys) {
    std::size_t dup = find_duplicate_key(list);
    if (dup != std::string_view::npos) return fail(Errc::duplicate_key, dup, 0);
  }
  out.reserve(out.size() + offset);
  for (const KeyValue& kv : list) {
    out.insert(out.end(), kv.key.begin(), kv.key.end());
    out.push_back('=');
    out.insert(out.end(), kv.value.begin(), kv.value.end());
    out.push_back('\0');
  }
  return {};
}

Result<ByteVector> encode(const KeyValueList& list, const TextOptions& options,
                          TextDiagnostic* diagnostic) {
  ByteVector out;
  if (auto ec = encode_to(list, out, options, diagnostic)) return ec;
  return out;
}

}  // namespace iscsi::text
