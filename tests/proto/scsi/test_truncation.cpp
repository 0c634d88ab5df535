// Grind-style robustness of every decoder: each captured or hand-written response is fed at
// every prefix length (as a short allocation length or a cut transfer would deliver it) and
// with every single byte forced to 0x00 and 0xff. Each call must either decode, flagging
// truncation when it got less than the data declares, or fail with one of the specific errors
// that decoder documents. Under ASan/UBSan this also proves no read past the span.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "proto/scsi/scsi.hpp"
#include "support/hex.hpp"
#include "vectors.hpp"

namespace iscsi::scsi {
namespace {

using test::from_hex;

struct Outcome {
  std::error_code error;
  bool truncated = false;
};

template <class T>
Outcome outcome_of(const Result<T>& r) {
  if (!r) return {r.error(), false};
  return {{}, r->truncated};
}

struct Decoder {
  std::string name;
  std::function<Outcome(ByteSpan)> decode;
  std::set<Errc> allowed;  // errors a prefix or a mutation may legitimately produce
  std::size_t min_length;  // shortest input that must decode
};

std::vector<Decoder> decoders() {
  const std::set<Errc> too_short{Errc::response_too_short};
  const std::set<Errc> vpd{Errc::response_too_short, Errc::page_code_mismatch};
  return {
      {"standard_inquiry", [](ByteSpan b) { return outcome_of(decode_standard_inquiry(b)); },
       too_short, 5},
      {"vpd_supported", [](ByteSpan b) { return outcome_of(decode_vpd_supported_pages(b)); }, vpd,
       4},
      {"vpd_serial", [](ByteSpan b) { return outcome_of(decode_vpd_unit_serial_number(b)); }, vpd,
       4},
      {"vpd_device_id",
       [](ByteSpan b) { return outcome_of(decode_vpd_device_identification(b)); }, vpd, 4},
      {"vpd_block_limits", [](ByteSpan b) { return outcome_of(decode_vpd_block_limits(b)); }, vpd,
       4},
      {"vpd_lbp",
       [](ByteSpan b) { return outcome_of(decode_vpd_logical_block_provisioning(b)); }, vpd, 4},
      {"read_capacity10",
       [](ByteSpan b) -> Outcome {
         auto r = decode_read_capacity10(b);
         return r ? Outcome{} : Outcome{r.error()};
       },
       too_short, 8},
      {"read_capacity16", [](ByteSpan b) { return outcome_of(decode_read_capacity16(b)); },
       too_short, 12},
      {"report_luns", [](ByteSpan b) { return outcome_of(decode_report_luns(b)); },
       {Errc::response_too_short, Errc::bad_lun_list_length}, 8},
      {"mode_sense6",
       [](ByteSpan b) -> Outcome {
         auto r = decode_mode_sense6(b);
         if (!r) return {r.error()};
         ModePageIterator it(r->pages);
         while (it.next()) {
         }
         return {{}, r->truncated};
       },
       {Errc::response_too_short, Errc::bad_block_descriptor_length}, 4},
      {"mode_sense10",
       [](ByteSpan b) -> Outcome {
         auto r = decode_mode_sense10(b);
         if (!r) return {r.error()};
         ModePageIterator it(r->pages);
         while (it.next()) {
         }
         return {{}, r->truncated};
       },
       {Errc::response_too_short, Errc::bad_block_descriptor_length}, 8},
      {"rtpg", [](ByteSpan b) { return outcome_of(decode_report_target_port_groups(b)); },
       {Errc::response_too_short, Errc::bad_tpg_descriptor_length}, 4},
      {"sense",
       [](ByteSpan b) -> Outcome {
         auto r = decode_sense(b);
         if (!r) return {r.error()};
         (void)to_string(*r);
         return {{}, r->truncated};
       },
       {Errc::response_too_short, Errc::bad_sense_response_code}, 3},  // fixed: sense key
  };
}

struct Vector {
  std::string decoder;
  std::string_view hex;
  std::size_t min_length = 0;  // overrides the decoder's when the format decides it
};

const Vector kVectors[] = {
    {"standard_inquiry", vectors::kTgtStandardInquiry},
    {"standard_inquiry", vectors::kHandStandardInquiry},
    {"vpd_supported", vectors::kTgtVpdSupported},
    {"vpd_serial", vectors::kTgtVpdSerial},
    {"vpd_device_id", vectors::kTgtVpdDeviceId},
    {"vpd_device_id", vectors::kHandVpdDeviceId},
    {"vpd_block_limits", vectors::kTgtVpdBlockLimits},
    {"vpd_block_limits", vectors::kHandVpdBlockLimits},
    {"vpd_block_limits", vectors::kShortVpdBlockLimits},
    {"vpd_lbp", vectors::kTgtVpdLbp},
    {"vpd_lbp", vectors::kHandVpdLbp},
    {"read_capacity10", vectors::kTgtReadCapacity10},
    {"read_capacity16", vectors::kTgtReadCapacity16},
    {"read_capacity16", vectors::kHandReadCapacity16},
    {"report_luns", vectors::kTgtReportLuns},
    {"mode_sense6", vectors::kTgtModeSense6},
    {"mode_sense10", vectors::kHandModeSense10},
    {"rtpg", vectors::kHandRtpgExtended},
    {"rtpg", vectors::kHandRtpgLengthOnly},
    {"sense", vectors::kTgtSenseUnitAttention},
    {"sense", vectors::kTgtSenseLbaOutOfRange},
    {"sense", vectors::kHandSenseMediumError},
    {"sense", vectors::kHandSenseFieldPointer},
    {"sense", vectors::kHandDescriptorSense, 4},  // descriptor format needs through ASCQ
};

const Decoder& find(const std::vector<Decoder>& all, const std::string& name) {
  for (const auto& d : all) {
    if (d.name == name) return d;
  }
  throw std::logic_error("no decoder " + name);
}

std::size_t min_length(const Decoder& d, const Vector& v) {
  return v.min_length != 0 ? v.min_length : d.min_length;
}

bool allowed(const Decoder& d, const std::error_code& ec) {
  for (Errc e : d.allowed) {
    if (ec == e) return true;
  }
  return false;
}

TEST(ScsiGrind, EveryPrefixDecodesOrFailsSpecifically) {
  const auto all = decoders();
  for (const auto& v : kVectors) {
    const Decoder& d = find(all, v.decoder);
    const auto full = from_hex(v.hex);
    const Outcome whole = d.decode(full);
    ASSERT_FALSE(whole.error) << v.decoder << ": " << whole.error.message();
    EXPECT_FALSE(whole.truncated) << v.decoder;
    for (std::size_t n = 0; n < full.size(); ++n) {
      // A fresh heap copy of exactly n bytes, so ASan sees any read past the end.
      const std::vector<std::uint8_t> prefix(full.begin(), full.begin() + static_cast<long>(n));
      const Outcome o = d.decode(prefix);
      if (o.error) {
        EXPECT_TRUE(allowed(d, o.error)) << v.decoder << " at " << n << ": " << o.error.message();
        EXPECT_LT(n, min_length(d, v)) << v.decoder << " must decode " << n << " bytes";
      } else {
        EXPECT_GE(n, min_length(d, v)) << v.decoder << " decoded " << n << " bytes";
      }
    }
  }
}

// Every prefix at or above the decoder's minimum decodes and says it is truncated, except the
// decoders whose data has no length field (READ CAPACITY(10)) or whose cut fell after the
// declared length.
TEST(ScsiGrind, PrefixesSayTheyAreTruncated) {
  const auto all = decoders();
  for (const auto& v : kVectors) {
    if (v.decoder == "read_capacity10") continue;
    const Decoder& d = find(all, v.decoder);
    const auto full = from_hex(v.hex);
    for (std::size_t n = min_length(d, v); n < full.size(); ++n) {
      const std::vector<std::uint8_t> prefix(full.begin(), full.begin() + static_cast<long>(n));
      const Outcome o = d.decode(prefix);
      ASSERT_FALSE(o.error) << v.decoder << " at " << n;
      EXPECT_TRUE(o.truncated) << v.decoder << " at " << n;
    }
  }
}

TEST(ScsiGrind, EveryByteForcedToExtremes) {
  const auto all = decoders();
  for (const auto& v : kVectors) {
    const Decoder& d = find(all, v.decoder);
    const auto full = from_hex(v.hex);
    for (std::size_t i = 0; i < full.size(); ++i) {
      for (std::uint8_t value : {std::uint8_t{0x00}, std::uint8_t{0xFF}}) {
        auto mutated = full;
        mutated[i] = value;
        const Outcome o = d.decode(mutated);
        if (o.error) {
          // A flipped page code or response code is expected to be refused.
          EXPECT_TRUE(allowed(d, o.error)) << v.decoder << " byte " << i;
        }
      }
    }
  }
}

TEST(ScsiGrind, PrefixedFieldsAgreeWithTheWhole) {
  const auto full = from_hex(vectors::kTgtStandardInquiry);
  const auto whole = *decode_standard_inquiry(full);
  for (std::size_t n = 5; n <= full.size(); ++n) {
    auto part = decode_standard_inquiry(std::span(full).first(n));
    ASSERT_TRUE(part);
    EXPECT_TRUE(whole.vendor.starts_with(part->vendor)) << n;
    EXPECT_TRUE(whole.product.starts_with(part->product)) << n;
    EXPECT_EQ(part->additional_length, whole.additional_length);
    EXPECT_LE(part->version_descriptors.size(), whole.version_descriptors.size());
  }
  const auto luns_full = from_hex(vectors::kTgtReportLuns);
  for (std::size_t n = 8; n <= luns_full.size(); ++n) {
    auto part = decode_report_luns(std::span(luns_full).first(n));
    ASSERT_TRUE(part);
    EXPECT_EQ(part->luns.size(), (n - 8) / 8) << n;
  }
}

}  // namespace
}  // namespace iscsi::scsi
