// libFuzzer target: READ CAPACITY(10) and (16) parameter data and the capacity arithmetic.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proto/scsi/capacity.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (auto rc10 = iscsi::scsi::decode_read_capacity10({data, size})) {
    if (rc10->block_count() == 0) std::abort();
    (void)rc10->capacity_bytes();
    (void)rc10->needs_read_capacity16();
  }
  if (auto rc16 = iscsi::scsi::decode_read_capacity16({data, size})) {
    auto blocks = rc16->block_count();
    auto bytes = rc16->capacity_bytes();
    if (blocks && bytes && rc16->block_length != 0 && *bytes / rc16->block_length != *blocks) {
      std::abort();  // the overflow check let a wrapped product through
    }
    (void)rc16->physical_block_length();
    (void)rc16->protection_type();
  }
  return 0;
}
