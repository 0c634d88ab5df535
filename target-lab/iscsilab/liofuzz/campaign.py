"""The fuzzing loop: generate a case, run it, look for findings, probe the target's health;
deduplicate findings by signature, minimize and save new ones; reboot the target after a crash
or hang and go on. Prints a live line of cases per second and findings."""
from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import program as pg
from .detect import Finding, Probe, violation_signature
from .executor import Executor, plain_socket
from .generator import Settings, generate
from .minimize import Budget, minimize
from ..reason_list import read_reason_list

KNOWN_FILE = Path(__file__).resolve().parents[3] / "fuzz" / "lio" / "known.txt"
LATE_SECONDS = 20.0   # how long a minimization candidate waits for a late kernel report
CULPRIT_CASES = 6     # the last cases tried one by one for a kernel report
HISTORY = 60.0        # seconds of past cases saved with a kernel finding (timers fire late)
SETTLE = 1.5       # seconds a kernel report is given to finish printing


@dataclass
class Stats:
    cases: int = 0
    findings: int = 0                                 # all, duplicates included
    unique: dict = field(default_factory=dict)        # signature -> count
    known: dict = field(default_factory=dict)         # listed in the known file: not new
    reboots: int = 0
    probes: int = 0
    kinds: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)       # where the time went: cases, probes, reboots
    started: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        t = time.monotonic() - self.started
        return (f"[{int(t) // 60:02d}:{int(t) % 60:02d}] {self.cases} cases "
                f"({self.cases / t if t else 0:.1f}/s), findings {self.findings} "
                f"({len(self.unique)} unique, {sum(self.known.values())} known), reboots {self.reboots}, probes {self.probes}")


class Campaign:
    def __init__(self, backend, out: Path, seed: int, probe_every: int = 1,
                 minimize_seconds: float = 180.0, hang_bound: float = 20.0,
                 log=sys.stderr, known: dict[str, str] | None = None, jobs: int = 1):
        self.backend = backend
        self.out = Path(out)
        self.seed = seed
        self.probe_every = max(1, probe_every)    # in batches of `jobs` cases
        self.jobs = max(1, jobs)
        self.late_seconds = LATE_SECONDS
        self.history: list[tuple[float, pg.Program]] = []   # the cases of the last HISTORY s
        self.pool = None
        self.minimize_seconds = minimize_seconds
        self.hang_bound = hang_bound
        self.log = log
        self.known = known or {}      # signature -> why it is known (fuzz/lio/known.txt)
        self.stats = Stats()
        self.corpus: list[pg.Program] = []
        self.since_probe: list[pg.Program] = []
        (self.out / "findings").mkdir(parents=True, exist_ok=True)
        (self.out / "corpus").mkdir(parents=True, exist_ok=True)

    # -- target plumbing
    def _bind(self) -> None:
        b = self.backend
        self.executor = Executor(b.target, b.factory or plain_socket)
        self.probe = Probe(self.executor, bound=self.hang_bound)
        self.settings = Settings(b.target.iqn, lun=b.target.lun)
        # A target that has just booted (TCG) can take many seconds over its first login: not
        # a case's business, so one login is made first, with a long bound.
        Probe(self.executor, bound=60.0)()

    def reboot(self) -> None:
        self.say(f"rebooting the target ({self.backend.name})")
        t0 = time.monotonic()
        self.backend.reboot()
        self._spent("reboots", t0)
        self.stats.reboots += 1
        self._bind()

    def say(self, text: str) -> None:
        print(f"\n{text}" if self.log.isatty() else text, file=self.log, flush=True)

    # -- judging one program
    def run_batch(self, progs: list[pg.Program]) -> list:
        """Runs the programs, at the same time when there are several (each on its own
        connections: a TCG guest mostly waits, so parallel cases are nearly free)."""
        if len(progs) == 1 or self.pool is None:
            outs = [self.executor.run(p) for p in progs]
        else:
            outs = list(self.pool.map(self.executor.run, progs))
        self.stats.seconds["cases"] = self.stats.seconds.get("cases", 0.0) + \
            max(o.seconds for o in outs)
        return outs

    def judge(self, prog: pg.Program, probe: bool) -> tuple[list[Finding], object]:
        """Runs prog alone; returns its findings (kernel reports first) and the outcome."""
        found, outs = self.judge_batch([prog], probe)
        return [f for f, _ in found], outs[0]

    def judge_batch(self, progs: list[pg.Program], probe: bool):
        """Runs a batch; returns ([(finding, index of the program or None)], outcomes): a
        violation belongs to the program whose connection saw it, a kernel report or a failed
        probe to the batch (and the cases since the last probe)."""
        outs = self.run_batch(progs)
        found: list[tuple[Finding, int | None]] = []
        console = getattr(self.backend, "console", None)
        if console is not None:
            kernel = console.poll()
            if kernel:
                time.sleep(SETTLE)
                kernel += console.poll()
                found += [(f, None) for f in kernel]
        for i, out in enumerate(outs):
            for v in out.violations:
                found.append((Finding("violation", violation_signature(v),
                                      v + "\n" + out.transcript), i))
        if probe or any(o.connect_failures for o in outs):
            self.stats.probes += 1
            t0 = time.monotonic()
            bad = self.probe()
            if bad is not None and bad.kind == "unresponsive":
                time.sleep(5)          # a target busy cleaning up gets a second chance
                bad = self.probe()
            self._spent("probes", t0)
            if bad is not None:
                if console is not None:
                    time.sleep(SETTLE)
                    found += [(f, None) for f in console.poll()]
                found.append((bad, None))
        return found, outs

    def _spent(self, what: str, t0: float) -> None:
        self.stats.seconds[what] = self.stats.seconds.get(what, 0.0) + time.monotonic() - t0

    def _needs_reboot(self, f: Finding) -> bool:
        return f.kind in ("kernel", "unresponsive") and self.backend.can_reboot

    def _healthy_after_warning(self, f: Finding) -> bool:
        """A known WARNING (not a BUG, Oops or hang) after which the target still passes the
        probe needs no reboot: rebooting for every repeat of a WARN would eat the campaign."""
        if not f.signature.startswith("kernel:warning:"):
            return False
        self.stats.probes += 1
        return self.probe() is None

    # -- findings
    def handle(self, f: Finding, window: list[pg.Program], case: int) -> None:
        """A finding seen after the programs of `window` ran (one program, or every case since
        the last probe when the finding is not tied to a connection)."""
        self.stats.findings += 1
        if f.signature in self.known:
            self.stats.known[f.signature] = self.stats.known.get(f.signature, 0) + 1
            if self._needs_reboot(f) and not self._healthy_after_warning(f):
                self.reboot()
            return
        first = f.signature not in self.stats.unique
        self.stats.unique[f.signature] = self.stats.unique.get(f.signature, 0) + 1
        if not first:
            return
        self.say(f"NEW finding {f.signature}")
        tag = hashlib.sha1(f.signature.encode()).hexdigest()[:10]
        base = self.out / "findings" / f"{f.kind}-{tag}"
        console_text = ""
        if hasattr(self.backend, "console_text"):
            console_text = self.backend.console_text()
        base.with_suffix(".log").write_text(
            f"signature: {f.signature}\nseed {self.seed} case {case}\n\n{f.detail}\n\n"
            f"---- console (last lines)\n{console_text}\n")
        comments = [f"signature: {f.signature}", f"seed {self.seed} case {case}",
                    f"detail: {f.detail.splitlines()[0] if f.detail else ''}"]
        prog = pg.Program([s for p in window for s in p.steps], comments)
        if len(window) > 1:
            comments.append(f"the {len(window)} cases run since the last probe, one after "
                            "the other (some ran in parallel when found)")
        pg.save(prog, base.with_suffix(".repro"))
        if f.kind == "kernel" and len(self.history) > len(window):
            # A report can come long after its cause (a timer armed by an earlier case): the
            # cases of the last minute, in order, for a replay with `fuzz replay --wait`.
            pg.save(pg.Program([s for _, p in self.history for s in p.steps],
                               comments + [f"the cases of the last {HISTORY:g} s, in order"]),
                    Path(f"{base}.history.repro.gz"))
        reboot = self._needs_reboot(f)
        if reboot:
            self.reboot()
        # Which single case shows it? The batch's cases; for a kernel report also the cases
        # before it (a timer armed by one case can fire during a later one).
        suspects = list(window)
        if f.kind == "kernel" and len(self.history) > len(window):
            suspects = [p for _, p in self.history[-max(CULPRIT_CASES, len(window)):]]
        if len(suspects) > 1:
            alone = self.culprit(suspects, f, reboot)
            if alone is None:
                prog.comments = comments + [f"no single case of the last {len(suspects)} "
                                            "shows it alone: not minimized"]
                pg.save(prog, Path(f"{base}.min.repro"))
                self.say(f"  saved {base}.repro; no single case of the last {len(suspects)} "
                         "reproduces it alone")
                self.write_summary()
                return
            prog = pg.Program(alone.steps, comments[:3] + ["reproduces alone"])
        small = self.minimize(prog, f, reboot)
        pg.save(small, Path(f"{base}.min.repro"))
        self.say(f"  saved {base}.repro ({len(prog.steps)} steps), minimized to "
                 f"{len(small.steps)} steps: {base}.min.repro")
        self.write_summary()

    def culprit(self, window: list[pg.Program], f: Finding, reboot: bool):
        """The one program of the window that shows the finding by itself (the latest first),
        or None."""
        budget = Budget(tries=len(window), seconds=self.minimize_seconds)
        for p in reversed(window):
            if not budget.take():
                break
            if self.reproduces(p, f, reboot):
                return p
        return None

    def late_kernel(self, signature: str | None, seconds: float) -> list[Finding]:
        """Kernel reports that come up to `seconds` after a program (a timer that fires
        later, a hung-task report); returns early when `signature` shows up."""
        console = getattr(self.backend, "console", None)
        found: list[Finding] = []
        deadline = time.monotonic() + seconds
        while console is not None and time.monotonic() < deadline:
            time.sleep(0.5)
            found += console.poll()
            if signature is None and found or any(g.signature == signature for g in found):
                break
        return found

    def reproduces(self, cand: pg.Program, f: Finding, reboot: bool) -> bool:
        found, _ = self.judge(cand, probe=f.kind in ("unresponsive", "data"))
        if f.kind == "kernel" and not any(g.signature == f.signature for g in found):
            found += self.late_kernel(f.signature, self.late_seconds)
        hit = any(g.signature == f.signature for g in found)
        if reboot and any(self._needs_reboot(g) for g in found):
            self.reboot()
        return hit

    def minimize(self, prog: pg.Program, f: Finding, reboot: bool) -> pg.Program:
        budget = Budget(tries=12 if reboot else 80, seconds=self.minimize_seconds)
        small = minimize(prog, lambda c: self.reproduces(c, f, reboot), budget)
        small.comments = prog.comments + [f"minimized: {budget.used} tries"]
        return small

    def write_summary(self) -> None:
        (self.out / "findings.json").write_text(json.dumps({
            "seed": self.seed, "cases": self.stats.cases, "reboots": self.stats.reboots,
            "seconds": round(time.monotonic() - self.stats.started, 1),
            "unique": self.stats.unique, "known": self.stats.known,
            "kinds": self.stats.kinds,
            "time": {k: round(v, 1) for k, v in self.stats.seconds.items()}}, indent=1) + "\n")

    # -- the loop
    def run(self, seconds: float | None = None, cases: int | None = None) -> Stats:
        self.backend.start()
        self._bind()
        self.stats.started = time.monotonic()     # the rate counts fuzzing, not the first boot
        self.batches = 0
        if self.jobs > 1:
            from concurrent.futures import ThreadPoolExecutor
            self.pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="case")
        deadline = time.monotonic() + seconds if seconds else None
        last_line = 0.0
        tty = self.log.isatty()
        try:
            while True:
                if deadline and time.monotonic() >= deadline:
                    break
                if cases is not None and self.stats.cases >= cases:
                    break
                n = self.stats.cases
                count = self.jobs if cases is None else min(self.jobs, cases - n)
                batch = []
                for i in range(n, n + count):
                    try:
                        prog, kind = generate(random.Random(f"{self.seed}:{i}"),
                                              self.settings, self.corpus)
                    except Exception:  # noqa: BLE001 - a generator bug must not end a run
                        import traceback
                        self.say(f"generator error in case {i} (a fuzzer bug, reported in "
                                 f"findings.json; the run goes on):\n{traceback.format_exc()}")
                        prog, kind = pg.Program([]), "generator-error"
                    self.stats.kinds[kind] = self.stats.kinds.get(kind, 0) + 1
                    batch.append((i, prog, kind))
                self.since_probe += [p for _, p, _ in batch]
                now = time.monotonic()
                self.history = [(t, p) for t, p in self.history if now - t < HISTORY] + \
                    [(now, p) for _, p, _ in batch]
                self.batches += 1
                probe = self.batches % self.probe_every == 0
                found, outs = self.judge_batch([p for _, p, _ in batch], probe)
                self.stats.cases += count
                window = list(self.since_probe)
                if probe:
                    self.since_probe = []
                for (i, prog, kind), out in zip(batch, outs):
                    if kind == "valid" and not found and out.full_feature and \
                            len(self.corpus) < 64:
                        self.corpus.append(prog)
                        pg.save(prog, self.out / "corpus" / f"session-{i}.repro")
                if any(f.kind == "kernel" for f, _ in found):
                    # A target that stops answering after a kernel report is that report's
                    # consequence, not a finding of its own (it would cost a minimization).
                    found = [(f, i) for f, i in found if f.kind != "unresponsive"]
                rebooted = False
                for f, index in found:
                    if f.signature in self.stats.unique and f.signature not in self.known \
                            and self._needs_reboot(f) and \
                            not rebooted and not self._healthy_after_warning(f):
                        self.reboot()
                        rebooted = True
                    if index is not None:
                        self.handle(f, [batch[index][1]], batch[index][0])
                    else:
                        self.handle(f, window, batch[-1][0])
                now = time.monotonic()
                if now - last_line >= (0.5 if tty else 10.0):
                    last_line = now
                    print(("\r" if tty else "") + self.stats.line(), end="" if tty else "\n",
                          file=self.log, flush=True)
        finally:
            if self.pool is not None:
                self.pool.shutdown()
                self.pool = None
            self.write_summary()
            self.backend.close()
        print(("\n" if tty else "") + self.stats.line(), file=self.log, flush=True)
        return self.stats


def load_known(path=KNOWN_FILE) -> dict[str, str]:
    """{signature: reason} from a known-findings file (`SIGNATURE  # reason` a line)."""
    return read_reason_list(path, "SIGNATURE")
