"""Scans the guest's serial console (the kernel log) for signs of a kernel bug.

The patterns are those the kernel prints for BUG()/oops/WARN()/hung tasks; each finding keeps
a few lines of context so that a failing test can show what happened without the whole log.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PATTERNS = [
    ("bug", re.compile(r"\bBUG: ")),
    ("oops", re.compile(r"\bOops\b|\bgeneral protection fault\b")),
    ("warning", re.compile(r"\bWARNING: (?:CPU|at)\b")),
    ("call_trace", re.compile(r"\bCall Trace:")),
    ("hung_task", re.compile(r"\bINFO: task .+ blocked for more than \d+ seconds|"
                             r"\bhung_task\b|\bsoft lockup\b|\brcu_sched self-detected stall|"
                             r"\brcu: INFO: rcu_\w+ detected stalls")),
    ("panic", re.compile(r"\bKernel panic\b")),
]


@dataclass(frozen=True)
class Finding:
    kind: str
    line_no: int      # 1-based line in the console log
    line: str
    excerpt: str      # a few lines before and after, for reports

    def __str__(self) -> str:
        return f"{self.kind} at console line {self.line_no}: {self.line.strip()}\n{self.excerpt}"


CUT_HERE = re.compile(r"-+\[ cut here \]-+")
END_TRACE = re.compile(r"---\[ end trace")


def scan_text(text: str, context: int = 3, start_line: int = 1) -> list[Finding]:
    """All findings in `text`. A report is one finding with all of its lines: from its
    "[ cut here ]" line (or a few lines of context before it) to its "---[ end trace ]---"
    (at most 80 lines), so its Call Trace belongs to it, not to a finding of its own."""
    lines = text.splitlines()
    findings: list[Finding] = []
    last_major = -100
    i = 0
    while i < len(lines):
        line = lines[i]
        kind = next((k for k, pattern in PATTERNS if pattern.search(line)), None)
        if kind is None or (kind == "call_trace" and i - last_major <= 12):
            i += 1   # nothing, or the Call Trace of the report just found
            continue
        if kind != "call_trace":
            last_major = i
        lo = max(0, i - context)
        for j in range(i - 1, max(-1, i - context - 1), -1):
            if CUT_HERE.search(lines[j]):
                lo = j
                break
        hi, ended = min(len(lines), i + context + 8), False
        if kind != "call_trace":
            for j in range(i + 1, min(len(lines), i + 80)):
                if END_TRACE.search(lines[j]):
                    hi, ended = j + 1, True
                    break
        findings.append(Finding(kind, start_line + i, line, "\n".join(lines[lo:hi])))
        # A report closed by its end-trace line is one finding: nothing inside it starts
        # another. Without one, the next lines are looked at again (a BUG, then its Oops).
        i = hi if ended else i + 1
    return findings


class ConsoleLog:
    """The console file, read incrementally: `new_findings()` returns only what is new."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._offset = 0
        self._line = 1

    def text(self) -> str:
        try:
            return self.path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def findings(self) -> list[Finding]:
        return scan_text(self.text())

    def mark(self) -> None:
        """Forget everything logged so far: later checks look only at what follows."""
        text = self.text()
        self._offset = len(text)
        self._line = text.count("\n") + 1

    def new_findings(self) -> list[Finding]:
        text = self.text()
        # Only whole lines: a line still being written is scanned next time.
        cut = text.rfind("\n", self._offset) + 1
        if cut <= self._offset:
            return []
        chunk = text[self._offset:cut]
        found = scan_text(chunk, start_line=self._line)
        return found

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])
