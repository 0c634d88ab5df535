"""Task management, text in the full feature phase, and SNACK where it is not negotiated
(RFC 7143 sections 11.5, 11.6, 11.10, 11.11, 11.16)."""
from __future__ import annotations

from ..driver import (REJECT, RESERVED_TAG, TEXT_RESPONSE, ConformanceFailure, NoAnswer,
                      TargetClosed, patch,
                      sn_add, sn_lt)
from ..registry import case
from ..shapes import Tmf, register
from .ffp import ready, tur

# TMF functions (section 11.5.1).
(ABORT_TASK, ABORT_TASK_SET, CLEAR_ACA, CLEAR_TASK_SET, LOGICAL_UNIT_RESET, TARGET_WARM_RESET,
 TARGET_COLD_RESET, TASK_REASSIGN) = range(1, 9)
# TMF Response codes (section 11.6.1).
(FUNCTION_COMPLETE, TASK_DOES_NOT_EXIST, LUN_DOES_NOT_EXIST, TASK_STILL_ALLEGIANT,
 REASSIGNMENT_NOT_SUPPORTED, NOT_SUPPORTED, AUTHORIZATION_FAILED) = range(7)
FUNCTION_REJECTED = 255


@case("TMF-001", "11.6.1",
      "ABORT TASK for a task that completed long ago is answered, with the request's ITT, by "
      "function complete (0) or task does not exist (1)")
def _(ctx):
    sess = ready(ctx)
    done = sess.scsi_pdu(bytes(6))
    sess.conn.send(done)
    sess.wait_status(done["itt"])
    rsp = sess.tmf(ABORT_TASK, referenced_task_tag=done["itt"], ref_cmd_sn=done["cmd_sn"])
    if rsp["response"] not in (FUNCTION_COMPLETE, TASK_DOES_NOT_EXIST):
        raise ConformanceFailure(f"TMF response {rsp['response']} for a finished task")
    tur(sess)


@case("TMF-008", "4.2.2.1",
      "A non-immediate TMF request takes its place in the CmdSN order: its response "
      "acknowledges its CmdSN")
def _(ctx):
    sess = ready(ctx)
    req = sess.tmf_pdu(ABORT_TASK, referenced_task_tag=0x7FFF0001, ref_cmd_sn=sess.cmd_sn,
                       immediate=False)
    sess.conn.send(req)
    rsp = sess.recv_until(lambda p: p["opcode"] == 0x22 and p["itt"] == req["itt"],
                          what="TMF Response")
    if not sn_lt(req["cmd_sn"], rsp["exp_cmd_sn"]):
        raise ConformanceFailure(f"ExpCmdSN {rsp['exp_cmd_sn']} after a TMF with CmdSN "
                                 f"{req['cmd_sn']}")
    sess.nop_ping(b"after the TMF")


@case("TMF-004", "4.2.2.1",
      "A TMF Response does not advance the window wrongly: an immediate TMF leaves ExpCmdSN "
      "where it was")
def _(ctx):
    sess = ready(ctx)
    before = sess.nop_ping(b"x")["exp_cmd_sn"]
    rsp = sess.tmf(ABORT_TASK, referenced_task_tag=0x7FFF0000, ref_cmd_sn=sn_add(before, -1))
    if rsp["exp_cmd_sn"] != before:
        raise ConformanceFailure(f"ExpCmdSN {rsp['exp_cmd_sn']} after an immediate TMF, "
                                 f"{before} expected")


@case("TEXT-001", "13.3",
      "In a Normal session, SendTargets with an empty value is answered by a final Text Response "
      "(F=1, TTT 0xffffffff, the request's ITT) naming the session's target")
def _(ctx):
    sess = ctx.logged_in()
    pairs, responses = sess.text_exchange({"SendTargets": ""})
    # ITT and the TTT of the last response are checked by the driver.
    if not responses[-1]["final_pdu"]:
        raise ConformanceFailure("the exchange did not end with F=1")
    names = [v for k, v in pairs if k == "TargetName"]
    if names != [ctx.target.iqn]:
        raise ConformanceFailure(f"SendTargets= named {names}, only {ctx.target.iqn} expected")


def discovery(ctx):
    sess = ctx.connect()
    sess.login(session_type="Discovery")
    return sess


@case("TEXT-002", "6.2",
      "In a Discovery session a Text Request key the target does not understand is answered "
      "NotUnderstood")
def _(ctx):
    pairs, _ = discovery(ctx).text_exchange({"NoSuchIscsiKey": "1"})
    answer = dict(pairs).get("NoSuchIscsiKey")
    if answer != "NotUnderstood":
        raise ConformanceFailure(f"NoSuchIscsiKey=1 answered {answer!r}")


@case("TEXT-003", "13.8",
      "Every TargetAddress a SendTargets answer carries has the form address[:port][,tag] with "
      "a port of 1..65535 and a tag of 0..65535")
def _(ctx):
    import re
    pairs = discovery(ctx).send_targets("All")
    addresses = [v for k, v in pairs if k == "TargetAddress"]
    if not addresses:
        raise ConformanceFailure("SendTargets=All carried no TargetAddress")
    form = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[^:,\[\]]+)(:(\d+))?(,(\d+))?$")
    for a in addresses:
        m = form.match(a)
        if not m or (m.group(3) and not 1 <= int(m.group(3)) <= 65535) or \
                (m.group(5) and not 0 <= int(m.group(5)) <= 65535):
            raise ConformanceFailure(f"TargetAddress={a!r}")


@case("TEXT-004", "13.3",
      "SendTargets naming one target answers for that target only; naming a target that does "
      "not exist answers with no TargetName")
def _(ctx):
    sess = discovery(ctx)
    names = [v for k, v in sess.send_targets(ctx.target.iqn) if k == "TargetName"]
    if names != [ctx.target.iqn]:
        raise ConformanceFailure(f"SendTargets={ctx.target.iqn} named {names}")
    names = [v for k, v in sess.send_targets(ctx.target.iqn + "-absent") if k == "TargetName"]
    if names:
        raise ConformanceFailure(f"SendTargets=<a name that does not exist> named {names}")


@case("TEXT-005", "11.10",
      "A Text Request whose text is continued in a second PDU (C=1) is put back together: the "
      "first part gets an empty Text Response, the whole text its answer")
def _(ctx):
    from ..driver import decode_text, encode_text
    sess = discovery(ctx)
    text = encode_text({"SendTargets": "All"})
    first = sess.text_pdu(text[:6], final=False, cont=True)
    sess.conn.send(first)
    try:
        rsp = sess.recv_until(lambda p: p["opcode"] == TEXT_RESPONSE, what="Text Response")
    except TargetClosed:
        raise ConformanceFailure("the target closed the connection on a Text Request with "
                                 "C=1") from None
    if rsp.get("data") or rsp["final_pdu"]:
        raise ConformanceFailure(f"the first part was answered with F={rsp['final_pdu']} and "
                                 f"{len(rsp.get('data') or b'')} bytes of text")
    second = sess.text_pdu(text[6:], ttt=rsp["ttt"], itt=first["itt"])
    sess.conn.send(second)
    data = b""
    while True:
        rsp = sess.recv_until(lambda p: p["opcode"] == TEXT_RESPONSE, what="Text Response")
        data += rsp.get("data") or b""
        if rsp["final_pdu"]:
            break
        sess.conn.send(sess.text_pdu(b"", ttt=rsp["ttt"], itt=first["itt"]))
    names = [v for k, v in decode_text(data) if k == "TargetName"]
    if ctx.target.iqn not in names:
        raise ConformanceFailure(f"the whole text was answered with TargetNames {names}")


@case("TEXT-006", "4.3", level="SHOULD",
      requirement="A SCSI command in a Discovery session is not executed: the target rejects "
                  "it or closes the connection, it sends no SCSI Response")
def _(ctx):
    from ..driver import SCSI_RESPONSE
    sess = discovery(ctx)
    cmd = sess.scsi_pdu(bytes(6))
    sess.conn.send(cmd)
    try:
        p = sess.recv_until(lambda p: p["opcode"] in (REJECT, SCSI_RESPONSE), 5.0,
                            what="Reject")
    except (TargetClosed, NoAnswer):
        return
    if p["opcode"] == SCSI_RESPONSE:
        raise ConformanceFailure(f"a SCSI command in a Discovery session was answered with "
                                 f"status {p['status']:#04x}")


@case("TEXT-007", "6.4",
      "A key that may only be negotiated at login (HeaderDigest) offered in a Text Request of "
      "the full feature phase is answered Reject")
def _(ctx):
    pairs, _ = discovery(ctx).text_exchange({"HeaderDigest": "None"})
    answer = dict(pairs).get("HeaderDigest")
    if answer != "Reject":
        raise ConformanceFailure(f"HeaderDigest=None in the full feature phase answered "
                                 f"{answer!r}")


@case("ERR-001", "11.16", level="SHOULD",
      requirement="A SNACK Request on a session that negotiated ErrorRecoveryLevel 0 is "
                  "answered with a Reject (reason 0x03, 0x04 or 0x05), not acted on")
def _(ctx):
    sess = ctx.logged_in({"ErrorRecoveryLevel": "0"})
    sess.conn.send({"opcode": 0x10, "type": 1, "itt": RESERVED_TAG, "ttt": RESERVED_TAG,
                    "exp_stat_sn": sess.exp_stat_sn, "beg_run": 0, "run_length": 0})
    try:
        p = sess.recv_until(lambda p: p["opcode"] == REJECT, 5.0, what="Reject")
    except TargetClosed:
        raise ConformanceFailure("the target closed the connection instead of rejecting the "
                                 "SNACK") from None
    if p["reason"] not in (0x03, 0x04, 0x05):
        raise ConformanceFailure(f"Reject reason {p['reason']:#x}")


@case("ERR-002", "11.17", level="MUST",
      requirement="A Text Response never answers a Text Request the target rejected: after a "
                  "Reject the session still answers a ping")
def _(ctx):
    sess = ctx.logged_in()
    # Immediate, so that a target that drops it leaves no hole in the CmdSN order before the
    # ping below. A Text Request with both F and C set is malformed (11.10.2).
    req = sess.text_pdu({"SendTargets": "All"}, immediate=True)
    sess.conn.send(req, mangle={"flags": 0xC0})
    try:
        p = sess.recv_until(lambda p: p["opcode"] in (REJECT, TEXT_RESPONSE), 5.0,
                            what="Reject or Text Response")
    except TargetClosed:
        return  # ending the connection on a protocol error is allowed at ERL 0
    if p["opcode"] == TEXT_RESPONSE and p["final_pdu"]:
        raise ConformanceFailure("a Text Request with F=1 and C=1 was answered as a complete one")
    sess.nop_ping(b"after the reject")


@case("ERR-003", "7.7", level="SHOULD",
      requirement="A Logout Request carrying a data segment (the type has none) is treated as a "
                  "format error (Reject or the connection closed), not as a logout")
def _(ctx):
    sess = ctx.logged_in()
    req = {"opcode": 0x06, "immediate": True, "reason": 0, "itt": sess.next_itt(), "cid": 0,
           "cmd_sn": sess.cmd_sn, "exp_stat_sn": sess.exp_stat_sn}
    wire = sess.conn.send_prepared(req)
    wire = patch(wire, {"data_segment_length": 4}) + b"junk"
    sess.conn.send_bytes(wire)
    try:
        p = sess.recv_until(lambda p: p["opcode"] in (REJECT, 0x26), 5.0, what="an answer")
    except (TargetClosed, NoAnswer):
        return
    if p["opcode"] == 0x26:
        raise ConformanceFailure("a Logout Request with a data segment was taken as a logout")


# ---- one row per TMF function whose answer is a response code from a set (shapes.py)

DEFINED = (FUNCTION_COMPLETE, NOT_SUPPORTED, AUTHORIZATION_FAILED, FUNCTION_REJECTED)
register([
    Tmf("TMF-002", "11.6.1", "LOGICAL UNIT RESET is answered with function complete (0), not "
        "supported (5), authorization failed (6) or function rejected (255), and the session "
        "stays usable", LOGICAL_UNIT_RESET, DEFINED, ping_after=True),
    Tmf("TMF-003", "11.6.1", "A TMF request with a function code the RFC does not define is "
        "answered with not supported (5) or function rejected (255)", 0x55,
        (NOT_SUPPORTED, FUNCTION_REJECTED)),
    Tmf("TMF-005", "11.6.1", "ABORT TASK SET with no task outstanding is answered function "
        "complete (0), not supported (5), authorization failed (6) or function rejected (255); "
        "the session stays usable", ABORT_TASK_SET, DEFINED, ping_after=True),
    Tmf("TMF-006", "11.6.1", "CLEAR TASK SET with no task outstanding is answered function "
        "complete (0), not supported (5), authorization failed (6) or function rejected (255); "
        "the session stays usable", CLEAR_TASK_SET, DEFINED, ping_after=True),
    Tmf("TMF-007", "11.6.1", "LOGICAL UNIT RESET of a LUN the target does not have is answered "
        "LUN does not exist (2), not supported (5) or authorization failed (6), never function "
        "complete", LOGICAL_UNIT_RESET, (LUN_DOES_NOT_EXIST, NOT_SUPPORTED, AUTHORIZATION_FAILED),
        lun=200),
    Tmf("TMF-010", "11.6.1", "CLEAR ACA with no ACA condition is answered function complete (0), "
        "not supported (5), authorization failed (6) or function rejected (255); the session "
        "stays usable", CLEAR_ACA, DEFINED, ping_after=True),
    Tmf("TMF-011", "11.6.1", "TASK REASSIGN on a session at ErrorRecoveryLevel 0 is answered "
        "allegiance reassignment not supported (4) or not supported (5), never function "
        "complete", TASK_REASSIGN, (REASSIGNMENT_NOT_SUPPORTED, NOT_SUPPORTED),
        ping_after=True),
    Tmf("TMF-009", "11.6.1", "TARGET WARM RESET is answered, with its ITT, by function complete "
        "(0), not supported (5), authorization failed (6) or function rejected (255) before any "
        "connection is dropped", TARGET_WARM_RESET, DEFINED, lun=0),
])


@case("TMF-012", "11.5.1",
      "ABORT TASK naming a task never received whose RefCmdSN is in the window and below the "
      "TMF's CmdSN is answered function complete (0), and that CmdSN then counts as received")
def _(ctx):
    sess = ready(ctx)
    sess.nop_ping(b"window")
    hole = sess.take_cmd_sn()          # a command with this CmdSN is never sent
    rsp = sess.tmf(ABORT_TASK, referenced_task_tag=0x7FFE0001, ref_cmd_sn=hole)
    if rsp["response"] != FUNCTION_COMPLETE:
        raise ConformanceFailure(f"TMF response {rsp['response']} for ABORT TASK of a task "
                                 f"never received with RefCmdSN {hole} in the window, 0 "
                                 "expected")
    # The next command (CmdSN hole + 1) runs only if the hole now counts as received.
    tur(sess)


@case("TMF-013", "11.5.1",
      "ABORT TASK naming a task that does not exist with a RefCmdSN outside the command window "
      "is answered task does not exist (1)")
def _(ctx):
    sess = ready(ctx)
    sess.nop_ping(b"window")
    outside = sn_add(sess.max_cmd_sn, 0x10000)
    rsp = sess.tmf(ABORT_TASK, referenced_task_tag=0x7FFE0002, ref_cmd_sn=outside)
    if rsp["response"] != TASK_DOES_NOT_EXIST:
        raise ConformanceFailure(f"TMF response {rsp['response']} for ABORT TASK with RefCmdSN "
                                 f"{outside} outside the window, 1 expected")
    sess.nop_ping(b"after the TMF")


@case("ERR-004", "11.10",
      "A Text Request with both F and C set and no data is rejected (or ends the connection), "
      "never answered as complete; after a Reject the session still answers a ping")
def _(ctx):
    sess = ctx.logged_in()
    req = sess.text_pdu(b"", immediate=True)
    sess.conn.send(req, mangle={"flags": 0xC0})
    try:
        p = sess.recv_until(lambda p: p["opcode"] in (REJECT, TEXT_RESPONSE), 5.0,
                            what="Reject or Text Response")
    except TargetClosed:
        return
    if p["opcode"] == TEXT_RESPONSE and p["final_pdu"]:
        raise ConformanceFailure("a Text Request with F=1 and C=1 was answered as a complete one")
    sess.nop_ping(b"after the reject")
