// Shared by the end-to-end tests of lab-iscsiadm / lab-iscsid: a temporary database root, and
// output with tgtd's free port replaced by "PORT" so golden lines do not depend on it.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace iscsi::test {

inline std::filesystem::path make_temp_root(const char* prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

// `name`: what stands for the port ("PORT" for tgtd's, e.g. "ISNS" for an isnsd's).
inline std::string without_port(std::string text, std::uint16_t port, const std::string& name = "PORT") {
  const std::string p = std::to_string(port);
  for (const std::string sep : {":", ","}) {
    const std::string from = "127.0.0.1" + sep + p;
    const std::string to = "127.0.0.1" + sep + name;
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  }
  return text;
}

}  // namespace iscsi::test
