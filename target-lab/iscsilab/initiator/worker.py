"""The child side of InitiatorProcess: one iscsilab._core.Initiator, sessions by key, one JSON
request per line on stdin, one JSON reply per line on stdout.

Write data is derived from (seed, lba) so that the host side never ships blocks: verify re-derives
what write sent and compares it with what the target returns.
"""
from __future__ import annotations

import json
import random
import sys
import threading
import time
import traceback

# The compiled module lives in the build tree: iscsilab/__init__.py looks in ISCSILAB_BUILD_DIR,
# which InitiatorProcess sets.
from iscsilab import _core


def pattern(seed: int, lba: int, blocks: int, block_size: int) -> bytes:
    out = bytearray()
    for i in range(blocks):
        out += random.Random(f"{seed}:{lba + i}").randbytes(block_size)
    return bytes(out)


def error(exc: BaseException) -> dict:
    return {"type": type(exc).__name__, "message": str(exc),
            "code": getattr(exc, "code", None) if isinstance(getattr(exc, "code", None), (int, str)) else None}


class Worker:
    def __init__(self):
        self.ini = _core.Initiator()
        self.sessions: dict[str, object] = {}
        self.block_size: dict[str, int] = {}

    def settings(self, name: str | None, isid: str | None, extra: dict | None) -> dict:
        s = dict(extra or {})
        if name:
            s["iface.initiatorname"] = name
        if isid:
            s["iface.isid"] = isid
        return s

    # ---- ops
    def op_login(self, key, target, portal, name=None, isid=None, settings=None):
        t0 = time.monotonic()
        s = self.ini.login(target, portal, self.settings(name, isid, settings))
        self.sessions[key] = s
        return {"tsih": s.tsih, "isid": str(s.isid), "seconds": time.monotonic() - t0}

    def op_login_many(self, target, logins, settings=None):
        """Leading logins started at the same moment from threads (a barrier), one per entry of
        `logins` ({"key", "portal", "name", "isid"}); every result, success or error."""
        barrier = threading.Barrier(len(logins))
        results: list[dict] = [{} for _ in logins]

        def one(i, spec):
            barrier.wait()
            t0 = time.monotonic()
            results[i]["started"] = t0
            try:
                s = self.ini.login(target, spec["portal"],
                                   self.settings(spec.get("name"), spec.get("isid"), settings))
                self.sessions[spec["key"]] = s
                results[i].update({"key": spec["key"], "ok": True, "tsih": s.tsih})
            except Exception as exc:  # each login's own outcome is the result
                results[i].update({"key": spec["key"], "ok": False, "error": error(exc)})
            results[i]["ended"] = time.monotonic()
            results[i]["seconds"] = results[i]["ended"] - t0

        threads = [threading.Thread(target=one, args=(i, spec)) for i, spec in enumerate(logins)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def _block_size(self, key, lun):
        if key not in self.block_size:
            self.block_size[key] = self.sessions[key].read_capacity(lun).block_length
        return self.block_size[key]

    def op_write(self, key, lba, blocks, seed, lun=0):
        data = pattern(seed, lba, blocks, self._block_size(key, lun))
        self.sessions[key].write(lba, data, lun)
        return {"bytes": len(data)}

    def op_verify(self, key, lba, blocks, seed, lun=0):
        bs = self._block_size(key, lun)
        got = bytes(self.sessions[key].read(lba, blocks, lun))
        want = pattern(seed, lba, blocks, bs)
        bad = [lba + i for i in range(blocks) if got[i * bs:(i + 1) * bs] != want[i * bs:(i + 1) * bs]]
        return {"ok": not bad, "bad_blocks": bad[:16]}

    def op_discover(self, portal, name=None):
        return [{"name": t.name, "portals": list(t.portals)}
                for t in self.ini.discover(portal, self.settings(name, None, None))]

    def op_stats(self, key):
        return self.sessions[key].stats()

    def op_nop(self, key):
        return {"seconds": self.sessions[key].nop()}

    def op_state(self, key):
        s = self.sessions[key]
        return {"state": s.state, "tsih": s.tsih, "reinstatements": s.reinstatements}

    def op_events(self, key):
        return [{"type": str(e.type), "detail": e.detail, "conn_error": int(e.conn_error),
                 "system": e.system.timestamp() if hasattr(e.system, "timestamp") else e.system}
                for e in self.sessions[key].events()]

    def op_logout(self, key):
        self.sessions.pop(key).logout()
        return {}

    def op_drop(self, key):
        """Closes the session's connection without a logout (a crashed or cut-off instance)."""
        self.sessions.pop(key).close()
        return {}

    def op_keys(self):
        return sorted(self.sessions)


def main() -> None:
    w = Worker()
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        op = getattr(w, "op_" + req.pop("op"), None)
        rid = req.pop("id", None)
        try:
            if op is None:
                raise ValueError("unknown op")
            reply = {"id": rid, "result": op(**req)}
        except Exception as exc:
            reply = {"id": rid, "error": error(exc), "trace": traceback.format_exc(limit=3)}
        out.write(json.dumps(reply, default=str) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
