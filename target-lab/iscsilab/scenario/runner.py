"""`iscsilab run`: finds scenario files, expands them into cells, picks (-k, --shard), boots as
few labs as it can (cells that declare the same lab share one booted guest, brought back to the
declared state between them), plays each cell (--repeat N times), shows progress, and writes the
reports (reports.py): JSON, JUnit, plots and an HTML page, and a summary table at the end.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import netdiag
from ..errors import LabError
from .context import Progress
from .load import ScenarioError, is_scenario_file, load_file
from .model import Cell

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DIR = REPO / "scenarios"
DEFAULT_OUT = REPO / "build" / "reports" / "scenarios"


# ------------------------------------------------------------------------ selecting
def find_files(paths: list[str]) -> list[Path]:
    """Scenario files under the given files and directories (default: scenarios/), sorted."""
    out: list[Path] = []
    for p in [Path(x) for x in paths] or [DEFAULT_DIR]:
        if p.is_dir():
            out += sorted(f for f in p.rglob("*.y*ml") if is_scenario_file(f))
        elif p.exists():
            out.append(p)
        else:
            raise LabError(f"{p}: no such file or directory")
    return out


def load_all(files: list[Path], kinds: list[str] | None = None) -> tuple[list[Cell], list[str]]:
    """Every cell of the files (with kinds: once per initiator kind each scenario is written
    for) and the errors, each naming file and line."""
    cells, errors = [], []
    for f in files:
        try:
            cells += load_file(f, kinds)
        except ScenarioError as exc:
            errors.append(str(exc))
    names: dict[str, str] = {}
    for c in cells:
        if c.id in names and names[c.id] != c.source:
            errors.append(f"{c.source}: scenario name {c.scenario!r} is also used by {names[c.id]}")
        names[c.id] = c.source
    return cells, errors


def keyword_filter(expr: str):
    """pytest's -k in small: words match a cell's id or tags (substring); and, or, not, ()."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expr)

    def predicate(cell: Cell) -> bool:
        hay = " ".join([cell.id, *cell.tags]).lower()
        code = []
        for t in tokens:
            if t.lower() in ("and", "or", "not", "(", ")"):
                code.append(t.lower())
            else:
                code.append(repr(t.lower() in hay))
        try:
            return bool(eval(" ".join(code), {"__builtins__": {}}))  # noqa: S307 - booleans only
        except SyntaxError:
            raise LabError(f"-k {expr!r}: not an expression of words, and, or, not") from None
    return predicate


def select(cells: list[Cell], keyword: str | None, default_set: bool, shard: tuple[int, int] | None):
    if default_set:
        cells = [c for c in cells if "default" in c.tags]
    if keyword:
        cells = [c for c in cells if keyword_filter(keyword)(c)]
    if shard:
        k, n = shard
        ordered = sorted(cells, key=lambda c: c.id)
        chosen = {c.id for i, c in enumerate(ordered) if i % n == k - 1}
        cells = [c for c in cells if c.id in chosen]
    return cells


# ------------------------------------------------------------------------ progress
class Display:
    """Shows what runs: a live line on a terminal, a line per step otherwise (CI logs)."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.tty = stream.isatty()
        self.progress = Progress()
        self.cell = ""
        self.count = ""
        self.t0 = time.monotonic()
        self.cell_t0 = self.t0
        self._last = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def start_cell(self, index: int, total: int, cell_id: str, repeat: str = "") -> None:
        self.cell, self.count, self.cell_t0 = cell_id, f"[{index}/{total}{repeat}]", time.monotonic()
        self.progress.step = "starting"
        self.line(f"{self.count} {cell_id}")

    def line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        self.stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(0.5 if self.tty else 1.0):
            step = self.progress.step
            if self.tty and self.cell:
                elapsed = time.monotonic() - self.cell_t0
                wait = self.progress.waiting
                text = f"{self.count} {elapsed:5.1f}s {step}" + (f" — waiting for {wait}" if wait else "")
                width = shutil.get_terminal_size((120, 20)).columns
                self.stream.write("\r\033[K" + text[:width - 1])
                self.stream.flush()
            elif not self.tty and step != self._last and self.cell:
                self._last = step
                self.stream.write(f"    {time.monotonic() - self.cell_t0:6.1f}s {step}\n")
                self.stream.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


# ------------------------------------------------------------------------ labs
@dataclass
class LabStats:
    boots: int = 0
    boot_seconds: list[float] = field(default_factory=list)
    reuses: int = 0
    reboots: dict[str, int] = field(default_factory=dict)   # reason -> count
    reset_seconds: list[float] = field(default_factory=list)
    wire_reruns: int = 0
    wire_faults: list[dict] = field(default_factory=list)   # cell, what was seen, the re-run


# A cell whose lab's virtual wire stopped runs once more on a new lab; this many times per run
# at most (a lab that keeps losing its wire is a problem of its own, and fails the cells).
MAX_WIRE_RERUNS = 3


# How long a reused lab's portals get to accept a connection after a cell (they answer in
# milliseconds when the lab is sound).
PORTAL_CHECK_S = 5.0
PORTAL_LOST = "a portal did not take a connection after the scenario"


class LabPool:
    """One booted lab at a time (two cores: one guest), reused while cells declare the same lab
    and leave it as declared."""

    def __init__(self, display: Display, accel: str = "tcg", keep: bool = False):
        self.display = display
        self.accel = accel
        self.keep = keep
        self.lab = None
        self.key = None
        self.baseline: dict | None = None
        self.uses = 0                 # cells the current lab ran before this one
        self.stats = LabStats()

    def get(self, cell: Cell):
        if self.lab is not None and self.key == cell.lab_key and not cell.fresh_lab:
            self.stats.reuses += 1
            self.uses += 1
            return self.lab
        self.down()
        return self.boot(cell)

    def boot(self, cell: Cell):
        from ..lab import Lab
        self.display.progress.step = "booting the lab"
        t0 = time.monotonic()
        lab = Lab(cell.lab, name=f"run{os.getpid() % 100000}", accel=self.accel,
                  owned=not self.keep)
        lab.up()
        self.stats.boots += 1
        self.stats.boot_seconds.append(time.monotonic() - t0)
        self.lab, self.key = lab, cell.lab_key
        self.uses = 0
        self.baseline = self.lio_state()
        return lab

    def health(self) -> dict:
        """The guest's memory and socket counts before a cell (a record of what a long-reused
        guest accumulates)."""
        try:
            return netdiag.guest_health(self.lab)
        except LabError as exc:
            return {"error": str(exc)}

    def lio_state(self) -> dict:
        return self.lab.provisioner.dump()

    def after(self, cell: Cell, ctx, failed: bool, out: Path | None = None) -> None:
        """Brings the lab back to the declared state, or drops it (the next cell boots anew)."""
        if self.lab is None:
            return
        t0 = time.monotonic()
        reason = self.check(cell, ctx)
        self.stats.reset_seconds.append(time.monotonic() - t0)
        if reason and reason.startswith(PORTAL_LOST) and out is not None:
            before = netdiag.collect(self.lab)
            tried = netdiag.recovery_experiment(self.lab)
            (out / "network-after.txt").write_text(
                f"{before}\n### what brought it back\n{tried}\n### after that\n"
                f"{netdiag.collect(self.lab)}")
            self.display.line("    lab: a portal stopped answering; " + tried.strip().replace("\n", "; "))
        if reason:
            self.stats.reboots[reason] = self.stats.reboots.get(reason, 0) + 1
            self.display.line(f"    lab: {reason}; the next scenario boots a new one")
            self.down()

    def check(self, cell: Cell, ctx) -> str | None:
        lab = self.lab
        if not lab.alive():
            return "the guest is gone"
        if ctx.mutated_lab:
            return "the scenario changed LUNs or the target"
        if ctx.rec.lab_info.get("kernel_findings"):
            return "the guest kernel reported a problem"
        try:
            if ctx.rec.failures:   # the end of the cell took every fault back; unless it failed
                lab.faults.clear()
            deadline = time.monotonic() + 60
            targets = [(t.name, tpg.tag) for t in cell.lab.targets for tpg in t.tpgs]
            self.display.progress.step = "lab: waiting for LIO to end the scenario's sessions"
            while any(lab.provisioner.sessions(t, tag) for t, tag in targets):
                if time.monotonic() > deadline:
                    return "LIO still held sessions 60 s after the scenario"
                time.sleep(0.5)
            if self.lio_state() != self.baseline:
                return "LIO's configuration differs from the declared one"
            # Every portal must still take a connection from the namespace. Twice (2026-12-05,
            # once in CI after the multipath reset cell, once locally after ALUA cells) a NIC of
            # a reused lab stopped answering ("No route to host") and every later cell failed;
            # the cause is not found yet, so a lab that cannot be reached is not reused.
            why = netdiag.why_unreachable(lab, timeout=PORTAL_CHECK_S)
            if why:
                return f"{PORTAL_LOST} ({why})"
        except LabError as exc:
            return f"the lab did not answer ({exc})"
        return None

    def drop(self, reason: str) -> None:
        self.stats.reboots[reason] = self.stats.reboots.get(reason, 0) + 1
        self.down()

    def down(self) -> None:
        if self.lab is not None and not self.keep:
            self.lab.down()
        self.lab, self.key, self.baseline = None, None, None


# ------------------------------------------------------------------------ running
@dataclass
class CellRun:
    cell: Cell
    repeat: int
    record: dict
    out: Path
    ctx: object = None      # the cell's context (for the lab check after it); None if no lab


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=,-]+", "_", text)[:120]


def run(cells: list[Cell], out: Path, repeat: int = 1, accel: str = "tcg",
        keep_lab: bool = False) -> list[CellRun]:
    from . import reports
    out.mkdir(parents=True, exist_ok=True)
    display = Display()
    pool = LabPool(display, accel, keep_lab)
    runs: list[CellRun] = []
    # Cells with the same lab run one after another; the order of first appearance is kept.
    # Cells that change LUNs or the target go last among those of their lab: after them the
    # lab is booted anew.
    order = sorted(range(len(cells)), key=lambda i: (first_index(cells, cells[i].lab_key),
                                                     mutates_lab(cells[i]), i))
    plotter = reports.Plotter()
    total = len(cells) * repeat
    n = 0
    t_start = time.monotonic()
    try:
        for r in range(repeat):
            for i in order:
                cell = cells[i]
                n += 1
                display.start_cell(n, total, cell.id, f" run {r + 1}/{repeat}" if repeat > 1 else "")
                cell_out = out / slug(cell.id) / (f"run{r + 1}" if repeat > 1 else "")
                cell_out.mkdir(parents=True, exist_ok=True)
                run_ = run_one(cell, r, cell_out, pool, display, plotter)
                if run_.record["outcome"] != "passed" and pool.lab is not None:
                    wire = netdiag.wire_lost(pool.lab)
                    if wire and pool.stats.wire_reruns < MAX_WIRE_RERUNS:
                        # The lab's virtual wire stopped (see netdiag.wire_lost): the cell did
                        # not test LIO or the initiator to the end. Keep this attempt's report
                        # beside the cell's, and run the cell once more on a new lab.
                        first = cell_out.parent / (cell_out.name + ".wire-fault")
                        shutil.rmtree(first, ignore_errors=True)
                        shutil.move(str(cell_out), str(first))
                        (first / "network-after.txt").write_text(
                            f"{wire}\n\n### what brought it back\n"
                            f"{netdiag.recovery_experiment(pool.lab)}\n")
                        display.line(f"    lab: the virtual wire stopped ({wire}); the cell runs "
                                     "again on a new lab")
                        pool.stats.wire_reruns += 1
                        pool.drop("the lab's virtual wire stopped")
                        cell_out.mkdir(parents=True, exist_ok=True)
                        run_ = run_one(cell, r, cell_out, pool, display, plotter)
                        run_.record.setdefault("lab", {})["wire_fault_rerun"] = {
                            "first_attempt": str(first), "seen": wire}
                        reports.write_json(run_.out / "result.json", run_.record)
                        pool.stats.wire_faults.append({"cell": cell.id, "seen": wire,
                                                       "rerun": run_.record["outcome"]})
                runs.append(run_)
                if run_.ctx is not None:
                    pool.after(cell, run_.ctx, run_.record["outcome"] != "passed", cell_out)
    except KeyboardInterrupt:
        display.line("iscsilab run: interrupted; taking the lab down")
        raise
    finally:
        display.close()
        pool.keep = keep_lab
        if keep_lab and pool.lab is not None:
            print(f"--keep-lab: lab {pool.lab.name} is still up ({pool.lab.netns}); "
                  f"`iscsilab lab down --name {pool.lab.name}` when done", file=sys.stderr)
        else:
            pool.down()
        plotter.close()
        reports.write_run(runs, out, pool.stats, time.monotonic() - t_start)
    return runs


def run_one(cell: Cell, r: int, cell_out: Path, pool: "LabPool", display, plotter) -> "CellRun":
    """Runs one cell on the pool's lab and writes its report."""
    from . import reports
    from .execute import run_cell
    try:
        lab = pool.get(cell)
    except LabError as exc:
        record = {"cell": cell.id, "outcome": "failed", "duration": 0,
                  "failures": [f"the lab did not come up: {exc}"], "steps": [],
                  "expectations": [], "events": [], "faults": [], "io": {},
                  "measurements": [], "integrity": {}, "lab": {}}
        run_ = CellRun(cell, r, record, cell_out)
        reports.write_cell(run_)
        display.line(f"    FAILED: the lab did not come up: {exc}")
        return run_
    health = pool.health()
    rec, ctx = run_cell(cell, lab, display.progress)
    rec.lab_info.update({"boot_timings": lab.timings, "name": lab.name,
                         "reuse": pool.uses, "guest_before": health})
    run_ = CellRun(cell, r, rec.to_json(), cell_out, ctx)
    if rec.outcome != "passed":
        reports.save_lab_evidence(run_, lab)
    reports.write_cell(run_, plotter)
    display.line(f"    {rec.outcome.upper()} in {rec.now():.1f} s"
                 + "".join(f"\n      {f}" for f in rec.failures[:5]))
    return run_


def mutates_lab(cell: Cell) -> bool:
    def steps(ss):
        for s in ss:
            yield s
            yield from steps(s.children)
    return any(s.kind in ("lun", "target") for s in steps(cell.steps))


def first_index(cells: list[Cell], key: str) -> int:
    return next(i for i, c in enumerate(cells) if c.lab_key == key)
