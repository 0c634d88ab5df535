// Secret storage that wipes itself; see secret.hpp for the rules.
#include "proto/auth/secret.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <ostream>
#include <utility>

namespace iscsi::auth {

Secret::Secret(ByteSpan bytes) : size_(bytes.size()) {
  if (size_ != 0) {
    bytes_ = std::make_unique<std::uint8_t[]>(size_);
    std::copy(bytes.begin(), bytes.end(), bytes_.get());
  }
}

Secret::Secret(std::string_view text) : Secret(as_bytes(text)) {}

Secret::Secret(Secret&& other) noexcept
    : bytes_(std::move(other.bytes_)), size_(std::exchange(other.size_, 0)) {}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    clear();
    bytes_ = std::move(other.bytes_);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Secret::~Secret() { clear(); }

Secret Secret::clone() const { return Secret(reveal()); }

bool Secret::same_as(const Secret& other) const noexcept {
  if (size_ != other.size_) return false;
  if (size_ == 0) return true;
  return CRYPTO_memcmp(bytes_.get(), other.bytes_.get(), size_) == 0;
}

void Secret::clear() noexcept {
  if (bytes_) OPENSSL_cleanse(bytes_.get(), size_);
  bytes_.reset();
  size_ = 0;
}

void PrintTo(const Secret&, std::ostream* os) { *os << Secret::kRedacted; }

}  // namespace iscsi::auth
