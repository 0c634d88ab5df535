// libFuzzer target: MODE SENSE parameter data. The first byte picks MODE SENSE(6) or (10);
// every page the iterator yields must lie inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proto/scsi/mode_sense.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const iscsi::ByteSpan in(data + 1, size - 1);
  auto m = (data[0] & 1) ? iscsi::scsi::decode_mode_sense10(in) : iscsi::scsi::decode_mode_sense6(in);
  if (!m) return 0;
  (void)m->write_protected();
  (void)m->required_length();
  iscsi::scsi::ModePageIterator it(m->pages);
  while (auto page = it.next()) {
    const auto* begin = page->parameters.data();
    if (page->parameters.size() != page->page_length) std::abort();
    if (!page->parameters.empty() &&
        (begin < in.data() || begin + page->parameters.size() > in.data() + in.size())) {
      std::abort();
    }
  }
  return 0;
}
