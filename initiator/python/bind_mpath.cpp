// Multipath: one LU over several sessions (mpath::Device), with Session's I/O calls, a status
// like `multipathd show paths`, the multipath event log, and the multipath.conf settings as a
// dict. Multipath.start_io is added in bind_workload.cpp (as Session.start_io is).
#include <pybind11/stl.h>

#include <chrono>
#include <cstring>
#include <map>
#include <string>

#include "bindings.hpp"
#include "mpath/device.hpp"
#include "mpath/settings.hpp"

namespace iscsi::python {

namespace {

using py::gil_scoped_release;

// {key: value} with str, int, float or bool values -> multipath.conf's strings.
std::map<std::string, std::string> mpath_settings_from(const py::object& settings) {
  std::map<std::string, std::string> out;
  if (settings.is_none()) return out;
  if (!py::isinstance<py::dict>(settings)) {
    throw py::type_error("settings must be a dict {multipath.conf key: value}");
  }
  for (const auto& [k, v] : settings.cast<py::dict>()) {
    if (!py::isinstance<py::str>(k)) throw py::type_error("settings keys must be str");
    const auto key = k.cast<std::string>();
    if (py::isinstance<py::bool_>(v)) {
      out[key] = v.cast<bool>() ? "yes" : "no";
    } else if (py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v) ||
               py::isinstance<py::str>(v)) {
      out[key] = py::str(v).cast<std::string>();
    } else {
      throw py::type_error("setting '" + key + "': value must be str, int, float or bool, not " +
                           std::string(py::str(v.get_type().attr("__name__"))));
    }
  }
  return out;
}

mpath::Settings parse(const py::object& settings) {
  try {
    return mpath::parse_settings(mpath_settings_from(settings));
  } catch (const mpath::SettingsError& e) {
    throw SettingsProblem(e.what());
  }
}

// `lun`: one LUN for every session, or a list with one per session.
std::shared_ptr<MultipathHandle> make(const py::list& sessions, const py::object& lun,
                                      const py::object& settings) {
  const mpath::Settings s = parse(settings);
  std::vector<std::uint16_t> luns;
  if (py::isinstance<py::int_>(lun)) {
    luns.assign(sessions.size(), lun.cast<std::uint16_t>());
  } else {
    luns = lun.cast<std::vector<std::uint16_t>>();
    if (luns.size() != sessions.size()) {
      throw net::NetError(net::Errc::invalid_argument,
                          "Multipath: lun must be an int or one LUN per session (" +
                              std::to_string(sessions.size()) + " sessions, " +
                              std::to_string(luns.size()) + " LUNs)");
    }
  }
  std::vector<mpath::PathSpec> paths;
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    paths.push_back({sessions[i].cast<std::shared_ptr<SessionHandle>>()->get(), luns[i]});
  }
  gil_scoped_release nogil;
  try {
    return std::make_shared<MultipathHandle>(mpath::Device::create(std::move(paths), s), "multipath device");
  } catch (const mpath::IdentityError& e) {
    throw net::NetError(net::Errc::invalid_argument, e.what());
  } catch (const std::invalid_argument& e) {
    throw net::NetError(net::Errc::invalid_argument, e.what());
  }
}

py::bytes to_bytes(const ByteVector& v) {
  return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}

py::dict path_dict(const mpath::PathStatus& p) {
  py::dict d;
  d["index"] = p.index;
  d["path"] = p.path;
  d["target"] = p.target;
  d["group"] = p.group;
  d["group_active"] = p.group_active;
  d["priority"] = p.priority;
  d["dm_state"] = p.dm_state;
  d["checker_state"] = p.checker_state;
  d["path_state"] = p.path_state;
  d["session_state"] = p.session_state;
  d["alua"] = p.alua;
  d["outstanding"] = p.outstanding;
  d["outstanding_bytes"] = p.outstanding_bytes;
  d["completed"] = p.completed;
  d["failures"] = p.failures;
  return d;
}

py::dict device_dict(const mpath::DeviceStatus& s) {
  py::dict d;
  d["wwid"] = s.wwid;
  d["path_selector"] = s.selector;
  d["path_grouping_policy"] = s.grouping_policy;
  d["failback"] = s.failback;
  d["no_path_retry"] = s.no_path_retry;
  d["no_path_state"] = s.no_path_state;
  d["groups"] = s.groups;
  d["active_group"] = s.active_group;
  d["queued"] = s.queued;
  d["failovers"] = s.failovers;
  return d;
}

template <class TimePoint>
double seconds_of(TimePoint t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

void bind_mpath(py::module_& m) {
  using mpath::EventRecord;
  py::class_<EventRecord>(m, "MultipathEvent",
                          "A timestamped entry of Multipath.events() (the shape of Event).")
      .def_property_readonly("type", [](const EventRecord& e) { return std::string(mpath::to_string(e.type)); })
      .def_property_readonly("steady", [](const EventRecord& e) { return seconds_of(e.steady); })
      .def_property_readonly("steady_ns",
                             [](const EventRecord& e) {
                               return std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          e.steady.time_since_epoch())
                                   .count();
                             })
      .def_property_readonly("system", [](const EventRecord& e) { return seconds_of(e.system); })
      .def_readonly("path", &EventRecord::path)
      .def_readonly("detail", &EventRecord::detail)
      .def("__repr__", [](const EventRecord& e) {
        std::string s = "MultipathEvent(" + std::string(mpath::to_string(e.type));
        if (!e.path.empty()) s += ", " + e.path;
        if (!e.detail.empty()) s += ", '" + e.detail + "'";
        return s + ")";
      });

  py::class_<MultipathHandle, std::shared_ptr<MultipathHandle>>(
      m, "Multipath",
      "One logical unit over several sessions (dm-multipath's model): the sessions must reach "
      "the same LU (VPD 0x83 identity, else the unit serial number), or InvalidArgumentError "
      "says what differed. Settings use multipath.conf's names (polling_interval, path_selector, "
      "path_grouping_policy, failback, no_path_retry, rr_min_io_rq, fast_io_fail_tmo, "
      "checker_timeout). I/O calls as Session's; thread-safe.")
      .def(py::init(&make), py::arg("sessions"), py::arg("lun") = 0, py::arg("settings") = py::none(),
           "`lun`: the LUN on every session, or a list of one LUN per session.")
      .def(
          "read",
          [](const MultipathHandle& h, std::uint64_t lba, std::uint32_t blocks) {
            auto d = h.get();
            ByteVector data;
            {
              gil_scoped_release nogil;
              data = d->read(lba, blocks);
            }
            return to_bytes(data);
          },
          py::arg("lba"), py::arg("blocks"), "READ(16) of `blocks` blocks at `lba` over a path.")
      .def(
          "read_into",
          [](const MultipathHandle& h, std::uint64_t lba, const py::object& buffer) {
            auto d = h.get();
            Py_buffer view;
            if (PyObject_GetBuffer(buffer.ptr(), &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) != 0) {
              throw py::error_already_set();
            }
            std::uint32_t n = 0;
            try {
              gil_scoped_release nogil;
              n = d->read_into(lba, MutableByteSpan(static_cast<std::uint8_t*>(view.buf),
                                                    static_cast<std::size_t>(view.len)));
            } catch (...) {
              PyBuffer_Release(&view);
              throw;
            }
            PyBuffer_Release(&view);
            return n;
          },
          py::arg("lba"), py::arg("buffer"),
          "READ(16) of len(buffer) bytes straight into `buffer`; returns the bytes received.")
      .def(
          "write",
          [](const MultipathHandle& h, std::uint64_t lba, const py::object& data) {
            auto d = h.get();
            Py_buffer view;
            if (PyObject_GetBuffer(data.ptr(), &view, PyBUF_C_CONTIGUOUS) != 0) throw py::error_already_set();
            try {
              gil_scoped_release nogil;
              // Blocking: the buffer stays pinned (and unchanged) until the write completed.
              d->write(lba, ByteSpan(static_cast<const std::uint8_t*>(view.buf),
                                     static_cast<std::size_t>(view.len)));
            } catch (...) {
              PyBuffer_Release(&view);
              throw;
            }
            PyBuffer_Release(&view);
          },
          py::arg("lba"), py::arg("data"), "WRITE(16) of `data` (whole blocks) at `lba`.")
      .def("status", [](const MultipathHandle& h) {
             py::list out;
             for (const auto& p : h.get()->status()) out.append(path_dict(p));
             return out;
           },
           "One dict per path, like `multipathd show paths`: index, path, target, group, "
           "group_active, priority, dm_state, checker_state, path_state, session_state, alua, "
           "outstanding, outstanding_bytes, completed, failures.")
      .def("device_status", [](const MultipathHandle& h) { return device_dict(h.get()->device_status()); },
           "The map: wwid, path_selector, path_grouping_policy, failback, no_path_retry, "
           "no_path_state, groups, active_group, queued, failovers.")
      .def("events", [](const MultipathHandle& h) { return h.get()->events(); },
           "The multipath event log (path_failed, path_reinstated, path_alua_changed, "
           "group_switched, io_failover, queueing_started, queueing_ended, io_failed_no_path), "
           "oldest first.")
      .def("check_now", [](const MultipathHandle& h) { h.get()->check_now(); },
           "Runs the path checker on every path now.")
      .def(
          "close",
          [](MultipathHandle& h) {
            gil_scoped_release nogil;
            h.close();
          },
          "Stops the checker; commands still queued for a path fail. The sessions stay logged in.")
      .def_property_readonly("paths", [](const MultipathHandle& h) {
             std::vector<std::string> out;
             for (const auto& p : h.get()->status()) out.push_back(p.path);
             return out;
           }, "The paths, \"portal LUN n\", in the order given.")
      .def_property_readonly("wwid", [](const MultipathHandle& h) { return h.get()->identity().wwid(); },
                             "The LU's identity (\"naa.6001405...\", or \"serial.<serial>\").")
      .def_property_readonly("capacity", [](const MultipathHandle& h) { return h.get()->capacity(); })
      .def_property_readonly("closed", &MultipathHandle::closed)
      .def("__enter__", [](const std::shared_ptr<MultipathHandle>& h) { return h; })
      .def("__exit__",
           [](MultipathHandle& h, const py::object&, const py::object&, const py::object&) {
             gil_scoped_release nogil;
             h.close();
           })
      .def("__repr__", [](const MultipathHandle& h) {
        if (h.closed()) return std::string("<Multipath closed>");
        auto d = h.get();
        return "<Multipath " + d->identity().wwid() + " " + std::to_string(d->status().size()) +
               " paths>";
      });

  m.def(
      "mpath_fast_io_fail_tmo",
      [](const py::object& settings) -> py::object {
        const auto v = mpath::fast_io_fail_tmo(parse(settings));
        if (!v) return py::none();
        return py::int_(*v);
      },
      py::arg("settings") = py::none(),
      "The replacement_timeout (seconds) multipathd would give each path's session for these "
      "multipath settings (fast_io_fail_tmo, default 5), or None for \"off\": log the paths in "
      "with node.session.timeo.replacement_timeout set to it.");
  m.def(
      "mpath_check_settings", [](const py::object& settings) { (void)parse(settings); },
      py::arg("settings"), "Raises SettingsError when the multipath settings are not valid.");
}

}  // namespace iscsi::python
