// Fuzzes pdu::split_sense_data, the SenseLength splitter for SCSI Response and Async Message
// data segments. The two parts must lie inside the input and rebuild it.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "proto/pdu/pdu.hpp"

using namespace iscsi;
using namespace iscsi::pdu;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto split = split_sense_data(ByteSpan(data, size));
  if (!split) return 0;
  if (size == 0) return 0;
  const ByteVector rebuilt = make_sense_data(split->sense, split->rest);
  if (rebuilt.size() != size || std::memcmp(rebuilt.data(), data, size) != 0) __builtin_trap();
  return 0;
}
