// libFuzzer target: libiscsi-style URLs as lab-iscsi-perf reads them (cli::parse_iscsi_url).
// Invariants: a rejection is a UsageError with a message; an accepted URL has a host and a
// target, its redacted form never carries the password, and the redacted form parses again to
// the same host, port, target and LUN.
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
  const auto secret = url.password.reveal();
  const std::string password(reinterpret_cast<const char*>(secret.data()), secret.size());
  // The password sits between '%' and '@' in a URL; that span must be gone.
  if (!password.empty() && redacted.find("%" + password + "@") != std::string::npos) std::abort();
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
