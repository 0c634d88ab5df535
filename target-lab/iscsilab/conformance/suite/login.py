"""Login phase: stages and the T/C bits, version, ISID/TSIH rules, status classes, and the limits
of key negotiation (RFC 7143 sections 6, 11.12, 11.13, 13)."""
from __future__ import annotations

from ..driver import (FULL_FEATURE, LOGIN_RESPONSE, OPERATIONAL, SECURITY, ConformanceFailure,
                      NoAnswer, TargetClosed, decode_text)
from ..registry import add_needs, case
from ..shapes import (FAIL, PASS, Offer, Refusal, leading, not_number_below, number_at_most,
                      one_of, register)

# Status classes and details (section 11.13.5).
INITIATOR_ERROR = 2
NOT_FOUND = 0x03
SESSION_DOES_NOT_EXIST = 0x0A
UNSUPPORTED_VERSION = 0x05
MISSING_PARAMETER = 0x07


def status(rsp) -> str:
    return f"0x{rsp['status_class']:02x}{rsp['status_detail']:02x}"


def first_response(sess, keys, **kw):
    """Sends one Login Request and returns the response, without judging its status."""
    return sess.login_exchange(keys, **kw)


def expect_initiator_error(rsp, detail: int | None = None, what: str = "") -> None:
    if rsp["status_class"] != INITIATOR_ERROR:
        raise ConformanceFailure(f"{what}: status {status(rsp)}, expected class 0x02 "
                                 "(initiator error)")
    if detail is not None and rsp["status_detail"] != detail:
        raise ConformanceFailure(f"{what}: status {status(rsp)}, expected "
                                 f"0x02{detail:02x}")


def keys_of(rsp) -> dict:
    return dict(decode_text(rsp.get("data") or b""))


# ---- a whole login and the fields of its responses

@case("LOGIN-001", "11.13.1",
      "Every Login Response carries Version-max and Version-active 0, the only iSCSI version")
def _(ctx):
    ctx.logged_in()  # the driver checks the version fields of every Login Response


@case("LOGIN-003", "11.13",
      "Each Login Response echoes the Initiator Task Tag and the ISID of the request it answers")
def _(ctx):
    sess = ctx.connect()
    sess.login()  # the driver compares ITT and ISID of every response with its request


@case("LOGIN-004", "11.13.3",
      "The final Login Response of a leading login carries a non-zero TSIH")
def _(ctx):
    sess = ctx.connect()
    final = sess.login()
    if final["tsih"] == 0:
        raise ConformanceFailure("TSIH 0 in the Login Final-Response")


@case("LOGIN-005", "11.13.3", level="SHOULD",
      requirement="Login Responses other than the final one of a leading login echo the "
                  "initiator's TSIH (0)")
def _(ctx):
    sess = ctx.connect()
    rsp = first_response(sess, dict(sess.leading_keys(), AuthMethod="None"), csg=SECURITY,
                         nsg=OPERATIONAL, transit=False)
    if rsp["status_class"] == 0 and rsp["tsih"] != 0:
        raise ConformanceFailure(f"TSIH {rsp['tsih']} in a non-final response of a leading login")


@case("LOGIN-006", "11.13",
      "A target does not set T in a Login Response when the request had T=0, and keeps the "
      "request's CSG")
def _(ctx):
    sess = ctx.connect()
    rsp = first_response(sess, dict(sess.leading_keys(), AuthMethod="None"), csg=SECURITY,
                         transit=False)
    if rsp["status_class"] != 0:
        raise ConformanceFailure(f"a T=0 security-stage request was rejected: {status(rsp)}")
    if rsp["transit"]:
        raise ConformanceFailure("the target answered T=1 to a request with T=0")


@case("LOGIN-007", "11.13.4",
      "StatSN advances by one with each Login Response of the login phase")
def _(ctx):
    sess = ctx.connect()
    sess.login()  # the driver checks StatSN against the first response's value plus one each


@case("LOGIN-008", "11.12.8",
      "The final Login Response of a leading login has ExpCmdSN equal to the CmdSN the login "
      "requests carried")
def _(ctx):
    sess = ctx.connect(cmd_sn=0x1000)
    final = sess.login()
    if final["exp_cmd_sn"] != 0x1000:
        raise ConformanceFailure(f"ExpCmdSN {final['exp_cmd_sn']:#x}, the login's CmdSN was "
                                 "0x1000")


@case("LOGIN-009", "11.13.5",
      "After a Login Response with a non-zero status class the target closes the connection")
def _(ctx):
    sess = ctx.connect()
    keys = dict(sess.leading_keys(), AuthMethod="None", TargetName=ctx.target.iqn + "-absent")
    rsp = first_response(sess, keys)
    if rsp["status_class"] == 0:
        raise ConformanceFailure("a login to an unknown TargetName succeeded")
    sess.conn.expect_closed(10.0)


@case("LOGIN-014", "11.12.3",
      "A Login Request with the reserved stage value 2 in CSG is rejected with an initiator "
      "error")
def _(ctx):
    sess = ctx.connect()
    req = sess.login_pdu(dict(sess.leading_keys(), AuthMethod="None"))
    offs_flags = 0x80 | (2 << 2) | OPERATIONAL  # T=1, CSG=2, NSG=1
    sess.conn.send(req, mangle={"flags": offs_flags})
    try:
        rsp = sess.recv_until(lambda p: p["opcode"] == LOGIN_RESPONSE, what="Login Response")
    except TargetClosed:
        raise ConformanceFailure("the target closed the connection without a Login Response "
                                 "(a reject with class 0x02 is due)") from None
    expect_initiator_error(rsp, None, "CSG 2")


@case("LOGIN-015", "6.3",
      "A Login Request that asks to move back from the operational to the security stage is "
      "rejected with an initiator error")
def _(ctx):
    sess = ctx.connect()
    rsp = first_response(sess, dict(sess.leading_keys(), AuthMethod="None"), csg=SECURITY,
                         nsg=OPERATIONAL)
    if rsp["status_class"] != 0 or not rsp["transit"]:
        ctx.skip("the target did not move to the operational stage at once")
    rsp = first_response(sess, {}, csg=OPERATIONAL, nsg=SECURITY)
    expect_initiator_error(rsp, None, "operational -> security")


@case("LOGIN-016", "6.3.5",
      "A leading login with the ISID and InitiatorName of a live session reinstates it: the new "
      "login succeeds and the old connection is closed")
def _(ctx):
    old = ctx.logged_in()
    new = ctx.connect(isid=old.isid)
    new.login()
    old.conn.expect_closed(15.0)
    new.nop_ping(b"after reinstatement")


@case("LOGIN-017", "11.12.6",
      "Two sessions of one initiator with different ISIDs get different TSIHs and live side by "
      "side")
def _(ctx):
    a = ctx.logged_in()
    b = ctx.logged_in()
    if a.tsih == b.tsih:
        raise ConformanceFailure(f"both sessions got TSIH {a.tsih}")
    a.nop_ping(b"a")
    b.nop_ping(b"b")


@case("LOGIN-018", "6.2",
      "A key the target does not understand is answered with NotUnderstood")
def _(ctx):
    sess = ctx.connect()
    sess.login({"X-org.example.conformance": "1", "NoSuchIscsiKey": "7"})
    answered = dict(sess.target_keys)
    for key in ("NoSuchIscsiKey", "X-org.example.conformance"):
        if answered.get(key) != "NotUnderstood":
            raise ConformanceFailure(f"{key} answered {answered.get(key)!r}, expected "
                                     "NotUnderstood")


@case("LOGIN-020", "13.12",
      "The MaxRecvDataSegmentLength a target declares is within 512..2^24-1")
def _(ctx):
    sess = ctx.connect()
    sess.login({"MaxRecvDataSegmentLength": "8192"})
    value = dict(sess.target_keys).get("MaxRecvDataSegmentLength")
    if value is None:
        ctx.skip("the target did not declare MaxRecvDataSegmentLength (default 8192 applies)")
    if not value.isdigit() or not 512 <= int(value) <= 0xFFFFFF:
        raise ConformanceFailure(f"MaxRecvDataSegmentLength={value}")


@case("LOGIN-021", "13.14",
      "The negotiated FirstBurstLength does not exceed the negotiated MaxBurstLength")
def _(ctx):
    sess = ctx.connect()
    sess.login({"MaxBurstLength": "65536", "FirstBurstLength": "65536", "InitialR2T": "No",
                "ImmediateData": "Yes"})
    keys = dict(sess.target_keys)
    mbl = int(keys.get("MaxBurstLength", "262144"))
    fbl = int(keys.get("FirstBurstLength", "65536"))
    if fbl > mbl:
        raise ConformanceFailure(f"FirstBurstLength {fbl} > MaxBurstLength {mbl}")


@case("LOGIN-028", "13.9",
      "A target sends TargetPortalGroupTag (1..65535) during the login of a Normal session")
def _(ctx):
    sess = ctx.connect()
    sess.login()
    tags = [v for k, v in sess.target_keys if k == "TargetPortalGroupTag"]
    if not tags:
        raise ConformanceFailure("no TargetPortalGroupTag in any Login Response")
    if not tags[0].isdigit() or not 0 <= int(tags[0]) <= 65535:
        raise ConformanceFailure(f"TargetPortalGroupTag={tags[0]}")


@case("LOGIN-029", "6.1",
      "A target sends each key at most once in a login's responses (no duplicates within one "
      "negotiation)")
def _(ctx):
    sess = ctx.connect()
    sess.login()
    seen = {}
    for k, _ in sess.target_keys:
        seen[k] = seen.get(k, 0) + 1
    dup = [k for k, n in seen.items() if n > 1]
    if dup:
        raise ConformanceFailure(f"keys sent more than once: {', '.join(dup)}")


@case("LOGIN-030", "13.21",
      "A Discovery session logs in without TargetName and SendTargets=All lists the target")
def _(ctx):
    sess = ctx.connect()
    sess.login(session_type="Discovery")
    text = sess.send_targets("All")
    names = [v for k, v in text if k == "TargetName"]
    if ctx.target.iqn not in names:
        raise ConformanceFailure(f"SendTargets=All named {names}, not {ctx.target.iqn}")


@case("LOGIN-031", "11.12.1",
      "A login that moves straight from the security stage to the full feature phase (T=1, "
      "NSG=3) is accepted or answered with a lower NSG, never with NSG above the request's")
def _(ctx):
    sess = ctx.connect()
    rsp = first_response(sess, dict(sess.leading_keys(), AuthMethod="None"), csg=SECURITY,
                         nsg=FULL_FEATURE)
    if rsp["status_class"] != 0:
        raise ConformanceFailure(f"status {status(rsp)} for security -> full feature")
    if rsp["transit"] and rsp["nsg"] not in (OPERATIONAL, FULL_FEATURE):
        raise ConformanceFailure(f"NSG {rsp['nsg']} in the answer")


@case("LOGIN-032", "11.13.5",
      "After rejecting a login the target sends nothing but the rejection (no further PDUs)")
def _(ctx):
    sess = ctx.connect()
    keys = dict(sess.leading_keys(), AuthMethod="None", TargetName=ctx.target.iqn + "-absent")
    rsp = first_response(sess, keys)
    if rsp["status_class"] == 0:
        raise ConformanceFailure("a login to an unknown TargetName succeeded")
    more = sess.conn.expect_closed(10.0)
    if more:
        raise ConformanceFailure(f"PDUs after the rejection: {', '.join(p.name for p in more)}")


@case("LOGIN-033", "11.12.9", level="SHOULD",
      requirement="The target answers a login on a fresh connection although the request's "
                  "ExpStatSN is an arbitrary value (it is reserved in a leading login)")
def _(ctx):
    sess = ctx.connect()
    try:
        rsp = first_response(sess, dict(sess.leading_keys(), AuthMethod="None"),
                             exp_stat_sn=0xDEADBEEF)
    except (NoAnswer, TargetClosed) as e:
        raise ConformanceFailure(f"no Login Response: {e}") from None
    if rsp["status_class"] != 0:
        raise ConformanceFailure(f"status {status(rsp)}")


@case("LOGIN-034", "13.2", level="SHOULD",
      requirement="A login that would add a connection beyond the negotiated MaxConnections (1) "
                  "is rejected with an initiator error (0x0206, too many connections, or 0x0208)")
def _(ctx):
    first = ctx.connect()
    first.login({"MaxConnections": "1"})
    if dict(first.target_keys).get("MaxConnections", "1") != "1":
        ctx.skip("the target did not settle on MaxConnections=1")
    second = ctx.connect(isid=first.isid, tsih=first.tsih, cid=1)
    try:
        second.login()
    except ConformanceFailure:
        pass
    rsp = second.last_login_response
    if rsp is None or rsp["status_class"] != INITIATOR_ERROR or \
            rsp["status_detail"] not in (0x06, 0x08):
        raise ConformanceFailure(f"a second connection with MaxConnections=1 ended its login "
                                 f"with status {status(rsp)}")
    first.nop_ping(b"the first connection lives on")


@case("LOGIN-036", "6.1",
      "Login text split over two Login Requests with C=1 is put back together: the first part "
      "is answered with an empty Login Response (T=0), and the login then succeeds")
def _(ctx):
    from ..driver import encode_text
    sess = ctx.connect()
    text = encode_text(dict(sess.leading_keys(), AuthMethod="None"))
    cut = text.index(b"=") + 3  # inside the first value
    rsp = first_response(sess, text[:cut], cont=True, transit=False)
    if rsp["status_class"] != 0:
        raise ConformanceFailure(f"the first part was answered with status {status(rsp)}")
    if rsp.get("data") or rsp["transit"]:
        raise ConformanceFailure(f"the first part was answered with T={rsp['transit']} and "
                                 f"{len(rsp.get('data') or b'')} bytes of text, not an empty "
                                 "response")
    rsp = first_response(sess, text[cut:], transit=True)
    if rsp["status_class"] != 0:
        raise ConformanceFailure(f"the whole text was answered with status {status(rsp)}")
    if not rsp["transit"]:
        raise ConformanceFailure("the target did not move on after the whole text")
    sess.login(security=False, names=False)


@case("LOGIN-037", "13.21",
      "A SessionType the RFC does not define is refused: answered Reject, or the login fails "
      "with an initiator error")
def _(ctx):
    sess = ctx.connect()
    keys = dict(sess.leading_keys(), AuthMethod="None", SessionType="X-Bogus")
    rsp = first_response(sess, keys)
    if rsp["status_class"] == INITIATOR_ERROR:
        return
    if rsp["status_class"] == 0 and keys_of(rsp).get("SessionType") in ("Reject",
                                                                       "NotUnderstood"):
        return
    raise ConformanceFailure(f"SessionType=X-Bogus answered with status {status(rsp)} and "
                             f"SessionType={keys_of(rsp).get('SessionType')!r}")


@case("LOGIN-038", "4.4",
      "A session is named by InitiatorName and ISID together: a second initiator name with the "
      "same ISID makes a new session and leaves the first one alone")
def _(ctx):
    from dataclasses import replace
    a = ctx.logged_in()
    other = replace(ctx.target, initiator_iqn=ctx.target.initiator_iqn + "-other")
    from ..driver import Connection, Session
    b = Session(Connection(other, timeout=ctx.timeout), isid=a.isid)
    ctx.sessions.append(b)
    b.login()
    a.nop_ping(b"first session")
    b.nop_ping(b"second session")


@case("LOGIN-039", "6.3", level="SHOULD",
      requirement="A target that requires no authentication accepts a login that starts in the "
                  "operational stage (no security stage)")
def _(ctx):
    sess = ctx.connect()
    sess.login(security=False)
    sess.nop_ping(b"no security stage")


@case("LOGIN-040", "6.3.5",
      "Once a session has logged out, a login naming its TSIH is answered 0x020a (session does "
      "not exist)")
def _(ctx):
    old = ctx.logged_in()
    rsp = old.logout(0)
    if rsp["response"] != 0:
        raise ConformanceFailure(f"logout response {rsp['response']}")
    old.conn.expect_closed(10.0)
    again = ctx.connect(isid=old.isid, tsih=old.tsih, cid=1)
    rsp = first_response(again, dict(again.leading_keys(), AuthMethod="None"))
    expect_initiator_error(rsp, SESSION_DOES_NOT_EXIST, f"TSIH {old.tsih} after logout")


@case("LOGIN-042", "11.12.10",
      "A Login Request whose data segment is longer than 8192 bytes is refused (an initiator "
      "error, or the connection closed), never taken")
def _(ctx):
    from ..driver import encode_text
    sess = ctx.connect()
    pad = [(f"X-org.example.pad{i:03d}", "p" * 80) for i in range(110)]
    text = encode_text(list(dict(sess.leading_keys(), AuthMethod="None").items()) + pad)
    if len(text) <= 8192:
        raise AssertionError("the padding is too short")
    try:
        rsp = first_response(sess, text)
    except TargetClosed:
        return
    expect_initiator_error(rsp, None, f"{len(text)} bytes of login text in one PDU")


@case("LOGIN-043", "11.12.4",
      "A login whose version range is 0..5 is accepted and runs at version 0 (the target picks "
      "from the range, never refuses it)")
def _(ctx):
    sess = ctx.connect()
    keys = dict(sess.leading_keys(), AuthMethod="None")
    rsp = first_response(sess, keys, version_max=5, version_min=0)
    if rsp["status_class"] != 0:
        raise ConformanceFailure(f"Version-max 5, Version-min 0 answered {status(rsp)}")


@case("LOGIN-044", "11.12.6",
      "A login naming the TSIH of a live session with another ISID is answered 0x020a (session "
      "does not exist): a TSIH belongs to one ISID")
def _(ctx):
    live = ctx.logged_in()
    other = ctx.connect(isid=live.isid ^ 0x1, tsih=live.tsih, cid=1)
    rsp = first_response(other, dict(other.leading_keys(), AuthMethod="None"))
    expect_initiator_error(rsp, SESSION_DOES_NOT_EXIST, "a live TSIH with another ISID")
    live.nop_ping(b"the live session is untouched")


@case("LOGIN-045", "6.3.1",
      "A connection whose first PDU is not a Login Request is closed by the target without an "
      "answer")
def _(ctx):
    from ..driver import NOP_IN
    sess = ctx.connect()
    sess.exp_stat_sn = 0
    ping = sess.nop_out_pdu(b"before login", immediate=True)
    sess.conn.send(ping)
    got = sess.conn.expect_closed(10.0)
    if any(p["opcode"] == NOP_IN for p in got):
        raise ConformanceFailure("the target answered a ping sent before any login")


@case("LOGIN-046", "6.3.1",
      "A PDU other than a Login Request during the login phase is never acted on: the "
      "connection is closed, after a login reject 0x020b (invalid during login) if one is sent")
def _(ctx):
    from ..driver import NOP_IN
    sess = ctx.connect()
    rsp = first_response(sess, dict(sess.leading_keys(), AuthMethod="None"), csg=SECURITY,
                         transit=False)
    if rsp["status_class"] != 0:
        raise ConformanceFailure(f"the first login request was refused: {status(rsp)}")
    sess.conn.send(sess.nop_out_pdu(b"during login", immediate=True))
    got = sess.conn.expect_closed(10.0)
    if any(p["opcode"] == NOP_IN for p in got):
        raise ConformanceFailure("the target answered a ping sent during the login phase")
    rejects = [p for p in got if p["opcode"] == LOGIN_RESPONSE]
    if rejects and (rejects[0]["status_class"], rejects[0]["status_detail"]) != (2, 0x0B):
        raise ConformanceFailure(f"the login reject carries {status(rejects[0])}, 0x020b "
                                 "expected")


@case("LOGIN-047", "6.3.6", level="SHOULD",
      requirement="A leading login with the ISID of a live session that fails (an unknown "
                  "TargetName) leaves that session alone: no reinstatement without a login "
                  "that succeeds")
def _(ctx):
    live = ctx.logged_in()
    failed = ctx.connect(isid=live.isid)
    keys = dict(failed.leading_keys(), AuthMethod="None", TargetName=ctx.target.iqn + "-absent")
    rsp = first_response(failed, keys)
    if rsp["status_class"] == 0:
        raise ConformanceFailure("a login to an unknown TargetName succeeded")
    live.nop_ping(b"still alive")


@case("LOGIN-048", "6.3.4", level="SHOULD",
      requirement="At ErrorRecoveryLevel 0 a login with the ISID, TSIH and CID of a live "
                  "connection reinstates that connection: the login succeeds and the old "
                  "connection is closed")
def _(ctx):
    old = ctx.logged_in()
    new = ctx.connect(isid=old.isid, tsih=old.tsih, cid=old.cid)
    new.login()
    old.conn.expect_closed(10.0)
    new.nop_ping(b"on the reinstated connection")


@case("LOGIN-049", "6.3.4",
      "When a target takes a login that reinstates a live connection (same ISID, TSIH, CID), "
      "the old connection is logged out: closed, its commands no longer answered")
def _(ctx):
    old = ctx.logged_in()
    new = ctx.connect(isid=old.isid, tsih=old.tsih, cid=old.cid)
    try:
        new.login()
    except ConformanceFailure:
        ctx.skip(f"the target refused the reinstating login "
                 f"({status(new.last_login_response) if new.last_login_response else 'no answer'}"
                 "): nothing to check")
    old.conn.expect_closed(10.0)


@case("LOGIN-050", "6.3.5",
      "After a session is reinstated, the old session's TSIH with its ISID names no session "
      "(0x020a) unless the new session got the same TSIH")
def _(ctx):
    old = ctx.logged_in()
    new = ctx.connect(isid=old.isid)
    new.login()
    old.conn.expect_closed(15.0)
    if new.tsih == old.tsih:
        ctx.skip("the reinstated session got the old TSIH again")
    probe = ctx.connect(isid=old.isid, tsih=old.tsih, cid=1)
    rsp = first_response(probe, dict(probe.leading_keys(), AuthMethod="None"))
    expect_initiator_error(rsp, SESSION_DOES_NOT_EXIST, f"the old TSIH {old.tsih}")


# ---- one row per test: login refusals and key offers (shapes.py)

def _same_key_twice(ctx, sess):
    from ..driver import encode_text
    pairs = list(dict(sess.leading_keys(), AuthMethod="None").items())
    return encode_text(pairs + [("SessionType", "Normal")]), {}


register([
    Refusal("LOGIN-002", "11.12.4", "A login whose Version-min is above every version the "
            "target supports is rejected with status 0x0205 (unsupported version)",
            leading(fields={"version_max": 1, "version_min": 1}), UNSUPPORTED_VERSION,
            what="Version-min 1",
            # The driver's version check does not apply to a rejection that tells us the
            # target's range.
            tolerate=("11.13.1",)),
    Refusal("LOGIN-010", "13.4", "A leading login of a Normal session to a TargetName the "
            "target does not have is rejected with 0x0203 (not found)",
            leading(TargetName=lambda ctx: ctx.target.iqn + "-absent"), NOT_FOUND,
            what="unknown TargetName"),
    Refusal("LOGIN-011", "13.5", "A leading login without InitiatorName is rejected with an "
            "initiator error (0x0207, missing parameter)", leading(InitiatorName=None),
            MISSING_PARAMETER, what="no InitiatorName"),
    Refusal("LOGIN-012", "13.4", "A leading login of a Normal session without TargetName is "
            "rejected with an initiator error (0x0207, missing parameter)",
            leading(TargetName=None), MISSING_PARAMETER, what="no TargetName"),
    Refusal("LOGIN-013", "11.12.6", "A login naming a non-zero TSIH that matches no session is "
            "rejected with 0x020a (session does not exist)", leading(), SESSION_DOES_NOT_EXIST,
            session={"tsih": 0x7A5C}, what="unknown TSIH"),
    Refusal("LOGIN-035", "11.12.1", "A Login Request with both C and T set (text incomplete, "
            "yet asking to transit) is rejected with an initiator error",
            leading(fields={"cont": True, "transit": True}), what="C=1 and T=1",
            level="SHOULD"),
    Refusal("LOGIN-041", "6.1", "A Login Request that offers the same key twice is refused "
            "with an initiator error", _same_key_twice, what="SessionType twice",
            level="SHOULD"),

    Offer("LOGIN-019", "13.13", "An offer of MaxBurstLength below its legal minimum (512) is "
          "not accepted: the target answers Reject or fails the login",
          {"MaxBurstLength": "100"}, {"MaxBurstLength": not_number_below(512)}, refused=PASS),
    Offer("LOGIN-022", "6.2.2", "A numerical key with the minimum rule is answered with a value "
          "no larger than the offer",
          {"MaxBurstLength": "4096", "FirstBurstLength": "2048", "MaxOutstandingR2T": "1"},
          {"MaxBurstLength": number_at_most(4096), "FirstBurstLength": number_at_most(2048),
           "MaxOutstandingR2T": number_at_most(1)}),
    Offer("LOGIN-023", "6.2.2", "A boolean key with the OR rule offered Yes is answered Yes "
          "(InitialR2T)", {"InitialR2T": "Yes"}, {"InitialR2T": one_of("Yes")}),
    Offer("LOGIN-024", "6.2.2", "A boolean key with the AND rule offered No is answered No "
          "(ImmediateData)", {"ImmediateData": "No"}, {"ImmediateData": one_of("No")}),
    Offer("LOGIN-025", "6.2.1", "A list offer is answered with one value from the list "
          "(HeaderDigest=None)", {"HeaderDigest": "None", "DataDigest": "None"},
          {"HeaderDigest": one_of("None"), "DataDigest": one_of("None")}),
    Offer("LOGIN-026", "6.2.1", "A list offer with no value the target supports is answered "
          "Reject, or the login fails", {"HeaderDigest": "X-org.example-nodigest"},
          {"HeaderDigest": one_of("Reject", "NotUnderstood")}, refused=PASS, unanswered=FAIL),
    Offer("LOGIN-027", "13.20", "ErrorRecoveryLevel (minimum rule) is answered with a value no "
          "larger than the offer", {"ErrorRecoveryLevel": "0"},
          {"ErrorRecoveryLevel": one_of("0")}),
])


# These tests build the security stage by hand with AuthMethod=None: a run against a target that
# requires CHAP (--chap) skips them.
add_needs(("LOGIN-002", "LOGIN-005", "LOGIN-006", "LOGIN-009", "LOGIN-010", "LOGIN-011",
           "LOGIN-012", "LOGIN-013", "LOGIN-014", "LOGIN-015", "LOGIN-031", "LOGIN-032",
           "LOGIN-033", "LOGIN-035", "LOGIN-036", "LOGIN-037", "LOGIN-039", "LOGIN-040",
           "LOGIN-041", "LOGIN-042", "LOGIN-043", "LOGIN-044", "LOGIN-046", "LOGIN-047",
           "LOGIN-050"), "no-auth")
