"""Plays one cell against a booted lab: its steps in order, then the end of every scenario (faults
taken back, background I/O stopped, every acknowledged write read back, the kernel log checked,
sessions logged out). Returns the Recorder with the outcome.

A failed action (a login that should have worked, an I/O error) stops the steps; a failed
expectation does not: later steps still run and measure, and the cell fails at the end.
"""
from __future__ import annotations

import re
import threading
import time

from ..errors import LabError
from ..initiator.process import RemoteError
from .context import Context, Progress, SessionRef, StepFailed
from .expect import ExpectationFailed
from .model import Cell, Step
from .record import Recorder, StepRecord
from .steps import HANDLERS, ONCE, verify_lun


class Aborted(Exception):
    """The cell cannot go on (a step failed, or the scenario's time ran out)."""


def run_step(ctx: Context, step: Step, raise_on_failure: bool = True) -> str | None:
    """Runs one step (for each initiator it is aimed at, in parallel); returns None or what went
    wrong. With raise_on_failure, a failed action raises Aborted."""
    record = StepRecord(step.index, step.kind, step.describe(), step.where, ctx.rec.now(),
                        label=step.label)
    ctx.rec.steps.append(record)
    ctx.progress.step = f"step {step.index}: {step.describe()}"
    ctx.progress.waiting_for("")
    handler = HANDLERS[step.kind]
    initiators = step.initiators[:1] if step.kind in ONCE else step.initiators
    details: dict[str, dict] = {}
    errors: list[tuple[str, Exception]] = []

    def one(ini: str) -> None:
        try:
            details[ini] = handler(ctx, step, ini) or {}
        except (StepFailed, LabError) as exc:
            errors.append((ini, exc))
        except Exception as exc:  # noqa: BLE001 - a bug of ours must not hang the run: report it
            errors.append((ini, StepFailed(f"internal error: {type(exc).__name__}: {exc}")))

    start = time.monotonic()
    if len(initiators) == 1:
        one(initiators[0])
    else:
        threads = [threading.Thread(target=one, args=(i,)) for i in initiators]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    end = time.monotonic()
    effects = [d.pop("effect") for d in details.values() if "effect" in d]
    ctx.mark(step, start, end, min(effects) if effects else None)
    record.end = ctx.rec.rel(end)
    record.details = details if len(initiators) > 1 else next(iter(details.values()), {})
    if not errors:
        record.status = "passed"
        return None
    record.status = "failed"
    who = len(initiators) > 1
    message = "; ".join((f"{ini}: " if who else "") + error_text(e) for ini, e in errors)
    record.error = message
    for _, e in errors:
        if isinstance(e, ExpectationFailed):
            record.details = e.details
    ctx.rec.fail(f"step {step.index} ({step.where}): {message}")
    expectation_only = all(isinstance(e, ExpectationFailed) for _, e in errors)
    if raise_on_failure and not expectation_only:
        raise Aborted(message)
    return message


def error_text(exc: Exception) -> str:
    if isinstance(exc, RemoteError):
        return f"{exc.type}: {exc.message}"
    return str(exc)


def run_cell(cell: Cell, lab, progress: Progress | None = None) -> tuple[Recorder, Context]:
    rec = Recorder(cell.id)
    ctx = Context(cell, lab, rec, progress)
    lab.console.mark()
    timed_out = threading.Event()

    def watchdog():
        # The scenario's own limit: end the initiators so that no call can block past it.
        timed_out.set()
        rec.fail(f"the scenario ran out of time ({cell.timeout:g} s)")
        for d in list(ctx.drivers.values()):
            d.kill()

    timer = threading.Timer(cell.timeout, watchdog)
    timer.daemon = True
    timer.start()
    interrupted = False
    try:
        for step in cell.steps:
            if timed_out.is_set():
                break
            run_step(ctx, step)
    except Aborted:
        pass
    except KeyboardInterrupt:
        interrupted = True    # Ctrl-C, SIGTERM: no verification, just leave nothing behind
        raise
    finally:
        timer.cancel()
        if not timed_out.is_set() and not interrupted:
            end_of_scenario(ctx)
        ctx.close(kill=interrupted)
    rec.outcome = "failed" if rec.failures else "passed"
    return rec, ctx


def end_of_scenario(ctx: Context) -> None:
    """Faults off, I/O stopped, every acknowledged write verified, kernel log checked."""
    rec = ctx.rec
    ctx.progress.step = "end: faults off, I/O stopped, data verified"
    try:
        from .steps import apply_fault
        apply_fault(ctx, {"kind": "clear", "keep_proxy": True}, False)
    except LabError as exc:
        rec.fail(f"end: taking the faults back failed: {exc}")
    for job in list(ctx.jobs.values()):
        if job.done:
            continue
        try:
            ctx.driver(job.initiator).io_stop(job.name)
            if not ctx.finish_job(job, 90):
                rec.fail(f"end: io job {job.name} still had commands in flight 90 s after stop")
        except LabError as exc:
            rec.fail(f"end: stopping io job {job.name}: {exc}")
    for (target, lun) in list(ctx.integrity.luns):
        ctx.progress.waiting_for(f"reading back what was written to {target} LUN {lun}")
        try:
            m = ctx.integrity.luns[(target, lun)]
            if m.verified == m.version:
                continue            # a verify step already read back everything written
            ini, ref = verification_session(ctx, target)
            verify_lun(ctx, ini, ref, lun, only_if_changed=True)
        except (StepFailed, LabError) as exc:
            rec.fail(f"end: {error_text(exc)}")
    findings = ctx.lab.console.new_findings()
    if findings:
        rec.lab_info["kernel_findings"] = [str(f) for f in findings[:5]]
        known = [(f, k) for f in findings for k in ctx.cell.known_kernel_reports
                 if re.search(k["match"], f.excerpt)]
        unknown = [f for f in findings if f not in [x for x, _ in known]]
        if known:
            rec.lab_info["known_kernel_reports"] = [
                {"report": f.line.strip(), "reason": k["reason"]} for f, k in known]
        if unknown:
            rec.fail(f"the guest kernel reported {unknown[0].kind}: {unknown[0].line.strip()}")
    for ini, sessions in ctx.sessions.items():
        for name in list(sessions):
            try:
                ctx.driver(ini).logout(name, timeout=60)
            except LabError:
                pass     # a session the scenario broke: closing the worker drops it


def verification_session(ctx: Context, target: str) -> tuple[str, SessionRef]:
    """A logged-in session to `target`: one of the scenario's (given up to 60 s to recover), or
    a new one with the settings of the session that wrote."""
    candidates = [(ini, ref) for ini, ss in ctx.sessions.items() for ref in ss.values()
                  if ref.target == target]
    deadline = time.monotonic() + 60
    while candidates and time.monotonic() < deadline:
        for ini, ref in candidates:
            try:
                if ctx.driver(ini).state(ref.name)["state"] == "LOGGED_IN":
                    return ini, ref
            except LabError:
                continue
        time.sleep(0.5)
    writers = [j for j in ctx.jobs.values() if j.target == target]
    ini = writers[0].initiator if writers else ctx.cell.initiators[0].id
    settings = next((r.settings for ss in ctx.sessions.values() for r in ss.values()
                     if r.target == target), ctx.cell.initiator(ini).settings)
    portal = ctx.portal_address(target, None)
    d = ctx.driver(ini)
    last = None
    while time.monotonic() < deadline + 60:
        try:
            d.login("verify", target, portal, isid="400000ffff00", settings=settings, timeout=60)
            ref = SessionRef("verify", ini, target, portal, settings)
            ctx.add_session(ref)
            return ini, ref
        except LabError as exc:
            last = exc
            time.sleep(2)
    raise StepFailed(f"no session to {target} to read the data back with: {error_text(last)}")
