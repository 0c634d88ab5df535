// 32-bit sequence numbers (CmdSN, ExpCmdSN, MaxCmdSN, StatSN, DataSN, R2TSN) compared with
// RFC 1982 serial-number arithmetic, as RFC 7143 section 4.2.2.1 requires. There is no implicit
// conversion from or to uint32_t, so a bare `<` on raw numbers cannot sneak in.
#pragma once

#include <compare>
#include <cstdint>

namespace iscsi {

class SerialNumber {
 public:
  constexpr SerialNumber() noexcept = default;
  constexpr explicit SerialNumber(std::uint32_t v) noexcept : value_(v) {}

  constexpr std::uint32_t value() const noexcept { return value_; }

  // RFC 1982 section 3.1: addition is defined for 0 <= n <= 2^31 - 1.
  constexpr SerialNumber operator+(std::uint32_t n) const noexcept {
    return SerialNumber(value_ + n);
  }
  constexpr SerialNumber& operator+=(std::uint32_t n) noexcept {
    value_ += n;
    return *this;
  }
  constexpr SerialNumber& operator++() noexcept {
    ++value_;
    return *this;
  }
  constexpr SerialNumber operator++(int) noexcept {
    SerialNumber old = *this;
    ++value_;
    return old;
  }

  // Signed distance from `from` to `to` (positive when `to` is ahead). Undefined by RFC 1982
  // when the two are exactly 2^31 apart; we report INT32_MIN and compare() calls it unordered.
  static constexpr std::int32_t distance(SerialNumber from, SerialNumber to) noexcept {
    return static_cast<std::int32_t>(to.value_ - from.value_);
  }

  friend constexpr bool operator==(SerialNumber a, SerialNumber b) noexcept = default;

  friend constexpr std::partial_ordering operator<=>(SerialNumber a, SerialNumber b) noexcept {
    if (a.value_ == b.value_) return std::partial_ordering::equivalent;
    const std::uint32_t diff = b.value_ - a.value_;
    if (diff == 0x80000000u) return std::partial_ordering::unordered;
    return diff < 0x80000000u ? std::partial_ordering::less : std::partial_ordering::greater;
  }

  // `this` lies in [lo, hi] in serial order (both ends inclusive): the CmdSN window test.
  constexpr bool in_window(SerialNumber lo, SerialNumber hi) const noexcept {
    return distance(lo, *this) >= 0 && distance(*this, hi) >= 0 && distance(lo, hi) >= 0;
  }

 private:
  std::uint32_t value_ = 0;
};

}  // namespace iscsi
