// Sample PDUs for the PDU-layer tests: one of every type with every field set to a distinct,
// non-default value (so a swapped or dropped field shows up in a round trip), plus a few
// variants that exercise AHS, padding and empty data.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "proto/pdu/pdu.hpp"

namespace iscsi::pdu::test {

using namespace std::string_view_literals;

inline ByteVector pattern(std::size_t n, std::uint8_t seed = 1) {
  ByteVector v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + i * 7);
  return v;
}

inline SerialNumber sn(std::uint32_t v) { return SerialNumber(v); }

inline NopOut sample_nop_out() {
  NopOut p;
  p.immediate = true;
  p.lun = 0x0001000000000000ull;
  p.itt = 0x01020304;
  p.ttt = 0x05060708;
  p.cmd_sn = sn(0x11);
  p.exp_stat_sn = sn(0x22);
  p.data = pattern(5);  // padded to 8
  return p;
}

inline ScsiCommand sample_scsi_command() {
  ScsiCommand p;
  p.immediate = false;
  p.final_pdu = true;
  p.read = true;
  p.write = false;
  p.attr = TaskAttribute::ordered;
  p.lun = 0x0002000000000000ull;
  p.itt = 0x10;
  p.expected_data_transfer_length = 0x1000;
  p.cmd_sn = sn(0x33);
  p.exp_stat_sn = sn(0x44);
  p.cdb = {0x28, 0, 0, 0, 0x10, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0};
  return p;
}

// A 32-byte CDB (variable-length) and a bidirectional length: both AHS types.
inline ScsiCommand sample_scsi_command_ahs() {
  ScsiCommand p = sample_scsi_command();
  p.read = true;
  p.write = true;
  p.cdb[0] = 0x7F;
  p.extended_cdb = pattern(16, 0x80);
  p.bidi_read_data_length = 0x2000;
  p.data = pattern(3);
  return p;
}

inline TaskMgmtRequest sample_task_mgmt_request() {
  TaskMgmtRequest p;
  p.immediate = true;
  p.function = TmfFunction::abort_task;
  p.lun = 0x0003000000000000ull;
  p.itt = 0x20;
  p.referenced_task_tag = 0x10;
  p.cmd_sn = sn(0x55);
  p.exp_stat_sn = sn(0x66);
  p.ref_cmd_sn = sn(0x33);
  p.exp_data_sn = sn(7);
  return p;
}

inline LoginRequest sample_login_request() {
  LoginRequest p;
  p.transit = true;
  p.cont = false;
  p.csg = Stage::operational;
  p.nsg = Stage::full_feature;
  p.version_max = 0;
  p.version_min = 0;
  p.isid = Isid::oui_format(0x023D, 0x000001);
  p.tsih = 0x1234;
  p.itt = 0x30;
  p.cid = 0x0007;
  p.cmd_sn = sn(0x77);
  p.exp_stat_sn = sn(0x88);
  const std::string_view kv = "InitiatorName=iqn.2026-11.org.example:host0\0SessionType=Normal\0"sv;
  p.data.assign(kv.begin(), kv.end());
  return p;
}

inline TextRequest sample_text_request() {
  TextRequest p;
  p.immediate = true;
  p.final_pdu = true;
  p.cont = false;
  p.lun = 0;
  p.itt = 0x40;
  p.ttt = kReservedTag;
  p.cmd_sn = sn(0x99);
  p.exp_stat_sn = sn(0xAA);
  const std::string_view kv = "SendTargets=All\0"sv;
  p.data.assign(kv.begin(), kv.end());
  return p;
}

inline DataOut sample_data_out() {
  DataOut p;
  p.final_pdu = true;
  p.lun = 0x0004000000000000ull;
  p.itt = 0x50;
  p.ttt = 0x51;
  p.exp_stat_sn = sn(0xBB);
  p.data_sn = sn(2);
  p.buffer_offset = 0x2000;
  p.data = pattern(512);
  return p;
}

inline LogoutRequest sample_logout_request() {
  LogoutRequest p;
  p.immediate = true;
  p.reason = LogoutReason::close_connection;
  p.itt = 0x60;
  p.cid = 3;
  p.cmd_sn = sn(0xCC);
  p.exp_stat_sn = sn(0xDD);
  return p;
}

inline SnackRequest sample_snack_request() {
  SnackRequest p;
  p.type = SnackType::r_data;
  p.lun = 0x0005000000000000ull;
  p.itt = 0x70;
  p.ttt = 0x71;
  p.exp_stat_sn = sn(0xEE);
  p.beg_run = 4;
  p.run_length = 9;
  return p;
}

inline NopIn sample_nop_in() {
  NopIn p;
  p.lun = 0x0006000000000000ull;
  p.itt = kReservedTag;
  p.ttt = 0x81;
  p.stat_sn = sn(0x101);
  p.exp_cmd_sn = sn(0x102);
  p.max_cmd_sn = sn(0x103);
  return p;
}

inline ScsiResponse sample_scsi_response() {
  ScsiResponse p;
  p.bidi_read_overflow = true;
  p.bidi_read_underflow = false;
  p.overflow = false;
  p.underflow = true;
  p.response = ScsiResponseCode::command_completed_at_target;
  p.status = 0x02;  // CHECK CONDITION
  p.itt = 0x10;
  p.snack_tag = 0x91;
  p.stat_sn = sn(0x104);
  p.exp_cmd_sn = sn(0x105);
  p.max_cmd_sn = sn(0x106);
  p.exp_data_sn = sn(3);
  p.bidi_read_residual_count = 0x11;
  p.residual_count = 0x200;
  const ByteVector sense = {0x70, 0, 0x05, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x24, 0, 0, 0, 0, 0};
  p.data = make_sense_data(sense);
  return p;
}

inline TaskMgmtResponse sample_task_mgmt_response() {
  TaskMgmtResponse p;
  p.response = TmfResponse::task_does_not_exist;
  p.itt = 0x20;
  p.stat_sn = sn(0x107);
  p.exp_cmd_sn = sn(0x108);
  p.max_cmd_sn = sn(0x109);
  return p;
}

inline LoginResponse sample_login_response() {
  LoginResponse p;
  p.transit = true;
  p.cont = false;
  p.csg = Stage::security;
  p.nsg = Stage::operational;
  p.version_max = 0;
  p.version_active = 0;
  p.isid = Isid::random_format(0xABCDEF, 0x0102);
  p.tsih = 0x4321;
  p.itt = 0x30;
  p.stat_sn = sn(0x10A);
  p.exp_cmd_sn = sn(0x10B);
  p.max_cmd_sn = sn(0x10C);
  p.status_class = LoginStatusClass::success;
  p.status_detail = 0;
  const std::string_view kv = "AuthMethod=None\0TargetPortalGroupTag=1\0"sv;
  p.data.assign(kv.begin(), kv.end());
  return p;
}

inline TextResponse sample_text_response() {
  TextResponse p;
  p.final_pdu = false;
  p.cont = true;
  p.lun = 0;
  p.itt = 0x40;
  p.ttt = 0x12345678;
  p.stat_sn = sn(0x10D);
  p.exp_cmd_sn = sn(0x10E);
  p.max_cmd_sn = sn(0x10F);
  const std::string_view kv = "TargetName=iqn.2026-11.org.example:t0\0TargetAddress=10.0.0.2:3260,1\0"sv;
  p.data.assign(kv.begin(), kv.end());
  return p;
}

inline DataIn sample_data_in(std::size_t length = 1000) {
  DataIn p;
  p.final_pdu = true;
  p.acknowledge = false;
  p.overflow = false;
  p.underflow = true;
  p.status_present = true;
  p.status = 0;
  p.lun = 0x0007000000000000ull;
  p.itt = 0x10;
  p.ttt = kReservedTag;
  p.stat_sn = sn(0x110);
  p.exp_cmd_sn = sn(0x111);
  p.max_cmd_sn = sn(0x112);
  p.data_sn = sn(4);
  p.buffer_offset = 0x3000;
  p.residual_count = 24;
  p.data = pattern(length, 0x42);
  return p;
}

inline LogoutResponse sample_logout_response() {
  LogoutResponse p;
  p.response = LogoutResponseCode::cid_not_found;
  p.itt = 0x60;
  p.stat_sn = sn(0x113);
  p.exp_cmd_sn = sn(0x114);
  p.max_cmd_sn = sn(0x115);
  p.time2wait = 2;
  p.time2retain = 20;
  return p;
}

inline R2T sample_r2t() {
  R2T p;
  p.lun = 0x0008000000000000ull;
  p.itt = 0x50;
  p.ttt = 0x51;
  p.stat_sn = sn(0x116);
  p.exp_cmd_sn = sn(0x117);
  p.max_cmd_sn = sn(0x118);
  p.r2t_sn = sn(1);
  p.buffer_offset = 0x2000;
  p.desired_data_transfer_length = 0x10000;
  return p;
}

inline AsyncMessage sample_async_message() {
  AsyncMessage p;
  p.lun = 0x0009000000000000ull;
  p.stat_sn = sn(0x119);
  p.exp_cmd_sn = sn(0x11A);
  p.max_cmd_sn = sn(0x11B);
  p.async_event = AsyncEvent::connection_drop;
  p.async_vcode = 0;
  p.parameter1 = 1;
  p.parameter2 = 2;
  p.parameter3 = 20;
  p.data = make_sense_data({}, pattern(6));
  return p;
}

inline Reject sample_reject() {
  Reject p;
  p.reason = RejectReason::invalid_pdu_field;
  p.stat_sn = sn(0x11C);
  p.exp_cmd_sn = sn(0x11D);
  p.max_cmd_sn = sn(0x11E);
  p.data_sn_or_r2t_sn = sn(0);
  p.data = pattern(kBhsLength, 0x01);  // the rejected header
  return p;
}

// One of every type, in opcode order, then the AHS-carrying command.
inline std::vector<Pdu> all_samples() {
  return {sample_nop_out(),         sample_scsi_command(),    sample_task_mgmt_request(),
          sample_login_request(),   sample_text_request(),    sample_data_out(),
          sample_logout_request(),  sample_snack_request(),   sample_nop_in(),
          sample_scsi_response(),   sample_task_mgmt_response(), sample_login_response(),
          sample_text_response(),   sample_data_in(),         sample_logout_response(),
          sample_r2t(),             sample_async_message(),   sample_reject(),
          sample_scsi_command_ahs()};
}

inline std::vector<Pdu> samples_from(Direction d) {
  std::vector<Pdu> out;
  for (auto& p : all_samples()) {
    if (direction_of(opcode_of(p)) == d) out.push_back(std::move(p));
  }
  return out;
}

inline ByteVector wire(const Pdu& p, DigestConfig digests = {}) {
  ByteVector out;
  if (encode(p, digests, out)) throw std::runtime_error("encode failed for " + to_string(p));
  return out;
}

}  // namespace iscsi::pdu::test
