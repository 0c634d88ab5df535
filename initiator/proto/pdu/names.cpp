// Names of opcodes and per-type codes (to_string), and the one-line PDU summary for logs.
#include <cstdio>
#include <type_traits>

#include "proto/pdu/pdu.hpp"

namespace iscsi::pdu {
namespace {

std::string hex(unsigned v, int width = 2) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%0*x", width, v);
  return buf;
}

template <class E>
std::string unknown(E e) {
  return "unknown (" + hex(static_cast<unsigned>(e)) + ")";
}

}  // namespace

std::string to_string(Opcode op) {
  switch (op) {
    case Opcode::nop_out: return "NOP-Out";
    case Opcode::scsi_command: return "SCSI Command";
    case Opcode::task_mgmt_request: return "Task Management Function Request";
    case Opcode::login_request: return "Login Request";
    case Opcode::text_request: return "Text Request";
    case Opcode::scsi_data_out: return "SCSI Data-Out";
    case Opcode::logout_request: return "Logout Request";
    case Opcode::snack_request: return "SNACK Request";
    case Opcode::nop_in: return "NOP-In";
    case Opcode::scsi_response: return "SCSI Response";
    case Opcode::task_mgmt_response: return "Task Management Function Response";
    case Opcode::login_response: return "Login Response";
    case Opcode::text_response: return "Text Response";
    case Opcode::scsi_data_in: return "SCSI Data-In";
    case Opcode::logout_response: return "Logout Response";
    case Opcode::r2t: return "R2T";
    case Opcode::async_message: return "Asynchronous Message";
    case Opcode::reject: return "Reject";
  }
  return "opcode " + hex(static_cast<unsigned>(op));
}

std::string_view to_string(Direction d) noexcept {
  return d == Direction::initiator_to_target ? "initiator->target" : "target->initiator";
}

bool is_known_opcode(std::uint8_t raw) noexcept {
  switch (static_cast<Opcode>(raw)) {
    case Opcode::nop_out:
    case Opcode::scsi_command:
    case Opcode::task_mgmt_request:
    case Opcode::login_request:
    case Opcode::text_request:
    case Opcode::scsi_data_out:
    case Opcode::logout_request:
    case Opcode::snack_request:
    case Opcode::nop_in:
    case Opcode::scsi_response:
    case Opcode::task_mgmt_response:
    case Opcode::login_response:
    case Opcode::text_response:
    case Opcode::scsi_data_in:
    case Opcode::logout_response:
    case Opcode::r2t:
    case Opcode::async_message:
    case Opcode::reject: return true;
  }
  return false;
}

std::string to_string(Stage s) {
  switch (s) {
    case Stage::security: return "SecurityNegotiation";
    case Stage::operational: return "LoginOperationalNegotiation";
    case Stage::full_feature: return "FullFeaturePhase";
  }
  return "reserved stage (" + std::to_string(static_cast<unsigned>(s)) + ")";
}

std::string to_string(TaskAttribute a) {
  switch (a) {
    case TaskAttribute::untagged: return "Untagged";
    case TaskAttribute::simple: return "Simple";
    case TaskAttribute::ordered: return "Ordered";
    case TaskAttribute::head_of_queue: return "Head of Queue";
    case TaskAttribute::aca: return "ACA";
  }
  return unknown(a);
}

std::string to_string(ScsiResponseCode r) {
  switch (r) {
    case ScsiResponseCode::command_completed_at_target: return "Command Completed at Target";
    case ScsiResponseCode::target_failure: return "Target Failure";
  }
  if (static_cast<unsigned>(r) >= 0x80) return "vendor specific (" + hex(static_cast<unsigned>(r)) + ")";
  return unknown(r);
}

std::string to_string(TmfFunction f) {
  switch (f) {
    case TmfFunction::abort_task: return "ABORT TASK";
    case TmfFunction::abort_task_set: return "ABORT TASK SET";
    case TmfFunction::clear_aca: return "CLEAR ACA";
    case TmfFunction::clear_task_set: return "CLEAR TASK SET";
    case TmfFunction::logical_unit_reset: return "LOGICAL UNIT RESET";
    case TmfFunction::target_warm_reset: return "TARGET WARM RESET";
    case TmfFunction::target_cold_reset: return "TARGET COLD RESET";
    case TmfFunction::task_reassign: return "TASK REASSIGN";
    case TmfFunction::query_task: return "QUERY TASK";
    case TmfFunction::query_task_set: return "QUERY TASK SET";
    case TmfFunction::i_t_nexus_reset: return "I_T NEXUS RESET";
    case TmfFunction::query_async_event: return "QUERY ASYNCHRONOUS EVENT";
  }
  return unknown(f);
}

std::string to_string(TmfResponse r) {
  switch (r) {
    case TmfResponse::function_complete: return "Function complete";
    case TmfResponse::task_does_not_exist: return "Task does not exist";
    case TmfResponse::lun_does_not_exist: return "LUN does not exist";
    case TmfResponse::task_still_allegiant: return "Task still allegiant";
    case TmfResponse::task_allegiance_reassignment_not_supported:
      return "Task allegiance reassignment not supported";
    case TmfResponse::tmf_not_supported: return "Task management function not supported";
    case TmfResponse::function_authorization_failed: return "Function authorization failed";
    case TmfResponse::function_succeeded: return "Function succeeded";
    case TmfResponse::function_rejected: return "Function rejected";
  }
  return unknown(r);
}

std::string to_string(LogoutReason r) {
  switch (r) {
    case LogoutReason::close_session: return "close the session";
    case LogoutReason::close_connection: return "close the connection";
    case LogoutReason::remove_connection_for_recovery: return "remove the connection for recovery";
  }
  return unknown(r);
}

std::string to_string(LogoutResponseCode r) {
  switch (r) {
    case LogoutResponseCode::closed_successfully: return "connection or session closed successfully";
    case LogoutResponseCode::cid_not_found: return "CID not found";
    case LogoutResponseCode::connection_recovery_not_supported:
      return "connection recovery is not supported";
    case LogoutResponseCode::cleanup_failed: return "cleanup failed for various reasons";
  }
  return unknown(r);
}

std::string to_string(AsyncEvent e) {
  switch (e) {
    case AsyncEvent::scsi_async_event: return "SCSI asynchronous event";
    case AsyncEvent::logout_request: return "target requests logout";
    case AsyncEvent::connection_drop: return "target will drop the connection";
    case AsyncEvent::session_drop: return "target will drop all connections of the session";
    case AsyncEvent::negotiation_request: return "target requests parameter negotiation";
    case AsyncEvent::task_termination: return "task termination";
    case AsyncEvent::vendor_specific: break;
  }
  if (static_cast<unsigned>(e) >= 248) return "vendor specific (" + hex(static_cast<unsigned>(e)) + ")";
  return unknown(e);
}

std::string to_string(RejectReason r) {
  switch (r) {
    case RejectReason::data_digest_error: return "Data (payload) digest error";
    case RejectReason::snack_reject: return "SNACK Reject";
    case RejectReason::protocol_error: return "Protocol Error";
    case RejectReason::command_not_supported: return "Command not supported";
    case RejectReason::immediate_command_reject: return "Immediate command reject - too many immediate commands";
    case RejectReason::task_in_progress: return "Task in progress";
    case RejectReason::invalid_data_ack: return "Invalid data ack";
    case RejectReason::invalid_pdu_field: return "Invalid PDU field";
    case RejectReason::long_operation_reject: return "Long op reject - can't generate Target Transfer Tag";
    case RejectReason::deprecated_negotiation_reset: return "Deprecated (Negotiation Reset)";
    case RejectReason::waiting_for_logout: return "Waiting for Logout";
  }
  return unknown(r);
}

std::string to_string(SnackType t) {
  switch (t) {
    case SnackType::data_r2t: return "Data/R2T SNACK";
    case SnackType::status: return "Status SNACK";
    case SnackType::data_ack: return "DataACK";
    case SnackType::r_data: return "R-Data SNACK";
  }
  return unknown(t);
}

std::string to_string(LoginStatusClass c) {
  switch (c) {
    case LoginStatusClass::success: return "Success";
    case LoginStatusClass::redirection: return "Redirection";
    case LoginStatusClass::initiator_error: return "Initiator Error";
    case LoginStatusClass::target_error: return "Target Error";
  }
  return unknown(c);
}

std::string to_string(IsidType t) {
  switch (t) {
    case IsidType::oui: return "OUI";
    case IsidType::en: return "EN";
    case IsidType::random: return "Random";
    case IsidType::reserved: return "reserved";
  }
  return unknown(t);
}

std::string to_string(const Isid& isid) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%012llx", static_cast<unsigned long long>(isid.to_u48()));
  return buf;
}

std::string to_string(AhsType t) {
  switch (t) {
    case AhsType::extended_cdb: return "Extended CDB";
    case AhsType::bidi_read_data_length: return "Expected Bidirectional Read Data Length";
  }
  return unknown(t);
}

std::string to_string(const Diagnostic& d) {
  std::string s(to_string(d.errc));
  s += " at offset " + std::to_string(d.stream_offset);
  s += " (opcode " + hex(d.raw_opcode) + ")";
  if (!d.detail.empty()) s += ": " + d.detail;
  s += " [";
  s += kernel_name(d.conn_error);
  s += "]";
  return s;
}

// ---- the one-line summary ---------------------------------------------------------------------

namespace {

struct Summary {
  std::string s;
  void add(std::string_view key, std::uint64_t v, bool as_hex = false) {
    s += ' ';
    s += key;
    s += '=';
    s += as_hex ? hex(static_cast<unsigned>(v)) : std::to_string(v);
  }
  void sn(std::string_view key, SerialNumber v) { add(key, v.value()); }
  void flag(std::string_view name, bool on) {
    if (on) {
      s += ' ';
      s += name;
    }
  }
  void text(std::string_view key, const std::string& v) {
    s += ' ';
    s += key;
    s += '=';
    s += v;
  }
};

}  // namespace

std::string to_string(const Pdu& pdu) {
  Summary out;
  out.s = to_string(opcode_of(pdu));
  std::visit(
      [&](const auto& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (requires { p.itt; }) out.add("itt", p.itt, true);
        if constexpr (std::is_same_v<T, NopOut>) {
          out.add("ttt", p.ttt, true);
          out.sn("cmdsn", p.cmd_sn);
          out.flag("I", p.immediate);
        } else if constexpr (std::is_same_v<T, ScsiCommand>) {
          out.add("op", p.cdb[0], true);
          out.add("edtl", p.expected_data_transfer_length);
          out.sn("cmdsn", p.cmd_sn);
          out.flag("F", p.final_pdu);
          out.flag("R", p.read);
          out.flag("W", p.write);
          out.flag("I", p.immediate);
        } else if constexpr (std::is_same_v<T, TaskMgmtRequest>) {
          out.text("function", to_string(p.function));
          out.add("rtt", p.referenced_task_tag, true);
          out.sn("cmdsn", p.cmd_sn);
        } else if constexpr (std::is_same_v<T, LoginRequest> || std::is_same_v<T, LoginResponse>) {
          out.text("csg", to_string(p.csg));
          if (p.transit) out.text("nsg", to_string(p.nsg));
          out.flag("T", p.transit);
          out.flag("C", p.cont);
          out.text("isid", to_string(p.isid));
          out.add("tsih", p.tsih);
          if constexpr (std::is_same_v<T, LoginResponse>) {
            out.add("status", (unsigned{static_cast<std::uint8_t>(p.status_class)} << 8) |
                                  p.status_detail, true);
          }
        } else if constexpr (std::is_same_v<T, TextRequest> || std::is_same_v<T, TextResponse>) {
          out.add("ttt", p.ttt, true);
          out.flag("F", p.final_pdu);
          out.flag("C", p.cont);
        } else if constexpr (std::is_same_v<T, DataOut>) {
          out.add("ttt", p.ttt, true);
          out.sn("datasn", p.data_sn);
          out.add("offset", p.buffer_offset);
          out.flag("F", p.final_pdu);
        } else if constexpr (std::is_same_v<T, LogoutRequest>) {
          out.text("reason", to_string(p.reason));
          out.add("cid", p.cid);
        } else if constexpr (std::is_same_v<T, SnackRequest>) {
          out.text("type", to_string(p.type));
          out.add("begrun", p.beg_run);
          out.add("runlength", p.run_length);
        } else if constexpr (std::is_same_v<T, NopIn>) {
          out.add("ttt", p.ttt, true);
          out.sn("statsn", p.stat_sn);
        } else if constexpr (std::is_same_v<T, ScsiResponse>) {
          out.add("status", p.status, true);
          out.add("response", static_cast<unsigned>(p.response), true);
          out.sn("statsn", p.stat_sn);
          out.add("residual", p.residual_count);
          out.flag("o", p.bidi_read_overflow);
          out.flag("u", p.bidi_read_underflow);
          out.flag("O", p.overflow);
          out.flag("U", p.underflow);
        } else if constexpr (std::is_same_v<T, TaskMgmtResponse>) {
          out.text("response", to_string(p.response));
        } else if constexpr (std::is_same_v<T, DataIn>) {
          out.sn("datasn", p.data_sn);
          out.add("offset", p.buffer_offset);
          out.flag("F", p.final_pdu);
          out.flag("A", p.acknowledge);
          out.flag("S", p.status_present);
          if (p.status_present) out.add("status", p.status, true);
        } else if constexpr (std::is_same_v<T, LogoutResponse>) {
          out.text("response", to_string(p.response));
          out.add("time2wait", p.time2wait);
          out.add("time2retain", p.time2retain);
        } else if constexpr (std::is_same_v<T, R2T>) {
          out.add("ttt", p.ttt, true);
          out.sn("r2tsn", p.r2t_sn);
          out.add("offset", p.buffer_offset);
          out.add("length", p.desired_data_transfer_length);
        } else if constexpr (std::is_same_v<T, AsyncMessage>) {
          out.text("event", to_string(p.async_event));
          out.add("p1", p.parameter1);
          out.add("p2", p.parameter2);
          out.add("p3", p.parameter3);
        } else if constexpr (std::is_same_v<T, Reject>) {
          out.text("reason", to_string(p.reason));
        }
        if constexpr (requires { p.data; }) out.add("len", p.data.size());
      },
      pdu);
  return std::move(out.s);
}

}  // namespace iscsi::pdu
