"""Minimization of a failing program: delta debugging (ddmin) over its steps, then shorter
waits, under a budget of tries and seconds.

`still_fails(program) -> bool` says whether a candidate still shows the finding (same
signature); it is the only thing that touches a target, so this file is tested with fakes.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

from .program import Program, Step


# Waits are shortened to this, not less: a replay on another boot of a TCG guest jitters.
SHORT_WAIT = 1.0


class Budget:
    def __init__(self, tries: int = 200, seconds: float = 300.0):
        self.tries, self.deadline = tries, time.monotonic() + seconds
        self.used = 0

    def take(self) -> bool:
        if self.used >= self.tries or time.monotonic() > self.deadline:
            return False
        self.used += 1
        return True


def ddmin(steps: list[Step], test: Callable[[list[Step]], bool], budget: Budget) -> list[Step]:
    """The smallest subsequence of `steps` found for which test() holds (1-minimal when the
    budget allows). test(steps) is assumed true."""
    n = 2
    while len(steps) >= 2:
        chunk = max(1, len(steps) // n)
        subsets = [steps[i:i + chunk] for i in range(0, len(steps), chunk)]
        reduced = False
        for i in range(len(subsets)):
            complement = [s for j, sub in enumerate(subsets) if j != i for s in sub]
            if not budget.take():
                return steps
            if test(complement):
                steps, n, reduced = complement, max(n - 1, 2), True
                break
        if not reduced:
            if n >= len(steps):
                break
            n = min(len(steps), n * 2)
    return steps


def minimize(prog: Program, still_fails: Callable[[Program], bool],
             budget: Budget | None = None) -> Program:
    budget = budget or Budget()

    def test(steps: list[Step]) -> bool:
        return still_fails(Program(steps, prog.comments))

    steps = ddmin(list(prog.steps), test, budget)
    # Shorter waits where they do not matter (they are most of a replay's time).
    for i, s in enumerate(steps):
        if s.kind in ("recv", "sleep") and s.seconds > SHORT_WAIT:
            cand = steps[:i] + [replace(s, seconds=SHORT_WAIT)] + steps[i + 1:]
            if not budget.take():
                break
            if test(cand):
                steps = cand
    return Program(steps, prog.comments)
