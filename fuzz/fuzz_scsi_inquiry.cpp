// libFuzzer target: INQUIRY data. The first byte picks the decoder (standard data or one of
// the VPD pages), the rest is the response.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proto/scsi/inquiry.hpp"

namespace scsi = iscsi::scsi;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const iscsi::ByteSpan in(data + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      if (auto r = scsi::decode_standard_inquiry(in)) {
        if (r->vendor.size() > 8 || r->product.size() > 16 || r->revision.size() > 4) std::abort();
        (void)scsi::device_type_name(r->device_type);
      }
      break;
    case 1:
      if (auto r = scsi::decode_vpd_supported_pages(in)) (void)r->supports(0xB0);
      break;
    case 2:
      (void)scsi::decode_vpd_unit_serial_number(in);
      break;
    case 3:
      if (auto r = scsi::decode_vpd_device_identification(in)) {
        for (const auto& d : r->designators) {
          (void)d.text();
          (void)d.number();
          (void)d.naa_format();
          (void)scsi::to_string(d.type);
        }
        (void)r->find(scsi::DesignatorType::naa);
      }
      break;
    case 4:
      (void)scsi::decode_vpd_block_limits(in);
      break;
    case 5:
      if (auto r = scsi::decode_vpd_logical_block_provisioning(in)) {
        (void)scsi::to_string(r->provisioning_type);
      }
      break;
  }
  return 0;
}
