"""The `linux` initiator kind: the scenario runner's driver calls (initiator/driver.py) done by
open-iscsi and the kernel in the Linux initiator guest, so the same scenario runs on both kinds.

- Sessions: a node record per login (`iscsiadm -m node -o new`), the login's open-iscsi
  settings written into it (`-o update`, the same key names our settings use), then --login.
  open-iscsi keeps one session per node record and interface: a second session to the same
  target and portal is refused with a clear error here, not worked around.
- I/O: guest_io's jobs (O_DIRECT on the session's SCSI disk, the engine's block pattern), their
  records moved from the guest's CLOCK_MONOTONIC onto the host's.
- Events: the guest's kernel log (kernel_events), polled every POLL seconds and moved from the
  kernel's printk clock onto the host's; the end of a recovery is the session's sysfs state
  seen back at LOGGED_IN by the same poll (resolution: POLL plus one agent round trip).
- Multipath: the scenario's `multipath` step logs in one session per portal, then starts
  systemd-udevd and multipathd in the guest with multipath.conf written from the step's
  settings (multipath.conf's own names); the dm map over those sessions' disks is then used
  like a session by its key (I/O on its /dev/dm-N); its paths' states from the kernel's
  table (dmsetup) and sysfs, its path events from device-mapper's kernel lines.
- What open-iscsi cannot be asked for through this driver (a NOP on demand, dropping a
  connection without a logout, several sessions per node record) raises
  RemoteError type NotSupported naming the kind, so a scenario step says what it needs.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shlex
import threading
import time
from pathlib import Path
from typing import Callable

from ... import host
from ...errors import LabError
from ..process import RemoteError, core_build_dir
from . import kernel_events
from .guest import NO_OBJS_FOUND, LinuxInitiatorGuest, multipath_conf

POLL = 0.3
KIND = "linux"
# The guest sees the host's root over 9p except these, where it has its own file systems
# (vm/guest/init, stage2): a build under them (a CI clone in /tmp) is copied for it.
HIDDEN_IN_GUEST = (Path("/tmp"), Path("/run"), Path("/dev"), Path("/proc"), Path("/sys"))


def guest_visible(path: Path, cache: Path | None = None) -> Path:
    """`path` as the guest can open it: itself, or a copy in the cache (named by its content,
    written atomically; older copies removed) when it lies where the guest has its own tmpfs.
    The copy is hashed once per file version in this process, not once per cell (_core is
    about 70 MB)."""
    real = path.resolve()
    if not any(real == h or h in real.parents for h in HIDDEN_IN_GUEST):
        return real
    st = real.stat()
    return _copy_for_guest(real, st.st_mtime_ns, st.st_size, cache or host.CACHE_ROOT)


@functools.lru_cache(maxsize=8)
def _copy_for_guest(real: Path, mtime_ns: int, size: int, cache: Path) -> Path:
    data = real.read_bytes()
    folder = cache / "guest-visible"
    dest = folder / f"{hashlib.sha256(data).hexdigest()[:16]}-{real.name}"
    if not dest.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(f"*-{real.name}"):
            old.unlink(missing_ok=True)
        tmp = folder / f".{dest.name}.{os.getpid()}"
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    return dest


def not_supported(op: str, why: str) -> RemoteError:
    return RemoteError(op, {"type": "NotSupported",
                            "message": f"the Linux initiator kind cannot {why}"})


class LinuxDriver:
    def __init__(self, lab, name: str, on_events: Callable[[list[dict]], None] | None = None):
        from ... import _core
        self.names = {number: text for number, text, _ in _core.conn_errors()}
        self.core = str(guest_visible(next(core_build_dir().glob("_core*.so"))))
        self.on_events = on_events
        self.event_log: list[dict] = []
        self.lock = threading.RLock()
        self.sessions: dict[str, dict] = {}      # key -> {target, portal, sid, state, luns}
        self.reinstatements: dict[str, int] = {}
        self.iscsid_tail = ""
        self.guest = LinuxInitiatorGuest(lab, name=name, udev=False).start()
        try:
            self.kmsg = self.guest.clock()                  # printk clock vs host monotonic
            self.mono = self._mono_offset()                  # guest monotonic vs host's
            self.clock_info = {"kernel_log_offset_s": round(self.kmsg["offset"], 6),
                               "kernel_log_alignment_error_s": round(self.kmsg["error"], 6),
                               "io_clock_alignment_error_s": round(self.mono["error"], 6),
                               **{k: round(v, 3) for k, v in self.guest.timings.items()}}
            self.overhead0 = self.guest.agent.call("overhead", timeout=30)
            self.clock_info.update(
                {k: round(self.overhead0[k], 2) for k in ("sleep_late_median_ms",
                                                           "sleep_late_max_ms")})
            self.guest.agent.call("kmsg_new", patterns=kernel_events.PATTERNS)  # from here on
        except BaseException:
            self.guest.stop()
            raise
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, daemon=True, name="linux-events")
        self._poller.start()

    # ------------------------------------------------------------ clocks
    def _mono_offset(self, samples: int = 5) -> dict:
        best = None
        for _ in range(samples):
            before = time.monotonic_ns()
            guest_ns = self.guest.agent.call("clock")
            after = time.monotonic_ns()
            if best is None or after - before < best[1] - best[0]:
                best = (before, after, guest_ns)
        before, after, guest_ns = best
        return {"offset_ns": guest_ns - (before + after) // 2, "error": (after - before) / 2e9}

    def _host_ns(self, guest_ns: int) -> int:
        return guest_ns - self.mono["offset_ns"] if guest_ns else 0

    def _stamp_ns(self, stamp: float) -> int:
        return int((stamp - self.kmsg["offset"]) * 1e9)

    # ------------------------------------------------------------ events
    def _emit(self, events: list[dict]) -> None:
        if events:
            with self.lock:
                self.event_log.extend(events)
            if self.on_events:
                self.on_events(events)

    def _poll(self) -> None:
        while not self._stop.wait(POLL):
            try:
                self.poll_once()
            except LabError:
                if not self.guest.alive():
                    return

    def poll_once(self) -> None:
        t0 = time.monotonic_ns()
        got = self.guest.agent.call("poll", patterns=kernel_events.PATTERNS)
        seen_ns = (t0 + time.monotonic_ns()) // 2
        states = {int(sid): state for sid, state in got["states"].items()}
        with self.lock:
            by_sid = {s["sid"]: key for key, s in self.sessions.items() if "sid" in s}
            by_dm = {s["devno"]: key for key, s in self.sessions.items() if "devno" in s}
        out = []
        parsed = [e for stamp, text in got["lines"]
                  for e in kernel_events.parse(stamp, text, self.names)]
        by_disk, disk_of = {}, {}
        if any("sid" not in e for e in parsed):     # a disk's line: which session has it
            live = self.guest.sessions()
            by_disk = {d["dev"].removeprefix("/dev/"): s["sid"] for s in live for d in s["disks"]}
            disk_of = {d["devno"]: d["dev"].removeprefix("/dev/") for s in live
                       for d in s["disks"]}
        for e in parsed:
            if "dm" in e:                       # a multipath map's path: the map's event
                key = by_dm.get(e.pop("dm"))
                path = e.pop("path")
                e["detail"] = f"{disk_of.get(path, path)}: {e['detail']}"
            else:
                key = by_sid.get(e.pop("sid") if "sid" in e else by_disk.get(e.pop("disk")))
            if key is not None:
                out.append({"session": key, "steady_ns": self._stamp_ns(e.pop("stamp")), **e})
        for sid, key in by_sid.items():
            now = states.get(sid, "FREE")
            with self.lock:
                before = self.sessions[key]["state"]
                self.sessions[key]["state"] = now
            if now == before:
                continue
            # The detail is the new state alone, as ours: a probe reads it for the state reached.
            out.append(self._event(key, "state_change", seen_ns, now))
            if before == "FAILED" and now == "LOGGED_IN":
                self.reinstatements[key] = self.reinstatements.get(key, 0) + 1
                out += [self._event(key, "recovery_ended", seen_ns, "the session is LOGGED_IN "
                                    "again (sysfs state, seen by the driver's poll)"),
                        self._event(key, "login", seen_ns, "relogin after recovery")]
        self._emit(sorted(out, key=lambda e: e["steady_ns"]))

    @staticmethod
    def _event(key: str, kind: str, steady_ns: int, detail: str) -> dict:
        return {"session": key, "type": kind, "steady_ns": steady_ns, "conn_error": 0,
                "conn_error_name": None, "detail": detail}

    # ------------------------------------------------------------ sessions
    def _session(self, key: str) -> dict:
        with self.lock:
            try:
                return self.sessions[key]
            except KeyError:
                raise RemoteError("session", {"type": "KeyError",
                                              "message": f"no session {key!r}"}) from None

    def _live(self, sid: int) -> dict | None:
        return next((s for s in self.guest.sessions() if s["sid"] == sid), None)

    def _disk(self, key: str, lun: int) -> dict:
        s = self._session(key)
        if "devno" in s:                       # a multipath map: one LU, its first path's size
            return {**s["disks"][s["paths"][0]], "dev": s["node"]}
        live = self._live(s["sid"])
        disk = next((d for d in (live or {}).get("disks", []) if d["lun"] == lun), None)
        if disk is None:
            raise RemoteError("disk", {"type": "LookupError", "message":
                                       f"session {key} has no SCSI disk for LUN {lun}"})
        return disk

    def _dev(self, key: str, lun: int) -> str:
        """The device node of a session's LUN (or the map's), from what the login or the last
        rescan saw: a SCSI disk keeps its node through a relogin, and a verify reads it once per
        chunk, so it is not looked up in the guest each time."""
        s = self._session(key)
        if "devno" in s:
            return s["node"]
        dev = s.setdefault("devs", {}).get(lun)
        if dev is None:
            dev = s["devs"][lun] = self._disk(key, lun)["dev"]
        return dev

    def _iscsiadm(self, op: str, *args: str, ok=(0,), timeout: float = 60) -> str:
        try:
            return self.guest.iscsiadm(*args, ok=ok, timeout=timeout)
        except LabError as exc:
            raise RemoteError(op, {"type": "IscsiadmError", "message": str(exc)}) from None

    def _node_settings(self, target: str, portal: str, settings: dict) -> None:
        """The node record, created afresh with the login's settings written into it: one
        shell in the guest for all of them (an iscsiadm per setting costs a second under TCG)."""
        base = ["iscsiadm", "-m", "node", "-T", target, "-p", portal]
        cmds = [base + ["-o", "new"]]
        for k, v in settings.items():
            if k in ("iface.initiatorname", "iface.isid"):
                continue        # the guest's InitiatorName is fixed at start; the kernel picks ISIDs
            if not k.startswith("node."):
                raise RemoteError("login", {"type": "NotSupported", "message":
                                            f"setting {k}: the Linux initiator kind takes node.* "
                                            "settings for a login"})
            cmds.append(base + ["-o", "update", "-n", k, "-v", str(v)])
        script = " && ".join(shlex.join(c) + " >/dev/null" for c in cmds)
        res = self.guest.agent.call("run", argv=["sh", "-c", script], timeout=120)
        if res["rc"] != 0:
            raise RemoteError("login", {"type": "IscsiadmError", "message":
                                        f"writing the node record for {target} at {portal}: "
                                        f"{(res['stdout'] + res['stderr']).strip()[-600:]}"})

    def login(self, key: str, target: str, portal: str, isid: str | None = None,
              name: str | None = None, settings: dict | None = None, timeout: float = 120) -> dict:
        with self.lock:
            other = next((k for k, s in self.sessions.items()
                          if s.get("target") == target and s.get("portal") == portal), None)
        if other is not None:
            raise not_supported("login", f"open a second session to {target} at {portal} "
                                f"(session {other} has it; open-iscsi keeps one per node record)")
        before = {s["sid"] for s in self.guest.sessions()}
        self._node_settings(target, portal, settings or {})
        t0 = time.monotonic_ns()
        self._iscsiadm("login", "-m", "node", "-T", target, "-p", portal, "--login",
                       timeout=timeout)
        t1 = time.monotonic_ns()
        new = [s for s in self.guest.sessions() if s["sid"] not in before
               and s["target"] == target]
        if not new:
            raise RemoteError("login", {"type": "LoginError", "message":
                                        f"iscsiadm logged in to {target}, but no session appeared"})
        s = new[0]
        deadline = time.monotonic() + 60
        while not s["disks"]:                  # the kernel scans the LUNs after the login
            if time.monotonic() > deadline:
                raise RemoteError("login", {"type": "LoginError", "message":
                                            f"no SCSI disk of {target} at {portal} appeared "
                                            "within 60 s of the login"})
            time.sleep(0.5)
            s = self._live(s["sid"]) or s
        disks = s["disks"]
        with self.lock:
            self.sessions[key] = {"target": target, "portal": portal, "sid": s["sid"],
                                  "state": s["state"], "luns": self._luns(disks)}
        params = {k: _param(k, v) for k, v in s["params"].items() if k not in ("isid", "tsih")}
        tsih = int(s["params"].get("tsih") or 0)
        self._emit([self._event(key, "login", t1, f"TSIH {tsih:#06x}, {portal}")])
        return {"tsih": tsih, "isid": s["params"].get("isid") or "", "seconds": (t1 - t0) / 1e9,
                "start_ns": t0, "end_ns": t1, "params": params, "sid": s["sid"]}

    def login_many(self, target: str, specs: list[dict], settings: dict | None = None,
                   timeout: float = 300) -> list[dict]:
        """One login after the other (iscsiadm logs in one node at a time): each result, success
        or error, as our initiator's login_many gives them."""
        results = []
        for spec in specs:
            t0 = time.monotonic_ns()
            r = {"key": spec["key"], "start_ns": t0, "started": t0 / 1e9}
            try:
                info = self.login(spec["key"], target, spec["portal"],
                                  settings=spec.get("settings", settings))
                r.update({"ok": True, "tsih": info["tsih"], "isid": info["isid"]})
            except RemoteError as exc:
                r.update({"ok": False, "error": exc.error})
            r["end_ns"] = time.monotonic_ns()
            r["ended"] = r["end_ns"] / 1e9
            r["seconds"] = (r["end_ns"] - t0) / 1e9
            results.append(r)
        return results

    def logout(self, key: str, timeout: float = 120) -> dict:
        s = self._session(key)
        if "devno" in s:        # a multipath map: flushed when multipathd stops, with the guest
            with self.lock:
                self.sessions.pop(key, None)
            return {}
        self._iscsiadm("logout", "-m", "node", "-T", s["target"], "-p", s["portal"], "--logout",
                       ok=(0, NO_OBJS_FOUND), timeout=timeout)
        self._iscsiadm("logout", "-m", "node", "-T", s["target"], "-p", s["portal"], "-o",
                       "delete", ok=(0, NO_OBJS_FOUND))
        with self.lock:
            self.sessions.pop(key, None)
        self._emit([self._event(key, "logout", time.monotonic_ns(), "iscsiadm --logout")])
        return {}

    def drop(self, key: str):
        raise not_supported("drop", "drop a session's connection without a logout")

    def state(self, key: str, timeout: float = 30) -> dict:
        s = self._session(key)
        if "devno" in s:
            raise not_supported("state", f"give a session state for the multipath map {key}")
        live = self._live(s["sid"])
        return {"state": live["state"] if live else "FREE",
                "tsih": int((live or {}).get("params", {}).get("tsih") or 0),
                "reinstatements": self.reinstatements.get(key, 0)}

    def stats(self, key: str, timeout: float = 30) -> dict:
        """`iscsiadm -m session -r SID -s`: the same names our stats use."""
        out = self._iscsiadm("stats", "-m", "session", "-r", str(self._session(key)["sid"]), "-s")
        stats = {}
        for line in out.splitlines():
            name, sep, value = line.strip().partition(":")
            if sep and value.strip().isdigit():
                stats[name.strip()] = int(value)
        return stats

    def nop(self, key: str, timeout: float = 60):
        raise not_supported("nop", "send a NOP-Out on demand (the kernel pings on its own timer)")

    # The task management functions user space can ask the kernel for: sg_reset's ioctl
    # (SG_SCSI_RESET) reaches the iSCSI driver's error handler, which sends the TMF
    # (libiscsi.c iscsi_eh_device_reset, iscsi_eh_target_reset). ABORT TASK has no such way.
    SG_RESET = {"lun_reset": "-d", "target_warm_reset": "-t"}

    def tmf(self, key: str, function: str, lun: int = 0, handle=None, timeout: float = 60) -> dict:
        if function not in self.SG_RESET:
            raise not_supported("tmf", f"send {function} (sg3-utils' sg_reset asks the kernel for "
                                f"{', '.join(self.SG_RESET)} only)")
        dev = self._dev(key, lun)
        res = self._guest("run", argv=["sg_reset", self.SG_RESET[function], dev],
                          timeout=timeout + 10)
        if res["rc"] != 0:
            raise RemoteError("tmf", {"type": "TmfError", "message":
                                      f"sg_reset {self.SG_RESET[function]} {dev} exited "
                                      f"{res['rc']}: {(res['stdout'] + res['stderr']).strip()}"})
        return {"response": "function_complete",
                "words": f"sg_reset {self.SG_RESET[function]} {dev}: the kernel's reset succeeded"}

    def mp_create(self, name: str, keys: list[str], lun: int = 0, settings: dict | None = None,
                  timeout: float = 120) -> dict:
        """dm-multipath over the sessions `keys`: udevd and multipathd started (multipath.conf
        from `settings`), then the map whose paths are exactly their disks of LUN `lun`."""
        if self.guest.multipath is not None:
            raise not_supported("mp_create", "run a second multipathd configuration in one guest")
        disks = sorted(self._disk(k, lun)["dev"].removeprefix("/dev/") for k in keys)
        try:
            conf = multipath_conf(settings)
            self.guest.agent.call("udev_start", timeout=120)
            self.guest.multipath = dict(settings or {})     # stop() takes multipathd down
            self.guest.agent.call("multipathd_start", conf=conf, timeout=90)
        except LabError as exc:
            raise RemoteError("mp_create", {"type": "MultipathError", "message": str(exc)}) from None
        deadline = time.monotonic() + 30
        while True:
            found = [m for m in self.guest.maps() if m["slaves"] == disks]
            if found:
                break
            if time.monotonic() > deadline:
                raise RemoteError("mp_create", {"type": "MultipathError", "message":
                                                f"multipathd made no map over {', '.join(disks)} "
                                                f"within 30 s (maps: {self.guest.maps()})"})
            time.sleep(0.5)
        m = found[0]
        with self.lock:
            # /dev/dm-N (devtmpfs: there as soon as the map is) rather than /dev/mapper/NAME,
            # which udev's rules make a moment later.
            self.sessions[name] = {"map": m["name"], "node": f"/dev/{m['dm']}",
                                   "devno": m["devno"], "paths": list(keys),
                                   "lun": lun, "target": None, "portal": None,
                                   "disks": {k: self._disk(k, lun) for k in keys}}
        return {"wwid": m["uuid"].removeprefix("mpath-"), "paths": disks, "map": m["name"]}

    def mp_status(self, name: str, timeout: float = 30) -> dict:
        """The map's paths as the kernel has them: each path's dm state (active/failed, from
        the table's status: the source of the path_failed events) and its SCSI device's state
        as path_state (running -> up, else down); the map's no_path_state (serving while a
        path is active, else queueing or failing as its queue_if_no_path feature says).
        multipathd's checker states are not asked for: a probe with multipathd clients in it
        took 3-6 s in the loaded TCG guest, longer than the bounds it checks."""
        s = self._session(name)
        disks = {s["disks"][k]["dev"].removeprefix("/dev/"): s["disks"][k] for k in s["paths"]}
        got = self._guest("mp_paths", map=s["map"], disks=sorted(disks))
        if got["rc"] != 0:
            raise RemoteError("mp_status", {"type": "MultipathError", "message":
                                            f"dmsetup status {s['map']} exited {got['rc']}"})
        kernel = dm_path_states(got["status"])
        paths = []
        for dev, disk in sorted(disks.items()):
            state = got["device_states"].get(dev) or "gone"
            paths.append({"path": dev, "dm_state": kernel.get(disk["devno"], "absent"),
                          "path_state": "up" if state == "running" else "down",
                          "checker_state": f"device {state}", "alua": ""})
        serving = any(p["dm_state"] == "active" for p in paths)
        queueing = "queue_if_no_path" in got["table"]     # the table's features
        state = "serving" if serving else ("queueing" if queueing else "failing")
        return {"paths": paths, "device": {"no_path_state": state}}

    def discover(self, portal: str, settings: dict | None = None, timeout: float = 60) -> list:
        found: dict[str, list[str]] = {}
        try:
            for target, address in self.guest.discover(portal):
                found.setdefault(target, []).append(address)
        except LabError as exc:
            raise RemoteError("discover", {"type": "DiscoveryError", "message": str(exc)}) from None
        return [{"name": t, "portals": p} for t, p in found.items()]

    @staticmethod
    def _luns(disks: list[dict]) -> dict:
        return {str(d["lun"]): {"blocks": d["bytes"] // d["block_size"],
                                "block_length": d["block_size"], "bytes": d["bytes"],
                                "vendor": d.get("vendor", ""), "product": d.get("product", "")}
                for d in disks}

    def rescan(self, key: str, timeout: float = 120) -> dict:
        """`iscsiadm -m session -r SID -R` (new LUNs scanned, every disk's capacity read again),
        compared with what the session had before."""
        s = self._session(key)
        self._iscsiadm("rescan", "-m", "session", "-r", str(s["sid"]), "-R", timeout=timeout)
        live = self._live(s["sid"])
        now = self._luns((live or {}).get("disks", []))
        old = s["luns"]
        with self.lock:
            s["luns"] = now
            s["devs"] = {d["lun"]: d["dev"] for d in (live or {}).get("disks", [])}
        return {"luns": now, "added": sorted(int(l) for l in now if l not in old),
                "removed": sorted(int(l) for l in old if l not in now),
                "resized": sorted(int(l) for l in now if l in old
                                  and now[l]["bytes"] != old[l]["bytes"])}

    def capacity(self, key: str, lun: int = 0, timeout: float = 30) -> dict:
        d = self._disk(key, lun)
        return {"blocks": d["bytes"] // d["block_size"], "block_length": d["block_size"]}

    # ------------------------------------------------------------ I/O
    def _guest(self, op: str, timeout: float = 60, **args):
        try:
            return self.guest.agent.call(op, timeout=timeout, **args)
        except LabError as exc:
            raise RemoteError(op, {"type": "GuestError", "message": str(exc)}) from None

    def io_start(self, job: str, key: str, spec: dict, timeout: float = 60) -> dict:
        return self._guest("io_start", job=job, dev=self._dev(key, spec.get("lun", 0)),
                           spec=spec, core=self.core)

    def io_drain(self, job: str, timeout: float = 60) -> list:
        out = []
        for write, lba, blocks, gen, start, end, ok, err in self._guest("io_drain", job=job):
            out.append([write, lba, blocks, gen, self._host_ns(start), self._host_ns(end), ok, err])
        return out

    def io_stop(self, job: str, timeout: float = 60) -> dict:
        self._guest("io_stop", job=job)
        return {}

    def io_wait(self, job: str, seconds: float, timeout: float | None = None) -> bool:
        return self._guest("io_wait", job=job, seconds=seconds, timeout=seconds + 60)

    def io_in_flight(self, job: str, timeout: float = 60) -> list:
        return [f[:5] + [self._host_ns(f[5])] for f in self._guest("io_in_flight", job=job)]

    def io_summary(self, job: str, timeout: float = 60) -> dict:
        s = self._guest("io_summary", job=job)
        for k in ("first_start_ns", "last_end_ns"):
            s[k] = self._host_ns(s[k])
        return s

    def read_decode(self, key: str, lba: int, blocks: int, lun: int = 0,
                    timeout: float = 300) -> list:
        return self._guest("read_decode", dev=self._dev(key, lun), lba=lba, blocks=blocks,
                           core=self.core, timeout=timeout)

    # ------------------------------------------------------------ end
    def close(self, grace: float = 30) -> dict:
        """Logs every session out and stops the guest; returns what was left in it. Before
        that, the guest's timer slack again and its CPU busy share since the start go into
        clock_info (what TCG added to the intervals measured through this guest)."""
        self._stop.set()
        self._poller.join(timeout=5)
        try:
            end = self.guest.agent.call("overhead", timeout=30)
            total = end["cpu_total"] - self.overhead0["cpu_total"]
            self.clock_info.update({
                "guest_cpu_busy_share": round((end["cpu_busy"] - self.overhead0["cpu_busy"])
                                              / total, 3) if total else None,
                "sleep_late_median_ms_at_end": round(end["sleep_late_median_ms"], 2),
                "sleep_late_max_ms_at_end": round(end["sleep_late_max_ms"], 2)})
        except LabError:
            pass
        self.iscsid_tail = self.stderr_tail(4000)
        self.left = self.guest.stop()
        return self.left

    def kill(self) -> None:
        """The guest goes at once: its connections drop without a logout."""
        self._stop.set()
        self._poller.join(timeout=5)
        self.iscsid_tail = self.stderr_tail(4000)
        self.left = self.guest.stop(clean=False)

    def stderr_tail(self, n: int = 2000) -> str:
        """iscsid's log: read from the guest while it runs, else what close() kept of it."""
        if not self.guest.alive():
            return self.iscsid_tail[-n:]
        try:
            return self.guest.iscsid_log()[-n:]
        except (LabError, OSError):
            return self.iscsid_tail[-n:]


BOOLEAN_KEYS = ("InitialR2T", "ImmediateData", "DataPDUInOrder", "DataSequenceInOrder")
# The kernel shows a negotiated digest as 0 or 1 (hdrdgst_en, datadgst_en).
DIGEST_KEYS = ("HeaderDigest", "DataDigest")


def _param(key: str, value: str | None):
    """A sysfs value as our negotiated parameters show it: the kernel's 1/0 as Yes/No for the
    boolean keys and CRC32C/None for the digests, numbers as numbers."""
    if value is None:
        return None
    if key in BOOLEAN_KEYS:
        return "Yes" if value == "1" else "No"
    if key in DIGEST_KEYS and value in ("0", "1"):
        return "CRC32C" if value == "1" else "None"
    return int(value) if value.isdigit() else value


def dm_path_states(status: str) -> dict[str, str]:
    """Each path's state in the kernel's multipath table status (`dmsetup status MAP`: after
    the path group fields, each path as "MAJ:MIN A|F fail_count ..."): {"8:16": "active" or
    "failed"}."""
    tokens = status.split()
    out = {}
    for i, tok in enumerate(tokens[:-1]):
        if ":" in tok and tok.replace(":", "").isdigit() and tokens[i + 1] in ("A", "F"):
            out[tok] = "active" if tokens[i + 1] == "A" else "failed"
    return out
