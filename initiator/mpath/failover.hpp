// What the device does with a command's outcome on a path: hand it to the caller, send it again
// on another path, or fail it. Sans-IO: a pure function of the command, the outcome and how
// often ALUA already sent it back.
//
// When a command may be sent again
// --------------------------------
// 1. It got a status. GOOD, and any status or sense that is not ALUA's, goes back to the caller
//    as it is (a CHECK CONDITION is data; UNIT ATTENTION is the caller's to retry, as IoJob
//    does). ALUA's answers mean the device server did not run the command, so any command,
//    COMPARE AND WRITE included, may be sent again:
//      04/0A transitioning, 04/0B standby, 04/0C unavailable: the path turns ghost (its group
//        is re-read with REPORT TARGET PORT GROUPS) and the command goes to a path that is
//        usable, or waits for one (Linux's scsi_dh_alua retries these too);
//      UNIT ATTENTION 2A/06 state changed, 2A/07 implicit transition failed: the groups are
//        re-read and the command is sent again (scsi_dh_alua: ADD_TO_MLQUEUE).
//    At most kMaxAluaResends times per command; then the last answer goes to the caller.
// 2. It got no status: a transport-level failure (the session failed and replacement_timeout,
//    i.e. fast_io_fail_tmo, fired; the session was closed or logged out; the connection
//    failed). The callback has returned, so the command is no longer in flight on this
//    initiator, but it may have run on the target, wholly or in part. The path fails, and:
//    - READ(6/10/12/16), VERIFY, TEST UNIT READY, INQUIRY, READ CAPACITY, REPORT LUNS,
//      MODE SENSE, REPORT TARGET PORT GROUPS: reading again is harmless; sent again.
//    - WRITE(6/10/12/16), WRITE AND VERIFY, WRITE SAME(10/16), UNMAP, SYNCHRONIZE CACHE:
//      idempotent: writing the same data to the same LBAs again leaves what a single write
//      would have left. They were not acknowledged, so the caller cannot have issued an
//      overlapping write that depends on them. Sent again.
//    - COMPARE AND WRITE: a second run would compare against what the first run may have
//      written and miscompare (or, worse, succeed as a lock taken twice). Not sent again: it
//      fails with the transport error.
//    - PERSISTENT RESERVE OUT, RESERVE, RELEASE: registrations and reservations change state
//      that a second run would find changed (RESERVATION CONFLICT, a key registered twice).
//      Not sent again.
//    - any command with the ORDERED, HEAD OF QUEUE or ACA task attribute: its order against
//      the commands around it cannot be kept across paths. Not sent again.
//    - any other operation code (vendor-specific, EXTENDED COPY, ...): not known to be
//      idempotent, not sent again.
//    This is what Linux does: dm-multipath requeues a request that failed with a path error
//    (blk_path_error) on another path, and such requests are the block layer's reads, writes,
//    flushes, discards and write-zeroes. COMPARE AND WRITE and persistent reservations reach a
//    multipath device only as SG_IO passthrough and pr_ops, which dm sends down one path
//    (dm_prepare_ioctl) and never requeues: their errors go back to the caller.
//    Ordered writes: dm gives no ordering across a requeue either; a file system waits for
//    completions before issuing what must follow them, which is why resending is safe.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "mpath/path_state.hpp"
#include "net/errors.hpp"
#include "proto/common/bytes.hpp"
#include "proto/pdu/pdu.hpp"
#include "proto/scsi/alua.hpp"
#include "proto/session/session.hpp"

namespace iscsi::mpath {

inline constexpr unsigned kMaxAluaResends = 16;

enum class Resend : std::uint8_t {
  allowed,
  not_idempotent,     // COMPARE AND WRITE, PERSISTENT RESERVE OUT, RESERVE, RELEASE
  ordering,           // ORDERED, HEAD OF QUEUE or ACA task attribute
  unknown_command,    // not in the list of commands known to be safe
};
// May the command be sent again on another path after a transport-level failure?
Resend may_resend(ByteSpan cdb, pdu::TaskAttribute attr) noexcept;
std::string_view to_string(Resend r) noexcept;

// True for the engine errors that say "no status came back over this path": the session
// failed or closed, the connection or a relogin failed, a NOP timed out.
bool is_transport_error(net::Errc e) noexcept;

struct Decision {
  enum class Verdict : std::uint8_t {
    complete,        // hand the outcome to the caller as it is
    resend,          // send the command again (another path, or this one once usable)
    fail,            // a transport error on a command that may not be resent
  };
  Verdict verdict = Verdict::complete;
  std::optional<PathEvent> path_event;  // what the outcome says about the path
  bool refresh_alua = false;            // re-read the target port groups
  std::string why;                      // in words, for events and errors
};

// `result` and `error` as a Session::ScsiCallback gets them; `alua_resends`: how often ALUA
// sent this command back already.
Decision decide(ByteSpan cdb, pdu::TaskAttribute attr, const session::ScsiResult* result,
                const std::exception_ptr& error, unsigned alua_resends);

}  // namespace iscsi::mpath
