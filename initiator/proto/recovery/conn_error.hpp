// The connection error codes of the Linux iSCSI initiator (include/scsi/iscsi_if.h,
// ISCSI_ERR_BASE + n), with the same numbers and names, so our logs read like the kernel's
// "detected conn error (22)". Recovery decides what to do with them; proto only classifies.
#pragma once

#include <cstdint>
#include <string_view>

namespace iscsi {

enum class ConnError : std::uint8_t {
  none = 0,
  datasn = 1,
  data_offset = 2,
  max_cmdsn = 3,
  exp_cmdsn = 4,
  bad_opcode = 5,
  datalen = 6,
  ahslen = 7,
  proto = 8,
  lun = 9,
  bad_itt = 10,
  conn_failed = 11,
  r2tsn = 12,
  session_failed = 13,
  hdr_dgst = 14,
  data_dgst = 15,
  param_not_found = 16,
  no_scsi_cmd = 17,
  invalid_host = 18,
  xmit_failed = 19,
  tcp_conn_close = 20,
  scsi_eh_session_rst = 21,
  nop_timedout = 22,
};

// "ISCSI_ERR_NOP_TIMEDOUT" for ConnError::nop_timedout; "ISCSI_OK" for none.
std::string_view kernel_name(ConnError e) noexcept;
// One line in words, from open-iscsi's README table.
std::string_view describe(ConnError e) noexcept;
// Parses "ISCSI_ERR_NOP_TIMEDOUT", "NOP_TIMEDOUT" or "22"; false when unknown.
bool parse_conn_error(std::string_view text, ConnError& out) noexcept;

}  // namespace iscsi
