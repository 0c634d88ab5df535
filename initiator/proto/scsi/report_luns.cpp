// REPORT LUNS decoder/encoder and SAM LUN conversions.
#include "proto/scsi/report_luns.hpp"

#include <algorithm>
#include <cstdio>

#include "proto/scsi/wire.hpp"

namespace iscsi::scsi {

using detail::get;

namespace {
constexpr std::uint32_t kMaxPeripheralLun = 0xFF;
constexpr std::uint32_t kMaxFlatLun = detail::lun_format::kFlatLunMask;
}  // namespace

Result<Lun> Lun::from_number(std::uint32_t lun) {
  namespace f = detail::lun_format;
  if (lun > kMaxFlatLun) return Errc::lun_out_of_range;
  Bytes b{};
  MutableByteSpan s(b);
  // Peripheral addressing with bus 0 is just the LUN in byte 1; flat puts method 01 above
  // a 14-bit LUN in the same two bytes.
  const auto method = lun <= kMaxPeripheralLun ? LunAddressMethod::peripheral : LunAddressMethod::flat;
  detail::put(s, f::kFirstLevel, lun);
  detail::put(s, f::kAddressMethod, static_cast<unsigned>(method));
  return Lun(b);
}

LunAddressMethod Lun::address_method() const noexcept {
  return static_cast<LunAddressMethod>(detail::get(ByteSpan(bytes_), detail::lun_format::kAddressMethod));
}

Result<std::uint16_t> Lun::number() const {
  namespace f = detail::lun_format;
  const ByteSpan s(bytes_);
  if (get(s, f::kSecondToFourthLevel) != 0) return Errc::unsupported_lun_address;
  const auto first = static_cast<std::uint16_t>(get(s, f::kFirstLevel));
  switch (address_method()) {
    case LunAddressMethod::peripheral:
      // A non-zero bus identifier addresses a LUN behind another bus, not a number of ours.
      if (detail::get(s, f::kBusOrHighBits) != 0) return Errc::unsupported_lun_address;
      return first;
    case LunAddressMethod::flat:
      return static_cast<std::uint16_t>(first & f::kFlatLunMask);
    default:
      return Errc::unsupported_lun_address;
  }
}

std::uint64_t Lun::linux_number() const noexcept {
  // Linux stores level n's two bytes at bits 16n..16n+15 of the integer, byte order kept.
  std::uint64_t v = 0;
  namespace f = detail::lun_format;
  for (std::size_t level = 0; level < f::kLevels; ++level) {
    const detail::Field two{level * f::kLevelLength, f::kLevelLength};
    v |= get(ByteSpan(bytes_), two) << (16 * level);
  }
  return v;
}

std::string Lun::to_string() const {
  if (auto n = number()) return std::to_string(*n);
  char buf[2 + 16 + 1];
  std::snprintf(buf, sizeof buf, "0x%016llx",
                static_cast<unsigned long long>(get(ByteSpan(bytes_), detail::lun_format::kWhole)));
  return buf;
}

Result<ReportLunsData> decode_report_luns(ByteSpan data) {
  namespace f = detail::report_luns_data;
  if (data.size() < f::kHeaderLength) return Errc::response_too_short;
  ReportLunsData out;
  out.lun_list_length = static_cast<std::uint32_t>(get(data, f::kLunListLength));
  if (out.lun_list_length % f::kLunLength != 0) return Errc::bad_lun_list_length;
  const std::size_t have = data.size() - f::kHeaderLength;
  out.truncated = have < out.lun_list_length;
  const std::size_t count = std::min<std::size_t>(have, out.lun_list_length) / f::kLunLength;
  out.luns.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    Lun::Bytes b{};
    const auto entry = data.subspan(f::kHeaderLength + i * f::kLunLength, f::kLunLength);
    std::copy(entry.begin(), entry.end(), b.begin());
    out.luns.emplace_back(b);
  }
  return out;
}

ByteVector encode_report_luns(const std::vector<Lun>& luns) {
  namespace f = detail::report_luns_data;
  ByteVector out(f::kHeaderLength + luns.size() * f::kLunLength, 0);
  detail::put(MutableByteSpan(out), f::kLunListLength, luns.size() * f::kLunLength);
  for (std::size_t i = 0; i < luns.size(); ++i) {
    std::copy(luns[i].bytes().begin(), luns[i].bytes().end(),
              out.begin() + static_cast<std::ptrdiff_t>(f::kHeaderLength + i * f::kLunLength));
  }
  return out;
}

}  // namespace iscsi::scsi
