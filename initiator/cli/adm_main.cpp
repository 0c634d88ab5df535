// lab-iscsiadm: open-iscsi iscsiadm's modes on iscsi-lab's initiator (see adm_options.hpp).
#include <iostream>
#include <string_view>
#include <vector>

#include "cli/adm_commands.hpp"
#include "cli/cli_error.hpp"
#include "cli/control_socket.hpp"

using namespace iscsi::cli;

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  AdmOptions o;
  try {
    o = parse_adm_options(args);
  } catch (const UsageError& e) {
    std::cerr << "lab-iscsiadm: " << e.what() << "\n" << adm_usage();
    return static_cast<int>(AdmStatus::invalid);
  }
  if (o.help) {
    std::cout << adm_usage();
    return 0;
  }
  if (o.version) {
    std::cout << "lab-iscsiadm version 2.1.8 (iscsi-lab)\n";
    return 0;
  }
  const std::string socket = o.socket;
  const DaemonCall call = [&socket](const ControlMessage& m) { return call_daemon(socket, m); };
  return static_cast<int>(run_adm(o, call, std::cout, std::cerr));
}
