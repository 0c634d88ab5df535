"""Host side of the initiator process: starts iscsilab.initiator.worker in a lab's namespace and
turns each method call into one JSON request. A failed call raises RemoteError carrying the
exception's Python type name in the child (LoginError, SessionLimitError, ...) and its message.
"""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

from .. import net
from ..errors import LabError

REPO = Path(__file__).resolve().parents[3]


def core_build_dir() -> Path:
    """Where the compiled module is: ISCSILAB_BUILD_DIR, else the default preset's build."""
    env = os.environ.get("ISCSILAB_BUILD_DIR")
    return Path(env) if env else REPO / "build" / "default" / "python" / "iscsilab"


class RemoteError(LabError):
    def __init__(self, op: str, error: dict):
        self.type = error.get("type", "?")
        self.message = error.get("message", "")
        self.code = error.get("code")
        super().__init__(f"{op}: {self.type}: {self.message}")


class InitiatorProcess:
    """One initiator (one InitiatorName by default, any number of sessions) in `lab`'s netns."""

    def __init__(self, lab, name: str = "iqn.2026-11.org.example:host0", timeout: float = 180):
        if not any(core_build_dir().glob("_core*.so")):
            raise LabError(f"iscsilab._core is not built in {core_build_dir()}; build first: "
                           "cmake --preset default && cmake --build --preset default")
        self.name = name
        self.timeout = timeout
        self._ids = itertools.count(1)
        env = dict(os.environ, PYTHONPATH=str(REPO / "target-lab"),
                   ISCSILAB_BUILD_DIR=str(core_build_dir()), PYTHONUNBUFFERED="1")
        argv = net.exec_argv(lab.netns, ["/usr/bin/python3", "-m", "iscsilab.initiator.worker"])
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=env)

    def __enter__(self) -> "InitiatorProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def call(self, op: str, **args):
        if self._proc.poll() is not None:
            raise LabError(f"initiator process exited ({self._proc.returncode}): "
                           f"{self._proc.stderr.read()[-2000:]}")
        rid = next(self._ids)
        self._proc.stdin.write(json.dumps({"op": op, "id": rid, **args}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait(timeout=10)
            raise LabError(f"initiator process died during {op} ({self._proc.returncode}): "
                           f"{self._proc.stderr.read()[-2000:]}")
        reply = json.loads(line)
        if "error" in reply:
            raise RemoteError(op, reply["error"])
        return reply["result"]

    # ---- the operations (see worker.py)
    def login(self, key: str, target: str, portal: str, isid: str | None = None,
              name: str | None = None, settings: dict | None = None) -> dict:
        return self.call("login", key=key, target=target, portal=portal,
                         name=name or self.name, isid=isid, settings=settings)

    def login_many(self, target: str, logins: list[dict], settings: dict | None = None) -> list[dict]:
        for spec in logins:
            spec.setdefault("name", self.name)
        return self.call("login_many", target=target, logins=logins, settings=settings)

    def write(self, key: str, lba: int, blocks: int, seed: int, lun: int = 0) -> dict:
        return self.call("write", key=key, lba=lba, blocks=blocks, seed=seed, lun=lun)

    def verify(self, key: str, lba: int, blocks: int, seed: int, lun: int = 0) -> dict:
        return self.call("verify", key=key, lba=lba, blocks=blocks, seed=seed, lun=lun)

    def discover(self, portal: str) -> list[dict]:
        return self.call("discover", portal=portal, name=self.name)

    def stats(self, key: str) -> dict:
        return self.call("stats", key=key)

    def nop(self, key: str) -> dict:
        return self.call("nop", key=key)

    def state(self, key: str) -> dict:
        return self.call("state", key=key)

    def events(self, key: str) -> list[dict]:
        return self.call("events", key=key)

    def logout(self, key: str) -> None:
        self.call("logout", key=key)

    def drop(self, key: str) -> None:
        self.call("drop", key=key)
