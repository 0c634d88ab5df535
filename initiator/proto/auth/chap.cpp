// CHAP algorithms, the response digest through OpenSSL 3's EVP interface, and the hex/base64
// and number encodings of CHAP values.
#include "proto/auth/chap.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <memory>

#include "proto/text/errors.hpp"
#include "proto/text/values.hpp"

namespace iscsi::auth {

namespace {

struct AlgorithmInfo {
  ChapAlgorithm algorithm;
  std::string_view name;  // open-iscsi's chap_algs spelling
  std::size_t size;
};

constexpr std::array<AlgorithmInfo, 4> kAlgorithms{{
    {ChapAlgorithm::md5, "MD5", 16},
    {ChapAlgorithm::sha1, "SHA1", 20},
    {ChapAlgorithm::sha256, "SHA256", 32},
    {ChapAlgorithm::sha3_256, "SHA3-256", 32},
}};

const AlgorithmInfo* info_of(ChapAlgorithm a) noexcept {
  for (const auto& info : kAlgorithms) {
    if (info.algorithm == a) return &info;
  }
  return nullptr;
}

const EVP_MD* evp_of(ChapAlgorithm a) noexcept {
  switch (a) {
    case ChapAlgorithm::md5: return EVP_md5();
    case ChapAlgorithm::sha1: return EVP_sha1();
    case ChapAlgorithm::sha256: return EVP_sha256();
    case ChapAlgorithm::sha3_256: return EVP_sha3_256();
  }
  return nullptr;
}

char ascii_upper(char c) noexcept { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(ChapAlgorithm a) noexcept {
  const AlgorithmInfo* info = info_of(a);
  return info ? info->name : std::string_view("unknown");
}

std::size_t digest_size(ChapAlgorithm a) noexcept {
  const AlgorithmInfo* info = info_of(a);
  return info ? info->size : 0;
}

std::optional<ChapAlgorithm> algorithm_from_chap_a(std::uint64_t value) noexcept {
  for (const auto& info : kAlgorithms) {
    if (chap_a_value(info.algorithm) == value) return info.algorithm;
  }
  return std::nullopt;
}

ChapAlgorithmList default_chap_algorithms() {
  return {ChapAlgorithm::sha3_256, ChapAlgorithm::sha256, ChapAlgorithm::sha1, ChapAlgorithm::md5};
}

Result<ChapAlgorithmList> parse_chap_algs(std::string_view setting) {
  ChapAlgorithmList out;
  if (trim(setting).empty()) return Errc::empty_algorithm_list;
  while (true) {
    const std::size_t comma = setting.find(',');
    const std::string_view item = trim(setting.substr(0, comma));
    const AlgorithmInfo* found = nullptr;
    for (const auto& info : kAlgorithms) {
      if (iequals(item, info.name)) found = &info;
    }
    if (found == nullptr) return Errc::unknown_algorithm_name;
    if (std::find(out.begin(), out.end(), found->algorithm) != out.end()) {
      return Errc::duplicate_algorithm;
    }
    out.push_back(found->algorithm);
    if (comma == std::string_view::npos) break;
    setting.remove_prefix(comma + 1);
  }
  return out;
}

std::string format_chap_a_list(const ChapAlgorithmList& list) {
  std::string out;
  for (ChapAlgorithm a : list) {
    if (!out.empty()) out.push_back(',');
    out += std::to_string(chap_a_value(a));
  }
  return out;
}

Result<ByteVector> chap_response(ChapAlgorithm algorithm, std::uint8_t identifier,
                                 const Secret& secret, ByteSpan challenge) {
  const EVP_MD* md = evp_of(algorithm);
  if (md == nullptr) return Errc::digest_unavailable;
  // EVP_MD_CTX_free cleanses the context, which holds state derived from the secret.
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx) return Errc::digest_unavailable;
  ByteVector out(static_cast<std::size_t>(EVP_MAX_MD_SIZE));
  unsigned int length = 0;
  const ByteSpan secret_bytes = secret.reveal();
  if (EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), &identifier, 1) != 1 ||
      (!secret_bytes.empty() &&
       EVP_DigestUpdate(ctx.get(), secret_bytes.data(), secret_bytes.size()) != 1) ||
      (!challenge.empty() &&
       EVP_DigestUpdate(ctx.get(), challenge.data(), challenge.size()) != 1) ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &length) != 1) {
    return Errc::digest_unavailable;
  }
  if (length != digest_size(algorithm)) return Errc::digest_unavailable;
  out.resize(length);
  return out;
}

Result<ByteVector> decode_binary_value(std::string_view text) {
  auto bytes = text::parse_binary(text);
  if (!bytes) return Errc::malformed_binary_value;
  return bytes;
}

std::string encode_hex_value(ByteSpan bytes) { return text::format_hex(bytes); }

std::string encode_base64_value(ByteSpan bytes) { return text::format_base64(bytes); }

ParsedNumber parse_number(std::string_view text) {
  ParsedNumber out;
  auto value = text::parse_numeric(text);
  if (value) {
    out.kind = ParsedNumber::Kind::ok;
    out.value = *value;
  } else if (value.error() == text::Errc::numeric_overflow) {
    out.kind = ParsedNumber::Kind::too_large;
  }
  return out;
}

namespace detail {

Result<std::optional<std::string_view>> unique_value(const text::KeyValueList& keys,
                                                     std::string_view key) {
  std::optional<std::string_view> found;
  for (const auto& kv : keys) {
    if (kv.key != key) continue;
    if (found) return Errc::duplicate_key;
    found = kv.value;
  }
  return found;
}

Result<std::uint8_t> parse_identifier(std::string_view text) {
  const ParsedNumber n = parse_number(text);
  if (n.kind == ParsedNumber::Kind::malformed) return Errc::malformed_number;
  if (n.kind == ParsedNumber::Kind::too_large || n.value > 255) {
    return Errc::identifier_out_of_range;
  }
  return static_cast<std::uint8_t>(n.value);
}

Result<ByteVector> parse_challenge(std::string_view text) {
  auto bytes = decode_binary_value(text);
  if (!bytes) return bytes.error();
  if (bytes->size() < kMinChallengeLength) return Errc::challenge_too_short;
  if (bytes->size() > kMaxChallengeLength) return Errc::challenge_too_long;
  return bytes;
}

Result<ByteVector> parse_response(std::string_view text, ChapAlgorithm algorithm) {
  auto bytes = decode_binary_value(text);
  if (!bytes) return bytes.error();
  if (bytes->size() != digest_size(algorithm)) return Errc::response_wrong_length;
  return bytes;
}

bool equal_constant_time(ByteSpan a, ByteSpan b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void draw_challenge(const RandomSource& random, std::size_t length, std::uint8_t& identifier,
                    ByteVector& challenge) {
  std::uint8_t id[1] = {0};
  random(std::span<std::uint8_t>(id));
  identifier = id[0];
  challenge.assign(length, 0);
  random(std::span<std::uint8_t>(challenge));
}

}  // namespace detail

std::error_code validate_algorithm_list(const ChapAlgorithmList& list) noexcept {
  if (list.empty()) return Errc::empty_algorithm_list;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (digest_size(list[i]) == 0) return Errc::invalid_config;
    for (std::size_t j = 0; j < i; ++j) {
      if (list[j] == list[i]) return Errc::duplicate_algorithm;
    }
  }
  return {};
}

}  // namespace iscsi::auth
