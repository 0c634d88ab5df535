// The receive table (see receive_table.hpp). One row per target opcode, in RFC 7143 section
// order; the handlers are Session's (session_scsi_rx.cpp, session_control_rx.cpp).
#include "proto/session/receive_table.hpp"

#include <array>

#include "proto/session/session.hpp"

namespace iscsi::session::detail {

namespace {

// Calls Session::*H with the PDU's own type (the row stores one pointer type for every row).
template <class T, ConnError (Session::*H)(Connection&, const T&, Received&)>
ConnError call(Session& s, Connection& c, const void* pdu, Received& rx) {
  return (s.*H)(c, *static_cast<const T*>(pdu), rx);
}

}  // namespace

const ReceiveRow* ReceiveTable::find(pdu::Opcode op) noexcept {
  using O = pdu::Opcode;
  using S = StatSnRule;
  using R = TaskRule;
  using K = TaskKind;
  static constexpr std::array kRows{
      ReceiveRow{O::nop_in, "NOP-In", S::when_answering, R::when_answering, K::nop,
                 &Stats::noprx_pdus, false, &call<pdu::NopIn, &Session::on_nop_in>},
      ReceiveRow{O::scsi_response, "SCSI Response", S::advances, R::required, K::scsi,
                 &Stats::scsirsp_pdus, false,
                 &call<pdu::ScsiResponse, &Session::on_scsi_response>},
      ReceiveRow{O::task_mgmt_response, "Task Management Response", S::advances, R::required,
                 K::tmf, &Stats::tmfrsp_pdus, false,
                 &call<pdu::TaskMgmtResponse, &Session::on_tmf_response>},
      ReceiveRow{O::text_response, "Text Response", S::advances, R::required, K::text,
                 &Stats::textrsp_pdus, false,
                 &call<pdu::TextResponse, &Session::on_text_response>},
      ReceiveRow{O::scsi_data_in, "Data-In", S::with_status, R::required, K::scsi,
                 &Stats::datain_pdus, true, &call<pdu::DataIn, &Session::on_data_in>},
      ReceiveRow{O::logout_response, "Logout Response", S::advances, R::required, K::logout,
                 &Stats::logoutrsp_pdus, false,
                 &call<pdu::LogoutResponse, &Session::on_logout_response>},
      ReceiveRow{O::r2t, "R2T", S::none, R::required, K::scsi, &Stats::r2t_pdus, false,
                 &call<pdu::R2T, &Session::on_r2t>},
      ReceiveRow{O::async_message, "Async Message", S::advances, R::none, K::scsi,
                 &Stats::async_pdus, false, &call<pdu::AsyncMessage, &Session::on_async>},
      ReceiveRow{O::reject, "Reject", S::advances, R::none, K::scsi, &Stats::rjt_pdus, false,
                 &call<pdu::Reject, &Session::on_reject>},
  };
  for (const ReceiveRow& row : kRows) {
    if (row.opcode == op) return &row;
  }
  return nullptr;
}

}  // namespace iscsi::session::detail
