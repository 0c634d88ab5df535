// libFuzzer target: libiscsi-style URLs as lab-iscsi-perf reads them (cli::parse_iscsi_url).
// Invariants: a rejection is a UsageError with a message; an accepted URL has a host and a
// target, its redacted form is the user and a mask where the password was, and the redacted
// form parses again to the same host, port, target and LUN.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cli/cli_error.hpp"
#include "cli/iscsi_url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace iscsi::cli;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  IscsiUrl url;
  try {
    url = parse_iscsi_url(text);
  } catch (const UsageError& e) {
    if (std::string_view(e.what()).empty()) std::abort();
    return 0;
  }
  if (url.host.empty() || url.target.empty() || url.portal().empty()) std::abort();
  const std::string redacted = url.redacted();
  // The credentials part of the redacted form is the user and a mask, never the password.
  const std::string expected_prefix =
      "iscsi://" + (url.user.empty() ? std::string()
                                     : url.user + (url.password.empty() ? "@" : "%********@"));
  if (!redacted.starts_with(expected_prefix) ||
      !redacted.substr(expected_prefix.size()).starts_with(url.portal())) {
    std::abort();
  }
  IscsiUrl again;
  try {
    again = parse_iscsi_url(redacted);
  } catch (const UsageError&) {
    std::abort();
  }
  if (again.host != url.host || again.port != url.port || again.target != url.target ||
      again.lun != url.lun) {
    std::abort();
  }
  return 0;
}
