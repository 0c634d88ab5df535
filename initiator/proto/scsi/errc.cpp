#include "proto/scsi/errc.hpp"

namespace iscsi::scsi {

const char* category_name(Errc) noexcept { return "iscsi.scsi"; }

std::string_view describe(Errc e) noexcept {
  switch (e) {
    case Errc::ok: return "success";
    case Errc::lba_out_of_range: return "logical block address does not fit the CDB";
    case Errc::transfer_length_out_of_range: return "number of blocks does not fit the CDB";
    case Errc::allocation_length_too_small: return "allocation length below the command's minimum";
    case Errc::field_out_of_range: return "CDB field value out of range";
    case Errc::invalid_flag_combination: return "invalid combination of CDB flags";
    case Errc::too_many_unmap_descriptors: return "too many UNMAP block descriptors for one command";
    case Errc::lun_out_of_range: return "LUN number too large for single-level addressing";
    case Errc::unsupported_lun_address: return "LUN is not a single-level peripheral or flat address";
    case Errc::response_too_short: return "response data shorter than its fixed header";
    case Errc::page_code_mismatch: return "VPD page code is not the one requested";
    case Errc::bad_sense_response_code: return "sense data response code is not 0x70-0x73";
    case Errc::bad_lun_list_length: return "REPORT LUNS list length is not a multiple of 8";
    case Errc::bad_block_descriptor_length: return "mode block descriptor length is not a multiple of the descriptor size";
    case Errc::capacity_overflow: return "capacity does not fit in 64 bits";
    case Errc::bad_tpg_descriptor_length: return "target port group descriptor runs past the return data length";
  }
  return "unknown SCSI error";
}

}  // namespace iscsi::scsi
