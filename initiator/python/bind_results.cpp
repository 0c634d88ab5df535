// Plain result objects: READ CAPACITY, INQUIRY, rescan reports, discovery answers, TMF
// responses. Read-only views of the engine's structs, with a readable repr.
#include <pybind11/stl.h>

#include <cstdio>
#include <string>

#include "bindings.hpp"
#include "net/initiator.hpp"
#include "proto/scsi/inquiry.hpp"
#include "proto/text/sendtargets.hpp"

namespace iscsi::python {

void bind_results(py::module_& m) {
  py::class_<net::Capacity>(m, "Capacity", "READ CAPACITY: number of blocks and block length.")
      .def_readonly("blocks", &net::Capacity::blocks)
      .def_readonly("block_length", &net::Capacity::block_length)
      .def_property_readonly("bytes", &net::Capacity::bytes)
      .def("__eq__", [](const net::Capacity& a, const net::Capacity& b) { return a == b; })
      .def("__repr__", [](const net::Capacity& c) {
        return "Capacity(blocks=" + std::to_string(c.blocks) +
               ", block_length=" + std::to_string(c.block_length) + ")";
      });

  py::class_<scsi::StandardInquiry>(m, "Inquiry", "Standard INQUIRY data.")
      .def_property_readonly("qualifier",
                             [](const scsi::StandardInquiry& i) { return static_cast<int>(i.qualifier); })
      .def_readonly("device_type", &scsi::StandardInquiry::device_type)
      .def_property_readonly("device_type_name",
                             [](const scsi::StandardInquiry& i) {
                               return std::string(scsi::device_type_name(i.device_type));
                             })
      .def_readonly("removable", &scsi::StandardInquiry::rmb)
      .def_readonly("version", &scsi::StandardInquiry::version)
      .def_readonly("hisup", &scsi::StandardInquiry::hisup)
      .def_readonly("tpgs", &scsi::StandardInquiry::tpgs)
      .def_readonly("protect", &scsi::StandardInquiry::protect)
      .def_readonly("cmdque", &scsi::StandardInquiry::cmdque)
      .def_readonly("vendor", &scsi::StandardInquiry::vendor)
      .def_readonly("product", &scsi::StandardInquiry::product)
      .def_readonly("revision", &scsi::StandardInquiry::revision)
      .def_readonly("version_descriptors", &scsi::StandardInquiry::version_descriptors)
      .def("__repr__", [](const scsi::StandardInquiry& i) {
        return "Inquiry(" + std::string(scsi::device_type_name(i.device_type)) + ", vendor='" +
               i.vendor + "', product='" + i.product + "', revision='" + i.revision + "')";
      });

  py::class_<net::LunInfo>(m, "LunInfo", "One LUN found by rescan().")
      .def_readonly("lun", &net::LunInfo::lun)
      .def_readonly("inquiry", &net::LunInfo::inquiry)
      .def_readonly("capacity", &net::LunInfo::capacity)
      .def("__repr__", [](const net::LunInfo& l) {
        return "LunInfo(lun=" + std::to_string(l.lun) + ", " + l.inquiry.vendor + " " +
               l.inquiry.product + ", " + std::to_string(l.capacity.bytes()) + " bytes)";
      });

  py::class_<net::RescanReport>(m, "RescanReport",
                                "REPORT LUNS + INQUIRY + READ CAPACITY per LUN, and what changed "
                                "since the previous rescan.")
      .def_readonly("luns", &net::RescanReport::luns)
      .def_readonly("added", &net::RescanReport::added)
      .def_readonly("removed", &net::RescanReport::removed)
      .def_readonly("resized", &net::RescanReport::resized)
      .def("__repr__", [](const net::RescanReport& r) {
        return "RescanReport(" + std::to_string(r.luns.size()) + " LUNs, " +
               std::to_string(r.added.size()) + " added, " + std::to_string(r.removed.size()) +
               " removed, " + std::to_string(r.resized.size()) + " resized)";
      });

  py::class_<text::TargetAddress>(m, "TargetAddress", "A TargetAddress from SendTargets.")
      .def_readonly("host", &text::TargetAddress::host)
      .def_readonly("port", &text::TargetAddress::port)
      .def_property_readonly("tpgt",
                             [](const text::TargetAddress& a) -> py::object {
                               if (!a.has_group_tag) return py::none();
                               return py::int_(a.portal_group_tag);
                             })
      .def_property_readonly("portal",
                             [](const text::TargetAddress& a) {
                               return net::Portal{a.host, a.port}.to_string();
                             })
      .def("__repr__", [](const text::TargetAddress& a) {
        return "TargetAddress('" + text::format_target_address(a) + "')";
      });

  py::class_<text::DiscoveredTarget>(m, "DiscoveredTarget",
                                     "A target from SendTargets: its name and portals.")
      .def_readonly("name", &text::DiscoveredTarget::name)
      .def_readonly("addresses", &text::DiscoveredTarget::addresses)
      .def_property_readonly("portals",
                             [](const text::DiscoveredTarget& t) {
                               std::vector<std::string> out;
                               for (const auto& a : t.addresses) {
                                 out.push_back(net::Portal{a.host, a.port}.to_string());
                               }
                               return out;
                             })
      .def("__repr__", [](const text::DiscoveredTarget& t) {
        return "DiscoveredTarget('" + t.name + "', " + std::to_string(t.addresses.size()) +
               " portals)";
      });

  py::enum_<pdu::TmfResponse>(m, "TmfResponse", "Task Management Function Response codes.")
      .value("function_complete", pdu::TmfResponse::function_complete)
      .value("task_does_not_exist", pdu::TmfResponse::task_does_not_exist)
      .value("lun_does_not_exist", pdu::TmfResponse::lun_does_not_exist)
      .value("task_still_allegiant", pdu::TmfResponse::task_still_allegiant)
      .value("task_allegiance_reassignment_not_supported",
             pdu::TmfResponse::task_allegiance_reassignment_not_supported)
      .value("tmf_not_supported", pdu::TmfResponse::tmf_not_supported)
      .value("function_authorization_failed", pdu::TmfResponse::function_authorization_failed)
      .value("function_succeeded", pdu::TmfResponse::function_succeeded)
      .value("function_rejected", pdu::TmfResponse::function_rejected)
      .def_property_readonly("words",
                             [](pdu::TmfResponse r) { return pdu::to_string(r); });
}

}  // namespace iscsi::python
