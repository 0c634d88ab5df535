// iSNS from Python (net/isns_client.hpp): register a target with its portals in an iSNS server
// on its behalf (the lab does this for LIO, which has no iSNS client), take it away again, and
// query as an initiator does. Each call is one TCP exchange; the GIL is released during it.
#include <pybind11/chrono.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "bindings.hpp"
#include "net/isns_client.hpp"

namespace iscsi::python {

namespace {

std::chrono::milliseconds timeout_from(double seconds) {
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw py::value_error("timeout: expected seconds in (0, 3600], got " + std::to_string(seconds));
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

net::Portal server_from(const std::string& server) {
  try {
    return net::isns_server(server);
  } catch (const std::exception& e) {  // NetError(invalid_argument) or std::invalid_argument
    throw py::value_error("server: expected host[:port] (port 3205 when none), got '" + server + "': " + e.what());
  }
}

// (address, port, portal group tag) tuples, checked here so the error names the portal.
std::vector<isns::PortalSpec> portals_from(const std::vector<std::tuple<std::string, long, long>>& portals) {
  std::vector<isns::PortalSpec> out;
  for (const auto& [address, port, tag] : portals) {
    const std::string which = "portal (" + address + ", " + std::to_string(port) + ", " + std::to_string(tag) + ")";
    if (address.empty()) throw py::value_error(which + ": expected an IPv4 or IPv6 address");
    if (port < 1 || port > 65535) throw py::value_error(which + ": expected a port in 1..65535");
    if (tag < 0 || tag > 65535) throw py::value_error(which + ": expected a portal group tag in 0..65535");
    out.push_back({address, static_cast<std::uint16_t>(port), static_cast<std::uint16_t>(tag)});
  }
  return out;
}

std::string entity_or_default(const std::string& entity, const std::string& target) {
  return entity.empty() ? "iscsilab:" + target : entity;
}

}  // namespace

void bind_isns(py::module_& m) {
  m.def(
      "isns_register_target",
      [](const std::string& server, const std::string& target,
         const std::vector<std::tuple<std::string, long, long>>& portals, const std::string& entity,
         std::optional<std::uint32_t> registration_period, double timeout) {
        const net::Portal where = server_from(server);
        isns::TargetEntity e{entity_or_default(entity, target), target, portals_from(portals), registration_period};
        const auto limit = timeout_from(timeout);
        py::gil_scoped_release nogil;
        net::isns_register_target(where, e, limit);
      },
      py::arg("server"), py::arg("target"), py::arg("portals"), py::arg("entity") = "",
      py::arg("registration_period") = py::none(), py::arg("timeout") = 10.0,
      "Registers `target` in the iSNS server at `server` (\"host[:port]\", port 3205 when none) "
      "with exactly `portals`, a list of (address, port, portal group tag), in its own entity "
      "(default \"iscsilab:<target>\"): registering again replaces the portals. "
      "registration_period: seconds before the server drops it (default: the server's).");
  m.def(
      "isns_deregister_target",
      [](const std::string& server, const std::string& target, const std::string& entity, double timeout) {
        const net::Portal where = server_from(server);
        const std::string id = entity_or_default(entity, target);
        const auto limit = timeout_from(timeout);
        py::gil_scoped_release nogil;
        net::isns_deregister_target(where, target, id, limit);
      },
      py::arg("server"), py::arg("target"), py::arg("entity") = "", py::arg("timeout") = 10.0,
      "Removes `target`'s entity (and its portals) from the iSNS server.");
  m.def(
      "isns_discover",
      [](const std::string& server, const std::string& initiator_name, double timeout) {
        const net::Portal where = server_from(server);
        const auto limit = timeout_from(timeout);
        py::gil_scoped_release nogil;
        return net::isns_discover(where, initiator_name, limit);
      },
      py::arg("server"), py::arg("initiator_name"), py::arg("timeout") = 10.0,
      "The targets the iSNS server shows to `initiator_name` (a DevAttrQry), as discover() "
      "lists them for SendTargets.");
}

}  // namespace iscsi::python
