// Where the end-to-end tests of tests/cli find the built lab-iscsi-perf: beside the test binary
// (<build>/initiator/cli/lab-iscsi-perf for <build>/tests/test_cli); LAB_ISCSI_PERF overrides it.
#pragma once

#include <cstdlib>
#include <filesystem>

namespace iscsi::test {

inline std::filesystem::path perf_binary() {
  if (const char* p = std::getenv("LAB_ISCSI_PERF")) return p;
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() /
         "initiator" / "cli" / "lab-iscsi-perf";
}

}  // namespace iscsi::test
