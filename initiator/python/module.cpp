// iscsilab._core: the userspace iSCSI initiator for Python. Stubs: target-lab/iscsilab/_core.pyi.
#include "bindings.hpp"

namespace iscsi::python {
// isns_register_target, isns_deregister_target, isns_discover (bind_isns.cpp). Declared here, not
// in bindings.hpp, only to spare every bind_*.cpp a rebuild; it belongs there with the others.
void bind_isns(py::module_& m);
}  // namespace iscsi::python

PYBIND11_MODULE(_core, m) {
  m.doc() =
      "The iscsi-lab initiator (C++ engine over Boost.Asio): discovery, login, SCSI I/O, task "
      "management, statistics and events. Settings use open-iscsi's key names. Blocking calls "
      "release the GIL.";
  iscsi::python::bind_errors(m);
  iscsi::python::bind_results(m);
  iscsi::python::bind_events(m);
  iscsi::python::bind_session(m);
  iscsi::python::bind_initiator(m);
  iscsi::python::bind_names(m);
  iscsi::python::bind_mpath(m);
  iscsi::python::bind_workload(m);  // after bind_session and bind_mpath: adds their start_io
  iscsi::python::bind_isns(m);      // after bind_results: returns DiscoveredTarget
}
