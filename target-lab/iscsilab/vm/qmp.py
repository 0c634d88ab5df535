"""A small synchronous QMP client (QEMU Machine Protocol) over a unix socket.

One connection per command batch; QMP's greeting and `qmp_capabilities` handshake are done on
connect. Asynchronous events that arrive before a reply are kept in `events`.
"""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from ..errors import GuestGone, LabError


class QMP:
    def __init__(self, path: Path, timeout: float = 10.0):
        self.path = Path(path)
        self.timeout = timeout
        self.events: list[dict] = []
        self._sock: socket.socket | None = None
        self._buf = b""

    def __enter__(self) -> "QMP":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except OSError as exc:
            sock.close()
            raise GuestGone(f"cannot reach QEMU's QMP socket {self.path} ({exc.strerror})") from None
        self._sock = sock
        self._read()  # greeting
        self.execute("qmp_capabilities")

    def close(self) -> None:
        if self._sock:
            self._sock.close()
            self._sock = None

    def execute(self, command: str, **arguments):
        if self._sock is None:
            self.connect()
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self._sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise LabError(f"QMP {command}: {reply['error'].get('desc', reply['error'])}")
            return reply.get("return")

    def _read(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self._buf:
            if time.monotonic() > deadline:
                raise GuestGone("QEMU did not answer on QMP in time")
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise GuestGone("QEMU closed the QMP connection (QEMU exited?)")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    # The commands the lab uses, named as QMP names them.
    def stop(self) -> None:
        self.execute("stop")

    def cont(self) -> None:
        self.execute("cont")

    def set_link(self, name: str, up: bool) -> None:
        self.execute("set_link", name=name, up=up)

    def status(self) -> str:
        return self.execute("query-status")["status"]

    def quit(self) -> None:
        try:
            self.execute("quit")
        except GuestGone:
            pass  # QEMU may close the socket before it answers
