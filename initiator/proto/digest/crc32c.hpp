// CRC32C (Castagnoli), the iSCSI header and data digest (RFC 7143 section 13.1, RFC 3720
// appendix B.4). The fast path is ISA-L's crc32_iscsi; crc32c_portable is a table-driven
// fallback that tests check against ISA-L and against the RFC's vectors.
//
// On the wire the digest is the CRC value stored least significant byte first (the RFC's
// vectors list 32 zero bytes as "aa 36 91 8a", i.e. CRC 0x8a9136aa); see store_digest().
#pragma once

#include <cstdint>

#include "proto/common/bytes.hpp"

namespace iscsi::digest {

// Incremental CRC32C: update() any number of times, then value().
class Crc32c {
 public:
  void update(ByteSpan data) noexcept;
  std::uint32_t value() const noexcept { return ~state_; }
  void reset() noexcept { state_ = 0xFFFFFFFFu; }

 private:
  std::uint32_t state_ = 0xFFFFFFFFu;
};

// One-shot CRC32C of `data` through ISA-L.
std::uint32_t crc32c(ByteSpan data) noexcept;
// One-shot CRC32C through the portable table (same result, slower).
std::uint32_t crc32c_portable(ByteSpan data) noexcept;

constexpr std::size_t kDigestLength = 4;

inline void store_digest(std::uint8_t* out, std::uint32_t crc) noexcept { store_le32(out, crc); }
inline std::uint32_t load_digest(const std::uint8_t* in) noexcept { return load_le32(in); }

}  // namespace iscsi::digest
