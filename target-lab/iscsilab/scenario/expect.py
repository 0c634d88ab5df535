"""`expect:` steps: one probe per subject in PROBES, each asked repeatedly until it reports the
moment its condition came true or the time is up.

A probe returns None (not yet) or (when, passed, message): `when` is the monotonic time the thing
happened (an event's own timestamp from the engine where there is one, not the moment we looked),
so a measured interval does not depend on how often we poll. The measured time, relative to the
anchor (`from:`), is recorded whether the expectation holds or not: after the upper bound we keep
looking a little longer (GRACE) so that a late event is still measured, and then fail.
"""
from __future__ import annotations

import re
import time
from typing import Callable

from .context import Context, StepFailed
from .model import Step
from .record import Expectation

POLL = 0.05
DEFAULT_WITHIN = (0.0, 30.0)


class Pending(str):
    """A probe's "not yet", with what it saw instead (for the message if it never comes)."""


def grace(hi: float) -> float:
    return min(10.0, max(2.0, 0.5 * hi))


Probe = Callable[[Context, Step, str, float], "tuple[float, bool, str] | None"]


def probe_event(ctx, step, ini, anchor, kind=None, match=None):
    b = step.body
    kind = kind or b["event"]
    session = None if step.session in (None, "all") else step.session
    for e in ctx.rec.events_since(ctx.rec.rel(anchor), kind, ini, session):
        if match and not match(e):
            continue
        if b.get("detail") and b["detail"].lower() not in (e.get("detail") or "").lower():
            continue
        return (e["t"] + ctx.rec.t0, True, f"{e['type']}: {e.get('detail', '')}".strip())
    return None


def probe_conn_error(ctx, step, ini, anchor):
    want = step.body["conn_error"]
    return probe_event(ctx, step, ini, anchor, "conn_error", lambda e: e["conn_error"] == want)


def probe_session(ctx, step, ini, anchor):
    want = step.body["session"].upper()
    s = ctx.session(ini, step.session)
    state = ctx.driver(ini).state(s.name)["state"]
    if state != want:
        return Pending(f"session {s.name} is {state}")
    # When it got there: the state_change event's own time, else now.
    changes = [e for e in ctx.rec.events_since(ctx.rec.rel(anchor), "state_change", ini, s.name)
               if want in (e.get("detail") or "").upper()]
    when = changes[-1]["t"] + ctx.rec.t0 if changes else time.monotonic()
    return (max(when, anchor), True, f"session {s.name} is {state}")


def probe_io(ctx, step, ini, anchor):
    b = step.body
    job = ctx.jobs[b["io"]]
    ctx.drain(job)
    comps = ctx.rec.completions(job.name)
    failed = [f for f in ctx.rec.io.get(job.name, {}).get("failed", [])
              if f["t"] + ctx.rec.t0 >= anchor]
    outcome = b.get("outcome")
    if outcome == "failed":
        for f in failed:
            if not b.get("error") or b["error"].lower() in (f["error"] or "").lower():
                return (f["t"] + ctx.rec.t0, True, f"LBA {f['lba']} failed: {f['error']}")
        return None
    if outcome == "running":
        if not job.done and comps and comps[-1][0] + ctx.rec.t0 >= anchor:
            return (comps[-1][0] + ctx.rec.t0, True, "the job is running")
        return None
    if outcome == "stalled":
        return None          # judged when the window has passed (see run_expect)
    # completed, or only a count of failures: when the job has ended
    if not job.done:
        ctx.finish_job(job, 0)
        if not job.done:
            return None
    nfail = job.summary.get("failed", 0)
    ok = True
    msgs = [f"{job.summary.get('completed_ok', 0)} commands ok, {nfail} failed"]
    if "unit_attention" in b:
        seen = job.summary.get("unit_attentions", [])
        hit = [u for u in seen if b["unit_attention"].lower() in u.lower()]
        ok = ok and bool(hit)
        msgs.append(f"unit attentions: {hit[0] if hit else 'none matching'} ({len(seen)} seen)")
    if outcome == "completed" and nfail:
        ok = False
    if "failed" in b and not b["failed"].holds(nfail):
        ok = False
        msgs.append(f"expected failed {b['failed']}")
    if "failed" in b and b.get("error"):
        # Every failure must be of the kind named (a LUN reset may abort what is in flight).
        others = [f for f in ctx.rec.io.get(job.name, {}).get("failed", [])
                  if b["error"].lower() not in (f["error"] or "").lower()]
        if others:
            ok = False
            msgs.append(f"{len(others)} failed otherwise, e.g. LBA {others[0]['lba']}: {others[0]['error']}")
    return ((job.ended or time.monotonic()), ok, "; ".join(msgs))


def io_gap(ctx: Context, job, anchor: float) -> tuple[float, float, bool]:
    """(gap seconds, when it ended, whether I/O has resumed): the longest stretch without a
    completion among the stretches that end after the anchor."""
    comps = [c[0] + ctx.rec.t0 for c in ctx.rec.completions(job.name)]
    before = [t for t in comps if t <= anchor]
    after = [t for t in comps if t > anchor]
    last = before[-1] if before else job.started
    best, best_end = 0.0, anchor
    for t in after:
        if t - last > best:
            best, best_end = t - last, t
        last = t
    open_gap = time.monotonic() - last
    resumed = bool(after) and open_gap < max(1.0, best / 4)
    if not resumed and not job.done and open_gap > best:
        return open_gap, time.monotonic(), False
    return best, best_end, resumed or job.done


def probe_io_gap(ctx, step, ini, anchor):
    """Measured: the gap itself (not a time since the anchor), encoded as anchor + gap. A gap
    still open is judged by its own length, not by when we looked: a late look (after other
    expectations that waited) keeps waiting until I/O resumes or the gap outgrows the bound."""
    job = ctx.jobs[step.body["io_gap"]]
    ctx.drain(job)
    gap, end, resumed = io_gap(ctx, job, anchor)
    if resumed:
        return (anchor + gap, True, f"longest gap {gap:.2f} s, I/O resumed")
    hi = step.body.get("within", DEFAULT_WITHIN)[1]
    if gap > hi + grace(hi):
        return (anchor + gap, True, f"I/O stopped {gap:.2f} s ago and has not resumed")
    return Pending(f"I/O stopped {gap:.2f} s ago")


def probe_io_latency(ctx, step, ini, anchor):
    """Measured: the longest latency of a command that completed after the anchor (encoded as
    anchor + latency), once the job has resumed or ended."""
    job = ctx.jobs[step.body["io_latency"]]
    ctx.drain(job)
    _, _, resumed = io_gap(ctx, job, anchor)
    if not resumed:
        return Pending("the job has not resumed")
    after = [c[2] for c in ctx.rec.completions(job.name) if c[0] + ctx.rec.t0 > anchor and len(c) > 2]
    worst = max(after, default=0.0)
    return (anchor + worst, True, f"longest command {worst:.2f} s of {len(after)} after the anchor")


def probe_counters(ctx, step, ini, anchor):
    s = ctx.session(ini, step.session)
    stats = ctx.driver(ini).stats(s.name)
    bad = [f"{k} = {stats.get(k)} (expected {c}" + (f" = {stats.get(c.ref)})" if c.ref else ")")
           for k, c in step.body["counters"].items()
           if stats.get(k) is None or not c.holds(stats[k], stats)]
    if bad:
        return Pending(", ".join(bad))
    return (time.monotonic(), True, ", ".join(f"{k} = {stats[k]}" for k in step.body["counters"]))


def probe_lio_sessions(ctx, step, ini, anchor):
    b = step.body
    rows = ctx.lab.provisioner.sessions(b["target"], b.get("tag", 1))
    # With `initiator:` on the step, only that initiator's sessions count.
    who = ctx.cell.initiator(ini).name if step.aimed else None
    count = sum(1 for r in rows if who is None or r["initiator"] == who)
    if not b["lio_sessions"].holds(count):
        return Pending(f"LIO counts {count} session(s)")
    return (time.monotonic(), True, f"LIO counts {count} session(s)")


def probe_paths(ctx, step, ini, anchor):
    s = ctx.session(ini, step.session)
    st = ctx.driver(ini).mp_status(s.name)
    have = {"active": sum(1 for p in st["paths"] if p["dm_state"] == "active"),
            "failed": sum(1 for p in st["paths"] if p["dm_state"] == "failed"),
            "up": sum(1 for p in st["paths"] if p["path_state"] == "up"),
            "ghost": sum(1 for p in st["paths"] if p["path_state"] == "ghost")}
    for state in ("serving", "queueing", "failing"):
        have[state] = int(st["device"].get("no_path_state") == state)
    bad = [f"{k} {have[k]} (expected {c})" for k, c in step.body["paths"].items() if not c.holds(have[k])]
    seen = "; ".join(f"{p['path']} {p['dm_state']}/{p['path_state']}, checker {p['checker_state']}, "
                     f"{p['alua']}" for p in st["paths"])
    if bad:
        return Pending(", ".join(bad) + f" [{seen}]")
    return (time.monotonic(), True, ", ".join(f"{k} {have[k]}" for k in step.body["paths"]) + f" [{seen}]")


def probe_lio_log(ctx, step, ini, anchor):
    """A guest kernel log line (dmesg, through the agent) since the cell started; its time is
    the line's own stamp, moved onto the host's clock by the guest's uptime at the cell's start."""
    pattern = re.compile(step.body["lio_log"])
    for stamp, line in ctx.guest_log():
        if pattern.search(line):
            return (ctx.guest_to_host(stamp), True, line.strip()[:200])
    return None


def probe_kernel_log(ctx, step, ini, anchor):
    findings = ctx.lab.console.new_findings()
    if findings:
        return (time.monotonic(), False, f"the guest kernel reported: {findings[0].line.strip()}")
    return (time.monotonic(), True, "no BUG, Oops, WARNING or hung task")


PROBES: dict[str, Probe] = {
    "event": probe_event, "conn_error": probe_conn_error, "session": probe_session,
    "io": probe_io, "io_gap": probe_io_gap, "io_latency": probe_io_latency,
    "counters": probe_counters,
    "lio_sessions": probe_lio_sessions, "kernel_log": probe_kernel_log,
    "lio_log": probe_lio_log, "paths": probe_paths,
}

# Subjects whose probe answers at once (no waiting for something to happen).
IMMEDIATE = {"kernel_log"}
# Subjects whose probe settles by itself (a gap ends or outgrows its bound), however late we look.
SELF_BOUNDED = {"io_gap"}


def describe(step: Step) -> str:
    b = step.body
    subject = b["subject"]
    value = b[subject]
    if subject == "conn_error":
        from .. import _core
        value = dict((n, name) for n, name, _ in _core.conn_errors()).get(value, value)
    elif isinstance(value, dict):  # counters: "digest_err > 0, datain_recovered >= 1"
        value = ", ".join(f"{k} {c if str(c)[0] in '<>=' else f'== {c}'}"
                          for k, c in value.items())
    extra = "".join(f" {k} {b[k]}" for k in ("outcome", "failed", "error", "detail") if k in b)
    lo, hi = b.get("within", DEFAULT_WITHIN)
    frm = f" from {b['from']}" if "from" in b else ""
    return f"{subject} {value}{extra}{frm} within [{lo:g}, {hi:g}] s"


def run_expect(ctx: Context, step: Step, ini: str) -> dict:
    b = step.body
    subject = b["subject"]
    lo, hi = b.get("within", DEFAULT_WITHIN)
    anchor = ctx.anchor(b.get("from"))
    text = describe(step)
    exp = Expectation(step.index, subject, text, (lo, hi), ctx.rec.rel(anchor), label=step.label)
    probe = PROBES[subject]
    deadline = anchor + hi
    # Something that must not happen is watched until the upper bound only.
    last_look = deadline if b.get("absent") else deadline + grace(hi)
    seen_instead = ""
    found = None
    if subject == "io" and b.get("outcome") == "stalled":
        found = stalled(ctx, step, anchor, lo, hi)
    elif subject == "event" and "count" in b:
        found = counted(ctx, step, ini, anchor, lo, hi)
    else:
        while True:
            ctx.progress.waiting_for(f"{text} ({max(0.0, time.monotonic() - anchor):.1f} s)")
            found = probe(ctx, step, ini, anchor)
            if isinstance(found, Pending):
                seen_instead, found = str(found), None
            late = time.monotonic() > last_look and subject not in SELF_BOUNDED
            if found is not None or subject in IMMEDIATE or late:
                break
            time.sleep(POLL)
    if b.get("absent"):
        exp.passed = found is None or not found[1]
        exp.message = ("not seen, as expected" if exp.passed else
                       f"seen {found[0] - anchor:.2f} s after the anchor: {found[2]}")
        if found is not None:
            exp.measured = max(0.0, found[0] - anchor)
    elif found is None:
        exp.message = f"not seen within {hi:g} s (looked until {last_look - anchor:.1f} s)"
        if seen_instead:
            exp.message += f"; last seen: {seen_instead}"
        exp.passed = False
    else:
        when, ok, message = found
        # A state that already held when we started looking counts from the anchor.
        exp.measured = max(0.0, when - anchor)
        exp.message = message
        exp.passed = ok and lo <= exp.measured <= hi
        if ok and not exp.passed:
            exp.message += f"; measured {exp.measured:.2f} s is outside [{lo:g}, {hi:g}] s"
    ctx.rec.expectations.append(exp)
    # The label marks when the thing happened, even before the anchor (an event during a wait).
    effect = found[0] if found is not None else time.monotonic()
    details = {"measured": exp.measured, "message": exp.message, "effect": effect}
    if not exp.passed:
        raise ExpectationFailed(f"expect {text}: {exp.message}", details)
    return details


def counted(ctx, step, ini, anchor, lo, hi):
    """How often the event happened between anchor + lo and anchor + hi, watched to the end."""
    b = step.body
    while time.monotonic() < anchor + hi:
        ctx.progress.waiting_for(f"{b['event']} events until {hi:g} s")
        time.sleep(POLL * 4)
    session = None if step.session in (None, "all") else step.session
    times = [e["t"] + ctx.rec.t0 for e in ctx.rec.events_since(ctx.rec.rel(anchor), b["event"], ini, session)
             if not b.get("detail") or b["detail"].lower() in (e.get("detail") or "").lower()]
    times = [t for t in times if anchor + lo <= t <= anchor + hi]
    ok = b["count"].holds(len(times))
    return (times[-1] if times and ok else anchor + hi, ok,
            f"{len(times)} {b['event']} event(s) in the window (expected {b['count']})")


def stalled(ctx, step, anchor, lo, hi):
    """No completion of the job between anchor + lo and anchor + hi."""
    job = ctx.jobs[step.body["io"]]
    while time.monotonic() < anchor + hi:
        ctx.progress.waiting_for(f"io {job.name} to stay stalled until {hi:g} s")
        time.sleep(POLL * 4)
    ctx.drain(job)
    inside = [c[0] for c in ctx.rec.completions(job.name)
              if anchor + lo <= c[0] + ctx.rec.t0 <= anchor + hi]
    if inside:
        return (inside[0] + ctx.rec.t0, False, f"{len(inside)} command(s) completed in the window")
    return (anchor + hi, True, "no command completed in the window")


class ExpectationFailed(StepFailed):
    """An expectation that did not hold: the cell fails, but later steps still run and measure."""

    def __init__(self, message: str, details: dict):
        super().__init__(message)
        self.details = details

