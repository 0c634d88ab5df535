// Error codes of the SCSI area: CDB builders refusing values their fields cannot carry, and
// decoders meeting data they cannot make sense of. A CHECK CONDITION is not an error here: it
// is a status plus sense data, decoded by sense.hpp.
#pragma once

#include <string_view>

#include "proto/common/error.hpp"

namespace iscsi::scsi {

enum class Errc {
  ok = 0,
  // Builders.
  lba_out_of_range = 1,          // the LBA (or LBA + blocks) does not fit the CDB's fields
  transfer_length_out_of_range,  // the number of blocks does not fit the CDB's field
  allocation_length_too_small,   // below the command's minimum (REPORT LUNS: 16)
  field_out_of_range,            // a page code, group number, protect or select value too big
  invalid_flag_combination,      // e.g. WRITE SAME ANCHOR without UNMAP
  too_many_unmap_descriptors,    // the UNMAP parameter list would exceed 65535 bytes
  lun_out_of_range,              // no single-level SAM LUN format holds this number
  unsupported_lun_address,       // not a single-level peripheral or flat LUN
  // Decoders.
  response_too_short,            // shorter than the fixed part that must be present
  page_code_mismatch,            // the VPD page returned is not the one asked for
  bad_sense_response_code,       // sense data response code is not 0x70..0x73
  bad_lun_list_length,           // REPORT LUNS list length is not a multiple of 8
  bad_block_descriptor_length,   // mode block descriptor length not a multiple of its size
  capacity_overflow,             // block count or byte capacity does not fit 64 bits
  bad_tpg_descriptor_length,     // a target port group descriptor runs past RETURN DATA LENGTH
};

const char* category_name(Errc) noexcept;
std::string_view describe(Errc e) noexcept;
using iscsi::make_error_code;

}  // namespace iscsi::scsi

ISCSI_DECLARE_ERROR_ENUM(iscsi::scsi::Errc)
