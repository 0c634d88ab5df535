// iscsilab._pdu: proto's PDU codec and framer for Python, so that a raw-connection driver (the
// conformance suite, the LIO fuzzer) builds and reads PDUs with the same code the initiator uses.
// A module of its own, apart from iscsilab._core: it links iscsi_proto_pdu only (no engine, no
// Asio), so a tool that talks to a target PDU by PDU builds in a minute.
//
// A PDU crosses as a dict {"opcode": int, <field>: value, ...} with the field names of
// proto/pdu/pdu.hpp; enums, sequence numbers and the ISID are ints, data segments and CDBs bytes.
// Each struct's fields are listed once (fields_of below) and serve both directions. Byte offsets
// come from proto/pdu/wire.hpp (offsets()), so a driver that mangles a field after encoding
// names it instead of counting bytes.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "proto/pdu/framer.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/pdu/wire.hpp"

namespace iscsi::python {
namespace {

namespace py = pybind11;
using namespace iscsi::pdu;

// Thrown for an undecodable PDU or an unencodable dict; becomes iscsilab._core.pdu.PduError.
class PduProblem : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- one field list per PDU type ---------------------------------------------------------------

template <class F> void fields_of(NopOut& p, F&& f) {
  f("immediate", p.immediate); f("lun", p.lun); f("itt", p.itt); f("ttt", p.ttt);
  f("cmd_sn", p.cmd_sn); f("exp_stat_sn", p.exp_stat_sn); f("data", p.data);
}
template <class F> void fields_of(ScsiCommand& p, F&& f) {
  f("immediate", p.immediate); f("final_pdu", p.final_pdu); f("read", p.read);
  f("write", p.write); f("attr", p.attr); f("lun", p.lun); f("itt", p.itt);
  f("expected_data_transfer_length", p.expected_data_transfer_length); f("cmd_sn", p.cmd_sn);
  f("exp_stat_sn", p.exp_stat_sn); f("cdb", p.cdb); f("extended_cdb", p.extended_cdb);
  f("bidi_read_data_length", p.bidi_read_data_length); f("data", p.data);
}
template <class F> void fields_of(TaskMgmtRequest& p, F&& f) {
  f("immediate", p.immediate); f("function", p.function); f("lun", p.lun); f("itt", p.itt);
  f("referenced_task_tag", p.referenced_task_tag); f("cmd_sn", p.cmd_sn);
  f("exp_stat_sn", p.exp_stat_sn); f("ref_cmd_sn", p.ref_cmd_sn); f("exp_data_sn", p.exp_data_sn);
}
template <class F> void fields_of(LoginRequest& p, F&& f) {
  f("transit", p.transit); f("cont", p.cont); f("csg", p.csg); f("nsg", p.nsg);
  f("version_max", p.version_max); f("version_min", p.version_min); f("isid", p.isid);
  f("tsih", p.tsih); f("itt", p.itt); f("cid", p.cid); f("cmd_sn", p.cmd_sn);
  f("exp_stat_sn", p.exp_stat_sn); f("data", p.data);
}
template <class F> void fields_of(TextRequest& p, F&& f) {
  f("immediate", p.immediate); f("final_pdu", p.final_pdu); f("cont", p.cont); f("lun", p.lun);
  f("itt", p.itt); f("ttt", p.ttt); f("cmd_sn", p.cmd_sn); f("exp_stat_sn", p.exp_stat_sn);
  f("data", p.data);
}
template <class F> void fields_of(DataOut& p, F&& f) {
  f("final_pdu", p.final_pdu); f("lun", p.lun); f("itt", p.itt); f("ttt", p.ttt);
  f("exp_stat_sn", p.exp_stat_sn); f("data_sn", p.data_sn); f("buffer_offset", p.buffer_offset);
  f("data", p.data);
}
template <class F> void fields_of(LogoutRequest& p, F&& f) {
  f("immediate", p.immediate); f("reason", p.reason); f("itt", p.itt); f("cid", p.cid);
  f("cmd_sn", p.cmd_sn); f("exp_stat_sn", p.exp_stat_sn);
}
template <class F> void fields_of(SnackRequest& p, F&& f) {
  f("type", p.type); f("lun", p.lun); f("itt", p.itt); f("ttt", p.ttt);
  f("exp_stat_sn", p.exp_stat_sn); f("beg_run", p.beg_run); f("run_length", p.run_length);
}
template <class F> void fields_of(NopIn& p, F&& f) {
  f("lun", p.lun); f("itt", p.itt); f("ttt", p.ttt); f("stat_sn", p.stat_sn);
  f("exp_cmd_sn", p.exp_cmd_sn); f("max_cmd_sn", p.max_cmd_sn); f("data", p.data);
}
template <class F> void fields_of(ScsiResponse& p, F&& f) {
  f("bidi_read_overflow", p.bidi_read_overflow); f("bidi_read_underflow", p.bidi_read_underflow);
  f("overflow", p.overflow); f("underflow", p.underflow); f("response", p.response);
  f("status", p.status); f("itt", p.itt); f("snack_tag", p.snack_tag); f("stat_sn", p.stat_sn);
  f("exp_cmd_sn", p.exp_cmd_sn); f("max_cmd_sn", p.max_cmd_sn); f("exp_data_sn", p.exp_data_sn);
  f("bidi_read_residual_count", p.bidi_read_residual_count);
  f("residual_count", p.residual_count); f("data", p.data);
}
template <class F> void fields_of(TaskMgmtResponse& p, F&& f) {
  f("response", p.response); f("itt", p.itt); f("stat_sn", p.stat_sn);
  f("exp_cmd_sn", p.exp_cmd_sn); f("max_cmd_sn", p.max_cmd_sn);
}
template <class F> void fields_of(LoginResponse& p, F&& f) {
  f("transit", p.transit); f("cont", p.cont); f("csg", p.csg); f("nsg", p.nsg);
  f("version_max", p.version_max); f("version_active", p.version_active); f("isid", p.isid);
  f("tsih", p.tsih); f("itt", p.itt); f("stat_sn", p.stat_sn); f("exp_cmd_sn", p.exp_cmd_sn);
  f("max_cmd_sn", p.max_cmd_sn); f("status_class", p.status_class);
  f("status_detail", p.status_detail); f("data", p.data);
}
template <class F> void fields_of(TextResponse& p, F&& f) {
  f("final_pdu", p.final_pdu); f("cont", p.cont); f("lun", p.lun); f("itt", p.itt);
  f("ttt", p.ttt); f("stat_sn", p.stat_sn); f("exp_cmd_sn", p.exp_cmd_sn);
  f("max_cmd_sn", p.max_cmd_sn); f("data", p.data);
}
template <class F> void fields_of(DataIn& p, F&& f) {
  f("final_pdu", p.final_pdu); f("acknowledge", p.acknowledge); f("overflow", p.overflow);
  f("underflow", p.underflow); f("status_present", p.status_present); f("status", p.status);
  f("lun", p.lun); f("itt", p.itt); f("ttt", p.ttt); f("stat_sn", p.stat_sn);
  f("exp_cmd_sn", p.exp_cmd_sn); f("max_cmd_sn", p.max_cmd_sn); f("data_sn", p.data_sn);
  f("buffer_offset", p.buffer_offset); f("residual_count", p.residual_count); f("data", p.data);
}
template <class F> void fields_of(LogoutResponse& p, F&& f) {
  f("response", p.response); f("itt", p.itt); f("stat_sn", p.stat_sn);
  f("exp_cmd_sn", p.exp_cmd_sn); f("max_cmd_sn", p.max_cmd_sn); f("time2wait", p.time2wait);
  f("time2retain", p.time2retain);
}
template <class F> void fields_of(R2T& p, F&& f) {
  f("lun", p.lun); f("itt", p.itt); f("ttt", p.ttt); f("stat_sn", p.stat_sn);
  f("exp_cmd_sn", p.exp_cmd_sn); f("max_cmd_sn", p.max_cmd_sn); f("r2t_sn", p.r2t_sn);
  f("buffer_offset", p.buffer_offset);
  f("desired_data_transfer_length", p.desired_data_transfer_length);
}
template <class F> void fields_of(AsyncMessage& p, F&& f) {
  f("lun", p.lun); f("stat_sn", p.stat_sn); f("exp_cmd_sn", p.exp_cmd_sn);
  f("max_cmd_sn", p.max_cmd_sn); f("async_event", p.async_event);
  f("async_vcode", p.async_vcode); f("parameter1", p.parameter1);
  f("parameter2", p.parameter2); f("parameter3", p.parameter3); f("data", p.data);
}
template <class F> void fields_of(Reject& p, F&& f) {
  f("reason", p.reason); f("stat_sn", p.stat_sn); f("exp_cmd_sn", p.exp_cmd_sn);
  f("max_cmd_sn", p.max_cmd_sn); f("data_sn_or_r2t_sn", p.data_sn_or_r2t_sn); f("data", p.data);
}

// ---- one value's conversion, by C++ type ------------------------------------------------------

py::object to_py(bool v) { return py::bool_(v); }
py::object to_py(const SerialNumber& v) { return py::int_(v.value()); }
py::object to_py(const Isid& v) { return py::int_(v.to_u48()); }
py::object to_py(const ByteVector& v) {
  return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}
py::object to_py(const std::array<std::uint8_t, 16>& v) {
  return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}
py::object to_py(const std::optional<std::uint32_t>& v) {
  return v ? py::object(py::int_(*v)) : py::object(py::none());
}
template <class T>
  requires(std::is_integral_v<T> || std::is_enum_v<T>)
py::object to_py(T v) {
  if constexpr (std::is_enum_v<T>) {
    return py::int_(static_cast<std::underlying_type_t<T>>(v));
  } else {
    return py::int_(v);
  }
}

template <class T>
std::uint64_t checked_int(const char* name, const py::handle& value) {
  if (!py::isinstance<py::int_>(value)) throw PduProblem(std::string(name) + ": an int is needed");
  const auto v = value.cast<long long>();
  if (v < 0 || static_cast<unsigned long long>(v) > std::numeric_limits<T>::max())
    throw PduProblem(std::string(name) + ": " + std::to_string(v) + " does not fit the field");
  return static_cast<std::uint64_t>(v);
}

ByteVector checked_bytes(const char* name, const py::handle& value) {
  if (!py::isinstance<py::bytes>(value) && !py::isinstance<py::bytearray>(value))
    throw PduProblem(std::string(name) + ": bytes are needed");
  const std::string s = py::bytes(py::reinterpret_borrow<py::object>(value));
  return ByteVector(s.begin(), s.end());
}

void from_py(const char* name, const py::handle& value, bool& out) {
  if (!py::isinstance<py::bool_>(value) && !py::isinstance<py::int_>(value))
    throw PduProblem(std::string(name) + ": a bool is needed");
  out = value.cast<bool>();
}
void from_py(const char* name, const py::handle& value, SerialNumber& out) {
  out = SerialNumber(static_cast<std::uint32_t>(checked_int<std::uint32_t>(name, value)));
}
void from_py(const char* name, const py::handle& value, Isid& out) {
  const std::uint64_t v = checked_int<std::uint64_t>(name, value);
  if (v >> 48) throw PduProblem(std::string(name) + ": the ISID is 48 bits");
  out = Isid::from_u48(v);
}
void from_py(const char* name, const py::handle& value, ByteVector& out) {
  out = checked_bytes(name, value);
}
void from_py(const char* name, const py::handle& value, std::array<std::uint8_t, 16>& out) {
  const ByteVector b = checked_bytes(name, value);
  if (b.size() > out.size()) throw PduProblem(std::string(name) + ": at most 16 bytes");
  out.fill(0);
  std::copy(b.begin(), b.end(), out.begin());
}
void from_py(const char* name, const py::handle& value, std::optional<std::uint32_t>& out) {
  if (value.is_none()) {
    out.reset();
  } else {
    out = static_cast<std::uint32_t>(checked_int<std::uint32_t>(name, value));
  }
}
template <class T>
  requires(std::is_integral_v<T> || std::is_enum_v<T>)
void from_py(const char* name, const py::handle& value, T& out) {
  if constexpr (std::is_enum_v<T>) {
    // Any value of the underlying type: a driver may send codes the RFC reserves.
    using U = std::underlying_type_t<T>;
    out = static_cast<T>(static_cast<U>(checked_int<U>(name, value)));
  } else {
    out = static_cast<T>(checked_int<T>(name, value));
  }
}

// By value: fields_of takes a mutable struct (one list serves both directions).
py::dict to_dict(Pdu pdu) {
  py::dict d;
  d["opcode"] = static_cast<int>(opcode_of(pdu));
  std::visit([&](auto& p) {
    fields_of(p, [&](const char* name, const auto& field) { d[name] = to_py(field); });
  }, pdu);
  return d;
}

// A default-constructed PDU of the opcode, or PduProblem for a value that is not one of the 18.
Pdu make_pdu(int opcode) {
  if (opcode < 0 || opcode > 0x3f || !is_known_opcode(static_cast<std::uint8_t>(opcode)))
    throw PduProblem("opcode " + std::to_string(opcode) + " is not an RFC 7143 opcode");
  Pdu pdu;
  bool found = false;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((std::variant_alternative_t<I, Pdu>::kOpcode == static_cast<Opcode>(opcode)
          ? (pdu.template emplace<I>(), found = true)
          : false),
     ...);
  }(std::make_index_sequence<std::variant_size_v<Pdu>>{});
  if (!found) throw PduProblem("opcode " + std::to_string(opcode) + " has no PDU type");
  return pdu;
}

Pdu from_dict(const py::dict& d) {
  if (!d.contains("opcode")) throw PduProblem("the dict has no 'opcode'");
  Pdu pdu = make_pdu(d["opcode"].cast<int>());
  std::size_t used = 1;
  std::visit([&](auto& p) {
    fields_of(p, [&](const char* name, auto& field) {
      if (d.contains(name)) {
        from_py(name, d[name], field);
        ++used;
      }
    });
  }, pdu);
  if (used != d.size()) {
    // Name the first key the PDU type does not have: a misspelt field must not pass silently.
    const py::dict known = to_dict(pdu);
    for (auto item : d) {
      if (!known.contains(item.first))
        throw PduProblem(to_string(opcode_of(pdu)) + " has no field '" +
                         py::str(item.first).cast<std::string>() + "'");
    }
  }
  return pdu;
}

ByteSpan span_of(const py::bytes& b, std::string& keep) {
  keep = b;
  return {reinterpret_cast<const std::uint8_t*>(keep.data()), keep.size()};
}

[[noreturn]] void raise(std::error_code ec, const Diagnostic& diag) {
  throw PduProblem(diag.errc != Errc::ok ? to_string(diag) : ec.message());
}

py::dict offsets() {
  namespace w = iscsi::pdu::detail;
  py::dict o;
  o["opcode"] = w::kOpcodeByte; o["flags"] = w::kFlagsByte;
  o["total_ahs_length"] = w::kTotalAhsLength; o["data_segment_length"] = w::kDataSegmentLength;
  o["lun"] = w::kLun; o["itt"] = w::kItt; o["byte2"] = w::kByte2; o["byte3"] = w::kByte3;
  o["ttt"] = w::kTtt; o["cmd_sn"] = w::kCmdSn; o["exp_stat_sn"] = w::kExpStatSn;
  o["stat_sn"] = w::kStatSn; o["exp_cmd_sn"] = w::kExpCmdSn; o["max_cmd_sn"] = w::kMaxCmdSn;
  o["data_sn"] = w::kDataSn; o["buffer_offset"] = w::kBufferOffset;
  o["residual_count"] = w::kResidualCount;
  o["expected_data_transfer_length"] = w::scsi_command::kExpectedDataTransferLength;
  o["cdb"] = w::scsi_command::kCdb;
  o["version_max"] = w::login::kVersionMax; o["version_min"] = w::login::kVersionMin;
  o["isid"] = w::login::kIsid; o["tsih"] = w::login::kTsih; o["cid"] = w::login::kCid;
  o["status_class"] = w::login::kStatusClass; o["status_detail"] = w::login::kStatusDetail;
  o["immediate_bit"] = w::kImmediateBit; o["final_bit"] = w::kFinalBit;
  o["login_transit_bit"] = w::login::kTransitBit; o["login_continue_bit"] = w::login::kContinueBit;
  o["login_csg_mask"] = w::login::kCsgMask; o["login_csg_shift"] = w::login::kCsgShift;
  o["login_nsg_mask"] = w::login::kNsgMask;
  o["bhs_length"] = kBhsLength;
  return o;
}

}  // namespace

void bind_pdu(py::module_& m) {
  py::register_exception<PduProblem>(m, "PduError", PyExc_ValueError);

  m.attr("BHS_LENGTH") = kBhsLength;
  m.attr("RESERVED_TAG") = kReservedTag;
  m.def("opcode_name", [](int op) { return to_string(static_cast<Opcode>(op & 0x3f)); },
        py::arg("opcode"), "'NOP-Out', 'SCSI Data-In', ...; 'opcode 0x3c' for an unknown value");
  m.def("defaults", [](int op) { return to_dict(make_pdu(op)); }, py::arg("opcode"),
        "The PDU type's fields with the values a default-constructed struct has.");
  m.def("offsets", &offsets, "Named BHS byte offsets and bit masks (proto/pdu/wire.hpp).");
  m.def(
      "encode",
      [](const py::dict& fields, bool header_digest, bool data_digest) {
        const Pdu pdu = from_dict(fields);
        ByteVector out;
        if (auto ec = encode(pdu, {header_digest, data_digest}, out))
          throw PduProblem(to_string(opcode_of(pdu)) + ": " + ec.message());
        return py::bytes(reinterpret_cast<const char*>(out.data()), out.size());
      },
      py::arg("fields"), py::arg("header_digest") = false, py::arg("data_digest") = false,
      "The wire form (BHS, AHS, digests, data, padding) of a PDU given as a dict.");
  m.def(
      "decode",
      [](const py::bytes& wire, bool header_digest, bool data_digest, bool strict_reserved) {
        std::string keep;
        Diagnostic diag;
        auto r = decode(span_of(wire, keep), {header_digest, data_digest},
                        {.strict_reserved = strict_reserved}, &diag);
        if (!r) raise(r.error(), diag);
        return py::make_tuple(to_dict(std::move(r->pdu)), r->consumed);
      },
      py::arg("wire"), py::arg("header_digest") = false, py::arg("data_digest") = false,
      py::arg("strict_reserved") = false,
      "(dict, bytes consumed) for the PDU at the start of `wire`; PduError when it breaks a rule.");
  m.def(
      "reserved_violation",
      [](const py::bytes& bhs) -> std::optional<std::string> {
        std::string keep;
        Diagnostic diag;
        const ByteSpan s = span_of(bhs, keep);
        if (s.size() < kBhsLength) throw PduProblem("a BHS is 48 bytes");
        auto r = decode_bhs(s.first(kBhsLength), {.strict_reserved = true}, &diag);
        if (r) return std::nullopt;
        return to_string(diag);
      },
      py::arg("bhs"),
      "None when the header keeps every reserved-field rule, else what it breaks.");

  py::class_<Framer>(m, "Framer",
                     "proto's streaming framer: feed() bytes in any chunks, next() complete PDUs.")
      .def(py::init([](bool receive_target_pdus, std::uint32_t max_recv_data_segment_length) {
             FramerConfig c;
             c.receive = receive_target_pdus ? Direction::target_to_initiator
                                             : Direction::initiator_to_target;
             c.max_recv_data_segment_length = max_recv_data_segment_length;
             return Framer(c);
           }),
           py::arg("receive_target_pdus") = true,
           py::arg("max_recv_data_segment_length") = kDefaultMaxRecvDataSegmentLength)
      .def("feed", [](Framer& f, const py::bytes& b) {
             std::string keep;
             f.feed(span_of(b, keep));
           }, py::arg("data"))
      .def("next", [](Framer& f) -> py::object {
             auto r = f.next_view();
             if (!r) raise(r.error(), f.diagnostic());
             if (!*r) return py::none();
             const FrameView& view = **r;
             Pdu pdu = *view.header;
             std::visit([&](auto& p) {
               if constexpr (requires { p.data; }) {
                 p.data.assign(view.data.begin(), view.data.end());
               }
             }, pdu);
             // Nothing is placed, so the PDU's bytes are contiguous from its BHS on.
             py::bytes wire(reinterpret_cast<const char*>(view.bhs.data()), view.wire_length);
             return py::make_tuple(to_dict(std::move(pdu)), std::move(wire));
           }, "(dict, wire bytes) of the next complete PDU, None when more bytes are needed; "
              "PduError once the stream broke a rule (the framer stays failed).")
      .def("set_digests", [](Framer& f, bool header, bool data) {
             f.set_digests({header, data});
           }, py::arg("header"), py::arg("data"))
      .def("set_max_recv_data_segment_length", &Framer::set_max_recv_data_segment_length,
           py::arg("length"))
      .def_property_readonly("buffered", &Framer::buffered)
      .def_property_readonly("failed", &Framer::failed);
}

}  // namespace iscsi::python

PYBIND11_MODULE(_pdu, m) {
  m.doc() = "RFC 7143 PDUs through proto's codec and framer: dicts in, wire bytes out, and back.";
  iscsi::python::bind_pdu(m);
}
