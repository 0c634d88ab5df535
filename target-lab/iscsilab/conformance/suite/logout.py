"""Logout: reason codes, closing a connection against closing the session, and what a Discovery
session may do (RFC 7143 sections 4.3, 6.3.5, 11.14, 11.15). FFP-041/042/044/045 (the first
logout tests) keep their IDs."""
from __future__ import annotations

from ..driver import (LOGOUT_REQUEST, LOGOUT_RESPONSE, NOP_IN, REJECT, ConformanceFailure,
                      NoAnswer, TargetClosed, sn_lt)
from ..registry import add_needs, case
from ..shapes import SESSION_DOES_NOT_EXIST, expect_initiator_error

CLOSE_SESSION, CLOSE_CONNECTION, REMOVE_FOR_RECOVERY = 0, 1, 2   # reason codes (11.14.1)
RECOVERY_NOT_SUPPORTED = 2                                       # response (11.15.1)


def logout_pdu(sess, reason: int, *, cid: int | None = None, immediate: bool = False) -> dict:
    return {"opcode": LOGOUT_REQUEST, "immediate": immediate, "reason": reason,
            "itt": sess.next_itt(), "cid": sess.cid if cid is None else cid,
            "cmd_sn": sess.take_cmd_sn(immediate), "exp_stat_sn": sess.exp_stat_sn or 0}


def discovery(ctx):
    sess = ctx.connect()
    sess.login(session_type="Discovery")
    return sess


@case("LOGOUT-001", "11.15.1",
      "At ErrorRecoveryLevel 0 a logout to remove a connection for recovery (reason 2) is "
      "answered with response 2 (connection recovery not supported)")
def _(ctx):
    sess = ctx.logged_in({"ErrorRecoveryLevel": "0"})
    sess.conn.send(logout_pdu(sess, REMOVE_FOR_RECOVERY, immediate=True))
    try:
        rsp = sess.recv_until(lambda p: p["opcode"] in (LOGOUT_RESPONSE, REJECT),
                              what="Logout Response")
    except TargetClosed:
        raise ConformanceFailure("the target closed the connection without a Logout "
                                 "Response") from None
    if rsp["opcode"] == REJECT:
        raise ConformanceFailure(f"a logout with reason 2 was rejected (reason "
                                 f"{rsp['reason']:#x}), response 2 expected")
    if rsp["response"] != RECOVERY_NOT_SUPPORTED:
        raise ConformanceFailure(f"Logout response {rsp['response']} for reason 2 at "
                                 "ErrorRecoveryLevel 0, 2 expected")


@case("LOGOUT-002", "4.2.2.1",
      "A non-immediate Logout Request takes its place in the CmdSN order: its response "
      "acknowledges its CmdSN")
def _(ctx):
    sess = ctx.logged_in()
    req = logout_pdu(sess, CLOSE_SESSION)
    sess.conn.send(req)
    rsp = sess.recv_until(lambda p: p["opcode"] == LOGOUT_RESPONSE, what="Logout Response")
    if not sn_lt(req["cmd_sn"], rsp["exp_cmd_sn"]):
        raise ConformanceFailure(f"Logout Response ExpCmdSN {rsp['exp_cmd_sn']} after a logout "
                                 f"with CmdSN {req['cmd_sn']}")


@case("LOGOUT-003", "6.3.5",
      "After a session logs out, a new leading login with the same ISID (TSIH 0) makes a new "
      "session that works")
def _(ctx):
    old = ctx.logged_in()
    if old.logout(CLOSE_SESSION)["response"] != 0:
        raise ConformanceFailure("the session logout was not answered with response 0")
    old.conn.expect_closed(10.0)
    new = ctx.connect(isid=old.isid)
    new.login()
    new.nop_ping(b"a new session with the old ISID")


@case("LOGOUT-004", "6.3.5",
      "Closing the only connection of a session by a connection logout (reason 1) closes the "
      "session at ErrorRecoveryLevel 0: its TSIH then names no session (0x020a)")
def _(ctx):
    old = ctx.logged_in({"ErrorRecoveryLevel": "0"})
    rsp = old.logout(CLOSE_CONNECTION)
    if rsp["response"] != 0:
        raise ConformanceFailure(f"Logout response {rsp['response']} for the only connection")
    old.conn.expect_closed(10.0)
    again = ctx.connect(isid=old.isid, tsih=old.tsih, cid=1)
    rsp = again.login_exchange(dict(again.leading_keys(), AuthMethod="None"))
    expect_initiator_error(rsp, SESSION_DOES_NOT_EXIST,
                           f"TSIH {old.tsih} after its last connection logged out")


@case("LOGOUT-005", "4.3",
      "A Discovery session logs out with reason 0 (close the session): response 0, then the "
      "connection closed")
def _(ctx):
    sess = discovery(ctx)
    rsp = sess.logout(CLOSE_SESSION)
    if rsp["response"] != 0:
        raise ConformanceFailure(f"Logout response {rsp['response']} in a Discovery session")
    sess.conn.expect_closed(10.0)


@case("LOGOUT-006", "4.3",
      "A Discovery session takes no logout but close the session: a connection logout (reason "
      "1) is rejected, never answered response 0")
def _(ctx):
    sess = discovery(ctx)
    sess.conn.send(logout_pdu(sess, CLOSE_CONNECTION, immediate=True))
    try:
        p = sess.recv_until(lambda p: p["opcode"] in (LOGOUT_RESPONSE, REJECT), 5.0,
                            what="Reject")
    except TargetClosed:
        return  # ended without taking it: not a logout answered 0
    except NoAnswer:
        raise ConformanceFailure("neither a Reject nor a Logout Response within 5 s") from None
    if p["opcode"] == LOGOUT_RESPONSE and p["response"] == 0:
        raise ConformanceFailure("a connection logout in a Discovery session was answered "
                                 "response 0")


@case("TEXT-008", "4.3",
      "A Discovery session takes only Text (SendTargets) and Logout Requests: a ping is rejected "
      "or ends the connection, never answered with a NOP-In")
def _(ctx):
    sess = discovery(ctx)
    sess.conn.send(sess.nop_out_pdu(b"discovery ping", immediate=True))
    try:
        p = sess.recv_until(lambda p: p["opcode"] in (NOP_IN, REJECT), 5.0, what="Reject")
    except (TargetClosed, NoAnswer):
        return
    if p["opcode"] == NOP_IN:
        raise ConformanceFailure("a ping in a Discovery session was answered with a NOP-In")


add_needs(("LOGOUT-004",), "no-auth")   # AuthMethod=None by hand (see login.py)


@case("TEXT-009", "4.3",
      "A Discovery session takes only Text (SendTargets) and Logout Requests: a SCSI Data-Out "
      "is rejected or ends the connection, never passed over in silence")
def _(ctx):
    from ..driver import DATA_OUT
    sess = discovery(ctx)
    sess.conn.send({"opcode": DATA_OUT, "final_pdu": True, "lun": 0, "itt": sess.next_itt(),
                    "ttt": 0xFFFFFFFF, "exp_stat_sn": sess.exp_stat_sn or 0, "data_sn": 0,
                    "buffer_offset": 0, "data": b"\0" * 512})
    try:
        sess.recv_until(lambda p: p["opcode"] == REJECT, 5.0, what="Reject")
    except TargetClosed:
        return
    except NoAnswer:
        raise ConformanceFailure("a Data-Out in a Discovery session got no Reject within 5 s "
                                 "(the connection stayed open)") from None
