"""What a scenario file becomes once it is checked: cells (one per matrix combination), each with
its lab, initiators and steps, every value already parsed (durations in seconds, sizes in
bytes) and every step knowing where in the file it came from."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..provision.config import LabConfig

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min)?\s*$")
COMPARISON = re.compile(r"^\s*(>=|<=|==|>|<)?\s*(\d+)\s*$")
COUNTER_COMPARISON = re.compile(r"^\s*(>=|<=|==|>|<)?\s*([a-z][a-z_]*)\s*$")
# A session's counters (Session.stats() of the _core module): iscsiadm -m session -s names, then
# ours.
SESSION_COUNTERS = (
    "txdata_octets", "rxdata_octets", "noptx_pdus", "scsicmd_pdus", "tmfcmd_pdus", "login_pdus",
    "text_pdus", "dataout_pdus", "logout_pdus", "snack_pdus", "noprx_pdus", "scsirsp_pdus",
    "tmfrsp_pdus", "textrsp_pdus", "datain_pdus", "logoutrsp_pdus", "r2t_pdus", "async_pdus",
    "rjt_pdus", "digest_err", "timeout_err", "datain_discarded", "datain_recovered",
    "status_recovered", "r2t_recovered", "r2t_replaced", "connection_reinstatements",
    "tasks_reassigned", "commands_resent", "reassign_refused")


def parse_duration(value) -> float:
    """Seconds from 2, 2.5, "500ms", "2s", "1.5min"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = DURATION.match(str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r} (examples: 500ms, 2s, 1.5min)")
    number, unit = float(m.group(1)), m.group(2) or "s"
    return number * {"ms": 1e-3, "s": 1.0, "min": 60.0}[unit]


def parse_within(value) -> tuple[float, float]:
    """(min, max) seconds from a duration (the max) or [min, max]."""
    if isinstance(value, list):
        lo, hi = parse_duration(value[0]), parse_duration(value[1])
        if lo > hi:
            raise ValueError(f"within: the minimum {value[0]} is above the maximum {value[1]}")
        return lo, hi
    return 0.0, parse_duration(value)


@dataclass(frozen=True)
class Comparison:
    """`N`, `>= N`, ... as a check on a count; with `names`, also `== one_of_names`."""
    op: str
    value: int
    ref: str | None = None   # the other counter whose value `value` stands for

    @classmethod
    def parse(cls, text, names: tuple[str, ...] = ()) -> "Comparison":
        if isinstance(text, int) and not isinstance(text, bool):
            return cls("==", text)
        m = COMPARISON.match(str(text))
        if m:
            return cls(m.group(1) or "==", int(m.group(2)))
        m = COUNTER_COMPARISON.match(str(text)) if names else None
        if m and m.group(2) in names:
            return cls(m.group(1) or "==", 0, m.group(2))
        raise ValueError(f"expected a count such as 0, '>= 1' or '< 5'"
                         f"{' or another counter (== digest_err)' if names else ''}, got {text!r}")

    def holds(self, n: int, others: dict | None = None) -> bool:
        v = self.value if self.ref is None else (others or {}).get(self.ref)
        if v is None:
            return False
        return {"==": n == v, ">=": n >= v, "<=": n <= v, ">": n > v, "<": n < v}[self.op]

    def __str__(self) -> str:
        v = self.ref if self.ref is not None else self.value
        return str(v) if self.op == "==" else f"{self.op} {v}"


@dataclass
class InitiatorSpec:
    id: str
    name: str
    kind: str = "iscsi-lab"
    isid: str | None = None
    settings: dict[str, str] = field(default_factory=dict)   # canonical open-iscsi values


@dataclass
class Step:
    kind: str                     # a key of schema.STEPS
    body: dict                    # the step's mapping, shorthands expanded
    index: str                    # "3", or "3.2" inside a parallel step
    where: str                    # file:line:column
    label: str | None = None
    initiators: list[str] = field(default_factory=list)   # resolved ids (several: in parallel)
    aimed: bool = False           # `initiator:` was given (not the default)
    session: str | None = None
    note: str | None = None
    children: list["Step"] = field(default_factory=list)  # parallel

    def describe(self) -> str:
        """One line for progress and reports: `login target=iqn...:t0 portal=nic0`."""
        b = self.body
        if self.kind == "parallel":
            return "parallel: " + "; ".join(c.describe() for c in self.children)
        hidden = {"subject", "kind", "on"}     # filled in by the loader, not written by the author
        bits = []
        for k, v in b.items():
            if k in hidden or v is None or isinstance(v, (dict, list)):
                continue
            if isinstance(v, tuple):
                v = f"[{v[0]:g}, {v[1]:g}]s"
            bits.append(f"{k}={v}")
        who = f" ({', '.join(self.initiators)})" if self.aimed else ""
        return (f"{self.kind} " + " ".join(bits) if bits else self.kind) + who


@dataclass
class Cell:
    """One scenario with one set of matrix values: the unit that runs and gets a result."""
    scenario: str
    params: dict[str, Any]
    description: str
    tags: list[str]
    source: str                   # the file
    lab: LabConfig
    lab_key: str                  # equal keys: the same lab, so one booted guest can serve both
    initiators: list[InitiatorSpec]
    steps: list[Step]
    timeout: float = 600.0
    fresh_lab: bool = False
    known_kernel_reports: list[dict] = field(default_factory=list)   # {"match", "reason"}

    @property
    def id(self) -> str:
        if not self.params:
            return self.scenario
        return f"{self.scenario}[{','.join(f'{k}={param_text(v)}' for k, v in self.params.items())}]"

    def initiator(self, ident: str) -> InitiatorSpec:
        return next(i for i in self.initiators if i.id == ident)


def param_text(value) -> str:
    """How a matrix value is named in a cell id: a mapping by its `name`, others as text."""
    if isinstance(value, dict):
        return str(value.get("name", "?"))
    return str(value)
