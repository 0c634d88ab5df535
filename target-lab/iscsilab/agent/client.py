"""Host side of the guest agent: sends one request at a time over QEMU's unix socket.

A file lock serialises clients (the CLI and a test may talk to one lab at once, and QEMU's
socket serves one client). Timeouts are per request; when the guest is gone (QEMU exited,
socket closed, guest frozen) the error says which.
"""
from __future__ import annotations

import fcntl
import itertools
import select
import socket
import time
from pathlib import Path
from typing import Callable

from ..errors import AgentError, GuestGone
from .protocol import decode, encode


class AgentClient:
    def __init__(self, socket_path: Path, alive: Callable[[], bool] = lambda: True):
        self.socket_path = Path(socket_path)
        self.alive = alive
        self._ids = itertools.count(int(time.time() * 1000) % 1_000_000_000)

    def call(self, op: str, timeout: float = 60.0, **args):
        """Runs `op` in the guest and returns its result; raises AgentError or GuestGone."""
        rid = next(self._ids)
        deadline = time.monotonic() + timeout
        with open(self.socket_path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            sock = self._connect()
            try:
                sock.sendall(encode({"id": rid, "op": op, "args": args}))
                reply = self._read_reply(sock, rid, deadline, op)
            finally:
                sock.close()
        if not reply.get("ok"):
            raise AgentError(f"guest: {op} failed: {reply.get('error')}")
        return reply.get("result")

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(self.socket_path))
        except OSError as exc:
            sock.close()
            raise GuestGone(f"cannot reach the guest agent at {self.socket_path} ({exc.strerror}): "
                            "is the lab up?") from None
        return sock

    def _read_reply(self, sock: socket.socket, rid: int, deadline: float, op: str) -> dict:
        buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestGone(f"guest agent did not answer {op} in time "
                                "(guest frozen, crashed or still booting?)")
            ready, _, _ = select.select([sock], [], [], min(left, 0.2))
            if not ready:
                if not self.alive():
                    raise GuestGone(f"QEMU exited while the guest ran {op}: see the console log")
                continue
            chunk = sock.recv(65536)
            if not chunk:
                raise GuestGone(f"the guest agent closed the connection during {op}")
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    reply = decode(line)
                except ValueError:
                    continue
                # Replies to an earlier client's timed-out request are stale: skip them.
                if reply.get("id") == rid:
                    return reply
