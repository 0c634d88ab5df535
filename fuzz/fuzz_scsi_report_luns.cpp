// libFuzzer target: REPORT LUNS parameter data; whatever decodes must re-encode to data that
// decodes to the same LUNs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proto/scsi/report_luns.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = iscsi::scsi::decode_report_luns({data, size});
  if (!r) return 0;
  for (const auto& lun : r->luns) {
    (void)lun.to_string();
    (void)lun.linux_number();
    if (auto n = lun.number()) {
      auto again = iscsi::scsi::Lun::from_number(*n);
      if (!again || again->number().value() != *n) std::abort();
    }
  }
  const auto encoded = iscsi::scsi::encode_report_luns(r->luns);
  auto back = iscsi::scsi::decode_report_luns(encoded);
  if (!back || back->truncated || back->luns != r->luns) std::abort();
  return 0;
}
