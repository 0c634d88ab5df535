"""A real iSCSI target on loopback for tests: Debian's user-space tgtd (package `tgt`).

Python twin of tests/support/tgtd_fixture.{hpp,cpp}: one tgtd process per instance, its own
iSCSI port (a free TCP port on 127.0.0.1), its own control socket, temp dir (tgtd.log, backing
file) and process group. One target with LUN 1 on a null backing store (1 TiB, reads zeros,
writes discarded) and LUN 2 on a sparse temp file.

    with Tgtd(chap=("alice", "secret-1234")) as t:
        t.portal, t.iqn, t.url(Tgtd.FILE_LUN)

Facts about tgt 1.0.85 this relies on (same as the C++ fixture):
- `-C N` (0..32767) is not a TCP port but the index of the unix control socket
  /var/run/tgtd/socket.N (plus socket.N.lock, which tgtd leaves behind; we remove both).
  /var/run/tgtd is root's, so tgtd needs root.
- If the portal port is taken tgtd keeps running without a listener, so "it listens" is checked
  by finding the LISTEN socket in /proc/net/tcp among tgtd's own fds, never by connecting.
- tgtd catches SIGTERM and keeps running: close() deletes the targets, then sends SIGTERM and,
  20 ms later, SIGKILL to the process group.
- Python has no PR_SET_PDEATHSIG before exec, so tgtd runs in a new session and close() runs
  from __exit__, from atexit and from a finalizer: a crashed interpreter (SIGKILL) can still
  leave a tgtd behind, a normal exit or an exception cannot.
"""
from __future__ import annotations

import atexit
import errno
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path

TGTD = "/usr/sbin/tgtd"
TGTADM = "/usr/sbin/tgtadm"
CONTROL_DIR = Path("/var/run/tgtd")
_CONTROL_MIN = 20000                 # tgtd -C accepts 0..32767; other users take small numbers
_CONTROL_SPAN = 32767 - _CONTROL_MIN + 1

# Keys tgt 1.0.85 accepts with `tgtadm --mode target --op update` (see tgtd_fixture.cpp for how
# tgt negotiates each one).
TGTD_PARAMETERS = (
    "MaxRecvDataSegmentLength", "MaxBurstLength", "FirstBurstLength", "ImmediateData",
    "InitialR2T", "HeaderDigest", "DataDigest", "MaxOutstandingR2T", "MaxXmitDataSegmentLength",
    "DataPDUInOrder", "DataSequenceInOrder", "ErrorRecoveryLevel", "DefaultTime2Wait",
    "DefaultTime2Retain", "MaxConnections", "IFMarker", "OFMarker", "MaxQueueCmd",
    "nop_interval", "nop_count",
)

_counter = itertools.count()


class TgtdError(RuntimeError):
    """tgtd could not be started or configured; the message says why (with the tgtd.log tail)."""


def unavailable_reason() -> str | None:
    """Why tgtd cannot run here (tgt missing, not root), or None."""
    for tool in (TGTD, TGTADM):
        if not os.access(tool, os.X_OK):
            return f"{tool} not found: install the tgt package (apt-get install tgt)"
    if os.geteuid() != 0:
        return (f"tgtd needs root (its control socket lives in {CONTROL_DIR}); "
                "run these tests as root")
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _control_socket(index: int) -> Path:
    return CONTROL_DIR / f"socket.{index}"


def _listening_inode(port: int) -> int:
    """Inode of the socket listening on 127.0.0.1:port or 0.0.0.0:port; 0 if none."""
    want = {f"0100007F:{port:04X}", f"00000000:{port:04X}"}
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if len(fields) > 9 and fields[3] == "0A" and fields[1] in want:
                    return int(fields[9])
    except OSError:
        pass
    return 0


def _owns_socket(pid: int, inode: int) -> bool:
    want = f"socket:[{inode}]"
    fd_dir = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return False
    for name in names:
        try:
            if os.readlink(f"{fd_dir}/{name}") == want:
                return True
        except OSError:
            continue
    return False


def _printable(argv: list[str]) -> str:
    """argv as text with the value after --password masked: secrets never reach messages."""
    out, mask = [], False
    for a in argv:
        out.append("***" if mask else a)
        mask = a == "--password"
    return " ".join(out)


def _stop_group(pid: int) -> None:
    """SIGTERM, a 20 ms grace (tgtd ignores it while running), SIGKILL; reaps the child."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    if _wait_exit(pid, 0.02):
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _wait_exit(pid, 10.0)


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done == pid:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)


def _cleanup(state: dict) -> None:
    """Teardown shared by close(), atexit and the finalizer; idempotent. `state` holds only plain
    values so the finalizer does not keep the Tgtd alive."""
    pid = state.get("pid", -1)
    if pid > 0:
        for tid in state.get("tids", ()):
            try:
                subprocess.run([TGTADM, "-C", str(state["control"]), "--lld", "iscsi", "--mode",
                                "target", "--op", "delete", "--force", "--tid", str(tid)],
                               capture_output=True, timeout=5, check=False)
            except (OSError, subprocess.SubprocessError):
                break          # the signals below still stop tgtd
        _stop_group(pid)
        state["pid"] = -1
    control = state.pop("control", None)
    if control is not None:
        sock = _control_socket(control)
        for p in (sock, Path(f"{sock}.lock")):
            try:
                p.unlink()
            except OSError:
                pass
    d = state.pop("dir", None)
    if d is not None:
        if state.get("keep_dir"):
            for f in Path(d).glob("*.img"):
                f.unlink(missing_ok=True)
        else:
            shutil.rmtree(d, ignore_errors=True)


_live: "weakref.WeakSet[Tgtd]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for t in list(_live):
        t.close()


class Tgtd:
    """One tgtd on loopback with one target; started by the constructor, stopped by close()."""

    NULL_LUN = 1
    FILE_LUN = 2

    def __init__(self, null_lun: bool = True, file_lun_bytes: int = 64 << 20,
                 chap: tuple[str, str] | None = None,
                 mutual_chap: tuple[str, str] | None = None,
                 params: dict[str, object] | None = None, iqn: str | None = None,
                 acl: str = "ALL", start_timeout: float = 10.0, debug_level: int = 0,
                 keep_dir: bool = False):
        reason = unavailable_reason()
        if reason:
            raise TgtdError(reason)
        self.host = "127.0.0.1"
        self.port = 0
        self.control_port = 0
        self.pid = -1
        self.null_lun = null_lun
        self.file_lun_bytes = int(file_lun_bytes)
        self.chap = chap
        self.mutual_chap = mutual_chap
        self.params = dict(params or {})
        self.acl = acl
        self.iqn = iqn or f"iqn.2026-11.org.example:pytgt-{os.getpid()}-{next(_counter)}"
        self.tid = 1
        self._debug_level = debug_level
        self.dir = Path(tempfile.mkdtemp(prefix="tgtd-py-"))
        self._state = {"pid": -1, "tids": (self.tid,), "dir": str(self.dir),
                       "keep_dir": keep_dir}
        self._finalizer = weakref.finalize(self, _cleanup, self._state)
        _live.add(self)
        try:
            self._start(start_timeout)
            self._configure()
        except BaseException as e:
            self._state["keep_dir"] = True
            tail = self.log_tail()
            self.close()
            if isinstance(e, TgtdError):
                raise TgtdError(f"{e}\n--- tail of {self.log_path} (kept) ---\n{tail}") from None
            raise

    # -- properties -------------------------------------------------------------------------

    @property
    def portal(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, lun: int) -> str:
        return f"iscsi://{self.portal}/{self.iqn}/{lun}"

    @property
    def luns(self) -> list[int]:
        return ([self.NULL_LUN] if self.null_lun else []) + \
               ([self.FILE_LUN] if self.file_lun_bytes > 0 else [])

    @property
    def log_path(self) -> Path:
        return self.dir / "tgtd.log"

    @property
    def backing_file(self) -> Path:
        return self.dir / f"lun2-tid{self.tid}.img"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:]) + "\n"

    # -- control ------------------------------------------------------------------------------

    def tgtadm(self, *args: str) -> str:
        """Runs `tgtadm -C <control> --lld iscsi <args>`; returns stdout, raises TgtdError."""
        argv = [TGTADM, "-C", str(self.control_port), "--lld", "iscsi", *map(str, args)]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        except subprocess.TimeoutExpired:
            raise TgtdError(f"{_printable(argv)} timed out") from None
        if r.returncode != 0:
            raise TgtdError(f"{_printable(argv)} failed (exit {r.returncode}): {r.stderr}{r.stdout}")
        return r.stdout

    def set_param(self, name: str, value: object) -> None:
        """Changes an iSCSI key of the target (applies to logins after this call)."""
        if isinstance(value, bool):
            value = "Yes" if value else "No"
        self.tgtadm("--mode", "target", "--op", "update", "--tid", str(self.tid),
                    "--name", name, "--value", str(value))

    def show(self) -> str:
        return self.tgtadm("--mode", "target", "--op", "show")

    def add_portal(self, timeout: float = 10.0) -> str:
        """Adds a portal on a free loopback port (`tgtadm --mode portal --op new`) and returns
        "127.0.0.1:<port>" once tgtd listens there: the target is reachable through both, so
        sessions over the two are two paths to the same LUs (multipath)."""
        for _ in range(5):
            port = _free_port()
            portal = f"{self.host}:{port}"
            try:
                self.tgtadm("--mode", "portal", "--op", "new", "--param", f"portal={portal}")
            except TgtdError:
                continue  # taken meanwhile
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                inode = _listening_inode(port)
                if inode and _owns_socket(self.pid, inode):
                    return portal
                time.sleep(0.002)
            raise TgtdError(f"tgtd did not listen on the added portal {portal}")
        raise TgtdError("could not add a portal after 5 attempts")

    def close(self) -> None:
        """Deletes the target, stops tgtd's process group, removes the temp dir. Idempotent."""
        _live.discard(self)
        self._finalizer()
        self.pid = -1

    def __enter__(self) -> "Tgtd":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._state["keep_dir"] = True
        self.close()

    # -- start-up ----------------------------------------------------------------------------

    def _start(self, timeout: float) -> None:
        problem = ""
        for _ in range(5):
            self.port = _free_port()
            # tgtd takes -C values up to 32767 only; derive one from a kernel-chosen port so
            # parallel runs rarely clash. A clash makes tgtd fail its lock and we retry.
            while True:
                self.control_port = _CONTROL_MIN + _free_port() % _CONTROL_SPAN
                if not _control_socket(self.control_port).exists():
                    break
            self._state["control"] = self.control_port
            argv = [TGTD, "-f", "-C", str(self.control_port), "--iscsi", f"portal={self.portal}"]
            if self._debug_level > 0:
                argv[1:1] = ["-d", str(self._debug_level)]
            with open(self.log_path, "ab") as log:
                log.write(f"=== tgtd.py: {' '.join(argv)}\n".encode())
                log.flush()
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                        start_new_session=True, close_fds=True)
            # Popen's object would reap on its own; we manage the pid directly.
            proc.returncode = 0
            self.pid = proc.pid
            self._state["pid"] = proc.pid
            deadline = time.monotonic() + timeout
            while True:
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done == self.pid:
                    self.pid = self._state["pid"] = -1
                    problem = f"tgtd exited during start-up (wait status {status})"
                    break
                inode = _listening_inode(self.port)
                if inode:
                    if _owns_socket(self.pid, inode):
                        if _control_socket(self.control_port).exists():
                            return
                    else:
                        problem = f"port {self.port} was taken by another process"
                        break
                if time.monotonic() >= deadline:
                    raise TgtdError(f"tgtd did not listen on {self.portal} within {timeout} s")
                time.sleep(0.002)
            # retry with other ports: stop what is left and drop this control socket
            pid = self._state.get("pid", -1)
            if pid > 0:
                _stop_group(pid)
            self.pid = self._state["pid"] = -1
            _cleanup({"control": self.control_port})
        raise TgtdError(f"could not start tgtd after 5 attempts; last problem: {problem}")

    def _configure(self) -> None:
        t = str(self.tid)
        self.tgtadm("--mode", "target", "--op", "new", "--tid", t, "--targetname", self.iqn)
        if self.null_lun:
            self.tgtadm("--mode", "logicalunit", "--op", "new", "--tid", t, "--lun",
                        str(self.NULL_LUN), "--bstype", "null", "--backing-store", "/dev/null")
        if self.file_lun_bytes > 0:
            with open(self.backing_file, "wb") as f:
                f.truncate(self.file_lun_bytes)
            self.tgtadm("--mode", "logicalunit", "--op", "new", "--tid", t, "--lun",
                        str(self.FILE_LUN), "--backing-store", str(self.backing_file))
        by_name = self.acl.startswith(("iqn.", "eui.", "naa."))
        self.tgtadm("--mode", "target", "--op", "bind", "--tid", t,
                    "--initiator-name" if by_name else "--initiator-address", self.acl)
        accounts: set[str] = set()
        for creds, outgoing in ((self.chap, False), (self.mutual_chap, True)):
            if not creds:
                continue
            user, secret = creds
            if user not in accounts:
                accounts.add(user)
                self.tgtadm("--mode", "account", "--op", "new", "--user", user,
                            "--password", secret)
            self.tgtadm("--mode", "account", "--op", "bind", "--tid", t, "--user", user,
                        *(["--outgoing"] if outgoing else []))
        for name, value in self.params.items():
            self.set_param(name, value)

    def __repr__(self) -> str:
        return f"Tgtd({self.portal} {self.iqn} pid={self.pid})"


__all__ = ["Tgtd", "TgtdError", "TGTD_PARAMETERS", "unavailable_reason"]
