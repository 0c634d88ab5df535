"""Expectations that judge time spans (no VM): an I/O gap is judged by its own length however late
the expectation looks at it, a gap that never ends fails with how long it has lasted, and an
event count covers exactly its window. The context is a stand-in with a real Recorder; its I/O
job is fed completions by the test, as the engine's drain would."""
import time
from types import SimpleNamespace

import pytest

from iscsilab.scenario.context import Progress
from iscsilab.scenario.expect import ExpectationFailed, run_expect
from iscsilab.scenario.model import Comparison, Step
from iscsilab.scenario.record import Recorder


class FakeContext:
    """What run_expect uses of a Context: the recorder, labels, jobs and a drain that hands over
    the completions whose time has come (`planned`, monotonic seconds)."""

    def __init__(self, anchor: float, planned: list[float]):
        self.rec = Recorder("unit")
        self.progress = Progress()
        self.anchor_at = anchor
        self.planned = sorted(planned)
        self.jobs = {"load": SimpleNamespace(name="load", started=anchor - 1.0, done=False)}

    def anchor(self, ref):
        return self.anchor_at

    def drain(self, job):
        now = time.monotonic()
        due = [t for t in self.planned if t <= now]
        self.planned = [t for t in self.planned if t > now]
        ns = [int(t * 1e9) for t in due]
        self.rec.add_completions(job.name, [[True, 0, 1, 1, n - 1000, n, True, ""] for n in ns])

    def event(self, kind: str, at: float):
        self.rec.add_events("host0", [{"session": "mp", "type": kind, "steady_ns": int(at * 1e9),
                                       "conn_error": 0, "detail": ""}])


def step(body: dict) -> Step:
    return Step(kind="expect", body=body, index="1", where="unit.yaml:1:1", session="mp")


def steady(start: float, end: float, every: float = 0.1) -> list[float]:
    n = int((end - start) / every)
    return [start + i * every for i in range(n + 1)]


def test_a_gap_still_open_when_looked_at_late_is_judged_by_its_length():
    now = time.monotonic()
    anchor = now - 8.0            # the bound (3 s) and its grace (2 s) are long past
    # I/O flowed until 1.5 s ago and resumes 0.5 s from now: a gap of about 2 s.
    ctx = FakeContext(anchor, steady(anchor - 1, now - 1.5) + steady(now + 0.5, now + 2))
    details = run_expect(ctx, step({"subject": "io_gap", "io_gap": "load", "within": (0.0, 3.0)}),
                         "host0")
    assert 1.8 <= details["measured"] <= 2.6
    assert "I/O resumed" in details["message"]


def test_a_gap_that_never_ends_fails_once_it_outgrows_the_bound_and_its_grace():
    now = time.monotonic()
    anchor = now - 0.5
    ctx = FakeContext(anchor, steady(anchor - 1, now - 1.0))
    t = time.monotonic()
    with pytest.raises(ExpectationFailed) as failed:
        run_expect(ctx, step({"subject": "io_gap", "io_gap": "load", "within": (0.0, 1.0)}), "host0")
    waited = time.monotonic() - t
    assert "has not resumed" in str(failed.value) and "outside [0, 1] s" in str(failed.value)
    # Open since 1 s before the call; judged once it exceeds 1 s + 2 s of grace.
    assert 1.5 <= waited <= 4.0


def test_the_longest_gap_after_the_anchor_is_measured_not_the_first():
    now = time.monotonic()
    anchor = now - 6.0
    flow = (steady(anchor - 1, anchor + 1) + steady(anchor + 1.5, anchor + 2)
            + steady(anchor + 3.2, now))
    ctx = FakeContext(anchor, flow)
    details = run_expect(ctx, step({"subject": "io_gap", "io_gap": "load", "within": (0.0, 5.0)}),
                         "host0")
    assert details["measured"] == pytest.approx(1.2, abs=0.11)


@pytest.mark.parametrize("count, passes", [("<= 1", False), ("== 2", True), (">= 3", False)])
def test_an_event_count_covers_exactly_its_window(count, passes):
    now = time.monotonic()
    anchor = now - 2.0
    ctx = FakeContext(anchor, [])
    ctx.event("path_failed", anchor - 0.1)     # before the window
    ctx.event("path_failed", anchor + 0.2)
    ctx.event("path_failed", anchor + 0.9)
    ctx.event("path_reinstated", anchor + 1.0)  # another kind
    ctx.event("path_failed", anchor + 1.6)     # after the window
    body = {"subject": "event", "event": "path_failed", "within": (0.0, 1.5),
            "count": Comparison.parse(count)}
    if passes:
        details = run_expect(ctx, step(body), "host0")
        assert details["message"] == "2 path_failed event(s) in the window (expected 2)"
    else:
        with pytest.raises(ExpectationFailed, match="2 path_failed event"):
            run_expect(ctx, step(body), "host0")
