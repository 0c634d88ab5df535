"""Key negotiation limits, one row per key (RFC 7143 sections 6.2.2, 13): a key offered at the
edge of its legal range must come back at that edge (the minimum/maximum rule leaves no other
answer), a key offered outside its range must not be accepted, boolean keys follow OR/AND, and the
keys RFC 7143 made obsolete are refused. The rows repeat what the initiator's negotiation table
(initiator/proto/login/keys.cpp) says of each key; these tests judge the target with them."""
from __future__ import annotations

from ..driver import ConformanceFailure, decode_text
from ..registry import case
from ..shapes import (FAIL, PASS, SKIP, Offer, one_of, register,
                      reject_or_in_range)

MAX_SEGMENT = (1 << 24) - 1


def edge(id, key, section, rule, value):
    """The key offered at the edge of its range that its min/max rule fixes: answered `value`."""
    return Offer(id, "6.2.2", f"{key} ({section}, {rule}imum rule) offered at its legal "
                 f"{rule}imum {value} is answered {value}", {key: str(value)},
                 {key: one_of(str(value))}, refused=FAIL, unanswered=SKIP)


def beyond(id, key, section, low, high):
    """The key offered one above its legal maximum: never taken as it is."""
    return Offer(id, section, f"{key} offered above its legal maximum {high} is not accepted: "
                 "Reject, a failed login, or a legal value", {key: str(high + 1)},
                 {key: reject_or_in_range(low, high)}, refused=PASS, unanswered=PASS)


def boolean(id, key, section, fn, offer):
    return Offer(id, section, f"{key} ({fn} rule) offered {offer} is answered {offer}",
                 {key: offer}, {key: one_of(offer)}, refused=FAIL, unanswered=PASS)


def obsolete(id, key, value, level):
    allowed = ("Reject",) if level == "MUST" else ("Reject", "No", "NotUnderstood")
    return Offer(id, "13", f"The obsolete key {key} is answered Reject"
                 + ("" if level == "MUST" else " (No tolerated)"), {key: value},
                 {key: one_of(*allowed)}, refused=FAIL, unanswered=FAIL, level=level)


def only_offered(id, key, offer):
    return Offer(id, "6.2.1", f"{key} offered as {offer} alone is answered {offer} or Reject, "
                 "never a value that was not offered", {key: offer},
                 {key: one_of(offer, "Reject")}, refused=PASS, unanswered=FAIL)


register([
    edge("KEY-001", "MaxConnections", "13.2", "min", 1),
    beyond("KEY-002", "MaxConnections", "13.2", 1, 65535),
    edge("KEY-003", "MaxBurstLength", "13.13", "min", 512),
    beyond("KEY-004", "MaxBurstLength", "13.13", 512, MAX_SEGMENT),
    edge("KEY-005", "FirstBurstLength", "13.14", "min", 512),
    beyond("KEY-006", "FirstBurstLength", "13.14", 512, MAX_SEGMENT),
    edge("KEY-007", "DefaultTime2Wait", "13.15", "max", 3600),
    beyond("KEY-008", "DefaultTime2Wait", "13.15", 0, 3600),
    edge("KEY-009", "DefaultTime2Retain", "13.16", "min", 0),
    beyond("KEY-010", "DefaultTime2Retain", "13.16", 0, 3600),
    edge("KEY-011", "MaxOutstandingR2T", "13.17", "min", 1),
    beyond("KEY-012", "MaxOutstandingR2T", "13.17", 1, 65535),
    edge("KEY-013", "ErrorRecoveryLevel", "13.20", "min", 0),
    beyond("KEY-014", "ErrorRecoveryLevel", "13.20", 0, 2),
    boolean("KEY-015", "DataPDUInOrder", "13.18", "OR", "Yes"),
    boolean("KEY-016", "DataSequenceInOrder", "13.19", "OR", "Yes"),
    # RFC 7143 made the marker keys obsolete: IFMarkInt/OFMarkInt must be answered Reject;
    # IFMarker/OFMarker should be (No is tolerated).
    obsolete("KEY-017", "IFMarkInt", "2048~4096", "MUST"),
    obsolete("KEY-018", "OFMarkInt", "2048~4096", "MUST"),
    obsolete("KEY-019", "IFMarker", "No", "SHOULD"),
    obsolete("KEY-020", "OFMarker", "No", "SHOULD"),
    only_offered("KEY-021", "HeaderDigest", "CRC32C"),
    only_offered("KEY-022", "DataDigest", "CRC32C"),
    Offer("KEY-024", "6.2.2", "A boolean key offered with a value that is neither Yes nor No "
          "(InitialR2T=Maybe) is answered Reject, or the login fails", {"InitialR2T": "Maybe"},
          {"InitialR2T": one_of("Reject")}, refused=PASS, unanswered=FAIL, level="SHOULD"),
])


@case("KEY-023", "12.1",
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


@case("KEY-025", "6.1",
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


@case("KEY-026", "6.2",
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
