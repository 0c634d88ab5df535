#include "proto/recovery/conn_error.hpp"

#include <array>
#include <charconv>

namespace iscsi {
namespace {

struct Row {
  ConnError code;
  std::string_view name;
  std::string_view words;
};

constexpr std::array<Row, 23> kRows{{
    {ConnError::none, "ISCSI_OK", "no error"},
    {ConnError::datasn, "ISCSI_ERR_DATASN", "data sequence number did not match the expected value"},
    {ConnError::data_offset, "ISCSI_ERR_DATA_OFFSET", "asked to read or write past a buffer's length"},
    {ConnError::max_cmdsn, "ISCSI_ERR_MAX_CMDSN", "invalid MaxCmdSN from the target"},
    {ConnError::exp_cmdsn, "ISCSI_ERR_EXP_CMDSN", "ExpCmdSN from the target did not match the expected value"},
    {ConnError::bad_opcode, "ISCSI_ERR_BAD_OPCODE", "the target sent an invalid or unknown opcode"},
    {ConnError::datalen, "ISCSI_ERR_DATALEN", "the target sent a PDU with an invalid data length"},
    {ConnError::ahslen, "ISCSI_ERR_AHSLEN", "the target sent a PDU with an invalid additional header length"},
    {ConnError::proto, "ISCSI_ERR_PROTO", "the target violated the iSCSI protocol"},
    {ConnError::lun, "ISCSI_ERR_LUN", "the target requested an invalid LUN"},
    {ConnError::bad_itt, "ISCSI_ERR_BAD_ITT", "the target sent an invalid initiator task tag"},
    {ConnError::conn_failed, "ISCSI_ERR_CONN_FAILED", "the connection failed"},
    {ConnError::r2tsn, "ISCSI_ERR_R2TSN", "R2T sequence number did not match the expected value"},
    {ConnError::session_failed, "ISCSI_ERR_SESSION_FAILED", "the session failed"},
    {ConnError::hdr_dgst, "ISCSI_ERR_HDR_DGST", "header digest error"},
    {ConnError::data_dgst, "ISCSI_ERR_DATA_DGST", "data digest error"},
    {ConnError::param_not_found, "ISCSI_ERR_PARAM_NOT_FOUND", "unknown setting"},
    {ConnError::no_scsi_cmd, "ISCSI_ERR_NO_SCSI_CMD", "the target sent an ITT for an unknown task"},
    {ConnError::invalid_host, "ISCSI_ERR_INVALID_HOST", "the iSCSI host is no longer present"},
    {ConnError::xmit_failed, "ISCSI_ERR_XMIT_FAILED", "could not transmit a PDU"},
    {ConnError::tcp_conn_close, "ISCSI_ERR_TCP_CONN_CLOSE", "the target closed the connection"},
    {ConnError::scsi_eh_session_rst, "ISCSI_ERR_SCSI_EH_SESSION_RST", "the SCSI error handler dropped the session"},
    {ConnError::nop_timedout, "ISCSI_ERR_NOP_TIMEDOUT", "a NOP-Out ping timed out"},
}};

const Row* find(ConnError e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < kRows.size() ? &kRows[i] : nullptr;
}

}  // namespace

std::string_view kernel_name(ConnError e) noexcept {
  const Row* r = find(e);
  return r ? r->name : std::string_view("ISCSI_ERR_UNKNOWN");
}

std::string_view describe(ConnError e) noexcept {
  const Row* r = find(e);
  return r ? r->words : std::string_view("unknown connection error");
}

bool parse_conn_error(std::string_view text, ConnError& out) noexcept {
  unsigned number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec == std::errc{} && end == text.data() + text.size()) {
    if (number >= kRows.size()) return false;
    out = static_cast<ConnError>(number);
    return true;
  }
  for (const Row& r : kRows) {
    std::string_view short_name = r.name;
    if (short_name.starts_with("ISCSI_ERR_")) short_name.remove_prefix(10);
    if (text == r.name || text == short_name) {
      out = r.code;
      return true;
    }
  }
  return false;
}

}  // namespace iscsi
