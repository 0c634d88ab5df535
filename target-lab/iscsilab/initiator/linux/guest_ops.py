"""The initiator guest's agent handlers (run inside the VM by iscsilab.agent.guest, Debian's
python3 -S, stdlib only): open-iscsi's iscsid, systemd-udevd and multipathd started without
systemd (each in the foreground, as the agent's child), their configuration kept private to the
guest, the SCSI disks of its sessions and the multipath maps from sysfs, O_DIRECT I/O with a
verifiable block pattern, and the kernel log read as it arrives.

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

from . import guest_io

ETC = "/etc/iscsi"
CONF = ETC + "/iscsid.conf"
NAME_FILE = ETC + "/initiatorname.iscsi"
LOG = "/run/iscsilab/iscsid.log"
# iscsiadm reaches iscsid on this abstract unix socket (open-iscsi's mgmt_ipc).
IPC_NAME = "@ISCSIADM_ABSTRACT_NAMESPACE"

# The daemons we started, by name. Each runs in the foreground as the agent's own child and is
# waited for when stopped: the agent is PID 1 of the guest (stage2 execs it) and reaps no
# orphans, so a daemon that forks itself away (iscsid without -f, systemd-udevd --daemon)
# would stay a zombie in the process table after it exits.
_daemons: dict[str, subprocess.Popen] = {}
# Stop order: multipathd holds the SCSI disks, udevd serves multipathd, iscsid the sessions.
STOP_ORDER = ("multipathd", "systemd-udevd", "iscsid")


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


def _private_dir(path: str) -> None:
    """A fresh tmpfs at `path`: what the host has there does not show through."""
    if not _mounted(path):
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=16m", "tmpfs", path],
                       check=True)


def _spawn(name: str, argv: list[str], ready, timeout: float) -> dict:
    """Starts daemon `name` (argv keeps it in the foreground), its output in
    /run/iscsilab/<name>.log, and waits until ready() is true."""
    old = _daemons.get(name)
    if old is not None and old.poll() is None:
        raise RuntimeError(f"{name} already runs (pid {old.pid})")
    t0 = time.monotonic()
    log_path = f"/run/iscsilab/{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    _daemons[name] = proc
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}: {_tail(log_path)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} was not ready within {timeout:.0f} s: {_tail(log_path)}")
        time.sleep(0.05)
    return {"pid": proc.pid, "seconds": time.monotonic() - t0}


def _ok(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True, timeout=10).returncode == 0


def iscsid_start(args):
    """Writes iscsid.conf and initiatorname.iscsi into a tmpfs at /etc/iscsi and starts iscsid
    (-f: in the foreground, logging to stderr), ready once it listens for iscsiadm."""
    _private_dir(ETC)
    _write(CONF, args["conf"])
    _write(NAME_FILE, f"InitiatorName={args['initiatorname']}\n")
    os.makedirs("/run/lock/iscsi", exist_ok=True)
    subprocess.run(["modprobe", "-a", "iscsi_tcp", "sd_mod", "sg"], check=True,
                   capture_output=True)
    return _spawn("iscsid", ["/sbin/iscsid", "-f", "-c", CONF, "-i", NAME_FILE],
                  lambda: _listening(IPC_NAME), args.get("timeout", 60))


UDEV_SUBSYSTEMS = ("block", "scsi", "scsi_disk", "scsi_generic", "scsi_device")


def udev_start(args):
    """systemd-udevd without systemd as PID 1: in the foreground (no --daemon), then the SCSI
    and block devices already there are replayed (trigger --action=add) and settled. Only those
    subsystems: a replayed `add` of the NICs could rename them under the agent."""
    os.makedirs("/run/udev", exist_ok=True)
    started = _spawn("systemd-udevd", ["/lib/systemd/systemd-udevd", "--resolve-names=never"],
                     lambda: _ok(["udevadm", "control", "--ping"]), args.get("timeout", 60))
    trigger = ["udevadm", "trigger", "--action=add"]
    for sub in UDEV_SUBSYSTEMS:
        trigger.append(f"--subsystem-match={sub}")
    subprocess.run(trigger, check=True, capture_output=True, timeout=60)
    subprocess.run(["udevadm", "settle", "-t", "60"], check=True, capture_output=True, timeout=70)
    return started


def multipathd_start(args):
    """Writes /etc/multipath.conf (the guest's overlay: never the host's file) with a tmpfs at
    /etc/multipath for its bindings and wwids, loads dm-multipath and starts multipathd -d
    (foreground); ready once it answers `multipathd show daemon`. Needs udevd: multipathd learns
    of paths from udev's events."""
    subprocess.run(["modprobe", "-a", "dm_multipath", "dm_round_robin", "dm_queue_length",
                    "dm_service_time", "scsi_dh_alua"], check=True, capture_output=True)
    _private_dir("/etc/multipath")
    _write("/etc/multipath.conf", args["conf"])
    return _spawn("multipathd", ["/sbin/multipathd", "-d", "-s"],
                  lambda: _ok(["multipathd", "show", "daemon"]), args.get("timeout", 60))


def _stop(name: str, timeout: float) -> int | None:
    proc = _daemons.pop(name, None)
    if proc is None:
        return None
    if proc.poll() is None:
        if name == "multipathd":     # its own way down: it removes no maps, unlike SIGTERM's
            subprocess.run(["multipathd", "shutdown"], capture_output=True, timeout=30)
        elif name == "systemd-udevd":
            subprocess.run(["udevadm", "control", "--exit"], capture_output=True, timeout=30)
        else:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def daemons_stop(args):
    """Stops every daemon we started (multipathd, udevd, iscsid, in that order, each waited
    for) and returns their exit codes and the processes of those names still in the guest."""
    codes = {name: _stop(name, args.get("timeout", 15)) for name in STOP_ORDER}
    return {"returncodes": {k: v for k, v in codes.items() if v is not None},
            "left": [{"pid": pid, "comm": comm, "state": state}
                     for comm in STOP_ORDER for pid, state in _procs(comm)]}


def multipath_down(args):
    """multipathd stopped (`multipathd shutdown`, waited for), then every multipath map
    flushed (multipath -F), so that logging out leaves no map behind."""
    code = _stop("multipathd", args.get("timeout", 15))
    flush = subprocess.run(["multipath", "-F"], capture_output=True, text=True, timeout=60)
    return {"returncode": code, "flush_rc": flush.returncode,
            "flush_output": (flush.stdout + flush.stderr).strip()[-500:], "maps": maps({})}


def maps(args):
    """Device-mapper multipath maps from sysfs: [{"dm", "name", "uuid", "slaves"}]."""
    out = []
    for dm in sorted(glob.glob("/sys/block/dm-*")):
        uuid = _read(f"{dm}/dm/uuid")
        if uuid.startswith("mpath-"):
            out.append({"dm": os.path.basename(dm), "name": _read(f"{dm}/dm/name"), "uuid": uuid,
                        "devno": _read(f"{dm}/dev"), "slaves": sorted(os.listdir(f"{dm}/slaves"))})
    return out


def iscsiadm(args):
    """iscsiadm with a time limit of its own (the agent's `run` has a fixed one)."""
    proc = subprocess.run(["iscsiadm", *args["argv"]], capture_output=True, text=True,
                          timeout=args.get("seconds", 60), stdin=subprocess.DEVNULL)
    return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def _procs(comm: str) -> list[tuple[int, str]]:
    """(pid, state) of every process named `comm`, zombies included (state Z)."""
    out = []
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(path) as f:
                head, _, rest = f.read().rpartition(")")
        except OSError:
            continue
        if head.split("(", 1)[1] == comm:
            out.append((int(path.split("/")[2]), rest.split()[0]))
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


# What the kernel negotiated, by RFC 7143 key: the session's and the connection's sysfs
# attributes (scsi_transport_iscsi.c); "isid" and "tsid" (the TSIH) are the session's own.
SESSION_PARAMS = {"InitialR2T": "initial_r2t", "ImmediateData": "immediate_data",
                  "MaxOutstandingR2T": "max_outstanding_r2t", "FirstBurstLength": "first_burst_len",
                  "MaxBurstLength": "max_burst_len", "DataPDUInOrder": "data_pdu_in_order",
                  "DataSequenceInOrder": "data_seq_in_order", "ErrorRecoveryLevel": "erl",
                  "DefaultTime2Wait": "def_time2wait", "DefaultTime2Retain": "def_time2retain",
                  "isid": "isid", "tsih": "tsid"}
CONN_PARAMS = {"HeaderDigest": "header_digest", "DataDigest": "data_digest",
               "MaxRecvDataSegmentLength": "max_recv_dlength",
               "MaxXmitDataSegmentLength": "max_xmit_dlength"}


def _read_or_none(path: str) -> str | None:
    """An attribute of a session that may be going away (or not set yet): None then."""
    try:
        return _read(path)
    except OSError:
        return None


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
                          "devno": _read(f"{blk}/dev"),
                          "lun": int(hctl.split(":")[-1]),
                          "bytes": int(_read(f"{blk}/size")) * 512,
                          "block_size": int(_read(f"{queue}/logical_block_size")),
                          "vendor": _read_or_none(f"{os.path.dirname(os.path.dirname(blk))}/vendor"),
                          "product": _read_or_none(f"{os.path.dirname(os.path.dirname(blk))}/model")})
        item = {"sid": sid, "target": _read(f"{sdir}/targetname"), "state": _read(f"{sdir}/state"),
                "recovery_tmo": _read(f"{sdir}/recovery_tmo"), "disks": disks,
                "params": {key: _read_or_none(f"{sdir}/{attr}")
                           for key, attr in SESSION_PARAMS.items()}}
        if conn:
            item["address"] = _read_or_none(f"{conn[0]}/persistent_address")
            port = _read_or_none(f"{conn[0]}/persistent_port")
            item["port"] = int(port) if port else None
            item["params"].update({key: _read_or_none(f"{conn[0]}/{attr}")
                                   for key, attr in CONN_PARAMS.items()})
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
    bs, _ = guest_io.geometry(dev)
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


_kmsg_fd: int | None = None


def kmsg_new(args):
    """The kernel log records written since the last call (the first call starts at the end
    of the log), those holding one of `patterns`: [[stamp, text], ...]. Non-blocking: the host
    polls, so other calls are never held up behind it."""
    global _kmsg_fd
    if _kmsg_fd is None:
        _kmsg_fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(_kmsg_fd, 0, os.SEEK_END)
    out = []
    while True:
        try:
            record = os.read(_kmsg_fd, 8192).decode(errors="replace")
        except BlockingIOError:
            return out
        except BrokenPipeError:           # overwritten records: continue with what follows
            continue
        head, _, text = record.partition(";")
        text = text.split("\n", 1)[0]
        if any(p in text for p in args.get("patterns", [""])):
            out.append([int(head.split(",")[2]) / 1e6, text])


def mp_paths(args):
    """A multipath map's paths as the kernel sees them, cheaply (the guest's one CPU also runs
    the I/O, and a multipathd client per probe took seconds under load): the map's status and
    table (`dmsetup status`, `dmsetup table`) and each disk's SCSI device state from sysfs."""
    status = subprocess.run(["dmsetup", "status", args["map"]], capture_output=True, text=True,
                            timeout=30)
    table = subprocess.run(["dmsetup", "table", args["map"]], capture_output=True, text=True,
                           timeout=30)
    return {"status": status.stdout, "table": table.stdout, "rc": status.returncode,
            "device_states": {d: _read_or_none(f"/sys/block/{d}/device/state")
                              for d in args["disks"]}}


def poll(args):
    """What the host's event poll needs, in one round trip: the new kernel log lines
    (kmsg_new) and each session's state ({sid: state}, sysfs), nothing else (the guest's one
    CPU also runs the I/O)."""
    states = {}
    for sdir in glob.glob("/sys/class/iscsi_session/session*"):
        state = _read_or_none(f"{sdir}/state")
        if state is not None:
            states[sdir.rsplit("session", 1)[1]] = state
    return {"lines": kmsg_new(args), "states": states}


HANDLERS = {"kmsg_wait": kmsg_wait, "kmsg_new": kmsg_new, "poll": poll, "mp_paths": mp_paths, "kmsg_mark": kmsg_mark, "iscsid_start": iscsid_start,
            "udev_start": udev_start, "multipathd_start": multipathd_start,
            "multipath_down": multipath_down, "maps": maps, "daemons_stop": daemons_stop,
            "iscsiadm": iscsiadm,
            "sessions": sessions, "direct_io": direct_io, **guest_io.HANDLERS}
