"""The child side of InitiatorProcess: one iscsilab._core.Initiator in the lab's namespace,
sessions and I/O jobs by key, driven by JSON lines (iscsilab.rpc) on stdin and stdout.

Requests run concurrently (each in a thread of a pool), so a login that waits on a frozen target
does not hold up a NOP on another session or the polling of a background job. Every session's
event log is pushed to the host as it grows (a `events` notice every 50 ms), each event with its
steady-clock time in nanoseconds: CLOCK_MONOTONIC, the clock of the host's time.monotonic().

Data written by the old `write`/`verify` ops is derived from (seed, lba); I/O jobs use the
engine's block pattern instead (each block names its LBA and write generation).
"""
from __future__ import annotations

import random
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

# The compiled module lives in the build tree: iscsilab/__init__.py looks in ISCSILAB_BUILD_DIR,
# which InitiatorProcess sets.
from iscsilab import _core, rpc
from iscsilab.initiator.region import job_region

EVENT_PERIOD = 0.05
VERIFY_CHUNK = 1024       # blocks per READ while verifying


def pattern(seed: int, lba: int, blocks: int, block_size: int) -> bytes:
    out = bytearray()
    for i in range(blocks):
        out += random.Random(f"{seed}:{lba + i}").randbytes(block_size)
    return bytes(out)


def error(exc: BaseException) -> dict:
    code = getattr(exc, "code", None)
    out = {"type": type(exc).__name__, "message": str(exc),
           "code": code if isinstance(code, (int, str)) else None}
    for attr in ("status", "conn_error", "conn_error_name", "sense_key", "asc", "ascq"):
        value = getattr(exc, attr, None)
        if isinstance(value, (int, str)):
            out[attr] = value
    return out


def event_dict(key: str, e) -> dict:
    """A session's event, or a multipath device's (no connection error; the path instead)."""
    path = getattr(e, "path", "")
    return {"session": key, "type": str(e.type), "steady_ns": e.steady_ns,
            "conn_error": int(getattr(e, "conn_error", 0)),
            "conn_error_name": getattr(e, "conn_error_name", None),
            "detail": (f"{path}: " if path else "") + e.detail}


class Worker:
    def __init__(self, out):
        self.out = out
        self.out_lock = threading.Lock()
        self.ini = _core.Initiator()
        self.lock = threading.Lock()
        self.sessions: dict[str, object] = {}
        self.seen: dict[str, int] = {}          # events already pushed, per session
        self.jobs: dict[str, object] = {}
        self.devices: dict[str, object] = {}     # multipath devices, used like sessions by key
        self.block_size: dict[tuple[str, int], int] = {}
        self.stopping = threading.Event()
        self.events_lock = threading.Lock()

    def send(self, data: bytes) -> None:
        with self.out_lock:
            self.out.write(data.decode())
            self.out.flush()

    def session(self, key: str):
        """A session, or a multipath device (same I/O calls), by key."""
        if key in self.devices:
            return self.devices[key]
        try:
            return self.sessions[key]
        except KeyError:
            raise KeyError(f"no session or multipath device {key!r} in this initiator") from None

    def settings(self, name: str | None, isid: str | None, extra: dict | None) -> dict:
        s = dict(extra or {})
        if name:
            s["iface.initiatorname"] = name
        if isid:
            s["iface.isid"] = isid
        return s

    # ---- events, pushed
    def pump_events(self) -> None:
        while not self.stopping.wait(EVENT_PERIOD):
            self.flush_events()

    def flush_events(self) -> None:
        with self.events_lock:   # one flusher at a time: each event is sent once, in order
            self._flush_events()

    def _flush_events(self) -> None:
        batch = []
        with self.lock:
            sessions = list(self.sessions.items()) + list(self.devices.items())
        for key, s in sessions:
            try:
                log = s.events()
            except _core.SessionClosedError:
                continue
            start = self.seen.get(key, 0)
            if len(log) > start:
                batch += [event_dict(key, e) for e in log[start:]]
                self.seen[key] = len(log)
        if batch:
            self.send(rpc.notice("events", batch))

    # ---- sessions
    def op_login(self, key, target, portal, name=None, isid=None, settings=None):
        t0 = time.monotonic_ns()
        s = self.ini.login(target, portal, self.settings(name, isid, settings))
        t1 = time.monotonic_ns()
        with self.lock:
            self.sessions[key] = s
        return {"tsih": s.tsih, "isid": f"{s.isid:012x}", "seconds": (t1 - t0) / 1e9,
                "start_ns": t0, "end_ns": t1, "params": s.params}

    def op_login_many(self, target, logins, settings=None):
        """Leading logins started at the same moment from threads (a barrier), one per entry of
        `logins` ({"key", "portal", "name", "isid"}); every result, success or error."""
        barrier = threading.Barrier(len(logins))
        results: list[dict] = [{} for _ in logins]

        def one(i, spec):
            barrier.wait()
            t0 = time.monotonic_ns()
            results[i]["start_ns"] = t0
            results[i]["started"] = t0 / 1e9
            try:
                s = self.ini.login(target, spec["portal"],
                                   self.settings(spec.get("name"), spec.get("isid"),
                                                 spec.get("settings", settings)))
                with self.lock:
                    self.sessions[spec["key"]] = s
                results[i].update({"key": spec["key"], "ok": True, "tsih": s.tsih,
                                   "isid": f"{s.isid:012x}"})
            except Exception as exc:  # each login's own outcome is the result
                results[i].update({"key": spec["key"], "ok": False, "error": error(exc)})
            results[i]["end_ns"] = time.monotonic_ns()
            results[i]["ended"] = results[i]["end_ns"] / 1e9
            results[i]["seconds"] = (results[i]["end_ns"] - t0) / 1e9

        threads = [threading.Thread(target=one, args=(i, spec)) for i, spec in enumerate(logins)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def op_logout(self, key):
        s = self.session(key)
        s.logout()
        self.flush_events()
        with self.lock:
            self.sessions.pop(key, None)
        return {}

    def op_drop(self, key):
        """Closes the session's connection without a logout (a crashed or cut-off instance)."""
        with self.lock:
            s = self.sessions.pop(key)
        s.close()
        return {}

    def op_discover(self, portal, name=None, settings=None):
        return [{"name": t.name, "portals": list(t.portals)}
                for t in self.ini.discover(portal, self.settings(name, None, settings))]

    def op_stats(self, key):
        return self.session(key).stats()

    def op_nop(self, key):
        return {"seconds": self.session(key).nop()}

    def op_state(self, key):
        s = self.session(key)
        return {"state": s.state, "tsih": s.tsih, "reinstatements": s.reinstatements}

    def op_events(self, key):
        return [event_dict(key, e) for e in self.session(key).events()]

    def op_rescan(self, key):
        r = self.session(key).rescan()
        return {"luns": {str(l.lun): {"blocks": l.capacity.blocks,
                                      "block_length": l.capacity.block_length,
                                      "bytes": l.capacity.bytes,
                                      "vendor": l.inquiry.vendor.strip(),
                                      "product": l.inquiry.product.strip()} for l in r.luns},
                "added": list(r.added), "removed": list(r.removed), "resized": list(r.resized)}

    def op_capacity(self, key, lun=0):
        if key in self.devices:
            c = self.devices[key].capacity
        else:
            c = self.session(key).read_capacity(lun)
        self.block_size[(key, lun)] = c.block_length
        return {"blocks": c.blocks, "block_length": c.block_length}

    # ---- multipath devices
    def op_mp_create(self, name, keys, lun=0, settings=None):
        """One device over the sessions `keys` (they must reach the same LU)."""
        device = _core.Multipath([self.sessions[k] for k in keys], lun, settings or {})
        with self.lock:
            self.devices[name] = device
        return {"wwid": device.wwid, "paths": list(device.paths)}

    def op_mp_status(self, name):
        d = self.devices[name]
        return {"paths": d.status(), "device": d.device_status()}

    def op_tmf(self, key, function, lun=0, handle=None):
        s = self.session(key)
        if function == "abort_task":
            r = s.abort_task(handle, lun)
        elif function in ("target_warm_reset", "target_cold_reset"):
            r = getattr(s, function)()
        else:
            r = getattr(s, function)(lun)
        return {"response": r.name, "words": r.words}

    def op_read(self, key, lba, blocks, lun=0):
        """READ(16); the data is not sent back, only how much came (errors carry the sense)."""
        return {"bytes": len(self.session(key).read(lba, blocks, lun))}

    def op_vpd(self, key, page, lun=0):
        return self.session(key).inquiry_vpd(page, lun).hex()

    def op_keys(self):
        return sorted(self.sessions)

    # ---- the old fixed-pattern data ops (demo, guard tests)
    def _block_size(self, key, lun):
        if (key, lun) not in self.block_size:
            self.op_capacity(key, lun)
        return self.block_size[(key, lun)]

    def op_write(self, key, lba, blocks, seed, lun=0):
        data = pattern(seed, lba, blocks, self._block_size(key, lun))
        self.session(key).write(lba, data, lun)
        return {"bytes": len(data)}

    def op_verify(self, key, lba, blocks, seed, lun=0):
        bs = self._block_size(key, lun)
        got = bytes(self.session(key).read(lba, blocks, lun))
        want = pattern(seed, lba, blocks, bs)
        bad = [lba + i for i in range(blocks) if got[i * bs:(i + 1) * bs] != want[i * bs:(i + 1) * bs]]
        return {"ok": not bad, "bad_blocks": bad[:16]}

    # ---- I/O jobs (the engine's IoJob: queue depth, block pattern, completion records)
    def op_io_start(self, job, key, spec):
        """Starts an I/O job over the LUN's region: `first_lba` + `lba_count`, or `size` bytes,
        or all of it; `slice: [k, n]` takes the k-th of n equal parts (one per session);
        `one_pass` ends it after as many commands as the region holds."""
        s = self.session(key)
        lun = spec.get("lun", 0)
        cap = self.op_capacity(key, lun)
        bs, blocks = cap["block_length"], cap["blocks"]
        first, count = job_region(spec, blocks, bs, f"LUN {lun}")
        per_io = max(1, spec.get("io_size", 4096) // bs)
        max_ios = spec.get("max_ios", 0)
        if spec.get("one_pass"):
            max_ios = -(-count // per_io)
        lun_arg = {} if key in self.devices else {"lun": lun}     # a device is one LU
        io = s.start_io(op=spec["op"], lba_count=count, first_lba=first, block_size=bs, **lun_arg,
                        blocks_per_io=min(per_io, count), queue_depth=spec.get("queue_depth", 1),
                        random=spec.get("random", False), seed=spec.get("seed", 1),
                        max_ios=max_ios, seconds=spec.get("seconds", 0.0),
                        writer_id=spec.get("writer_id", 1),
                        read_percent=spec.get("read_percent", 50))
        with self.lock:
            self.jobs[job] = io
        return {"block_size": bs, "first_lba": first, "lba_count": count, "blocks_per_io": per_io,
                "capacity_blocks": blocks}

    def op_io_drain(self, job):
        return self.jobs[job].drain()

    def op_io_stop(self, job):
        self.jobs[job].stop()
        return {}

    def op_io_wait(self, job, seconds):
        return {"done": self.jobs[job].wait(seconds)}

    def op_io_in_flight(self, job):
        return self.jobs[job].in_flight()

    def op_io_summary(self, job):
        return self.jobs[job].summary()

    def op_read_decode(self, key, lba, blocks, lun=0):
        """Reads [lba, lba + blocks) and decodes every block's pattern header: a list of
        [kind, lba it names, generation] per block, for the host's integrity check."""
        bs = self._block_size(key, lun)
        s = self.session(key)
        out = []
        read = (lambda a, n: s.read(a, n)) if key in self.devices else (lambda a, n: s.read(a, n, lun))
        for start in range(lba, lba + blocks, VERIFY_CHUNK):
            n = min(VERIFY_CHUNK, lba + blocks - start)
            out += [list(b) for b in _core.decode_blocks(read(start, n), bs)]
        return out


def main() -> None:
    w = Worker(sys.stdout)
    pump = threading.Thread(target=w.pump_events, daemon=True, name="events")
    pump.start()
    pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="op")

    def serve(rid, op, args):
        try:
            result = op(**args)
            w.flush_events()   # events a call caused reach the host before its reply
            w.send(rpc.reply_ok(rid, result))
        except Exception as exc:
            w.flush_events()
            w.send(rpc.reply_error(rid, {**error(exc), "trace": traceback.format_exc(limit=3)}))

    for line in sys.stdin:
        if not line.strip():
            continue
        req = rpc.decode(line)
        rid, name = req.get("id"), req.get("op", "")
        op = getattr(w, "op_" + name, None)
        if op is None:
            w.send(rpc.reply_error(rid, {"type": "ValueError", "message": f"unknown op {name!r}"}))
            continue
        pool.submit(serve, rid, op, req.get("args") or {})
    # stdin closed: the host is done. Finish what runs, log every session out, stop the engine
    # here and now (not from whichever thread drops the last reference at exit).
    pool.shutdown(wait=True)
    w.stopping.set()
    pump.join()
    for device in w.devices.values():
        device.close()
    for key in list(w.sessions):
        try:
            w.sessions[key].logout()
        except Exception:  # noqa: BLE001 - the host is gone; nothing to report to
            pass
    for job in w.jobs.values():
        job.stop()
    w.jobs.clear()
    w.sessions.clear()
    w.ini.close()


if __name__ == "__main__":
    main()
