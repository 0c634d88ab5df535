"""A tiny scripted iSCSI target for the conformance suite's unit tests: it logs in (no
authentication), answers NOP-Out pings, TEST UNIT READY and logout, keeps a CmdSN window and a
StatSN, and can break one rule on purpose, so that a test of the suite can be shown to FAIL
against a target that violates its requirement. Built on proto's codec (iscsilab._pdu) with the
framer receiving initiator PDUs.

    with FakeTarget(defect="itt") as t:
        Target(t.host, t.port, t.iqn)

Defects: "itt" (Login Responses answer ITT + 1), "version" (accepts Version-min 1 and answers
Version-active 1), "window" (answers commands outside the CmdSN window), "stat_sn" (StatSN
skips one after the login), "ping_data" (NOP-In returns the ping data reversed).
"""
from __future__ import annotations

import socket
import threading

import pytest

RESERVED = 0xFFFFFFFF


def pdu_module():
    try:
        from iscsilab import _pdu
    except ImportError as e:
        pytest.fail(f"iscsilab._pdu is not importable ({e}); build it first: cmake --preset "
                    "default && cmake --build --preset default --target iscsilab_pdu",
                    pytrace=False)
    return _pdu


class FakeTarget:
    iqn = "iqn.2026-12.org.example:fake"

    def __init__(self, defect: str | None = None):
        self.pdu = pdu_module()
        self.defect = defect
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self.listener.getsockname()
        self.next_tsih = 0x10
        self.stop = False
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.stop = True
        try:
            self.listener.close()
        except OSError:
            pass

    def _accept(self):
        while not self.stop:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, conn: socket.socket):
        try:
            _Connection(self, conn).run()
        except (OSError, ConnectionError):
            pass
        except Exception as e:  # noqa: BLE001 - surfaced through .errors in the test
            self.errors.append(f"{type(e).__name__}: {e}")
        finally:
            conn.close()


class _Connection:
    def __init__(self, target: FakeTarget, sock: socket.socket):
        self.t = target
        self.pdu = target.pdu
        self.sock = sock
        self.framer = self.pdu.Framer(receive_target_pdus=False)
        self.stat_sn = 1000
        self.exp_cmd_sn = None
        self.window = 16
        self.tsih = 0
        self.full_feature = False

    def send(self, fields: dict) -> None:
        for key in ("stat_sn", "exp_cmd_sn", "max_cmd_sn"):
            fields.setdefault(key, 0)
        self.sock.sendall(self.pdu.encode(fields))

    def numbers(self, advance: bool = True) -> dict:
        d = {"stat_sn": self.stat_sn, "exp_cmd_sn": self.exp_cmd_sn,
             "max_cmd_sn": (self.exp_cmd_sn + self.window - 1) & 0xFFFFFFFF}
        if advance:
            self.stat_sn += 1
        return d

    def in_window(self, p: dict) -> bool:
        """True for an immediate PDU or the expected CmdSN (which it then consumes)."""
        if p.get("immediate"):
            return True
        if p["cmd_sn"] == self.exp_cmd_sn:
            self.exp_cmd_sn = (self.exp_cmd_sn + 1) & 0xFFFFFFFF
            return True
        return self.t.defect == "window"

    def run(self):
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return
            self.framer.feed(chunk)
            while (got := self.framer.next()) is not None:
                p, _wire = got
                if self.handle(p) == "close":
                    return

    def handle(self, p: dict):
        op = p["opcode"]
        if op == 0x03:
            return self.login(p)
        if not self.full_feature:
            return "close"
        if op == 0x00:
            if not self.in_window(p) or p["itt"] == RESERVED:
                return None
            data = p["data"][::-1] if self.t.defect == "ping_data" else p["data"]
            self.send({"opcode": 0x20, "itt": p["itt"], "ttt": RESERVED, "lun": p["lun"],
                       "data": data, **self.numbers()})
        elif op == 0x01:
            if not self.in_window(p):
                return None
            self.send({"opcode": 0x21, "itt": p["itt"], "status": 0, **self.numbers()})
        elif op == 0x06:
            self.in_window(p)
            self.send({"opcode": 0x26, "itt": p["itt"], "response": 0, **self.numbers()})
            return "close"
        return None

    def login(self, p: dict):
        if self.exp_cmd_sn is None:
            self.exp_cmd_sn = p["cmd_sn"]
        keys = [kv.split("=", 1) for kv in p["data"].decode().split("\0") if kv]
        rsp = {"opcode": 0x23, "transit": p["transit"], "csg": p["csg"], "nsg": p["nsg"],
               "isid": p["isid"], "tsih": p["tsih"], "itt": p["itt"],
               "version_active": 1 if self.t.defect == "version" else 0}
        if self.t.defect == "itt":
            rsp["itt"] = (p["itt"] + 1) & 0xFFFFFFFF
        if p["version_min"] > 0 and self.t.defect != "version":
            rsp.update(status_class=2, status_detail=5)
            self.send(dict(rsp, **self.numbers(False)))
            return "close"
        answer = []
        for k, v in keys:
            if k in ("InitiatorName", "TargetName", "SessionType"):
                continue
            unknown = k.startswith(("NoSuch", "X-"))
            answer.append(f"{k}={'NotUnderstood' if unknown else v}")
        if p["csg"] == 0:
            answer.append("TargetPortalGroupTag=1")
        if p["transit"] and p["nsg"] == 3:
            self.t.next_tsih += 1
            self.tsih = self.t.next_tsih
            rsp["tsih"] = self.tsih
            self.full_feature = True
        rsp["data"] = "".join(a + "\0" for a in answer).encode()
        self.send(dict(rsp, **self.numbers()))
        if self.full_feature and self.t.defect == "stat_sn":
            self.stat_sn += 1
        return None
