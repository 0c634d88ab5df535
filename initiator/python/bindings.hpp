// What the bind_<area>.cpp files of iscsilab._core share: one registration function per area
// (called in this order by module.cpp) and the few helpers more than one area needs.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/node_settings.hpp"
#include "net/initiator.hpp"

namespace iscsi::mpath {
class Device;
}  // namespace iscsi::mpath

namespace iscsi::python {

namespace py = pybind11;

void bind_errors(py::module_& m);     // IscsiError and its family; C++ exception translation
void bind_results(py::module_& m);    // Capacity, Inquiry, LunInfo, RescanReport, TmfResponse, ...
void bind_events(py::module_& m);     // Event (the session's timestamped event log)
void bind_session(py::module_& m);    // Session
void bind_initiator(py::module_& m);  // Initiator (discover, login)
void bind_names(py::module_& m);      // settings table, ISCSI_ERR names, login status words
void bind_mpath(py::module_& m);      // Multipath, MultipathEvent, mpath_fast_io_fail_tmo
void bind_workload(py::module_& m);   // Session/Multipath.start_io, IoJob, encode_blocks, decode_blocks

// Thrown by settings_from(): a settings dict that cannot be mapped. Becomes SettingsError.
class SettingsProblem : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A settings dict {open-iscsi key: value} as overrides. Values may be str, int or bool (True ->
// "Yes"); None or an empty dict gives none. Raises TypeError for other types.
std::vector<config::Override> overrides_from(const py::object& settings);

// What a Python Session object holds. close() drops the engine's Session while other threads may
// still be in a call on it: each call works on its own shared_ptr copy from get().
class SessionHandle {
 public:
  explicit SessionHandle(std::shared_ptr<net::Session> s) : session_(std::move(s)) {}
  ~SessionHandle();
  SessionHandle(const SessionHandle&) = delete;
  SessionHandle& operator=(const SessionHandle&) = delete;

  // The session, or SessionClosedError once close() (or logout()) ran.
  std::shared_ptr<net::Session> get() const;
  // Drops our reference (the connection closes when the last call in flight returns). Call
  // without the GIL: closing waits for the engine.
  void close() noexcept;
  bool closed() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<net::Session> session_;
};

// What a Python Multipath object holds; close() stops the device once calls in flight return.
class MultipathHandle {
 public:
  explicit MultipathHandle(std::shared_ptr<mpath::Device> d) : device_(std::move(d)) {}
  MultipathHandle(const MultipathHandle&) = delete;
  MultipathHandle& operator=(const MultipathHandle&) = delete;

  // The device, or SessionClosedError once close() ran.
  std::shared_ptr<mpath::Device> get() const;
  void close() noexcept;  // call without the GIL: stopping joins the checker thread
  bool closed() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<mpath::Device> device_;
};

}  // namespace iscsi::python
