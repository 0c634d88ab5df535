// The SCSI layer in one include: CDB builders, status, sense data and the decoders of the
// data a block device returns. Nothing here knows about iSCSI; the session layer carries the
// CDBs and hands back status, sense and Data-In bytes.
#pragma once

#include "proto/scsi/alua.hpp"
#include "proto/scsi/capacity.hpp"
#include "proto/scsi/cdb.hpp"
#include "proto/scsi/errc.hpp"
#include "proto/scsi/inquiry.hpp"
#include "proto/scsi/mode_sense.hpp"
#include "proto/scsi/report_luns.hpp"
#include "proto/scsi/sense.hpp"
#include "proto/scsi/status.hpp"
