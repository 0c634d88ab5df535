"""The Linux initiator's events, read from its kernel log: the lines open-iscsi's kernel side
prints (drivers/scsi/scsi_transport_iscsi.c, libiscsi.c in Linux 6.1) turned into the events our
initiator reports (initiator/net/initiator.hpp EventType), so one scenario expectation reads
both kinds.

    connection1:0: ping timeout of 5 secs expired, recv timeout 5, ...  -> nop_timeout
    connection1:0: detected conn error (1022)                            -> conn_error 22,
                                                                            recovery_started
    session1: session recovery timed out after 5 secs                    -> replacement_timeout
    device-mapper: multipath: 253:0: Failing path 8:16.                  -> path_failed
    device-mapper: multipath: 253:0: Reinstating path 8:16.              -> path_reinstated
                                          (drivers/md/dm-mpath.c; "dm" and "path" are device
                                          numbers: the driver names the map and the disk)
    sdb: detected capacity change from 131072 to 196608                  -> capacity_changed
                                          (block/genhd.c; "disk" instead of "sid": the driver
                                          finds the session that has the disk)

The kernel's codes are open-iscsi's enum iscsi_err (ISCSI_ERR_BASE 1000 + n); ours are the same
n (proto/recovery/conn_error.hpp), so 1022 is our 22, ISCSI_ERR_NOP_TIMEDOUT. The kernel fails
the session (ISCSI_STATE_FAILED, commands queued for replacement_timeout) in the same call that
reports the error (libiscsi.c iscsi_conn_failure), so recovery_started carries its stamp.
The end of recovery has no kernel line: iscsid logs it; the driver sees the session's sysfs
state come back to LOGGED_IN instead.
"""
from __future__ import annotations

import re

# What kmsg_new asks the guest for: every line below holds one of these.
PATTERNS = ["detected conn error", "ping timeout of", "session recovery timed out",
            "detected capacity change", "Failing path", "Reinstating path"]

_CONN_ERROR = re.compile(r"connection(\d+):\d+: detected conn error \((\d+)\)")
_PING = re.compile(r"connection(\d+):\d+: ping timeout of (\d+) secs expired")
_RECOVERY_TMO = re.compile(r"session(\d+): session recovery timed out after (\d+) secs")
_CAPACITY = re.compile(r"(\w+): detected capacity change from (\d+) to (\d+)")
_PATH = re.compile(r"multipath: (\d+:\d+): (Failing|Reinstating) path (\d+:\d+)")
ISCSI_ERR_BASE = 1000


def parse(stamp: float, text: str, names: dict[int, str] | None = None) -> list[dict]:
    """Events of one kernel log line (stamp: the guest's kernel clock, seconds): [{type, sid,
    stamp, conn_error, conn_error_name, detail}], empty for any other line. names: our
    ISCSI_ERR names by code (_core.conn_errors())."""
    names = names or {}
    m = _CONN_ERROR.search(text)
    if m:
        code = int(m.group(2)) - ISCSI_ERR_BASE
        name = names.get(code)
        base = {"sid": int(m.group(1)), "stamp": stamp, "conn_error": code,
                "conn_error_name": name}
        return [{**base, "type": "conn_error",
                 "detail": f"{name or 'code ' + str(code)} ({text.strip()})"},
                {**base, "type": "recovery_started", "conn_error": 0, "conn_error_name": None,
                 "detail": "the kernel failed the session; commands wait replacement_timeout"}]
    m = _PING.search(text)
    if m:
        return [{"type": "nop_timeout", "sid": int(m.group(1)), "stamp": stamp, "conn_error": 0,
                 "conn_error_name": None, "detail": text.strip()}]
    m = _RECOVERY_TMO.search(text)
    if m:
        return [{"type": "replacement_timeout", "sid": int(m.group(1)), "stamp": stamp,
                 "conn_error": 0, "conn_error_name": None,
                 "detail": f"replacement_timeout of {m.group(2)} s expired: queued and new I/O "
                           "fails"}]
    m = _PATH.search(text)
    if m:
        kind = "path_failed" if m.group(2) == "Failing" else "path_reinstated"
        return [{"type": kind, "dm": m.group(1), "path": m.group(3), "stamp": stamp,
                 "conn_error": 0, "conn_error_name": None, "detail": text.strip()}]
    m = _CAPACITY.search(text)
    if m:
        return [{"type": "capacity_changed", "disk": m.group(1), "stamp": stamp, "conn_error": 0,
                 "conn_error_name": None,
                 "detail": f"/dev/{m.group(1)}: {m.group(2)} -> {m.group(3)} sectors"}]
    return []
