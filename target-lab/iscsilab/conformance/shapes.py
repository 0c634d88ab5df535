"""Test shapes that many conformance tests share, as row types and case factories: a test of one
of these shapes is one row (ID, RFC section, requirement, parameters) in a table of its suite
module, and `register(rows)` turns every row into a registered test.

- `Offer`: log in offering some keys; each judged key's answer must satisfy an `Answer` rule;
  the row says what a refused login and an unanswered key count as.
- `Refusal`: send one Login Request built from the row; the answer must be a login reject of
  class 0x02 (initiator error), with the given detail when the row names one.
- `Tmf`: a TMF request on a ready session; its response code must be one the row allows; the
  session must still answer a ping afterwards when the row says so.

The shapes know nothing of a particular key or function: the rows carry every number.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .driver import ConformanceFailure, decode_text
from .registry import case

INITIATOR_ERROR = 2
SESSION_DOES_NOT_EXIST = 0x0A          # status detail of class 0x02 (section 11.13.5)


@dataclass(frozen=True)
class Answer:
    """A rule for one key's answer: `ok(answer) -> bool`, and how a failure names it."""
    ok: Callable[[str], bool]
    expected: str

    def __call__(self, answer: str) -> bool:
        return self.ok(answer)


def one_of(*values: str) -> Answer:
    return Answer(lambda a: a in values, " or ".join(values))


def not_number_below(low: int) -> Answer:
    """Anything but a number below `low` (a value under the legal minimum was accepted)."""
    return Answer(lambda a: not (a.isdigit() and int(a) < low), f"Reject or a value >= {low}")


def number_at_most(high: int) -> Answer:
    return Answer(lambda a: a.isdigit() and int(a) <= high, f"a number <= {high}")


def reject_or_in_range(low: int, high: int) -> Answer:
    return Answer(lambda a: a == "Reject" or (a.isdigit() and low <= int(a) <= high),
                  f"Reject or a value in {low}..{high}")


# What a refused login or an unanswered key means for a row.
PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass(frozen=True)
class Offer:
    id: str
    section: str
    requirement: str
    offer: dict                     # the operational keys offered (over the RFC defaults)
    judge: dict                     # key -> Answer
    refused: str = FAIL             # the login failed: PASS (an allowed answer) or FAIL
    unanswered: str = PASS          # a judged key the target did not answer: PASS, SKIP, FAIL
    level: str = "MUST"


def negotiate(ctx, offer: dict):
    """Logs in on a new connection offering `offer`; returns (the target's keys as a dict, or
    None when the login failed)."""
    sess = ctx.connect()
    try:
        sess.login(offer)
    except ConformanceFailure:
        return None
    return dict(sess.target_keys)


def _offer_test(row: Offer):
    shown = ", ".join(f"{k}={v}" for k, v in row.offer.items())

    def test(ctx):
        answers = negotiate(ctx, row.offer)
        if answers is None:
            if row.refused == PASS:
                return
            raise ConformanceFailure(f"the login failed when {shown} was offered")
        for key, rule in row.judge.items():
            answer = answers.get(key)
            if answer is None:
                if row.unanswered == PASS:
                    continue
                if row.unanswered == SKIP:
                    ctx.skip(f"the target did not answer {key} (it may take the offer as it is)")
                raise ConformanceFailure(f"{shown}: {key} was not answered, {rule.expected} "
                                         "expected")
            if not rule(answer):
                raise ConformanceFailure(f"{shown}: {key} answered {answer!r}, {rule.expected} "
                                         "expected")
    return test


@dataclass(frozen=True)
class Refusal:
    id: str
    section: str
    requirement: str
    # (ctx, session) -> (key=value text as a dict, list of pairs or bytes; Login Request fields)
    request: Callable
    detail: int | None = None       # the status detail of class 0x02 required, or any
    session: dict = field(default_factory=dict)   # Session(...) arguments: isid, tsih, cid
    what: str = ""
    level: str = "MUST"
    # Violations the driver's per-PDU checks may record that this row expects (rule prefixes).
    tolerate: tuple = ()


def status(rsp) -> str:
    return f"0x{rsp['status_class']:02x}{rsp['status_detail']:02x}"


def expect_initiator_error(rsp, detail: int | None = None, what: str = "") -> None:
    if rsp["status_class"] != INITIATOR_ERROR:
        raise ConformanceFailure(f"{what}: status {status(rsp)}, expected class 0x02 "
                                 "(initiator error)")
    if detail is not None and rsp["status_detail"] != detail:
        raise ConformanceFailure(f"{what}: status {status(rsp)}, expected "
                                 f"0x02{detail:02x}")


def _refusal_test(row: Refusal):
    def test(ctx):
        sess = ctx.connect(**row.session)
        sess.expected_violations.update(row.tolerate)
        keys, fields = row.request(ctx, sess)
        rsp = sess.login_exchange(keys, **fields)
        expect_initiator_error(rsp, row.detail, row.what or row.id)
    return test


def leading(**extra):
    """A Refusal request: the leading keys of a Normal session with AuthMethod=None, changed by
    `extra` (a value of None drops the key), in one Login Request with the given fields."""
    fields = extra.pop("fields", {})

    def build(ctx, sess):
        keys = dict(sess.leading_keys(), AuthMethod="None")
        for k, v in extra.items():
            if v is None:
                keys.pop(k, None)
            else:
                keys[k] = v(ctx) if callable(v) else v
        return keys, dict(fields)
    return build


@dataclass(frozen=True)
class Tmf:
    id: str
    section: str
    requirement: str
    function: int
    allowed: tuple                  # TMF response codes (section 11.6.1) that pass
    lun: int | None = None          # None: the run's LUN
    ping_after: bool = False        # the session must still answer a ping
    level: str = "MUST"


def _tmf_test(row: Tmf):
    def test(ctx):
        from .suite.ffp import ready
        sess = ready(ctx)
        kw = {} if row.lun is None else {"lun": row.lun}
        rsp = sess.tmf(row.function, **kw)
        if rsp["response"] not in row.allowed:
            raise ConformanceFailure(f"TMF response {rsp['response']} for function "
                                     f"{row.function}" + ("" if row.lun is None else
                                                          f" on LUN {row.lun}") +
                                     f", one of {list(row.allowed)} expected")
        if row.ping_after:
            sess.nop_ping(b"after the TMF")
    return test


_FACTORIES = {Offer: _offer_test, Refusal: _refusal_test, Tmf: _tmf_test}


def register(rows) -> None:
    """Registers one test per row."""
    for row in rows:
        case(row.id, row.section, row.requirement, level=row.level)(
            _FACTORIES[type(row)](row))


def keys_of(rsp) -> dict:
    return dict(decode_text(rsp.get("data") or b""))
