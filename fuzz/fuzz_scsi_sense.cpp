// libFuzzer target: sense data (fixed and descriptor format) through decode_sense, then the
// accessors and printing a CHECK CONDITION log line would use.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proto/scsi/sense.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto sense = iscsi::scsi::decode_sense({data, size});
  if (!sense) return 0;
  if (sense->response_code < 0x70 || sense->response_code > 0x73) std::abort();
  (void)iscsi::scsi::to_string(*sense);
  if (sense->sense_key_specific) {
    const auto& sks = *sense->sense_key_specific;
    (void)sks.field_pointer();
    (void)sks.bit_pointer();
    (void)sks.progress();
  }
  std::size_t described = 0;
  for (const auto& d : sense->descriptors) described += 2 + d.body.size();
  if (described > size) std::abort();  // descriptors can only come from the input
  return 0;
}
