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

// What a Python Session or Multipath object holds. close() drops the engine's object while other
// threads may still be in a call on it: each call works on its own shared_ptr copy from get(), so
// the connection closes (or the device stops) when the last call in flight returns.
template <class T>
class Handle {
 public:
  // `noun` names the object in the error after close(): "session", "multipath device".
  Handle(std::shared_ptr<T> object, const char* noun) : object_(std::move(object)), noun_(noun) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  // The object, or SessionClosedError once close() (or logout()) ran.
  std::shared_ptr<T> get() const {
    std::lock_guard lock(mu_);
    if (!object_) throw net::NetError(net::Errc::session_closed, std::string(noun_) + " closed (close() was called)");
    return object_;
  }
  // Drops our reference. Call without the GIL: closing a session waits for the engine, stopping
  // a device joins its checker thread.
  void close() noexcept {
    std::shared_ptr<T> drop;
    {
      std::lock_guard lock(mu_);
      drop = std::move(object_);
    }  // the last reference may go here, outside the lock
  }
  bool closed() const {
    std::lock_guard lock(mu_);
    return !object_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<T> object_;
  const char* noun_;
};

using SessionHandle = Handle<net::Session>;
using MultipathHandle = Handle<mpath::Device>;

}  // namespace iscsi::python
