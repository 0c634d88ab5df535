// SmallBytes<N>: a byte string kept inline up to N bytes and on the heap beyond. It is the type
// of a command's CDB: 6 to 16 bytes almost always, up to 260 with an Extended CDB AHS. As a
// ByteVector it cost a malloc and a free per SCSI command (and the copy of its three pointers
// at every hand-over). It reads like the ByteVector it replaced (data, size, begin/end, assign,
// brace or ByteVector assignment) and converts to ByteSpan.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>

#include "proto/common/bytes.hpp"

namespace iscsi {

template <std::size_t N>
class SmallBytes {
 public:
  SmallBytes() = default;
  SmallBytes(std::initializer_list<std::uint8_t> bytes) { assign(bytes.begin(), bytes.end()); }
  SmallBytes(const ByteVector& bytes) { assign(bytes.begin(), bytes.end()); }  // NOLINT: as before

  template <class It>
  void assign(It first, It last) {
    const auto n = static_cast<std::size_t>(std::distance(first, last));
    if (n <= N) {
      heap_.clear();
      std::copy(first, last, inline_.begin());
    } else {
      heap_.assign(first, last);
    }
    size_ = n;
  }

  const std::uint8_t* data() const noexcept { return size_ <= N ? inline_.data() : heap_.data(); }
  std::uint8_t* data() noexcept { return size_ <= N ? inline_.data() : heap_.data(); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const std::uint8_t* begin() const noexcept { return data(); }
  const std::uint8_t* end() const noexcept { return data() + size_; }
  std::uint8_t* begin() noexcept { return data(); }
  std::uint8_t* end() noexcept { return data() + size_; }
  std::uint8_t operator[](std::size_t i) const noexcept { return data()[i]; }
  std::uint8_t& operator[](std::size_t i) noexcept { return data()[i]; }
  operator ByteSpan() const noexcept { return ByteSpan(data(), size_); }  // NOLINT: as ByteVector

  friend bool operator==(const SmallBytes& a, const SmallBytes& b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  std::array<std::uint8_t, N> inline_{};
  std::size_t size_ = 0;
  ByteVector heap_;  // only for more than N bytes
};

}  // namespace iscsi
