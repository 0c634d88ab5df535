"""The initiators a scenario can drive, behind one interface, so that the same steps run with any
kind: `iscsi-lab` (ours: InitiatorProcess, a worker process in the lab's namespace) and `linux`
(open-iscsi and the kernel in a second guest: linux/driver.py, which names what it cannot do).

What a driver offers (InitiatorProcess is the reference implementation):
- sessions by key: login(key, target, portal, isid, settings), login_many(target, specs),
  logout(key), drop(key), state(key) -> {state, tsih, reinstatements}, stats(key) (iscsiadm -s
  names), nop(key) -> {seconds}, rescan(key), capacity(key, lun), tmf(key, function, lun, handle)
- discover(portal, settings) -> [{name, portals}]
- I/O jobs with the block pattern: io_start(job, key, spec), io_drain(job) -> completion records
  (write, lba, blocks, generation, start_ns, end_ns, ok, error), io_stop, io_wait, io_in_flight,
  io_summary; read_decode(key, lba, blocks, lun) -> [[kind, lba, generation], ...]
- events: the session logs as they grow, through on_events([{session, type, steady_ns,
  conn_error, conn_error_name, detail}]), steady_ns on the host's CLOCK_MONOTONIC
- close() (logs out what is left), kill() (drops every connection without a logout)
Errors: RemoteError (with .type, .message, .error fields such as status and conn_error) for a
call that failed, RemoteTimeout when the initiator did not answer in time.
"""
from __future__ import annotations

from typing import Callable

from ..errors import LabError
from .process import InitiatorProcess

KINDS = ("iscsi-lab", "linux")


def start(kind: str, lab, name: str, on_events: Callable[[list[dict]], None] | None = None):
    """A running initiator of `kind` named `name` in `lab`'s network."""
    if kind == "iscsi-lab":
        return InitiatorProcess(lab, name, on_events=on_events)
    if kind == "linux":
        from .linux.driver import LinuxDriver     # a second guest: only when asked for
        return LinuxDriver(lab, name, on_events=on_events)
    raise LabError(f"initiator kind {kind!r} is not implemented (kinds: {', '.join(KINDS)})")
