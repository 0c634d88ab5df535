// Initiator: one engine (io_context + worker thread) for any number of sessions; discover() and
// login() take open-iscsi settings as a dict, mapped by net/from_settings.
//
// The engine thread calls the optional log callable with the GIL taken; every Python-side wait
// on the engine releases the GIL first, so the two never wait on each other. At interpreter exit
// (atexit) every Initiator still open is closed, before Python starts tearing objects down.
#include <pybind11/stl.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>

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

class PyInitiator;
std::mutex g_live_mu;
std::set<PyInitiator*> g_live;

class PyInitiator {
 public:
  explicit PyInitiator(const py::object& log) {
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
    initiator_ = std::make_unique<net::Initiator>(std::move(options));
    std::lock_guard lock(g_live_mu);
    g_live.insert(this);
  }
  ~PyInitiator() {
    {
      std::lock_guard lock(g_live_mu);
      g_live.erase(this);
    }
    py::gil_scoped_release nogil;
    close_engine();
  }
  PyInitiator(const PyInitiator&) = delete;
  PyInitiator& operator=(const PyInitiator&) = delete;

  net::Initiator& get() {
    std::lock_guard lock(mu_);
    if (!initiator_) throw net::NetError(net::Errc::session_closed, "initiator closed");
    return *initiator_;
  }
  // Closes every session and joins the engine thread. Call without the GIL.
  void close_engine() noexcept {
    std::unique_ptr<net::Initiator> drop;
    {
      std::lock_guard lock(mu_);
      drop = std::move(initiator_);
    }
  }
  bool closed() {
    std::lock_guard lock(mu_);
    return !initiator_;
  }

  static void close_all() {
    std::set<PyInitiator*> live;
    {
      std::lock_guard lock(g_live_mu);
      live = g_live;
    }
    py::gil_scoped_release nogil;
    for (PyInitiator* i : live) i->close_engine();
  }

 private:
  std::mutex mu_;
  // Closing while a login is in flight on another thread is the engine's business: it fails
  // that call with "session closed".
  std::unique_ptr<net::Initiator> initiator_;
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
            net::Initiator& ini = self.get();
            py::gil_scoped_release nogil;
            return ini.discover(net::Portal::parse(portal), options);
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
            net::Initiator& ini = self.get();
            std::shared_ptr<net::Session> s;
            {
              py::gil_scoped_release nogil;
              s = ini.login(target, net::Portal::parse(portal), options);
            }
            return std::make_shared<SessionHandle>(std::move(s));
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
