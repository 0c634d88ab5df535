"""What one run of one cell leaves behind: its steps, the initiators' events, faults, I/O
completions, expectations with their measured times, and the outcome. Times are seconds since
the cell started (steady clock, CLOCK_MONOTONIC, the clock the initiator's events carry).

The JSON form (to_json) is the report other tools read; reports/ turns it into JUnit, plots and
HTML.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Expectation:
    index: str
    subject: str
    text: str                      # "conn_error ISCSI_ERR_NOP_TIMEDOUT from cut within [2, 6] s"
    window: tuple[float, float]    # seconds after the anchor
    anchor: float                  # seconds since the cell started
    measured: float | None = None  # seconds after the anchor; None: never happened
    passed: bool = False
    message: str = ""
    label: str | None = None


@dataclass
class StepRecord:
    index: str
    kind: str
    text: str
    where: str
    start: float
    end: float | None = None
    status: str = "running"        # passed, failed, skipped
    error: str = ""
    label: str | None = None
    details: dict = field(default_factory=dict)


class Recorder:
    def __init__(self, cell_id: str):
        self.cell_id = cell_id
        self.t0 = time.monotonic()
        self.wall_start = time.time()
        self.lock = threading.Lock()
        self.steps: list[StepRecord] = []
        self.events: list[dict] = []
        self.faults: list[dict] = []
        self.expectations: list[Expectation] = []
        self.io: dict[str, dict] = {}         # job -> {"completions": [[t, ok]], ...}
        self.measurements: list[dict] = []    # {"name", "value", "unit"}
        self.integrity: dict = {}
        self.outcome = "running"
        self.failures: list[str] = []
        self.lab_info: dict = {}

    def now(self) -> float:
        return time.monotonic() - self.t0

    def rel(self, monotonic_s: float) -> float:
        return monotonic_s - self.t0

    def rel_ns(self, steady_ns: int) -> float:
        return steady_ns / 1e9 - self.t0

    # ---- feeds
    def add_events(self, initiator: str, events: list[dict]) -> None:
        with self.lock:
            for e in events:
                self.events.append({**e, "initiator": initiator, "t": self.rel_ns(e["steady_ns"])})

    def events_since(self, t: float, kind: str | None = None, initiator: str | None = None,
                     session: str | None = None) -> list[dict]:
        with self.lock:
            return [e for e in self.events if e["t"] >= t and (kind is None or e["type"] == kind)
                    and (initiator is None or e["initiator"] == initiator)
                    and (session is None or e["session"] == session)]

    def add_completions(self, job: str, records: list) -> None:
        with self.lock:
            entry = self.io.setdefault(job, {"completions": [], "failed": []})
            for write, lba, blocks, gen, start_ns, end_ns, ok, err in records:
                entry["completions"].append([round(self.rel_ns(end_ns), 6), bool(ok),
                                             round((end_ns - start_ns) / 1e9, 6)])
                if not ok:
                    entry["failed"].append({"t": self.rel_ns(end_ns), "lba": lba, "error": err,
                                            "write": bool(write)})

    def completions(self, job: str) -> list[list]:
        with self.lock:
            return list(self.io.get(job, {}).get("completions", []))

    def fault(self, kind: str, on: bool, **where) -> None:
        with self.lock:
            if on:
                self.faults.append({"kind": kind, "on": self.now(), "off": None, **where})
            else:
                for f in reversed(self.faults):
                    if f["kind"] == kind and f["off"] is None and all(f.get(k) == v for k, v in where.items()):
                        f["off"] = self.now()
                        break

    def measure(self, name: str, value: float, unit: str = "s") -> None:
        with self.lock:
            self.measurements.append({"name": name, "value": value, "unit": unit})

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)

    # ---- output
    def to_json(self) -> dict:
        return {
            "cell": self.cell_id, "outcome": self.outcome, "failures": self.failures,
            "started": self.wall_start, "duration": self.now(),
            "steps": [asdict(s) for s in self.steps],
            "expectations": [asdict(e) for e in self.expectations],
            "events": self.events, "faults": self.faults, "io": self.io,
            "measurements": self.measurements, "integrity": self.integrity, "lab": self.lab_info,
        }


def write_json(path: Path, data) -> None:
    """Atomic: a reader sees the old file or the new one, never half of one."""
    write_text(path, json.dumps(data, indent=1, default=str))


def write_text(path: Path, text: str) -> None:
    """Atomic: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
