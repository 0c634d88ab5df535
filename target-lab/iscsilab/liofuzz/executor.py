"""Runs a program against a target over TCP: connections made by a socket factory (in the lab's
network namespace), fixes patched in from what the target sent, every received PDU checked by
the conformance driver's per-PDU rules (Session.check) and by proto's decoder.

What the executor observes goes into an Outcome; deciding what is a finding is detect.py's job.
"""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Callable

from ..conformance.driver import (FULL_FEATURE, LOGIN_RESPONSE, R2T, ConformanceFailure,
                                  Connection, NoAnswer, Session, Target, TargetClosed, patch)
from .program import Program

SILENT_WAIT = 0.3      # the longest wait on a connection that stopped answering
QUIET = 0.05           # a recv step ends this long after the last PDU
# Rules of Session.check that depend on what was negotiated or sent in order, which a fuzzer
# scrambles on purpose: not protocol violations of the target here.
IGNORED_RULES = ("4.2.2.2 StatSN", "11.7.2 A bit")

SocketFactory = Callable[[str, int, float], socket.socket]


def plain_socket(host: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((host, port), timeout)


class FuzzConnection(Connection):
    """driver.Connection on a socket made elsewhere (in a network namespace)."""

    def __init__(self, target: Target, sock: socket.socket, timeout: float = 10.0):
        self.target = target
        self.timeout = timeout
        self.sock = sock
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        from ..conformance.driver import core_pdu
        self.framer = core_pdu().Framer(True, 1 << 24)
        self.log = []
        self.eof = False
        self.header_digest = False
        self.data_digest = False


@dataclass
class Outcome:
    violations: list[str] = field(default_factory=list)   # "[rule] text"
    received: int = 0
    closed_by_target: int = 0       # connections the target closed or reset
    connect_failures: int = 0
    full_feature: int = 0           # logins that reached the full feature phase
    seconds: float = 0.0
    transcript: str = ""


class _Conn:
    def __init__(self, conn: FuzzConnection):
        self.conn = conn
        self.sess = Session(conn, strict_stat_sn=False)
        self.r2t: tuple[int, int] | None = None   # (TTT, buffer offset) of the last R2T
        self.dead = False
        self.silent = False


class Executor:
    def __init__(self, target: Target, factory: SocketFactory = plain_socket,
                 connect_timeout: float = 10.0):
        self.target = target
        self.factory = factory
        self.connect_timeout = connect_timeout

    def connect(self, timeout: float | None = None) -> FuzzConnection:
        sock = self.factory(self.target.host, self.target.port,
                            timeout or self.connect_timeout)
        return FuzzConnection(self.target, sock, timeout or self.connect_timeout)

    def run(self, prog: Program) -> Outcome:
        out = Outcome()
        conns: dict[int, _Conn] = {}
        tsih = 0
        t0 = time.monotonic()

        def receive(c: _Conn, wait: float) -> None:
            nonlocal tsih
            deadline = time.monotonic() + wait
            first = True
            while not c.dead:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                try:
                    p = c.sess.recv(left if first else min(left, QUIET))
                except NoAnswer:
                    return
                except TargetClosed:
                    c.dead = True
                    out.closed_by_target += 1
                    return
                except ConformanceFailure as e:   # proto's decoder refused what came
                    out.violations.append(f"[decode] {e}")
                    c.dead = True
                    return
                first = False
                out.received += 1
                op = p["opcode"]
                if op == LOGIN_RESPONSE and p["status_class"] == 0 and p["transit"] and \
                        p["nsg"] == FULL_FEATURE:
                    tsih = p["tsih"] or tsih
                    out.full_feature += 1
                elif op == R2T:
                    c.r2t = (p["ttt"], p["buffer_offset"])

        try:
            for step in prog.steps:
                if step.kind == "sleep":
                    time.sleep(step.seconds)
                    continue
                c = conns.get(step.conn)
                if step.kind == "connect" or (c is None and step.kind == "send"):
                    if c is not None:
                        c.conn.close()
                    try:
                        c = conns[step.conn] = _Conn(self.connect())
                    except OSError:
                        out.connect_failures += 1
                        conns.pop(step.conn, None)
                        continue
                    if step.kind == "connect":
                        continue
                if c is None:
                    continue
                if step.kind == "close":
                    c.conn.close()
                    c.dead = True
                elif step.kind == "recv":
                    # A connection that let a wait for an answer pass in silence is not
                    # answering any more: later waits on it are short (most of a case's time).
                    before = out.received
                    receive(c, min(step.seconds, SILENT_WAIT) if c.silent else step.seconds)
                    if out.received == before and step.seconds > SILENT_WAIT:
                        c.silent = True
                elif step.kind == "send" and not c.dead:
                    wire = self.fixed(step, c, tsih)
                    try:
                        c.conn.send_bytes(wire)
                    except TargetClosed:
                        c.dead = True
                        out.closed_by_target += 1
        finally:
            for c in conns.values():
                for v in c.sess.violations:
                    if not v.startswith(tuple(f"[{r}" for r in IGNORED_RULES)):
                        out.violations.append(v)
                c.conn.close()
            if out.violations:
                out.transcript = "\n".join(f"connection {n}:\n{c.conn.transcript(16)}"
                                           for n, c in conns.items())
            out.seconds = time.monotonic() - t0
        return out

    @staticmethod
    def fixed(step, c: _Conn, tsih: int) -> bytes:
        wire = step.data
        if not step.fix or len(wire) < 48:
            return wire
        m = {}
        for f in step.fix:
            if f == "exp_stat_sn" and c.sess.exp_stat_sn is not None:
                m["exp_stat_sn"] = c.sess.exp_stat_sn
            elif f == "tsih":
                m["tsih"] = tsih
            elif f in ("ttt", "r2t") and c.r2t is not None:
                m["ttt"] = c.r2t[0]
                if f == "r2t":
                    m["buffer_offset"] = c.r2t[1]
        return patch(wire, m) if m else wire
