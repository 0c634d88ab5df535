// The exception family of iscsilab._core and the translation of the engine's NetError into it.
//
//   IscsiError                         every error of the initiator: .code ("login_rejected"),
//   |                                  .conn_error / .conn_error_name (ISCSI_ERR_*, or None)
//   +- LoginError                      .status_class, .status_detail, .status (0x0201), or None
//   |  +- AuthError                    CHAP failed (0x0201, 0x0202, or our check of the target)
//   |  +- SessionLimitError            0x0206 on a leading login: a single-session guard said no
//   |  +- LoginTimeoutError            also an IscsiTimeoutError
//   +- IscsiConnectionError            also the builtin ConnectionError (TCP, ISCSI_ERR_* failures)
//   +- IscsiTimeoutError               also the builtin TimeoutError (replacement, TMF, NOP)
//   +- ScsiError                       .status, .sense_key, .asc, .ascq (None without sense)
//   +- SessionClosedError
//   +- TaskAbortedError
//   +- InvalidArgumentError            also ValueError
//      +- SettingsError                a settings dict naming an unknown/unsupported key or value
//
// NetError carries a code and a sentence; the status, ISCSI_ERR code and sense triple are read
// back from that sentence, whose formats are fixed by proto (login::to_string(LoginStatus)
// "authentication failure (0x0201)", kernel_name(ConnError), scsi::to_string(SenseData)
// "... (0x5/0x24/0x00)").
#include <cctype>
#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "bindings.hpp"
#include "net/errors.hpp"
#include "proto/recovery/conn_error.hpp"

namespace iscsi::python {
namespace {

struct Classes {
  PyObject* iscsi = nullptr;
  PyObject* login = nullptr;
  PyObject* auth = nullptr;
  PyObject* session_limit = nullptr;
  PyObject* login_timeout = nullptr;
  PyObject* connection = nullptr;
  PyObject* timeout = nullptr;
  PyObject* scsi = nullptr;
  PyObject* session_closed = nullptr;
  PyObject* task_aborted = nullptr;
  PyObject* invalid_argument = nullptr;
  PyObject* settings = nullptr;
};
// Strong references held for the life of the process (extension modules are never unloaded).
Classes g_classes;

PyObject* new_class(py::module_& m, const char* name, const char* doc, py::tuple bases) {
  const std::string qualified = std::string("iscsilab._core.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (cls == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(cls));
  return cls;
}

py::str text(std::string_view s) {
  // Target-supplied words may not be UTF-8; never fail while reporting a failure.
  PyObject* o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

std::string_view errc_name(net::Errc e) {
  using net::Errc;
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::connect_failed: return "connect_failed";
    case Errc::login_timeout: return "login_timeout";
    case Errc::login_rejected: return "login_rejected";
    case Errc::login_protocol_error: return "login_protocol_error";
    case Errc::login_retries_exhausted: return "login_retries_exhausted";
    case Errc::replacement_timeout: return "replacement_timeout";
    case Errc::reopen_max_exceeded: return "reopen_max_exceeded";
    case Errc::session_closed: return "session_closed";
    case Errc::task_failed: return "task_failed";
    case Errc::task_aborted: return "task_aborted";
    case Errc::task_rejected: return "task_rejected";
    case Errc::tmf_timeout: return "tmf_timeout";
    case Errc::nop_timeout: return "nop_timeout";
    case Errc::scsi_error: return "scsi_error";
    case Errc::discovery_failed: return "discovery_failed";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::logout_failed: return "logout_failed";
    case Errc::session_limit: return "session_limit";
  }
  return "unknown";
}

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

unsigned hex_value(std::string_view s) {
  unsigned v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v, 16);
  return v;
}

// The last "(0xCCDD)" in the sentence: a Login Response status.
std::optional<unsigned> login_status(std::string_view what) {
  for (auto pos = what.rfind("(0x"); pos != std::string_view::npos;
       pos = pos == 0 ? std::string_view::npos : what.rfind("(0x", pos - 1)) {
    const std::string_view digits = what.substr(pos + 3, 4);
    if (digits.size() == 4 && is_hex(digits) && what.substr(pos + 7, 1) == ")") {
      return hex_value(digits);
    }
  }
  return std::nullopt;
}

// "ISCSI_ERR_NOP_TIMEDOUT" (or the like) anywhere in the sentence.
std::optional<ConnError> conn_error_in(std::string_view what) {
  const auto pos = what.find("ISCSI_ERR_");
  if (pos == std::string_view::npos) return std::nullopt;
  auto end = pos;
  while (end < what.size() && (std::isupper(static_cast<unsigned char>(what[end])) ||
                               std::isdigit(static_cast<unsigned char>(what[end])) ||
                               what[end] == '_')) {
    ++end;
  }
  ConnError e{};
  if (!parse_conn_error(what.substr(pos, end - pos), e)) return std::nullopt;
  return e;
}

struct ScsiFields {
  std::optional<unsigned> status;
  std::optional<unsigned> key, asc, ascq;
};

// "SCSI status 0x02 (ILLEGAL REQUEST: ... (0x5/0x24/0x00))".
ScsiFields scsi_fields(std::string_view what) {
  ScsiFields f;
  if (const auto pos = what.find("SCSI status 0x"); pos != std::string_view::npos) {
    if (const auto d = what.substr(pos + 14, 2); d.size() == 2 && is_hex(d)) f.status = hex_value(d);
  }
  const auto close = what.rfind(')');
  const auto open = what.rfind("(0x", close);
  if (close != std::string_view::npos && open != std::string_view::npos) {
    const std::string inner(what.substr(open + 1, close - open - 1));  // 0x5/0x24/0x00
    unsigned k = 0, a = 0, q = 0;
    if (std::sscanf(inner.c_str(), "0x%x/0x%x/0x%x", &k, &a, &q) == 3) {
      f.key = k;
      f.asc = a;
      f.ascq = q;
    }
  }
  return f;
}

py::object opt(const std::optional<unsigned>& v) {
  return v ? py::object(py::int_(*v)) : py::object(py::none());
}

void raise(PyObject* cls, const std::string& message, std::string_view code,
           std::optional<ConnError> conn_error = std::nullopt) {
  py::object exc = py::reinterpret_steal<py::object>(PyObject_CallOneArg(cls, text(message).ptr()));
  if (!exc) throw py::error_already_set();
  exc.attr("code") = text(code);
  if (conn_error) {
    exc.attr("conn_error") = static_cast<int>(*conn_error);
    exc.attr("conn_error_name") = text(kernel_name(*conn_error));
  }
  PyErr_SetObject(cls, exc.ptr());
}

void raise_login(PyObject* cls, const std::string& message, std::string_view code) {
  py::object exc = py::reinterpret_steal<py::object>(PyObject_CallOneArg(cls, text(message).ptr()));
  if (!exc) throw py::error_already_set();
  exc.attr("code") = text(code);
  if (const auto status = login_status(message)) {
    exc.attr("status") = *status;
    exc.attr("status_class") = *status >> 8;
    exc.attr("status_detail") = *status & 0xFFu;
  }
  PyErr_SetObject(cls, exc.ptr());
}

void raise_net_error(const net::NetError& e) {
  using net::Errc;
  const std::string message = e.what();
  const std::string_view code = errc_name(e.errc());
  const Classes& c = g_classes;
  switch (e.errc()) {
    case Errc::session_limit: raise_login(c.session_limit, message, code); return;
    case Errc::login_rejected:
    case Errc::login_retries_exhausted:
    case Errc::login_protocol_error: {
      const auto status = login_status(message);
      // 0x0201 authentication failure, 0x0202 authorization failure; a protocol error in the
      // CHAP exchange (the target failed mutual CHAP, offered no algorithm we allow) too.
      const bool auth = (status && (*status == 0x0201 || *status == 0x0202)) ||
                        (e.errc() == Errc::login_protocol_error &&
                         (message.find("CHAP") != std::string::npos ||
                          message.find("authenticat") != std::string::npos));
      raise_login(auth ? c.auth : c.login, message, code);
      return;
    }
    case Errc::login_timeout: raise_login(c.login_timeout, message, code); return;
    case Errc::connect_failed:
    case Errc::reopen_max_exceeded:
    case Errc::task_failed:
    case Errc::task_rejected:
      raise(c.connection, message, code, conn_error_in(message));
      return;
    case Errc::nop_timeout:
      raise(c.timeout, message, code, ConnError::nop_timedout);
      return;
    case Errc::replacement_timeout:
    case Errc::tmf_timeout:
      raise(c.timeout, message, code, conn_error_in(message));
      return;
    case Errc::scsi_error: {
      const ScsiFields f = scsi_fields(message);
      py::object exc =
          py::reinterpret_steal<py::object>(PyObject_CallOneArg(c.scsi, text(message).ptr()));
      if (!exc) throw py::error_already_set();
      exc.attr("code") = text(code);
      exc.attr("status") = opt(f.status);
      exc.attr("sense_key") = opt(f.key);
      exc.attr("asc") = opt(f.asc);
      exc.attr("ascq") = opt(f.ascq);
      PyErr_SetObject(c.scsi, exc.ptr());
      return;
    }
    case Errc::session_closed: raise(c.session_closed, message, code); return;
    case Errc::task_aborted: raise(c.task_aborted, message, code); return;
    case Errc::invalid_argument: raise(c.invalid_argument, message, code); return;
    case Errc::ok:
    case Errc::discovery_failed:
    case Errc::logout_failed: break;
  }
  raise(c.iscsi, message, code, conn_error_in(message));
}

}  // namespace

void bind_errors(py::module_& m) {
  Classes& c = g_classes;
  py::object exception = py::reinterpret_borrow<py::object>(PyExc_Exception);
  py::object value_error = py::reinterpret_borrow<py::object>(PyExc_ValueError);
  py::object connection_error = py::reinterpret_borrow<py::object>(PyExc_ConnectionError);
  py::object timeout_error = py::reinterpret_borrow<py::object>(PyExc_TimeoutError);
  auto h = [](PyObject* o) { return py::reinterpret_borrow<py::object>(o); };

  c.iscsi = new_class(m, "IscsiError",
                      "Any error of the initiator. .code names the kind (\"login_rejected\"); "
                      ".conn_error / .conn_error_name give the ISCSI_ERR_* code when one applies.",
                      py::make_tuple(exception));
  // Defaults every instance inherits; the raisers set what applies.
  for (const char* name : {"code", "conn_error", "conn_error_name"}) {
    PyObject_SetAttrString(c.iscsi, name, Py_None);
  }
  c.login = new_class(m, "LoginError",
                      "The login failed. .status is the Login Response status (0x0201), "
                      ".status_class / .status_detail its two bytes; None when the target sent "
                      "none (timeout, protocol error).",
                      py::make_tuple(h(c.iscsi)));
  for (const char* name : {"status", "status_class", "status_detail"}) {
    PyObject_SetAttrString(c.login, name, Py_None);
  }
  c.auth = new_class(m, "AuthError",
                     "CHAP authentication failed (authentication failure 0x0201, authorization "
                     "failure 0x0202, or the target failed mutual CHAP).",
                     py::make_tuple(h(c.login)));
  c.session_limit = new_class(m, "SessionLimitError",
                              "The target refused a new session because its portal group already "
                              "has one: status 0x0206 on a leading login, the answer of a "
                              "single-session (split-brain) guard.",
                              py::make_tuple(h(c.login)));
  c.timeout = new_class(m, "IscsiTimeoutError",
                        "An iSCSI timer expired: replacement_timeout, a TMF timeout, "
                        "noop_out_timeout (conn_error 22), login_timeout.",
                        py::make_tuple(h(c.iscsi), timeout_error));
  c.login_timeout = new_class(m, "LoginTimeoutError",
                              "node.conn[0].timeo.login_timeout expired during login.",
                              py::make_tuple(h(c.login), h(c.timeout)));
  c.connection = new_class(m, "IscsiConnectionError",
                           "The connection failed (TCP connect, an ISCSI_ERR_* connection error, "
                           "reopen_max) or the target rejected the command.",
                           py::make_tuple(h(c.iscsi), connection_error));
  c.scsi = new_class(m, "ScsiError",
                     "A SCSI command ended with a non-GOOD status. .status, and from the sense "
                     "data .sense_key, .asc, .ascq (None without sense).",
                     py::make_tuple(h(c.iscsi)));
  for (const char* name : {"status", "sense_key", "asc", "ascq"}) {
    PyObject_SetAttrString(c.scsi, name, Py_None);
  }
  c.session_closed = new_class(m, "SessionClosedError",
                               "The session was logged out or closed.", py::make_tuple(h(c.iscsi)));
  c.task_aborted = new_class(m, "TaskAbortedError", "The command was ended by task management.",
                             py::make_tuple(h(c.iscsi)));
  c.invalid_argument = new_class(m, "InvalidArgumentError",
                                 "A request the initiator cannot build (bad portal, LUN, length).",
                                 py::make_tuple(h(c.iscsi), value_error));
  c.settings = new_class(m, "SettingsError",
                         "A settings dict with an unknown or unsupported open-iscsi key, or a "
                         "bad value; the message names every offending key.",
                         py::make_tuple(h(c.invalid_argument)));
  PyObject_SetAttrString(c.invalid_argument, "code", text("invalid_argument").ptr());

  py::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const net::NetError& e) {
      raise_net_error(e);
    } catch (const SettingsProblem& e) {
      raise(g_classes.settings, e.what(), "invalid_argument");
    }
  });
}

}  // namespace iscsi::python
