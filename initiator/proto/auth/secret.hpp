// Secret: bytes that must never reach a log. CHAP secrets (node.session.auth.password and
// password_in) live in one of these from the moment they are read until they are wiped.
//
// - The bytes are zeroed (OPENSSL_cleanse) when the Secret is destroyed or overwritten.
// - Move-only: a copy is an explicit clone(), so copies are visible in review.
// - No operator<<, to_string or fmt formatter on purpose: `std::cout << secret` does not compile.
//   Test frameworks that print values anyway (GoogleTest's PrintTo) get "********".
// - The bytes are reached only through the explicit reveal().
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string_view>

#include "proto/common/bytes.hpp"

namespace iscsi::auth {

class Secret {
 public:
  static constexpr std::string_view kRedacted = "********";

  Secret() noexcept = default;
  explicit Secret(ByteSpan bytes);
  explicit Secret(std::string_view text);  // a password as configured (its bytes, no terminator)
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret();

  [[nodiscard]] Secret clone() const;

  // The secret bytes. Named so every use is easy to find.
  [[nodiscard]] ByteSpan reveal() const noexcept { return {bytes_.get(), size_}; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  // Constant-time for equal lengths (CRYPTO_memcmp); lengths are not secret.
  [[nodiscard]] bool same_as(const Secret& other) const noexcept;

  // Zeroes and releases the bytes now.
  void clear() noexcept;

  // GoogleTest's printer hook (found by ADL): failures print the mask, not the bytes.
  friend void PrintTo(const Secret& secret, std::ostream* os);

 private:
  std::unique_ptr<std::uint8_t[]> bytes_;
  std::size_t size_ = 0;
};

}  // namespace iscsi::auth
