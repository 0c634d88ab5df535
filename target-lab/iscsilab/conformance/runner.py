"""Runs conformance tests against one target and judges them against that target's
expected-failure list; writes JUnit XML.

A test passes when its function returns and the driver recorded no violation; it fails on
ConformanceFailure (or a violation), NoAnswer or TargetClosed where an answer was due; it errors
on anything else (a bug in the test or the driver). An expected failure (listed for the target,
with a reason) is reported as skipped in JUnit with "expected failure: <reason>"; a listed test
that passes is an unexpected pass and fails the run, so that the list stays true.
"""
from __future__ import annotations

import time
import traceback
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .driver import (ConformanceFailure, Connection, NoAnswer, Session, Target, TargetClosed)
from .registry import Case
from ..reason_list import read_reason_list

EXPECTED_DIR = Path(__file__).resolve().parent / "expected"


class Skip(Exception):
    """A test cannot run against this target (the message says why)."""


@dataclass
class Result:
    case: Case
    outcome: str            # passed, failed, error, skipped, xfailed, xpassed
    message: str = ""
    seconds: float = 0.0
    detail: str = ""        # transcript or traceback


@dataclass
class Context:
    """What a test gets: the target, sessions on fresh connections, and skip()."""
    target: Target
    provides: frozenset = frozenset()
    sessions: list[Session] = field(default_factory=list)
    timeout: float = 10.0
    # The target's own control, when the run started the target (tgtd): set_param(name, value).
    control: object | None = None

    def connect(self, **session_kw) -> Session:
        """A Session on a new TCP connection, nothing sent yet."""
        sess = Session(Connection(self.target, timeout=self.timeout), **session_kw)
        self.sessions.append(sess)
        return sess

    def logged_in(self, operational: dict | None = None, **session_kw) -> Session:
        """A Session in the full feature phase (no authentication)."""
        sess = self.connect(**session_kw)
        sess.login(operational)
        return sess

    def skip(self, why: str):
        raise Skip(why)

    def close(self) -> None:
        for s in self.sessions:
            s.conn.close()


def load_expected(name_or_path: str | Path) -> dict[str, str]:
    """{test ID: reason} from an expected-failure list: one `ID  # reason` a line, '#' comments.
    A name without '/' is a file in iscsilab/conformance/expected/ (tgtd, lio)."""
    path = Path(name_or_path)
    if "/" not in str(name_or_path) and not path.suffix:
        path = EXPECTED_DIR / f"{name_or_path}.txt"
    return read_reason_list(path, "TEST-ID")


def run_case(case: Case, ctx_factory, expected: dict[str, str]) -> Result:
    missing = case.needs - ctx_factory.provides
    if missing == {"no-auth"}:
        return Result(case, "skipped", "builds a login with AuthMethod=None by hand: not run "
                                       "against a target that requires CHAP")
    if missing:
        return Result(case, "skipped", f"needs {', '.join(sorted(missing - {'no-auth'}))}, "
                                       "which this run does not provide")
    ctx = ctx_factory.new()
    t0 = time.monotonic()
    outcome, message, detail = "passed", "", ""
    try:
        case.func(ctx)
        problems = [v for s in ctx.sessions for v in s.violations
                    if not any(v.startswith(f"[{e}") for e in s.expected_violations)]
        if problems:
            outcome, message = "failed", "; ".join(problems)
            detail = "\n".join(s.conn.transcript() for s in ctx.sessions)
    except Skip as e:
        outcome, message = "skipped", str(e)
    except (ConformanceFailure, NoAnswer, TargetClosed) as e:
        outcome, message = "failed", str(e).splitlines()[0] if str(e) else type(e).__name__
        detail = str(e) + "\n" + "\n".join(s.conn.transcript() for s in ctx.sessions)
    except Exception as e:  # noqa: BLE001 - a bug in a test must not stop the run
        outcome, message = "error", f"{type(e).__name__}: {e}"
        detail = traceback.format_exc()
    finally:
        ctx.close()
    seconds = time.monotonic() - t0
    if case.id in expected:
        if outcome == "failed":
            outcome, message = "xfailed", f"expected failure: {expected[case.id]} ({message})"
        elif outcome == "passed":
            outcome, message = "xpassed", f"listed as an expected failure ({expected[case.id]}) " \
                                          "but passed: take it off the list"
    return Result(case, outcome, message, seconds, detail)


class ContextFactory:
    """Makes a fresh Context per test."""

    def __init__(self, target: Target, provides=(), control=None, timeout: float = 10.0):
        self.target = target
        # A target that needs no CHAP takes AuthMethod=None: every run but a --chap one.
        self.provides = frozenset(provides) | (frozenset() if "chap" in provides
                                               else frozenset({"no-auth"}))
        self.control = control
        self.timeout = timeout

    def new(self) -> Context:
        return Context(self.target, self.provides, timeout=self.timeout, control=self.control)


def junit_xml(results: list[Result], suite_name: str, seconds: float) -> str:
    suite = ET.Element("testsuite", name=suite_name, tests=str(len(results)),
                       failures=str(sum(r.outcome in ("failed", "xpassed") for r in results)),
                       errors=str(sum(r.outcome == "error" for r in results)),
                       skipped=str(sum(r.outcome in ("skipped", "xfailed") for r in results)),
                       time=f"{seconds:.3f}")
    for r in results:
        tc = ET.SubElement(suite, "testcase", classname=f"{suite_name}.{r.case.id.split('-')[0]}",
                           name=r.case.id, time=f"{r.seconds:.3f}")
        ET.SubElement(tc, "properties")
        props = tc.find("properties")
        ET.SubElement(props, "property", name="section", value=r.case.section)
        ET.SubElement(props, "property", name="requirement", value=r.case.requirement)
        if r.outcome in ("failed", "xpassed"):
            ET.SubElement(tc, "failure", message=r.message).text = r.detail
        elif r.outcome == "error":
            ET.SubElement(tc, "error", message=r.message).text = r.detail
        elif r.outcome in ("skipped", "xfailed"):
            ET.SubElement(tc, "skipped", message=r.message)
    return ET.tostring(suite, encoding="unicode")


def summary(results: list[Result]) -> str:
    counts = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    order = ("passed", "failed", "error", "xfailed", "xpassed", "skipped")
    return ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k))


def ok(results: list[Result]) -> bool:
    return not any(r.outcome in ("failed", "error", "xpassed") for r in results)
