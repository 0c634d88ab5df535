// CRC32C (Castagnoli), the iSCSI header and data digest (RFC 7143 section 13.1, RFC 3720
// appendix B.4). The fast path is ISA-L's crc32_iscsi; crc32c_portable is a table-driven
// fallback that tests check against ISA-L and against the RFC's vectors.
//
// On the wire the digest is the CRC value stored least significant byte first (the RFC's
// vectors list 32 zero bytes as "aa 36 91 8a", i.e. CRC 0x8a9136aa); see store_digest().
#pragma once

#include <isa-l/crc.h>

#include <climits>
#include <cstdint>

#include "proto/common/bytes.hpp"

namespace iscsi::digest {

namespace detail {
std::uint32_t crc32c_update_chunked(std::uint32_t state, ByteSpan data) noexcept;

// The register update, inline so that the digest path is one call into ISA-L. crc32_iscsi
// neither inverts its input nor its output, and takes an int length (longer spans are chunked).
inline std::uint32_t crc32c_update(std::uint32_t state, ByteSpan data) noexcept {
  if (data.size() > static_cast<std::size_t>(INT_MAX)) return crc32c_update_chunked(state, data);
  return crc32_iscsi(const_cast<unsigned char*>(data.data()), static_cast<int>(data.size()), state);
}
}  // namespace detail

// Incremental CRC32C: update() any number of times, then value().
class Crc32c {
 public:
  void update(ByteSpan data) noexcept { state_ = detail::crc32c_update(state_, data); }
  std::uint32_t value() const noexcept { return ~state_; }
  void reset() noexcept { state_ = 0xFFFFFFFFu; }

 private:
  std::uint32_t state_ = 0xFFFFFFFFu;
};

// One-shot CRC32C of `data` through ISA-L.
inline std::uint32_t crc32c(ByteSpan data) noexcept {
  return ~detail::crc32c_update(0xFFFFFFFFu, data);
}
// One-shot CRC32C through the portable table (same result, slower).
std::uint32_t crc32c_portable(ByteSpan data) noexcept;

constexpr std::size_t kDigestLength = 4;

inline void store_digest(std::uint8_t* out, std::uint32_t crc) noexcept { store_le32(out, crc); }
inline std::uint32_t load_digest(const std::uint8_t* in) noexcept { return load_le32(in); }

}  // namespace iscsi::digest
