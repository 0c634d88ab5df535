// The engine's vocabularies, for Python code that must speak them before any session exists:
// scenario files are checked against open-iscsi's settings table, ISCSI_ERR names and the login
// status words before a VM boots, and reports print them, without a second copy of any table.
#include <pybind11/stl.h>

#include <string>
#include <tuple>
#include <vector>

#include "bindings.hpp"
#include "config/settings.hpp"
#include "proto/login/status.hpp"
#include "proto/recovery/conn_error.hpp"

namespace iscsi::python {

namespace {

// Settings-table value text for a Python value, as overrides_from() maps it (True -> "Yes").
std::string setting_text(const py::object& value) {
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>() ? "Yes" : "No";
  if (py::isinstance<py::int_>(value) || py::isinstance<py::str>(value)) {
    return py::str(value).cast<std::string>();
  }
  throw py::type_error("a setting's value is text, an integer or a boolean");
}

}  // namespace

void bind_names(py::module_& m) {
  m.def(
      "check_setting",
      [](const std::string& key, const py::object& value) -> std::tuple<py::object, py::object> {
        const config::SettingInfo* info = config::find_setting(key);
        if (!info) return {py::none(), py::str(config::unknown_setting_message(key))};
        auto out = config::normalize_value(*info, setting_text(value));
        if (out.error) {
          // A secret's value is never echoed: the words name only what was expected.
          return {py::none(), py::str(std::string(key) + ": " + out.why)};
        }
        return {py::str(out.value), py::none()};
      },
      py::arg("key"), py::arg("value"),
      "Checks one open-iscsi setting: (canonical value, None) or (None, the problem in words, "
      "with a 'did you mean' for an unknown key).");
  m.def(
      "settings_table",
      [] {
        py::list rows;
        for (const auto& s : config::all_settings()) {
          py::dict d;
          d["key"] = std::string(s.key);
          d["scope"] = std::string(config::to_string(s.scope));
          d["type"] = std::string(config::to_string(s.type));
          d["default"] = std::string(s.default_value);
          d["min"] = s.min;
          d["max"] = s.max;
          d["choices"] = std::string(s.choices);
          d["secret"] = s.secret;
          d["used"] = s.used;
          d["about"] = std::string(s.about);
          rows.append(d);
        }
        return rows;
      },
      "Every open-iscsi key the initiator knows, in open-iscsi's order, with type, default and "
      "range.");
  m.def(
      "conn_errors",
      [] {
        std::vector<std::tuple<int, std::string, std::string>> rows;
        for (int n = 1; n <= 22; ++n) {
          const auto e = static_cast<ConnError>(n);
          rows.emplace_back(n, std::string(kernel_name(e)), std::string(describe(e)));
        }
        return rows;
      },
      "The Linux initiator's connection error codes: (number, ISCSI_ERR name, words).");
  m.def(
      "login_statuses",
      [] {
        std::vector<std::tuple<int, std::string>> rows;
        for (int code = 0; code <= 0x0302; ++code) {
          const auto status = login::LoginStatus::from_code(static_cast<std::uint16_t>(code));
          if (const auto known = status.known()) {
            rows.emplace_back(code, std::string(login::name(*known)));
          }
        }
        return rows;
      },
      "Login Response status codes and their words: (0x0201, 'authentication failure'), ...");
}

}  // namespace iscsi::python
