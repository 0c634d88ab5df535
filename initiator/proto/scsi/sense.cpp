// Sense data decoding (both formats), sense-key-specific accessors, printing and builders.
#include "proto/scsi/sense.hpp"

#include <algorithm>
#include <cstdio>

#include "proto/scsi/wire.hpp"

namespace iscsi::scsi {

using detail::get;
using detail::get_flag;

namespace {

SenseKeySpecific sks_from(ByteSpan three) noexcept {
  SenseKeySpecific s;
  std::copy_n(three.begin(), std::min(three.size(), s.bytes.size()), s.bytes.begin());
  return s;
}

void decode_fixed(ByteSpan d, SenseData& out) {
  namespace f = detail::fixed_sense;
  out.filemark = get_flag(d, f::kFilemark);
  out.eom = get_flag(d, f::kEom);
  out.ili = get_flag(d, f::kIli);
  out.sdat_ovfl = get_flag(d, f::kSdatOvfl);
  out.key = static_cast<SenseKey>(get(d, f::kSenseKey));
  // The information field means something only with VALID set (SPC-4 4.5.3).
  if (get_flag(d, f::kValid) && detail::has(d, f::kInformation)) {
    out.information = get(d, f::kInformation);
  }
  if (detail::has(d, f::kCommandSpecific)) out.command_specific = get(d, f::kCommandSpecific);
  out.asc = static_cast<std::uint8_t>(get(d, f::kAsc));
  out.ascq = static_cast<std::uint8_t>(get(d, f::kAscq));
  out.fru_code = static_cast<std::uint8_t>(get(d, f::kFruCode));
  if (detail::has(d, f::kSenseKeySpecific)) {
    const auto sks = d.subspan(f::kSenseKeySpecific.offset, f::kSenseKeySpecific.size);
    if (get_flag(sks, detail::sense_key_specific::kSksv)) out.sense_key_specific = sks_from(sks);
  }
}

// Pulls the fields SenseData names out of the descriptors that carry them.
void interpret(const SenseDescriptor& desc, ByteSpan whole, SenseData& out) {
  namespace f = detail::sense_descriptor;
  switch (desc.type) {
    case f::kInformationType:
      if (get_flag(whole, f::kInformationValid) && detail::has(whole, f::kInformation)) {
        out.information = get(whole, f::kInformation);
      }
      break;
    case f::kCommandSpecificType:
      if (detail::has(whole, f::kCommandSpecific)) {
        out.command_specific = get(whole, f::kCommandSpecific);
      }
      break;
    case f::kSenseKeySpecificType:
      if (detail::has(whole, f::kSenseKeySpecific)) {
        const auto sks = whole.subspan(f::kSenseKeySpecific.offset, f::kSenseKeySpecific.size);
        if (get_flag(sks, detail::sense_key_specific::kSksv)) {
          out.sense_key_specific = sks_from(sks);
        }
      }
      break;
    case f::kFruType:
      out.fru_code = static_cast<std::uint8_t>(get(whole, f::kFruCode));
      break;
    case f::kBlockCommandsType:
      out.ili = get_flag(whole, f::kBlockIli);
      break;
    default:
      break;
  }
}

void decode_descriptor(ByteSpan d, SenseData& out) {
  namespace f = detail::descriptor_sense;
  out.key = static_cast<SenseKey>(get(d, f::kSenseKey));
  out.asc = static_cast<std::uint8_t>(get(d, f::kAsc));
  out.ascq = static_cast<std::uint8_t>(get(d, f::kAscq));
  out.sdat_ovfl = get_flag(d, f::kSdatOvfl);
  if (d.size() <= f::kHeaderLength) return;
  auto rest = d.subspan(f::kHeaderLength);
  while (!rest.empty()) {
    if (rest.size() < f::kDescriptorHeaderLength) {
      out.truncated = true;
      return;
    }
    const std::size_t total = f::kDescriptorHeaderLength + get(rest, f::kDescriptorLength);
    if (rest.size() < total) {
      out.truncated = true;
      return;
    }
    const auto whole = rest.first(total);
    SenseDescriptor desc;
    desc.type = static_cast<std::uint8_t>(get(whole, f::kDescriptorType));
    const auto body = whole.subspan(f::kDescriptorHeaderLength);
    desc.body.assign(body.begin(), body.end());
    interpret(desc, whole, out);
    out.descriptors.push_back(std::move(desc));
    rest = rest.subspan(total);
  }
}

}  // namespace

std::string_view to_string(SenseKey key) noexcept {
  switch (key) {
    case SenseKey::no_sense: return "NO SENSE";
    case SenseKey::recovered_error: return "RECOVERED ERROR";
    case SenseKey::not_ready: return "NOT READY";
    case SenseKey::medium_error: return "MEDIUM ERROR";
    case SenseKey::hardware_error: return "HARDWARE ERROR";
    case SenseKey::illegal_request: return "ILLEGAL REQUEST";
    case SenseKey::unit_attention: return "UNIT ATTENTION";
    case SenseKey::data_protect: return "DATA PROTECT";
    case SenseKey::blank_check: return "BLANK CHECK";
    case SenseKey::vendor_specific: return "VENDOR SPECIFIC";
    case SenseKey::copy_aborted: return "COPY ABORTED";
    case SenseKey::aborted_command: return "ABORTED COMMAND";
    case SenseKey::reserved_c: return "RESERVED (0xC)";
    case SenseKey::volume_overflow: return "VOLUME OVERFLOW";
    case SenseKey::miscompare: return "MISCOMPARE";
    case SenseKey::completed: return "COMPLETED";
  }
  return "UNKNOWN SENSE KEY";
}

namespace ssk = detail::sense_key_specific;

bool SenseKeySpecific::command_data() const noexcept { return get_flag(ByteSpan(bytes), ssk::kCommandData); }
bool SenseKeySpecific::bit_pointer_valid() const noexcept { return get_flag(ByteSpan(bytes), ssk::kBpv); }
std::uint8_t SenseKeySpecific::bit_pointer() const noexcept { return get(ByteSpan(bytes), ssk::kBitPointer); }
std::uint16_t SenseKeySpecific::field_pointer() const noexcept {
  return static_cast<std::uint16_t>(get(ByteSpan(bytes), ssk::kFieldPointer));
}
std::uint16_t SenseKeySpecific::progress() const noexcept {
  return static_cast<std::uint16_t>(get(ByteSpan(bytes), ssk::kProgress));
}
std::uint16_t SenseKeySpecific::retry_count() const noexcept {
  return static_cast<std::uint16_t>(get(ByteSpan(bytes), ssk::kRetryCount));
}
bool SenseKeySpecific::overflow() const noexcept { return get_flag(ByteSpan(bytes), ssk::kOverflow); }

Result<SenseData> decode_sense(ByteSpan data) {
  namespace s = detail::sense;
  if (data.empty()) return Errc::response_too_short;
  SenseData out;
  out.response_code = get(data, s::kResponseCode);
  switch (out.response_code) {
    case s::kFixedCurrent:
    case s::kFixedDeferred:
      out.format = SenseFormat::fixed;
      if (data.size() < detail::fixed_sense::kMinLength) return Errc::response_too_short;
      break;
    case s::kDescriptorCurrent:
    case s::kDescriptorDeferred:
      out.format = SenseFormat::descriptor;
      if (data.size() < detail::descriptor_sense::kMinLength) return Errc::response_too_short;
      break;
    default:
      return Errc::bad_sense_response_code;
  }
  out.deferred = out.response_code == s::kFixedDeferred ||
                 out.response_code == s::kDescriptorDeferred;

  // Both formats keep ADDITIONAL LENGTH at byte 7 and the same 8-byte header length.
  const detail::Field additional = out.format == SenseFormat::fixed
                                       ? detail::fixed_sense::kAdditionalLength
                                       : detail::descriptor_sense::kAdditionalLength;
  const std::size_t header = out.format == SenseFormat::fixed
                                 ? detail::fixed_sense::kHeaderLength
                                 : detail::descriptor_sense::kHeaderLength;
  // Both formats always have the 8-byte header, so data that stops inside it was cut.
  std::size_t declared = header;
  if (detail::has(data, additional)) {
    out.additional_length = static_cast<std::uint8_t>(get(data, additional));
    declared = header + out.additional_length;
  }
  out.truncated = data.size() < declared;
  const ByteSpan d = data.first(std::min(data.size(), declared));

  if (out.format == SenseFormat::fixed) {
    decode_fixed(d, out);
  } else {
    decode_descriptor(d, out);
  }
  return out;
}

std::string to_string(const SenseData& sense) {
  std::string out;
  if (sense.deferred) out += "DEFERRED ";
  out += to_string(sense.key);
  out += ": ";
  char buf[48];
  if (const auto name = asc_name(sense.asc, sense.ascq); !name.empty()) {
    out += name;
  } else {
    std::snprintf(buf, sizeof buf, "ASC 0x%02x ASCQ 0x%02x", sense.asc, sense.ascq);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, " (0x%x/0x%02x/0x%02x)", static_cast<unsigned>(sense.key),
                sense.asc, sense.ascq);
  out += buf;
  return out;
}

ByteVector build_fixed_sense(SenseKey key, std::uint8_t asc, std::uint8_t ascq,
                             std::optional<std::uint32_t> information) {
  namespace f = detail::fixed_sense;
  ByteVector out(f::kStandardLength, 0);
  MutableByteSpan b(out);
  detail::put(b, detail::sense::kResponseCode, detail::sense::kFixedCurrent);
  detail::put(b, f::kSenseKey, static_cast<unsigned>(key));
  if (information) {
    detail::put_flag(b, f::kValid, true);
    detail::put(b, f::kInformation, *information);
  }
  detail::put(b, f::kAdditionalLength, f::kStandardLength - f::kHeaderLength);
  detail::put(b, f::kAsc, asc);
  detail::put(b, f::kAscq, ascq);
  return out;
}

ByteVector build_descriptor_sense(SenseKey key, std::uint8_t asc, std::uint8_t ascq,
                                  std::optional<std::uint64_t> information) {
  namespace f = detail::descriptor_sense;
  namespace g = detail::sense_descriptor;
  const std::size_t info_length = information ? g::kInformation.end() : 0;
  ByteVector out(f::kHeaderLength + info_length, 0);
  MutableByteSpan b(out);
  detail::put(b, detail::sense::kResponseCode, detail::sense::kDescriptorCurrent);
  detail::put(b, f::kSenseKey, static_cast<unsigned>(key));
  detail::put(b, f::kAsc, asc);
  detail::put(b, f::kAscq, ascq);
  detail::put(b, f::kAdditionalLength, info_length);
  if (information) {
    auto desc = b.subspan(f::kHeaderLength);
    detail::put(desc, f::kDescriptorType, g::kInformationType);
    detail::put(desc, f::kDescriptorLength, info_length - f::kDescriptorHeaderLength);
    detail::put_flag(desc, g::kInformationValid, true);
    detail::put(desc, g::kInformation, *information);
  }
  return out;
}

}  // namespace iscsi::scsi
