"""The initiator guest's agent handlers (run inside the VM by iscsilab.agent.guest, Debian's
python3 -S, stdlib only): open-iscsi's iscsid started without systemd, its configuration kept
private to the guest, the SCSI disks of its sessions from sysfs, and O_DIRECT I/O with a
verifiable block pattern.

The guest's root is the host's, read-only over 9p under a tmpfs overlay: a write to /etc in
the guest never reaches the host, but the host's own /etc/iscsi (its InitiatorName, any node
records of its own) shows through. So /etc/iscsi is a fresh tmpfs here, holding only what the
host sent: iscsid.conf, initiatorname.iscsi and the node/discovery records iscsiadm writes.
"""
from __future__ import annotations

import glob
import mmap
import os
import signal
import struct
import subprocess
import time

ETC = "/etc/iscsi"
CONF = ETC + "/iscsid.conf"
NAME_FILE = ETC + "/initiatorname.iscsi"
LOG = "/run/iscsilab/iscsid.log"
# iscsiadm reaches iscsid on this abstract unix socket (open-iscsi's mgmt_ipc).
IPC_NAME = "@ISCSIADM_ABSTRACT_NAMESPACE"

_iscsid: subprocess.Popen | None = None


def _mounted(path: str) -> bool:
    with open("/proc/mounts") as f:
        return any(line.split()[1] == path for line in f)


def _listening(name: str) -> bool:
    with open("/proc/net/unix") as f:
        return any(line.split()[-1] == name for line in f if len(line.split()) >= 8)


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def iscsid_start(args):
    """Writes the configuration and starts iscsid in the foreground (-f: it logs to stderr,
    kept in LOG) as our child, and waits until it serves iscsiadm."""
    global _iscsid
    if _iscsid is not None and _iscsid.poll() is None:
        raise RuntimeError(f"iscsid already runs (pid {_iscsid.pid})")
    t0 = time.monotonic()
    if not _mounted(ETC):
        os.makedirs(ETC, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=16m", "tmpfs", ETC], check=True)
    _write(CONF, args["conf"])
    _write(NAME_FILE, f"InitiatorName={args['initiatorname']}\n")
    os.makedirs("/run/lock/iscsi", exist_ok=True)
    subprocess.run(["modprobe", "-a", "iscsi_tcp", "sd_mod", "sg"], check=True,
                   capture_output=True)
    log = open(LOG, "ab")
    _iscsid = subprocess.Popen(["/sbin/iscsid", "-f", "-c", CONF, "-i", NAME_FILE],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    log.close()
    deadline = time.monotonic() + args.get("timeout", 60)
    while not _listening(IPC_NAME):
        if _iscsid.poll() is not None:
            raise RuntimeError(f"iscsid exited with {_iscsid.returncode}: {_tail(LOG)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"iscsid did not listen for iscsiadm in time: {_tail(LOG)}")
        time.sleep(0.05)
    return {"pid": _iscsid.pid, "seconds": time.monotonic() - t0}


def iscsid_stop(args):
    """Stops the iscsid we started (SIGTERM, then SIGKILL); returns what still runs."""
    global _iscsid
    rc = None
    if _iscsid is not None:
        if _iscsid.poll() is None:
            _iscsid.send_signal(signal.SIGTERM)
            try:
                _iscsid.wait(timeout=args.get("timeout", 10))
            except subprocess.TimeoutExpired:
                _iscsid.kill()
                _iscsid.wait()
        rc = _iscsid.returncode
        _iscsid = None
    return {"returncode": rc, "left": _pids("iscsid") + _pids("multipathd")}


def iscsiadm(args):
    """iscsiadm with a time limit of its own (the agent's `run` has a fixed one)."""
    proc = subprocess.run(["iscsiadm", *args["argv"]], capture_output=True, text=True,
                          timeout=args.get("seconds", 60), stdin=subprocess.DEVNULL)
    return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def _pids(comm: str) -> list[int]:
    out = []
    for path in glob.glob("/proc/[0-9]*/comm"):
        try:
            with open(path) as f:
                if f.read().strip() == comm:
                    out.append(int(path.split("/")[2]))
        except OSError:
            pass
    return out


def _tail(path: str, n: int = 2000) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:].strip()
    except OSError:
        return ""


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def sessions(args):
    """The kernel's iSCSI sessions and the SCSI disks on each, from sysfs (what iscsiadm -m
    session -P 3 prints, without parsing its text)."""
    out = []
    for sdir in sorted(glob.glob("/sys/class/iscsi_session/session*")):
        sid = int(sdir.rsplit("session", 1)[1])
        conn = glob.glob(f"/sys/class/iscsi_connection/connection{sid}:*")
        disks = []
        for blk in sorted(glob.glob(f"{sdir}/device/target*/*:*:*:*/block/*")):
            hctl = blk.split("/")[-3]
            queue = f"/sys/block/{os.path.basename(blk)}/queue"
            disks.append({"dev": "/dev/" + os.path.basename(blk), "hctl": hctl,
                          "lun": int(hctl.split(":")[-1]),
                          "bytes": int(_read(f"{blk}/size")) * 512,
                          "block_size": int(_read(f"{queue}/logical_block_size"))})
        item = {"sid": sid, "target": _read(f"{sdir}/targetname"), "state": _read(f"{sdir}/state"),
                "recovery_tmo": _read(f"{sdir}/recovery_tmo"), "disks": disks}
        if conn:
            item["address"] = _read(f"{conn[0]}/persistent_address")
            item["port"] = int(_read(f"{conn[0]}/persistent_port"))
        out.append(item)
    return out


def _block(lba: int, seed: int, size: int) -> bytes:
    """One block of the pattern: a header naming its LBA and seed, then a fill derived from
    both, so a block written at another LBA or by another run is told apart."""
    fill = struct.pack("<Q", ((lba * 0x9E3779B97F4A7C15) ^ seed) & 0xFFFFFFFFFFFFFFFF)
    head = struct.pack("<8sQQ", b"ISCSILAB", lba, seed)
    return head + (fill * (size // 8))[len(head):]


def direct_io(args):
    """Writes `blocks` blocks of the pattern at `lba` with O_DIRECT, then reads them back with
    O_DIRECT and compares. Returns counts and the first mismatching LBA, if any."""
    dev, lba, blocks, seed = args["dev"], args["lba"], args["blocks"], args["seed"]
    bs = int(_read(f"/sys/block/{os.path.basename(dev)}/queue/logical_block_size"))
    length = bs * blocks
    buf = mmap.mmap(-1, length)           # page-aligned, as O_DIRECT needs
    for i in range(blocks):
        buf[i * bs:(i + 1) * bs] = _block(lba + i, seed, bs)
    t0 = time.monotonic()
    written = read = 0
    if args.get("write", True):
        fd = os.open(dev, os.O_WRONLY | os.O_DIRECT | os.O_SYNC)
        try:
            written = os.pwritev(fd, [buf], lba * bs)
        finally:
            os.close(fd)
    t1 = time.monotonic()
    back = mmap.mmap(-1, length)
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    try:
        read = os.preadv(fd, [back], lba * bs)
    finally:
        os.close(fd)
    t2 = time.monotonic()
    bad = [lba + i for i in range(blocks) if back[i * bs:(i + 1) * bs] != buf[i * bs:(i + 1) * bs]]
    return {"block_size": bs, "written": written, "read": read, "mismatched": len(bad),
            "first_mismatch": bad[0] if bad else None, "write_seconds": t1 - t0,
            "read_seconds": t2 - t1}


def kmsg_mark(args):
    """Writes a line into the kernel log: its printk timestamp, read back with dmesg, places
    the guest's kernel clock on the host's (the host times this call)."""
    with open("/dev/kmsg", "w") as f:
        f.write(f"iscsilab-mark {args['token']}\n")
    return None


def kmsg_wait(args):
    """The first kernel log record after `after` (seconds, printk clock) whose text holds one
    of `patterns`, read from /dev/kmsg as it arrives (blocking reads: no polling load on the
    guest, whatever the console's loglevel). Returns {"stamp", "text"} or None at the timeout."""
    import select
    patterns, after = args["patterns"], args.get("after", 0.0)
    deadline = time.monotonic() + args.get("seconds", 30)
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    try:
        while True:
            try:
                record = os.read(fd, 8192).decode(errors="replace")
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                select.select([fd], [], [], min(left, 1.0))
                continue
            except BrokenPipeError:       # overwritten records: continue with what follows
                continue
            head, _, text = record.partition(";")
            stamp = int(head.split(",")[2]) / 1e6
            text = text.split("\n", 1)[0]
            if stamp > after and any(p in text for p in patterns):
                return {"stamp": stamp, "text": text}
    finally:
        os.close(fd)


HANDLERS = {"kmsg_wait": kmsg_wait, "kmsg_mark": kmsg_mark, "iscsid_start": iscsid_start, "iscsid_stop": iscsid_stop, "iscsiadm": iscsiadm,
            "sessions": sessions, "direct_io": direct_io}
