"""Records of running labs under /run/iscsilab/<name>/, and the reaper of stale ones.

A lab's record says what to tear down (QEMU pid, namespace, helper processes) and who owns it:
a test run (owner pid) or nobody (`lab up` from the CLI, which outlives the command). A lab
whose QEMU is gone, or whose owner died, is stale: the next start removes it, so nothing leaks
after a crash of the runner.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from . import isns, net
from .faults.faults import stop_all_helpers
from .host import RUNTIME_ROOT
from .vm import qemu

STATE_FILE = "state.json"


def write(run_dir: Path, record: dict) -> None:
    """Atomic: readers see the old record or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=".state-")
    with os.fdopen(fd, "w") as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, run_dir / STATE_FILE)


def read(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(run_dir: Path, record: dict | None) -> bool:
    if record is None:
        return True
    if record.get("owner_pid") and not pid_alive(record["owner_pid"]):
        return True
    qemu_pid = record.get("qemu_pid")
    return qemu_pid is not None and not qemu.is_our_qemu(qemu_pid, run_dir)


def teardown(run_dir: Path, record: dict | None) -> None:
    """Removes everything a lab made; safe to call twice and on half-made labs."""
    record = record or {}
    if record.get("qemu_pid"):
        qemu.kill(record["qemu_pid"], run_dir)
    # Second guests of the lab (the Linux initiator guest) run from sub-directories of its run
    # dir with records of their own: they go with the lab, even when their owner crashed.
    for sub in sorted(run_dir.glob(f"*/{STATE_FILE}")):
        guest = read(sub.parent) or {}
        if guest.get("qemu_pid"):
            qemu.kill(guest["qemu_pid"], sub.parent)
    stop_all_helpers(run_dir)
    isns.stop(run_dir)
    net.delete(record.get("netns") or net.NS_PREFIX + run_dir.name)
    shutil.rmtree(run_dir, ignore_errors=True)


def lab_dirs() -> list[Path]:
    """Run dirs of labs; dot-entries are the lab's own bookkeeping (e.g. .netns, see net.py)."""
    return [d for d in sorted(RUNTIME_ROOT.iterdir()) if not d.name.startswith(".")]


def running() -> list[tuple[Path, dict]]:
    if not RUNTIME_ROOT.exists():
        return []
    out = []
    for run_dir in lab_dirs():
        record = read(run_dir)
        if run_dir.is_dir() and record and not is_stale(run_dir, record):
            out.append((run_dir, record))
    return out


def reap_stale(keep: set[str] = frozenset()) -> list[str]:
    """Tears down stale labs and namespaces left without a record. Returns what it removed."""
    removed = []
    if RUNTIME_ROOT.exists():
        for run_dir in lab_dirs():
            if not run_dir.is_dir() or run_dir.name in keep:
                continue
            record = read(run_dir)
            if record is None and run_dir.stat().st_mtime > time.time() - 60:
                continue  # a lab being created right now has no record yet
            if is_stale(run_dir, record):
                teardown(run_dir, record)
                removed.append(run_dir.name)
    for ns in net.namespaces():
        name = ns[len(net.NS_PREFIX):]
        if ns.startswith(net.NS_PREFIX) and name not in keep and not (RUNTIME_ROOT / name).exists():
            net.delete(ns)
            removed.append(ns)
    return removed
