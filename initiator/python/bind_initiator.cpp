// Initiator: one engine (io_context + worker thread) for any number of sessions; discover() and
// login() take open-iscsi settings as a dict, mapped by net/from_settings.
//
// The engine thread calls the optional log callable with the GIL taken; every Python-side wait
// on the engine releases the GIL first, so the two never wait on each other. At interpreter exit
// (atexit) every Initiator still open is closed, before Python starts tearing objects down.
#include <pybind11/stl.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "net/from_settings.hpp"

namespace iscsi::python {

std::vector<config::Override> overrides_from(const py::object& settings) {
  std::vector<config::Override> out;
  if (settings.is_none()) return out;
  if (!py::isinstance<py::dict>(settings)) {
    throw py::type_error("settings must be a dict {open-iscsi key: value}");
  }
  for (const auto& [k, v] : settings.cast<py::dict>()) {
    if (!py::isinstance<py::str>(k)) throw py::type_error("settings keys must be str");
    config::Override o;
    o.name = k.cast<std::string>();
    if (py::isinstance<py::bool_>(v)) {
      o.value = v.cast<bool>() ? "Yes" : "No";
    } else if (py::isinstance<py::int_>(v) || py::isinstance<py::str>(v)) {
      o.value = py::str(v).cast<std::string>();
    } else {
      throw py::type_error("setting '" + o.name + "': value must be str, int or bool, not " +
                           std::string(py::str(v.get_type().attr("__name__"))));
    }
    out.push_back(std::move(o));
  }
  return out;
}

namespace {

// The Python log callable, released with the GIL (never during interpreter finalization).
struct LogTarget {
  py::object fn;
  ~LogTarget() {
    if (!Py_IsInitialized() || _Py_IsFinalizing()) {
      fn.release();  // leak: Python is going away and must not be touched
      return;
    }
    py::gil_scoped_acquire gil;
    fn = py::object();
  }
};

// The engine of one Python Initiator, shared by the Python object and the at-exit closer: the
// closer may run while the object is being destroyed on another thread (a daemon thread dropping
// the last reference at interpreter exit), so it holds the box, never the object.
struct Engine {
  std::mutex mu;
  std::shared_ptr<net::Initiator> initiator;

  // The engine for one call; the caller starts its work with it and drops it before waiting,
  // so a close() meanwhile destroys the engine and fails the call instead of waiting for it.
  std::shared_ptr<net::Initiator> get() {
    std::lock_guard lock(mu);
    if (!initiator) throw net::NetError(net::Errc::session_closed, "initiator closed");
    return initiator;
  }
  // Closes every session and joins the engine thread (when no call is starting right now).
  // Call without the GIL.
  void close() noexcept {
    std::shared_ptr<net::Initiator> drop;
    {
      std::lock_guard lock(mu);
      drop = std::move(initiator);
    }
  }
  bool closed() {
    std::lock_guard lock(mu);
    return !initiator;
  }
};

std::mutex g_live_mu;
std::vector<std::weak_ptr<Engine>> g_live;

class PyInitiator {
 public:
  explicit PyInitiator(const py::object& log) : engine_(std::make_shared<Engine>()) {
    net::InitiatorOptions options;
    if (!log.is_none()) {
      // A callable, or a logging.Logger (its .info).
      py::object fn = py::hasattr(log, "info") && !PyCallable_Check(log.ptr()) ? log.attr("info") : log;
      if (!PyCallable_Check(fn.ptr())) throw py::type_error("log must be callable or a logging.Logger");
      auto target = std::shared_ptr<LogTarget>(new LogTarget{std::move(fn)});
      options.log = [target](std::string_view line) {
        if (!Py_IsInitialized() || _Py_IsFinalizing()) return;
        py::gil_scoped_acquire gil;
        try {
          target->fn(py::str(line.data(), line.size()));
        } catch (py::error_already_set& e) {
          e.discard_as_unraisable("iscsilab._core.Initiator log callback");
        }
      };
    }
    engine_->initiator = std::make_shared<net::Initiator>(std::move(options));
    std::lock_guard lock(g_live_mu);
    std::erase_if(g_live, [](const std::weak_ptr<Engine>& w) { return w.expired(); });
    g_live.push_back(engine_);
  }
  ~PyInitiator() {
    py::gil_scoped_release nogil;
    engine_->close();
  }
  PyInitiator(const PyInitiator&) = delete;
  PyInitiator& operator=(const PyInitiator&) = delete;

  std::shared_ptr<net::Initiator> get() { return engine_->get(); }
  void close_engine() noexcept { engine_->close(); }
  bool closed() { return engine_->closed(); }

  static void close_all() {
    std::vector<std::shared_ptr<Engine>> live;
    {
      std::lock_guard lock(g_live_mu);
      for (auto& w : g_live) {
        if (auto e = w.lock()) live.push_back(std::move(e));
      }
    }
    py::gil_scoped_release nogil;
    for (auto& e : live) e->close();
  }

 private:
  // Closing while a login is in flight on another thread is the engine's business: it fails
  // that call with "session closed".
  std::shared_ptr<Engine> engine_;
};

net::SessionOptions session_options(const py::object& settings) {
  auto checked = net::session_options_from_settings(overrides_from(settings));
  if (!checked) throw SettingsProblem(checked.message());
  return std::move(checked).value();
}

net::DiscoveryOptions discovery_options(const py::object& settings) {
  auto checked = net::discovery_options_from_settings(overrides_from(settings));
  if (!checked) throw SettingsProblem(checked.message());
  return std::move(checked).value();
}

}  // namespace

void bind_initiator(py::module_& m) {
  py::class_<PyInitiator>(m, "Initiator",
                          "The initiator engine: one I/O thread for any number of sessions to "
                          "any targets. log: a callable (or logging.Logger) for the kernel-style "
                          "log lines (\"connection1:0: detected conn error (22)\").")
      .def(py::init<const py::object&>(), py::arg("log") = py::none())
      .def(
          "discover",
          [](PyInitiator& self, const std::string& portal, const py::object& settings,
             const std::string& target) {
            net::DiscoveryOptions options = discovery_options(settings);
            options.send_targets = target;
            const auto where = net::Portal::parse(portal);
            py::gil_scoped_release nogil;
            auto pending = self.get()->discover_async(where, options);
            return pending.get();
          },
          py::arg("portal"), py::arg("settings") = py::none(), py::arg("target") = "",
          "SendTargets discovery at `portal` (\"host[:port]\", \"[v6]:port\"); `target` asks "
          "for one name instead of All. Settings: discovery.sendtargets.* keys, "
          "iface.initiatorname, iface.isid.")
      .def(
          "login",
          [](PyInitiator& self, const std::string& target, const std::string& portal,
             const py::object& settings) {
            net::SessionOptions options = session_options(settings);
            const auto where = net::Portal::parse(portal);
            std::shared_ptr<net::Session> s;
            {
              py::gil_scoped_release nogil;
              auto pending = self.get()->login_async(target, where, options);
              s = pending.get();
            }
            return std::make_shared<SessionHandle>(std::move(s), "session");
          },
          py::arg("target"), py::arg("portal"), py::arg("settings") = py::none(),
          py::keep_alive<0, 1>(),
          "Logs in to `target` at `portal`; settings: node.* and iface.* keys of open-iscsi "
          "(node.session.auth.chap_algs, node.conn[0].timeo.noop_out_interval, ...).")
      .def(
          "close",
          [](PyInitiator& self) {
            py::gil_scoped_release nogil;
            self.close_engine();
          },
          "Closes every session (without logout) and stops the engine thread. Idempotent.")
      .def_property_readonly("closed", &PyInitiator::closed)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyInitiator& self, const py::object&, const py::object&,
                          const py::object&) {
        py::gil_scoped_release nogil;
        self.close_engine();
      });

  py::module_::import("atexit").attr("register")(
      py::cpp_function([] { PyInitiator::close_all(); }));
}

}  // namespace iscsi::python
