// libFuzzer target: REPORT TARGET PORT GROUPS parameter data (proto/scsi/alua.hpp). Whatever
// decodes must re-encode to data that decodes to the same groups, whole; every group's words
// must print.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "proto/scsi/alua.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace iscsi::scsi;
  auto r = decode_report_target_port_groups({data, size});
  if (!r) return 0;
  if (r->groups.empty() && !r->truncated && r->required_length() > size) std::abort();
  for (const auto& g : r->groups) {
    (void)to_string(g.state);
    (void)to_string(g.status_code);
    (void)usable_for_io(g.state);
    for (auto port : g.relative_target_ports) {
      if (r->group_of_port(port) == nullptr) std::abort();
    }
  }
  const auto encoded = encode_report_target_port_groups(*r);
  auto back = decode_report_target_port_groups(encoded);
  if (!back || back->truncated || back->groups != r->groups || back->extended != r->extended ||
      back->implicit_transition_time != r->implicit_transition_time) {
    std::abort();
  }
  return 0;
}
