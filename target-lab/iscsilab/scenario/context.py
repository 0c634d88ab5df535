"""The state of one running cell: its lab, its initiators and their sessions, background I/O
jobs, labels, the recorder and the integrity map. Steps (steps.py) and expectations (expect.py)
act through it; the runner makes one per cell and closes it at the end.
"""
from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

from ..errors import LabError
from ..initiator import driver as drivers
from .integrity import IntegrityMap
from .model import Cell, Step
from .record import Recorder

_writer_ids = itertools.count(1)   # one write generation space for a whole run (all cells)


class StepFailed(Exception):
    """A step did not do what it should; the message says what happened instead."""


@dataclass
class SessionRef:
    name: str
    initiator: str
    target: str
    portal: str                    # ip:port
    settings: dict = field(default_factory=dict)


@dataclass
class Job:
    name: str
    initiator: str
    session: str
    target: str
    lun: int
    op: str
    block_size: int
    first_lba: int
    lba_count: int
    background: bool
    started: float                 # monotonic
    done: bool = False
    ended: float | None = None
    summary: dict = field(default_factory=dict)


class Progress:
    """What the runner is doing, for a person watching: set by steps, shown by the runner."""

    def __init__(self):
        self.step = ""
        self.waiting = ""

    def waiting_for(self, text: str) -> None:
        self.waiting = text


class Context:
    def __init__(self, cell: Cell, lab, recorder: Recorder, progress: Progress | None = None):
        self.cell = cell
        self.lab = lab
        self.rec = recorder
        self.progress = progress or Progress()
        self.integrity = IntegrityMap()
        self.drivers: dict[str, object] = {}
        self.adm = None                        # scenario.adm.AdmDaemon, on the first iscsiadm step
        self.sessions: dict[str, dict[str, SessionRef]] = {i.id: {} for i in cell.initiators}
        self.current: dict[str, str | None] = {i.id: None for i in cell.initiators}
        self.jobs: dict[str, Job] = {}
        self.labels: dict[str, dict[str, float]] = {}
        self.last_end = time.monotonic()
        self.proxy = None
        self.timers: list[threading.Timer] = []
        self.lio_changes: list[tuple] = []     # portal/tpg faults to undo at the end
        self.active_faults: dict[tuple, dict] = {}  # fault bodies now on, by what they hit
        self.mutated_lab = False               # lun/target steps: the lab cannot be reused as is
        self.added_backstores: dict[tuple, list[str]] = {}
        self.isid_counter: dict[str, int] = {}
        self.lock = threading.RLock()
        self.drain_lock = threading.Lock()
        # The guest's kernel log from here on is this cell's: its uptime now, and ours.
        self.guest_epoch = None
        if any(s.kind == "expect" and s.body.get("subject") == "lio_log" for s in cell.steps):
            self.guest_epoch = self._mark_guest_log()
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_jobs, daemon=True, name="jobs")
        self._poller.start()

    # ---- initiators
    def driver(self, ident: str):
        with self.lock:
            if ident not in self.drivers:
                spec = self.cell.initiator(ident)
                self.drivers[ident] = drivers.start(
                    spec.kind, self.lab, spec.name,
                    on_events=lambda evs, i=ident: self.rec.add_events(i, evs))
                clock = getattr(self.drivers[ident], "clock_info", None)
                if clock:      # a guest's clocks, placed on ours, and its start-up times
                    self.rec.lab_info[f"{ident} ({spec.kind})"] = clock
            return self.drivers[ident]

    def session(self, initiator: str, name: str | None) -> SessionRef:
        name = name or self.current.get(initiator)
        if name is None or name not in self.sessions[initiator]:
            raise StepFailed(f"initiator {initiator} has no session"
                             + (f" {name!r}" if name else " logged in"))
        return self.sessions[initiator][name]

    def sessions_of(self, initiator: str, name: str | None) -> list[SessionRef]:
        if name == "all":
            return list(self.sessions[initiator].values())
        return [self.session(initiator, name)]

    def add_session(self, ref: SessionRef) -> None:
        with self.lock:
            self.sessions[ref.initiator][ref.name] = ref
            self.current[ref.initiator] = ref.name

    def drop_session(self, initiator: str, name: str) -> None:
        with self.lock:
            self.sessions[initiator].pop(name, None)
            if self.current[initiator] == name:
                rest = list(self.sessions[initiator])
                self.current[initiator] = rest[-1] if rest else None

    def new_session_name(self, initiator: str) -> str:
        for i in itertools.count():
            if f"s{i}" not in self.sessions[initiator]:
                return f"s{i}"

    # ---- addresses and settings
    def portal_address(self, target: str, ref: str | None) -> str:
        if ref == "proxy":
            if self.proxy is None:
                raise StepFailed("portal: proxy, but no corrupting proxy runs (a `fault: {corrupt: "
                                 "on}` step starts one)")
            return self.proxy.address
        portals = [p for p in self.lab.portals() if p.target == target]
        if ref is None:
            if not portals:
                raise StepFailed(f"target {target} has no portal in the lab")
            return portals[0].address
        nic, _, port = ref.partition(":")
        ip = next(l.guest_ip for l in self.lab.links if l.nic == nic)
        if port:
            return f"{ip}:{port}"
        for p in portals:
            if p.nic == nic:
                return p.address
        return f"{ip}:3260"

    def login_settings(self, initiator: str, body: dict) -> dict:
        s = dict(self.cell.initiator(initiator).settings)
        s.update(auth_settings(body.get("auth"), "node.session.auth"))
        s.update(body.get("settings") or {})
        return s

    # ---- labels and anchors
    def mark(self, step: Step, start: float, end: float, effect: float | None = None) -> None:
        self.last_end = end
        if step.label:
            self.labels[step.label] = {"start": start, "end": end,
                                       "effect": effect if effect is not None else start}

    def anchor(self, ref: str | None) -> float:
        """Monotonic time a `from:` names (default: the end of the previous step)."""
        if ref is None:
            return self.last_end
        label, _, which = ref.rpartition(".")
        if which in ("start", "end") and label in self.labels:
            return self.labels[label][which]
        return self.labels[ref]["effect"]

    # ---- the guest's kernel log
    def _mark_guest_log(self) -> tuple[float, float]:
        """Writes a marker line into the guest's kernel log and reads its stamp back: the pair
        (kernel log clock, host monotonic clock) that places the cell's LIO log lines on the
        host's time axis. The kernel log's clock stops while the guest is frozen, so the guest's
        uptime would not do; the error is half the agent's round trip, recorded."""
        marker = f"iscsilab: cell {self.cell.id} starts"
        t0 = time.monotonic()
        out = self.lab.agent.call("run", argv=["sh", "-c", f"echo '{marker}' > /dev/kmsg; dmesg"],
                                  timeout=30)["stdout"]
        t1 = time.monotonic()
        stamp = next((s for s, text in parse_dmesg(out) if text == marker), None)
        if stamp is None:
            raise LabError("the guest's kernel log did not show the cell's marker line")
        self.rec.lab_info["guest_log_alignment_error_s"] = round((t1 - t0) / 2, 4)
        return stamp, (t0 + t1) / 2

    def guest_log(self) -> list[tuple[float, str]]:
        """(kernel log stamp, text) of the guest's dmesg lines since the cell started."""
        out = self.lab.agent.call("run", argv=["dmesg"], timeout=30)["stdout"]
        return [(s, text) for s, text in parse_dmesg(out) if s > self.guest_epoch[0]]

    def guest_to_host(self, stamp: float) -> float:
        uptime0, host0 = self.guest_epoch
        return host0 + (stamp - uptime0)

    # ---- I/O jobs
    def start_job(self, job: Job, spec: dict) -> dict:
        d = self.driver(job.initiator)
        spec = {**spec, "writer_id": next(_writer_ids) % 65535 + 1}
        info = d.io_start(job.name, job.session, spec)
        job.block_size = info["block_size"]
        job.first_lba = info["first_lba"]
        job.lba_count = info["lba_count"]
        self.integrity.lun(job.target, job.lun, job.block_size)
        with self.lock:
            self.jobs[job.name] = job
        return info

    def drain(self, job: Job) -> None:
        # One drain at a time (the poller's and a probe's): taking records from the worker and
        # adding them is one step, or a probe could read the record while an earlier batch is
        # still on its way and measure a gap that was not there.
        with self.drain_lock:
            records = self.driver(job.initiator).io_drain(job.name)
            if records:
                self.integrity.record(job.target, job.lun, job.block_size, records)
                self.rec.add_completions(job.name, records)

    def finish_job(self, job: Job, seconds: float) -> bool:
        """Waits up to `seconds` for the job to end; drains it. True when it ended."""
        d = self.driver(job.initiator)
        deadline = time.monotonic() + seconds
        while True:
            done = d.io_wait(job.name, min(0.5, max(0.0, deadline - time.monotonic())))
            self.drain(job)
            if done or time.monotonic() >= deadline:
                break
        if done and not job.done:
            job.done = True
            job.ended = time.monotonic()
            job.summary = d.io_summary(job.name)
            self.rec.io.setdefault(job.name, {"completions": [], "failed": []})["summary"] = job.summary
        return done

    def _poll_jobs(self) -> None:
        while not self._stop.wait(0.2):
            with self.lock:
                running = [j for j in self.jobs.values() if not j.done]
            for job in running:
                try:
                    self.drain(job)
                except Exception:  # noqa: BLE001 - the step that awaits the job reports it
                    pass

    # ---- timers for `fault ... for:`
    def later(self, seconds: float, fn) -> None:
        t = threading.Timer(seconds, fn)
        t.daemon = True
        t.start()
        self.timers.append(t)

    # ---- end
    def close(self, kill: bool = False) -> None:
        """Ends the initiators: they log out what is left (kill: they just go)."""
        self._stop.set()
        for t in self.timers:
            t.cancel()
        self._poller.join(timeout=2)
        for ident, d in self.drivers.items():
            t0 = time.monotonic()
            try:
                d.kill() if kill else d.close(grace=20)
            except LabError:
                pass
            took = time.monotonic() - t0
            left = getattr(d, "left", None)
            if left and any(left.get(k) for k in ("sessions", "maps", "daemons", "error")):
                self.rec.fail(f"{ident}: the initiator guest was not left clean: {left}")
            if took > 2:
                self.rec.lab_info.setdefault("slow_close", {})[ident] = \
                    f"{took:.1f} s; worker: {d.stderr_tail(600)}"
        if self.adm is not None:       # lab-iscsid logs its sessions out on SIGTERM
            self.rec.lab_info["lab_iscsid_log"] = self.adm.stop()[-4000:]
            self.adm = None
        if self.proxy is not None:     # after the sessions through it are gone
            self.lab.faults.stop_proxy(self.proxy)


def parse_dmesg(text: str) -> list[tuple[float, str]]:
    out = []
    for line in text.splitlines():
        if line.startswith("[") and "]" in line:
            try:
                out.append((float(line[1:line.index("]")]), line[line.index("]") + 1:].strip()))
            except ValueError:
                continue
    return out


def auth_settings(auth, prefix: str) -> dict:
    """A step's `auth:` as open-iscsi settings under `prefix` (node.session.auth or
    discovery.sendtargets.auth)."""
    if auth is None:
        return {}
    if auth == "none":
        return {f"{prefix}.authmethod": "None"}
    out = {f"{prefix}.authmethod": "CHAP", f"{prefix}.username": str(auth["userid"]),
           f"{prefix}.password": str(auth["password"])}
    if "mutual_userid" in auth:
        out[f"{prefix}.username_in"] = str(auth["mutual_userid"])
        out[f"{prefix}.password_in"] = str(auth["mutual_password"])
    if "algorithms" in auth:
        out[f"{prefix}.chap_algs"] = auth["algorithms"]
    return out
