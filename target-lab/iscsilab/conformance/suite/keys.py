"""Key negotiation limits, one row per key (RFC 7143 sections 6.2.2, 13): a key offered at the
edge of its legal range must come back at that edge (the minimum/maximum rule leaves no other
answer), a key offered outside its range must not be accepted, boolean keys follow OR/AND, and the
keys RFC 7143 made obsolete are refused. The rows repeat what the initiator's negotiation table
(initiator/proto/login/keys.cpp) says of each key; these tests judge the target with them."""
from __future__ import annotations

from ..driver import ConformanceFailure, decode_text
from ..registry import case

MAX_SEGMENT = (1 << 24) - 1

# key, result function, legal minimum, legal maximum, section
NUMERIC = (
    ("MaxConnections", "min", 1, 65535, "13.2"),
    ("MaxBurstLength", "min", 512, MAX_SEGMENT, "13.13"),
    ("FirstBurstLength", "min", 512, MAX_SEGMENT, "13.14"),
    ("DefaultTime2Wait", "max", 0, 3600, "13.15"),
    ("DefaultTime2Retain", "min", 0, 3600, "13.16"),
    ("MaxOutstandingR2T", "min", 1, 65535, "13.17"),
    ("ErrorRecoveryLevel", "min", 0, 2, "13.20"),
)
# key, result function, the offer whose answer the function fixes, section
BOOLEAN = (
    ("DataPDUInOrder", "OR", "Yes", "13.18"),
    ("DataSequenceInOrder", "OR", "Yes", "13.19"),
)
# Keys RFC 7143 made obsolete: IFMarkInt/OFMarkInt must be answered Reject; IFMarker/OFMarker
# should be (No is tolerated).
OBSOLETE = (("IFMarkInt", "2048~4096", "MUST"), ("OFMarkInt", "2048~4096", "MUST"),
            ("IFMarker", "No", "SHOULD"), ("OFMarker", "No", "SHOULD"))


def negotiate(ctx, key: str, value: str):
    """Logs in offering key=value; returns (the target's answer or None, whether the login
    failed)."""
    sess = ctx.connect()
    try:
        sess.login({key: value})
    except ConformanceFailure:
        return None, True
    return dict(sess.target_keys).get(key), False


def _edge_test(key, rule, low, high, section):
    edge = low if rule == "min" else high

    def test(ctx):
        answer, failed = negotiate(ctx, key, str(edge))
        if failed:
            raise ConformanceFailure(f"the login failed when {key}={edge} (a legal value) was "
                                     "offered")
        if answer is None:
            ctx.skip(f"the target did not answer {key} (it may take the offer as it is)")
        if answer != str(edge):
            raise ConformanceFailure(f"{key}={edge} answered {answer}; the {rule}imum rule "
                                     f"leaves only {edge}")
    return test


def _outside_test(key, low, high):
    bad = high + 1

    def test(ctx):
        answer, failed = negotiate(ctx, key, str(bad))
        if failed or answer in ("Reject", None):
            return
        if not answer.isdigit() or not low <= int(answer) <= high:
            raise ConformanceFailure(f"{key}={bad} (beyond {high}) answered {answer}")
    return test


def _boolean_test(key, offer):
    def test(ctx):
        answer, failed = negotiate(ctx, key, offer)
        if failed:
            raise ConformanceFailure(f"the login failed when {key}={offer} was offered")
        if answer not in (None, offer):
            raise ConformanceFailure(f"{key}={offer} answered {answer}")
    return test


def _obsolete_test(key, value, level):
    def test(ctx):
        answer, failed = negotiate(ctx, key, value)
        if failed:
            raise ConformanceFailure(f"the login failed when the obsolete {key} was offered")
        allowed = ("Reject",) if level == "MUST" else ("Reject", "No", "NotUnderstood")
        if answer not in allowed:
            raise ConformanceFailure(f"obsolete {key}={value} answered {answer!r}, "
                                     f"{' or '.join(allowed)} expected")
    return test


_n = 0


def _next_id() -> str:
    global _n
    _n += 1
    return f"KEY-{_n:03d}"


for _key, _rule, _low, _high, _section in NUMERIC:
    _edge = _low if _rule == "min" else _high
    case(_next_id(), "6.2.2",
         f"{_key} ({_section}, {_rule}imum rule) offered at its legal {_rule}imum {_edge} is "
         f"answered {_edge}")(_edge_test(_key, _rule, _low, _high, _section))
    case(_next_id(), _section,
         f"{_key} offered above its legal maximum {_high} is not accepted: Reject, a failed "
         "login, or a legal value")(_outside_test(_key, _low, _high))
for _key, _fn, _offer, _section in BOOLEAN:
    case(_next_id(), _section,
         f"{_key} ({_fn} rule) offered {_offer} is answered {_offer}")(
        _boolean_test(_key, _offer))
for _key, _value, _level in OBSOLETE:
    case(_next_id(), "13", level=_level,
         requirement=f"The obsolete key {_key} is answered Reject"
         + ("" if _level == "MUST" else " (No tolerated)"))(_obsolete_test(_key, _value, _level))


def _list_test(key, offer):
    def test(ctx):
        answer, failed = negotiate(ctx, key, offer)
        if failed:
            return  # refusing the whole login is also an answer that takes nothing not offered
        if answer not in (offer, "Reject"):
            raise ConformanceFailure(f"{key}={offer} answered {answer!r}, a value that was not "
                                     "offered")
    return test


for _key in ("HeaderDigest", "DataDigest"):
    case(_next_id(), "6.2.1",
         f"{_key} offered as CRC32C alone is answered CRC32C or Reject, never a value that was "
         "not offered")(_list_test(_key, "CRC32C"))


@case(_next_id(), "12.1",
      "AuthMethod offered as CHAP alone is answered CHAP or Reject (or the login fails), never "
      "with a method that was not offered")
def _(ctx):
    sess = ctx.connect()
    rsp = sess.login_exchange(dict(sess.leading_keys(), AuthMethod="CHAP"),
                              csg=0, nsg=1, transit=False)
    if rsp["status_class"] != 0:
        return
    answer = dict(decode_text(rsp.get("data") or b"")).get("AuthMethod")
    if answer not in ("CHAP", "Reject"):
        raise ConformanceFailure(f"AuthMethod=CHAP answered {answer!r}")


@case(_next_id(), "6.2.2", level="SHOULD",
      requirement="A boolean key offered with a value that is neither Yes nor No (InitialR2T="
                  "Maybe) is answered Reject, or the login fails")
def _(ctx):
    answer, failed = negotiate(ctx, "InitialR2T", "Maybe")
    if not failed and answer != "Reject":
        raise ConformanceFailure(f"InitialR2T=Maybe answered {answer!r}")


@case(_next_id(), "6.1",
      "Key names are case-sensitive: a known key spelt in lower case is a key the target does "
      "not understand (NotUnderstood), not the known one")
def _(ctx):
    sess = ctx.connect()
    sess.login({"maxburstlength": "512"})
    answers = dict(sess.target_keys)
    if answers.get("maxburstlength") != "NotUnderstood":
        raise ConformanceFailure(f"maxburstlength=512 answered "
                                 f"{answers.get('maxburstlength')!r}")
    if answers.get("MaxBurstLength") == "512":
        raise ConformanceFailure("the lower-case key was taken as MaxBurstLength")


@case(_next_id(), "6.2",
      "Every negotiated key offered is answered, unless the offer alone settles the result (a "
      "boolean OR offered Yes, AND offered No)")
def _(ctx):
    offer = {"InitialR2T": "No", "ImmediateData": "Yes", "MaxBurstLength": "131072",
             "FirstBurstLength": "32768", "MaxOutstandingR2T": "1", "DataPDUInOrder": "No",
             "DataSequenceInOrder": "No", "DefaultTime2Wait": "2", "DefaultTime2Retain": "20",
             "ErrorRecoveryLevel": "0", "MaxConnections": "1", "HeaderDigest": "None",
             "DataDigest": "None"}
    sess = ctx.connect()
    sess.login(offer)
    answered = {k for k, _ in sess.target_keys}
    missing = [k for k in offer if k not in answered]
    if missing:
        raise ConformanceFailure(f"offered and not answered: {', '.join(missing)}")
