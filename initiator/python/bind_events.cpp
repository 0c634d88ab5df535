// Event: one entry of a session's timestamped event log (login, conn error with its ISCSI_ERR
// code, recovery, replacement timeout, async event, ...). `steady` is on the clock of
// time.monotonic() (both are CLOCK_MONOTONIC on Linux), `system` on the clock of time.time(), so
// scenarios can line events up with their own measurements.
#include <chrono>
#include <string>

#include "bindings.hpp"
#include "net/initiator.hpp"
#include "proto/recovery/conn_error.hpp"

namespace iscsi::python {
namespace {

template <class TimePoint>
double seconds_of(TimePoint t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

void bind_events(py::module_& m) {
  using net::EventRecord;
  py::class_<EventRecord>(m, "Event", "A timestamped entry of Session.events().")
      .def_property_readonly("type",
                             [](const EventRecord& e) { return std::string(net::to_string(e.type)); })
      .def_property_readonly("steady", [](const EventRecord& e) { return seconds_of(e.steady); })
      .def_property_readonly("steady_ns",
                             [](const EventRecord& e) {
                               return std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          e.steady.time_since_epoch())
                                   .count();
                             })
      .def_property_readonly("system", [](const EventRecord& e) { return seconds_of(e.system); })
      .def_property_readonly("conn_error",
                             [](const EventRecord& e) { return static_cast<int>(e.conn_error); })
      .def_property_readonly("conn_error_name",
                             [](const EventRecord& e) -> py::object {
                               if (e.conn_error == ConnError::none) return py::none();
                               return py::str(std::string(kernel_name(e.conn_error)));
                             })
      .def_readonly("detail", &EventRecord::detail)
      .def("__repr__", [](const EventRecord& e) {
        std::string s = "Event(" + std::string(net::to_string(e.type));
        if (e.conn_error != ConnError::none) {
          s += ", " + std::string(kernel_name(e.conn_error)) + " (" +
               std::to_string(static_cast<int>(e.conn_error)) + ")";
        }
        if (!e.detail.empty()) s += ", '" + e.detail + "'";
        return s + ")";
      });
}

}  // namespace iscsi::python
