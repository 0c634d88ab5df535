// Session: SCSI I/O, task management, NOP, logout, and the cheap introspection calls (stats,
// events, state, params, TSIH, ISID). Every call that waits on the engine releases the GIL.
#include <pybind11/chrono.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cstring>
#include <string>
#include <utility>

#include "bindings.hpp"
#include "proto/session/session_state.hpp"

namespace iscsi::python {

namespace {

using py::gil_scoped_release;

// Runs `fn(session)` without the GIL.
template <class F>
auto blocking(const SessionHandle& h, F&& fn) {
  auto s = h.get();
  gil_scoped_release nogil;
  return fn(*s);
}

py::bytes to_bytes(const ByteVector& v) {
  return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}

// Any C-contiguous buffer (bytes, bytearray, memoryview, array, numpy) -> the engine's owned
// buffer. The engine keeps write data until the target has taken it (R2T, recovery retries), so
// the one copy is made here, without the GIL, while the Py_buffer pins the exporter.
ByteVector copy_buffer(const py::object& data) {
  Py_buffer view;
  if (PyObject_GetBuffer(data.ptr(), &view, PyBUF_C_CONTIGUOUS) != 0) throw py::error_already_set();
  ByteVector out;
  try {
    gil_scoped_release nogil;
    out.resize(static_cast<std::size_t>(view.len));
    if (view.len > 0) std::memcpy(out.data(), view.buf, static_cast<std::size_t>(view.len));
  } catch (...) {
    PyBuffer_Release(&view);
    throw;
  }
  PyBuffer_Release(&view);
  return out;
}

// READ(16) into a writable C-contiguous buffer (bytearray, memoryview, array, numpy): the
// engine writes the Data-In bytes straight into it, without the GIL, while the Py_buffer pins
// the exporter.
std::uint32_t read_into_buffer(const SessionHandle& h, std::uint64_t lba, const py::object& buffer,
                               std::uint16_t lun) {
  auto s = h.get();
  Py_buffer view;
  if (PyObject_GetBuffer(buffer.ptr(), &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) != 0) {
    throw py::error_already_set();
  }
  std::uint32_t n = 0;
  try {
    gil_scoped_release nogil;
    n = s->read_into(lba, MutableByteSpan(static_cast<std::uint8_t*>(view.buf),
                                          static_cast<std::size_t>(view.len)),
                     lun);
  } catch (...) {
    PyBuffer_Release(&view);
    throw;
  }
  PyBuffer_Release(&view);
  return n;
}

py::dict stats_dict(const session::Stats& s) {
  // iscsiadm -m session --stats field names, in its order.
  py::dict d;
  d["txdata_octets"] = s.txdata_octets;
  d["rxdata_octets"] = s.rxdata_octets;
  d["noptx_pdus"] = s.noptx_pdus;
  d["scsicmd_pdus"] = s.scsicmd_pdus;
  d["tmfcmd_pdus"] = s.tmfcmd_pdus;
  d["login_pdus"] = s.login_pdus;
  d["text_pdus"] = s.text_pdus;
  d["dataout_pdus"] = s.dataout_pdus;
  d["logout_pdus"] = s.logout_pdus;
  d["snack_pdus"] = s.snack_pdus;
  d["noprx_pdus"] = s.noprx_pdus;
  d["scsirsp_pdus"] = s.scsirsp_pdus;
  d["tmfrsp_pdus"] = s.tmfrsp_pdus;
  d["textrsp_pdus"] = s.textrsp_pdus;
  d["datain_pdus"] = s.datain_pdus;
  d["logoutrsp_pdus"] = s.logoutrsp_pdus;
  d["r2t_pdus"] = s.r2t_pdus;
  d["async_pdus"] = s.async_pdus;
  d["rjt_pdus"] = s.rjt_pdus;
  d["digest_err"] = s.digest_err;
  d["timeout_err"] = s.timeout_err;
  // Ours (ERL 1): Data-In PDUs discarded for a data digest error, Data-In PDUs and statuses
  // and R2Ts received again after a SNACK.
  d["datain_discarded"] = s.datain_discarded;
  d["datain_recovered"] = s.datain_recovered;
  d["status_recovered"] = s.status_recovered;
  d["r2t_recovered"] = s.r2t_recovered;
  d["r2t_replaced"] = s.r2t_replaced;
  // Ours (ERL 2): connection recovery.
  d["connection_reinstatements"] = s.connection_reinstatements;
  d["tasks_reassigned"] = s.tasks_reassigned;
  d["commands_resent"] = s.commands_resent;
  d["reassign_refused"] = s.reassign_refused;
  return d;
}

const char* digest_name(login::Digest d) { return d == login::Digest::crc32c ? "CRC32C" : "None"; }

py::dict params_dict(const login::NegotiatedParams& p) {
  // RFC 7143 key names; MaxXmitDataSegmentLength is what we may send (the target's declaration).
  py::dict d;
  d["HeaderDigest"] = digest_name(p.header_digest);
  d["DataDigest"] = digest_name(p.data_digest);
  d["MaxConnections"] = p.max_connections;
  d["InitialR2T"] = p.initial_r2t;
  d["ImmediateData"] = p.immediate_data;
  d["MaxRecvDataSegmentLength"] = p.max_recv_data_segment_length;
  d["MaxXmitDataSegmentLength"] = p.max_send_data_segment_length;
  d["MaxBurstLength"] = p.max_burst_length;
  d["FirstBurstLength"] = p.first_burst_length;
  d["DefaultTime2Wait"] = p.default_time2wait;
  d["DefaultTime2Retain"] = p.default_time2retain;
  d["MaxOutstandingR2T"] = p.max_outstanding_r2t;
  d["DataPDUInOrder"] = p.data_pdu_in_order;
  d["DataSequenceInOrder"] = p.data_sequence_in_order;
  d["ErrorRecoveryLevel"] = p.error_recovery_level;
  d["AuthMethod"] = p.auth_method;
  d["TargetPortalGroupTag"] =
      p.target_portal_group_tag ? py::object(py::int_(*p.target_portal_group_tag)) : py::none();
  d["TargetAlias"] = p.target_alias;
  return d;
}

}  // namespace

void bind_session(py::module_& m) {
  py::class_<SessionHandle, std::shared_ptr<SessionHandle>>(
      m, "Session",
      "A logged-in iSCSI session (from Initiator.login). Thread-safe: calls from several Python "
      "threads run concurrently in the engine. LBAs and lengths are in the LUN's blocks.")
      // --- SCSI ----------------------------------------------------------------------------
      .def(
          "read",
          [](const SessionHandle& h, std::uint64_t lba, std::uint32_t blocks, std::uint16_t lun) {
            ByteVector data = blocking(h, [&](net::Session& s) { return s.read(lba, blocks, lun); });
            return to_bytes(data);
          },
          py::arg("lba"), py::arg("blocks"), py::arg("lun") = 0,
          "READ(16) of `blocks` blocks at `lba`; returns the bytes.")
      .def("read_into", &read_into_buffer, py::arg("lba"), py::arg("buffer"), py::arg("lun") = 0,
           "READ(16) of len(buffer) bytes (whole blocks) at `lba` straight into `buffer` (any "
           "writable contiguous buffer: bytearray, memoryview, numpy); returns the bytes the "
           "target sent.")
      .def(
          "write",
          [](const SessionHandle& h, std::uint64_t lba, const py::object& data, std::uint16_t lun) {
            auto s = h.get();
            ByteVector bytes = copy_buffer(data);
            gil_scoped_release nogil;
            s->write(lba, std::move(bytes), lun);
          },
          py::arg("lba"), py::arg("data"), py::arg("lun") = 0,
          "WRITE(16) of `data` (bytes or any contiguous buffer, a whole number of blocks) at "
          "`lba`.")
      .def(
          "read_capacity",
          [](const SessionHandle& h, std::uint16_t lun) {
            return blocking(h, [&](net::Session& s) { return s.read_capacity(lun); });
          },
          py::arg("lun") = 0, "READ CAPACITY(16), falling back to (10).")
      .def(
          "inquiry",
          [](const SessionHandle& h, std::uint16_t lun) {
            return blocking(h, [&](net::Session& s) { return s.inquiry(lun); });
          },
          py::arg("lun") = 0, "Standard INQUIRY.")
      .def(
          "inquiry_vpd",
          [](const SessionHandle& h, std::uint8_t page, std::uint16_t lun) {
            ByteVector data = blocking(h, [&](net::Session& s) { return s.inquiry_vpd(page, lun); });
            return to_bytes(data);
          },
          py::arg("page"), py::arg("lun") = 0, "INQUIRY with EVPD: the raw page.")
      .def(
          "report_luns",
          [](const SessionHandle& h) { return blocking(h, [](net::Session& s) { return s.report_luns(); }); },
          "REPORT LUNS: the LUN numbers, sorted.")
      .def(
          "rescan",
          [](const SessionHandle& h) { return blocking(h, [](net::Session& s) { return s.rescan(); }); },
          "REPORT LUNS, INQUIRY and READ CAPACITY per LUN; what was added, removed, resized.")
      .def(
          "test_unit_ready",
          [](const SessionHandle& h, std::uint16_t lun) {
            blocking(h, [&](net::Session& s) { s.test_unit_ready(lun); });
          },
          py::arg("lun") = 0, "TEST UNIT READY; raises ScsiError when not ready.")
      // --- iSCSI ---------------------------------------------------------------------------
      .def(
          "nop",
          [](const SessionHandle& h) {
            const auto rtt = blocking(h, [](net::Session& s) { return s.nop(); });
            return std::chrono::duration<double>(rtt).count();
          },
          "A NOP-Out ping; returns the round trip time in seconds.")
      .def(
          "abort_task",
          [](const SessionHandle& h, std::uint64_t handle, std::uint16_t lun) {
            return blocking(h, [&](net::Session& s) { return s.abort_task(handle, lun); });
          },
          py::arg("handle"), py::arg("lun") = 0, "ABORT TASK for the command with this handle.")
      .def(
          "abort_task_set",
          [](const SessionHandle& h, std::uint16_t lun) {
            return blocking(h, [&](net::Session& s) { return s.abort_task_set(lun); });
          },
          py::arg("lun") = 0, "ABORT TASK SET.")
      .def(
          "clear_task_set",
          [](const SessionHandle& h, std::uint16_t lun) {
            return blocking(h, [&](net::Session& s) { return s.clear_task_set(lun); });
          },
          py::arg("lun") = 0, "CLEAR TASK SET.")
      .def(
          "lun_reset",
          [](const SessionHandle& h, std::uint16_t lun) {
            return blocking(h, [&](net::Session& s) { return s.lun_reset(lun); });
          },
          py::arg("lun") = 0, "LOGICAL UNIT RESET.")
      .def(
          "target_warm_reset",
          [](const SessionHandle& h) {
            return blocking(h, [](net::Session& s) { return s.target_warm_reset(); });
          },
          "TARGET WARM RESET.")
      .def(
          "target_cold_reset",
          [](const SessionHandle& h) {
            return blocking(h, [](net::Session& s) { return s.target_cold_reset(); });
          },
          "TARGET COLD RESET (the target drops the connection afterwards).")
      .def(
          "logout",
          [](SessionHandle& h) {
            auto s = h.get();
            gil_scoped_release nogil;
            s->logout();
          },
          "Logout (close the session). stats(), events() and the properties still answer "
          "afterwards; I/O raises SessionClosedError.")
      .def(
          "close",
          [](SessionHandle& h) {
            gil_scoped_release nogil;
            h.close();
          },
          "Drops the connection without logging out (idempotent).")
      // --- introspection -------------------------------------------------------------------
      .def("stats", [](const SessionHandle& h) { return stats_dict(h.get()->stats()); },
           "Counters with the field names of iscsiadm -m session --stats.")
      .def("events", [](const SessionHandle& h) { return h.get()->events(); },
           "The timestamped event log, oldest first.")
      .def_property_readonly("state", [](const SessionHandle& h) { return h.get()->state_name(); },
                             "Session state as open-iscsi prints it (LOGGED_IN, FAILED, ...).")
      .def_property_readonly("params", [](const SessionHandle& h) { return params_dict(h.get()->params()); },
                             "The negotiated operational keys (RFC 7143 names).")
      .def_property_readonly("tsih", [](const SessionHandle& h) { return h.get()->tsih(); })
      .def_property_readonly("isid", [](const SessionHandle& h) { return h.get()->isid().to_u48(); },
                             "The 48-bit ISID as an int.")
      .def_property_readonly("target_name", [](const SessionHandle& h) { return h.get()->target_name(); })
      .def_property_readonly("portal", [](const SessionHandle& h) { return h.get()->portal().to_string(); })
      .def_property_readonly("reinstatements",
                             [](const SessionHandle& h) { return h.get()->reinstatements(); },
                             "Relogins that succeeded since the first login.")
      .def_property_readonly("closed", &SessionHandle::closed)
      .def("__enter__", [](const std::shared_ptr<SessionHandle>& h) { return h; })
      .def(
          "__exit__",
          [](SessionHandle& h, const py::object& exc_type, const py::object&, const py::object&) {
            // Log out cleanly; while another exception propagates, a failing logout must not
            // replace it.
            if (!h.closed()) {
              try {
                auto s = h.get();
                gil_scoped_release nogil;
                s->logout();
              } catch (const net::NetError& e) {
                // Already logged out (logout() in the block, or by the target): nothing to do.
                if (e.errc() != net::Errc::session_closed && exc_type.is_none()) {
                  py::gil_scoped_release nogil;
                  h.close();
                  throw;
                }
              }
            }
            gil_scoped_release nogil;
            h.close();
          })
      .def("__repr__", [](const SessionHandle& h) {
        if (h.closed()) return std::string("<Session closed>");
        auto s = h.get();
        return "<Session " + s->target_name() + " at " + s->portal().to_string() + " " +
               s->state_name() + ">";
      });
}

}  // namespace iscsi::python
