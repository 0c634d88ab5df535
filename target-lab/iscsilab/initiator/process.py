"""Host side of the initiator process: starts iscsilab.initiator.worker in a lab's namespace and
turns each method call into one JSON request (iscsilab.rpc). Calls may come from several threads
at once (a reader thread matches replies to callers by id); each waits at most its timeout and
then raises RemoteTimeout, so a silent worker never blocks the caller for ever. The worker's
event notices (each session's log, steady-clock timestamps) go to `on_events`, and are kept.

A failed call raises RemoteError carrying the exception's Python type name in the child
(LoginError, SessionLimitError, ...), its message and its iSCSI fields (status, conn_error).
"""
from __future__ import annotations

import itertools
import os
import subprocess
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Callable

from .. import net, rpc
from ..errors import LabError

REPO = Path(__file__).resolve().parents[3]


def core_build_dir() -> Path:
    """Where the compiled module is: ISCSILAB_BUILD_DIR, else the default preset's build."""
    env = os.environ.get("ISCSILAB_BUILD_DIR")
    return Path(env) if env else REPO / "build" / "default" / "python" / "iscsilab"


class RemoteError(LabError):
    def __init__(self, op: str, error: dict):
        self.op = op
        self.error = error
        self.type = error.get("type", "?")
        self.message = error.get("message", "")
        self.code = error.get("code")
        super().__init__(f"{op}: {self.type}: {self.message}")


class RemoteTimeout(LabError):
    """The worker did not answer a call within its timeout (it may still be working on it)."""


class InitiatorProcess:
    """One initiator (one InitiatorName by default, any number of sessions) in `lab`'s netns."""

    def __init__(self, lab, name: str = "iqn.2026-11.org.example:host0", timeout: float = 180,
                 on_events: Callable[[list[dict]], None] | None = None):
        if not any(core_build_dir().glob("_core*.so")):
            raise LabError(f"iscsilab._core is not built in {core_build_dir()}; build first: "
                           "cmake --preset default && cmake --build --preset default")
        self.name = name
        self.timeout = timeout
        self.on_events = on_events
        self.event_log: list[dict] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[str, Future]] = {}
        self._lock = threading.Lock()
        env = dict(os.environ, PYTHONPATH=str(REPO / "target-lab"),
                   ISCSILAB_BUILD_DIR=str(core_build_dir()), PYTHONUNBUFFERED="1")
        argv = net.exec_argv(lab.netns, ["/usr/bin/python3", "-m", "iscsilab.initiator.worker"])
        self._stderr_path = Path(lab.run_dir) / f"initiator-{os.getpid()}-{id(self):x}.log"
        self._stderr = open(self._stderr_path, "w")
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr, text=True, env=env)
        self._reader = threading.Thread(target=self._read, daemon=True, name="initiator-reader")
        self._reader.start()

    def __enter__(self) -> "InitiatorProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def close(self, grace: float = 30) -> None:
        """Closes stdin (the worker logs its sessions out and exits); kills it after `grace`."""
        if self._proc.poll() is None:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
            try:
                self._proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._reader.join(timeout=5)
        self._stderr.close()
        self._fail_pending("the initiator process was closed")

    def kill(self) -> None:
        """Ends the worker at once: its TCP connections drop without a logout."""
        self._proc.kill()
        self.close(grace=5)

    def stderr_tail(self, n: int = 2000) -> str:
        try:
            return self._stderr_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    # ---- the wire
    def _read(self) -> None:
        for line in self._proc.stdout:
            try:
                msg = rpc.decode(line)
            except ValueError:
                continue
            if "notice" in msg:
                if msg["notice"] == "events":
                    self.event_log.extend(msg["data"])
                    if self.on_events:
                        self.on_events(msg["data"])
                continue
            with self._lock:
                op, fut = self._pending.pop(msg.get("id"), (None, None))
            if fut is not None:
                fut.set_result(msg)
        self._fail_pending(f"the initiator process exited ({self._proc.poll()}): "
                           f"{self.stderr_tail()}")

    def _fail_pending(self, why: str) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for op, fut in pending.values():
            if not fut.done():
                fut.set_exception(LabError(f"{op}: {why}"))

    def call(self, op: str, timeout: float | None = None, **args):
        if self._proc.poll() is not None:
            raise LabError(f"initiator process exited ({self._proc.returncode}): {self.stderr_tail()}")
        rid = next(self._ids)
        fut: Future = Future()
        with self._lock:
            self._pending[rid] = (op, fut)
        try:
            self._proc.stdin.write(rpc.request(rid, op, args).decode())
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            with self._lock:
                self._pending.pop(rid, None)
            raise LabError(f"{op}: the initiator process is gone: {self.stderr_tail()}") from None
        limit = self.timeout if timeout is None else timeout
        try:
            reply = fut.result(timeout=limit)
        except FutureTimeout:
            with self._lock:
                self._pending.pop(rid, None)
            raise RemoteTimeout(f"{op}: the initiator did not answer within {limit:g} s") from None
        if not reply.get("ok"):
            raise RemoteError(op, reply.get("error") or {})
        return reply.get("result")

    # ---- the operations (see worker.py)
    def login(self, key: str, target: str, portal: str, isid: str | None = None,
              name: str | None = None, settings: dict | None = None,
              timeout: float | None = None) -> dict:
        return self.call("login", key=key, target=target, portal=portal, timeout=timeout,
                         name=name or self.name, isid=isid, settings=settings)

    def login_many(self, target: str, logins: list[dict], settings: dict | None = None,
                   timeout: float | None = None) -> list[dict]:
        for spec in logins:
            spec.setdefault("name", self.name)
        return self.call("login_many", target=target, logins=logins, settings=settings,
                         timeout=timeout)

    def write(self, key: str, lba: int, blocks: int, seed: int, lun: int = 0) -> dict:
        return self.call("write", key=key, lba=lba, blocks=blocks, seed=seed, lun=lun)

    def verify(self, key: str, lba: int, blocks: int, seed: int, lun: int = 0) -> dict:
        return self.call("verify", key=key, lba=lba, blocks=blocks, seed=seed, lun=lun)

    def discover(self, portal: str, settings: dict | None = None) -> list[dict]:
        return self.call("discover", portal=portal, name=self.name, settings=settings)

    def stats(self, key: str) -> dict:
        return self.call("stats", key=key)

    def nop(self, key: str, timeout: float | None = None) -> dict:
        return self.call("nop", key=key, timeout=timeout)

    def state(self, key: str) -> dict:
        return self.call("state", key=key)

    def events(self, key: str) -> list[dict]:
        return self.call("events", key=key)

    def logout(self, key: str, timeout: float | None = None) -> None:
        self.call("logout", key=key, timeout=timeout)

    def drop(self, key: str) -> None:
        self.call("drop", key=key)

    def rescan(self, key: str, timeout: float | None = None) -> dict:
        return self.call("rescan", key=key, timeout=timeout)

    def capacity(self, key: str, lun: int = 0) -> dict:
        return self.call("capacity", key=key, lun=lun)

    def tmf(self, key: str, function: str, lun: int = 0, handle: int | None = None,
            timeout: float | None = None) -> dict:
        return self.call("tmf", key=key, function=function, lun=lun, handle=handle, timeout=timeout)

    # ---- I/O jobs: the engine's queue-depth workload with the block pattern
    def io_start(self, job: str, key: str, spec: dict) -> dict:
        return self.call("io_start", job=job, key=key, spec=spec)

    def io_drain(self, job: str) -> list:
        return self.call("io_drain", job=job)

    def io_stop(self, job: str) -> None:
        self.call("io_stop", job=job)

    def io_wait(self, job: str, seconds: float) -> bool:
        """True when the job has ended (waits up to `seconds` in the worker)."""
        return self.call("io_wait", job=job, seconds=seconds, timeout=seconds + 30)["done"]

    def io_in_flight(self, job: str) -> list:
        return self.call("io_in_flight", job=job)

    def io_summary(self, job: str) -> dict:
        return self.call("io_summary", job=job)

    # ---- multipath devices (used like sessions by their name afterwards)
    def mp_create(self, name: str, keys: list[str], lun: int = 0, settings: dict | None = None) -> dict:
        return self.call("mp_create", name=name, keys=keys, lun=lun, settings=settings)

    def mp_status(self, name: str) -> dict:
        return self.call("mp_status", name=name)

    def read_decode(self, key: str, lba: int, blocks: int, lun: int = 0,
                    timeout: float | None = None) -> list:
        return self.call("read_decode", key=key, lba=lba, blocks=blocks, lun=lun, timeout=timeout)
