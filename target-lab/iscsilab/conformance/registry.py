"""The catalogue of conformance tests: each test is a function registered with an ID, the RFC 7143
section it checks (by number) and a one-line statement of the requirement in our own words.

    @case("LOGIN-002", "11.12.4", "A target rejects a login whose version range excludes 0 "
          "with status 0x0205")
    def _(ctx): ...

`needs` names what a test needs beyond a portal and a target name ("nop-in": a target that
sends NOP-Ins by itself; "lab": the lab's faults or configuration; "chap": CHAP credentials;
"no-auth": a target that takes AuthMethod=None, for tests that build the security stage by
hand); a run that lacks it skips the test and says why.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Callable

LEVELS = ("MUST", "MUST NOT", "SHOULD", "SHOULD NOT")


@dataclass(frozen=True)
class Case:
    id: str
    section: str
    requirement: str
    func: Callable
    level: str = "MUST"
    needs: frozenset = field(default_factory=frozenset)

    def line(self) -> str:
        return f"{self.id:<10} {self.section:<9} {self.level:<8} {self.requirement}"


_CASES: dict[str, Case] = {}
_ID = re.compile(r"^[A-Z]+-\d{3}$")
SUITE_MODULES = ("login", "keys", "ffp", "digest", "tmf", "erl", "logout", "auth")
# Listing order of the ID prefixes: the order a session goes through.
PREFIX_ORDER = ("LOGIN", "AUTH", "KEY", "FFP", "DIG", "TEXT", "TMF", "LOGOUT", "ERR", "ERL")


def case(id: str, section: str, requirement: str, *, level: str = "MUST", needs=()):
    """Registers the decorated function as test `id`."""
    if not _ID.match(id):
        raise ValueError(f"test ID {id!r} is not like LOGIN-001")
    if level not in LEVELS:
        raise ValueError(f"{id}: level {level!r} is not one of {LEVELS}")
    if not re.match(r"^\d+(\.\d+)*$", section):
        raise ValueError(f"{id}: section {section!r} is not a section number")

    def register(func):
        if id in _CASES:
            raise ValueError(f"test ID {id} registered twice")
        _CASES[id] = Case(id, section, requirement, func, level, frozenset(needs))
        return func
    return register


def add_needs(ids, need: str) -> None:
    """Adds `need` to the tests `ids` (registered already)."""
    from dataclasses import replace
    for test_id in ids:
        _CASES[test_id] = replace(_CASES[test_id], needs=_CASES[test_id].needs | {need})


def all_cases() -> list[Case]:
    """Every registered test, in ID order (the suite modules imported on first use)."""
    for name in SUITE_MODULES:
        importlib.import_module(f"iscsilab.conformance.suite.{name}")
    def order(c: Case):
        prefix = c.id.split("-")[0]
        return (PREFIX_ORDER.index(prefix) if prefix in PREFIX_ORDER else len(PREFIX_ORDER),
                c.id)
    return sorted(_CASES.values(), key=order)


# ---- -k EXPR: pytest's keyword expressions, over ID, section, level and requirement

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


def matcher(expr: str | None) -> Callable[[Case], bool]:
    """A predicate for `-k EXPR`: words are case-insensitive substrings of "ID section level
    requirement", combined with and/or/not and parentheses. Empty or None matches all."""
    if not expr or not expr.strip():
        return lambda c: True
    tokens = _TOKEN.findall(expr)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def parse_or():
        left = parse_and()
        while peek() and peek().lower() == "or":
            take()
            right = parse_and()
            left = (lambda a, b: lambda t: a(t) or b(t))(left, right)
        return left

    def parse_and():
        left = parse_not()
        while peek() and peek().lower() == "and":
            take()
            right = parse_not()
            left = (lambda a, b: lambda t: a(t) and b(t))(left, right)
        return left

    def parse_not():
        if peek() and peek().lower() == "not":
            take()
            inner = parse_not()
            return lambda t: not inner(t)
        if peek() == "(":
            take()
            inner = parse_or()
            if take() != ")":
                raise ValueError(f"-k {expr!r}: ')' expected")
            return inner
        word = take() if peek() not in (None, ")") else None
        if word is None or word.lower() in ("and", "or"):
            raise ValueError(f"-k {expr!r}: a word expected")
        w = word.lower()
        return lambda t: w in t

    try:
        pred = parse_or()
    except IndexError:
        raise ValueError(f"-k {expr!r}: incomplete expression") from None
    if pos != len(tokens):
        raise ValueError(f"-k {expr!r}: unexpected {tokens[pos]!r}")
    return lambda c: pred(f"{c.id} {c.section} {c.level} {c.requirement}".lower())
