"""Error recovery level 1 and SNACK (RFC 7143 sections 7.1.5, 11.7.2, 11.16), where the target
negotiates ErrorRecoveryLevel 1 or more when offered 1; a target that settles on 0 skips these
tests (and says so) rather than passing them.

A SNACK names what it wants again by numbers the target gave: StatSN (Status SNACK), DataSN or
R2TSN (Data/R2T SNACK), and DataACK acknowledges Data-In up to a DataSN. What is sent again must be
what was sent the first time, but for ExpCmdSN/MaxCmdSN (and ExpDataSN of a response)."""
from __future__ import annotations

from ..driver import (DATA_IN, R2T, REJECT, RESERVED_TAG, SCSI_RESPONSE, SNACK_REQUEST,
                      ConformanceFailure, NoAnswer, TargetClosed, cdb_read10, cdb_write10)
from ..registry import case
from .ffp import block_size, expect_good, pattern, ready, tur

DATA_R2T, STATUS, DATA_ACK = 0, 1, 2     # SNACK types (section 11.16.1)
PROTOCOL_ERROR = 0x04                    # Reject reason (section 11.17.1)
# A retransmitted response repeats its StatSN: the driver's in-order StatSN check must not count
# that against the target.
STATSN_RULE = "4.2.2.2"


def erl1(ctx, operational: dict | None = None):
    """A ready session that negotiated ErrorRecoveryLevel >= 1, or the test is skipped."""
    sess = ready(ctx, dict(operational or {}, ErrorRecoveryLevel="1"))
    level = sess.params.get("ErrorRecoveryLevel", "0")
    if level == "0":
        ctx.skip("the target settled on ErrorRecoveryLevel=0 when 1 was offered (SNACK and "
                 "DataACK exist at level 1 and up)")
    sess.expected_violations.add(STATSN_RULE)
    return sess


def snack(sess, kind: int, *, itt: int = RESERVED_TAG, ttt: int = RESERVED_TAG, beg_run: int,
          run_length: int, exp_stat_sn: int | None = None, lun: int = 0) -> dict:
    req = {"opcode": SNACK_REQUEST, "type": kind, "lun": lun, "itt": itt, "ttt": ttt,
           "exp_stat_sn": sess.exp_stat_sn if exp_stat_sn is None else exp_stat_sn,
           "beg_run": beg_run, "run_length": run_length}
    sess.conn.send(req)
    return req


def expect_reject(sess, reasons: tuple, what: str):
    try:
        p = sess.recv_until(lambda p: p["opcode"] == REJECT, 5.0, what="Reject")
    except TargetClosed:
        raise ConformanceFailure(f"the target closed the connection instead of rejecting "
                                 f"{what}") from None
    except NoAnswer:
        raise ConformanceFailure(f"no Reject for {what} within 5 s") from None
    if p["reason"] not in reasons:
        raise ConformanceFailure(f"Reject reason {p['reason']:#x} for {what}, "
                                 f"{' or '.join(f'{r:#x}' for r in reasons)} expected")
    return p


def read_unacknowledged(sess, blocks_bytes: int = 2048):
    """A read in several Data-In PDUs whose status the session does not acknowledge (the SNACKs
    below carry the status's StatSN as ExpStatSN); returns (cmd, status, Data-Ins)."""
    bs = block_size(sess)
    blocks = max(1, blocks_bytes // bs)
    cmd = sess.scsi_pdu(cdb_read10(0, blocks), read=blocks * bs)
    sess.conn.send(cmd)
    keep: list = []
    status = sess.wait_status(cmd["itt"], keep=keep)
    data_in = [p for p in keep if p["opcode"] == DATA_IN and p["itt"] == cmd["itt"]]
    if status["opcode"] == DATA_IN:
        data_in.append(status)
    expect_good(status, "READ(10)")
    return cmd, status, data_in


@case("ERL-001", "11.16",
      "At ErrorRecoveryLevel 1 a Status SNACK for an unacknowledged response is answered with "
      "that response again: same ITT, StatSN and status")
def _(ctx):
    sess = erl1(ctx)
    cmd = sess.scsi_pdu(bytes(6))
    sess.conn.send(cmd)
    first = sess.wait_status(cmd["itt"])
    snack(sess, STATUS, beg_run=first["stat_sn"], run_length=1, exp_stat_sn=first["stat_sn"])
    again = sess.recv_until(lambda p: p["opcode"] == SCSI_RESPONSE, what="the response again")
    for field in ("itt", "stat_sn", "status", "response"):
        if again[field] != first[field]:
            raise ConformanceFailure(f"the response sent again has {field} {again[field]}, the "
                                     f"first had {first[field]}")
    sess.nop_ping(b"after the Status SNACK")


@case("ERL-002", "11.16",
      "At ErrorRecoveryLevel 1 a Data SNACK for one Data-In of a read is answered with that "
      "Data-In again: same DataSN, buffer offset and data")
def _(ctx):
    sess = erl1(ctx, {"MaxRecvDataSegmentLength": "512"})
    sess.conn.framer.set_max_recv_data_segment_length(512)
    cmd, status, data_in = read_unacknowledged(sess)
    if len(data_in) < 3:
        ctx.skip(f"the read came in {len(data_in)} Data-In PDUs, 3 are needed")
    want = data_in[1]
    snack(sess, DATA_R2T, itt=cmd["itt"], beg_run=want["data_sn"], run_length=1,
          exp_stat_sn=status["stat_sn"], lun=cmd["lun"])
    again = sess.recv_until(lambda p: p["opcode"] == DATA_IN and p["itt"] == cmd["itt"],
                            what="the Data-In again")
    for field in ("data_sn", "buffer_offset", "data"):
        if again[field] != want[field]:
            raise ConformanceFailure(f"the Data-In sent again has {field} "
                                     f"{again[field] if field != 'data' else '(other data)'}, "
                                     f"the first had {want[field] if field != 'data' else ''}")
    sess.nop_ping(b"after the Data SNACK")


@case("ERL-003", "11.16",
      "At ErrorRecoveryLevel 1 a Data SNACK for the last Data-In of a read is answered with "
      "that Data-In again")
def _(ctx):
    sess = erl1(ctx, {"MaxRecvDataSegmentLength": "512"})
    sess.conn.framer.set_max_recv_data_segment_length(512)
    cmd, status, data_in = read_unacknowledged(sess)
    want = data_in[-1]
    snack(sess, DATA_R2T, itt=cmd["itt"], beg_run=want["data_sn"], run_length=1,
          exp_stat_sn=status["stat_sn"], lun=cmd["lun"])
    try:
        again = sess.recv_until(lambda p: p["opcode"] in (DATA_IN, REJECT), what="the Data-In")
    except TargetClosed:
        raise ConformanceFailure(f"the target closed the connection on a Data SNACK for DataSN "
                                 f"{want['data_sn']}, the last it sent") from None
    if again["opcode"] == REJECT:
        raise ConformanceFailure(f"a Data SNACK for DataSN {want['data_sn']}, the last one "
                                 f"sent, was rejected (reason {again['reason']:#x})")
    if again["data_sn"] != want["data_sn"] or again["data"] != want["data"]:
        raise ConformanceFailure(f"DataSN {again['data_sn']} came for DataSN {want['data_sn']}")


@case("ERL-004", "11.16",
      "A SNACK asking for Data-In the target never sent (DataSN beyond the last) is rejected "
      "with reason protocol error (0x04)")
def _(ctx):
    sess = erl1(ctx, {"MaxRecvDataSegmentLength": "512"})
    sess.conn.framer.set_max_recv_data_segment_length(512)
    cmd, status, data_in = read_unacknowledged(sess)
    snack(sess, DATA_R2T, itt=cmd["itt"], beg_run=len(data_in) + 10, run_length=1,
          exp_stat_sn=status["stat_sn"], lun=cmd["lun"])
    expect_reject(sess, (PROTOCOL_ERROR,), "a Data SNACK for a DataSN never sent")


@case("ERL-005", "11.16",
      "A Status SNACK asking for a StatSN the target has not sent yet is rejected with reason "
      "protocol error (0x04)")
def _(ctx):
    sess = erl1(ctx)
    expect_good(tur(sess), "TEST UNIT READY")
    snack(sess, STATUS, beg_run=(sess.exp_stat_sn + 100) & 0xFFFFFFFF, run_length=1)
    expect_reject(sess, (PROTOCOL_ERROR,), "a Status SNACK for a StatSN not sent yet")


@case("ERL-006", "11.16",
      "At ErrorRecoveryLevel 1 a DataACK answering a Data-In with A=1 is taken silently (no "
      "Reject) and the session goes on")
def _(ctx):
    sess = erl1(ctx, {"MaxRecvDataSegmentLength": "512", "MaxBurstLength": "1024"})
    sess.conn.framer.set_max_recv_data_segment_length(512)
    cmd, status, data_in = read_unacknowledged(sess, 4096)
    asked = [p for p in data_in if p["acknowledge"]]
    if not asked:
        ctx.skip("no Data-In asked for a DataACK (A=1): the target need not")
    p = asked[0]
    if p["ttt"] == RESERVED_TAG:
        raise ConformanceFailure(f"a Data-In with A=1 (DataSN {p['data_sn']}) carries the "
                                 "reserved TTT 0xffffffff, which a DataACK cannot echo")
    snack(sess, DATA_ACK, ttt=p["ttt"], beg_run=p["data_sn"] + 1, run_length=0,
          lun=cmd["lun"])
    try:
        got = sess.recv(2.0)
    except NoAnswer:
        got = None
    if got is not None and got["opcode"] == REJECT:
        raise ConformanceFailure(f"the DataACK was rejected (reason {got['reason']:#x})")
    sess.nop_ping(b"after the DataACK")


@case("ERL-007", "11.16",
      "At ErrorRecoveryLevel 1 an R2T SNACK for an R2T not yet answered is answered with that "
      "R2T again (same R2TSN, offset and length), and the write completes")
def _(ctx):
    sess = erl1(ctx, {"ImmediateData": "No", "InitialR2T": "Yes"})
    bs = block_size(sess)
    data = pattern(2 * bs)
    cmd = sess.scsi_pdu(cdb_write10(224, 2), write=len(data))
    sess.conn.send(cmd)
    first = sess.recv_until(lambda p: p["opcode"] == R2T and p["itt"] == cmd["itt"],
                            what="R2T")
    snack(sess, DATA_R2T, itt=cmd["itt"], beg_run=first["r2t_sn"], run_length=1,
          lun=cmd["lun"])
    again = sess.recv_until(lambda p: p["opcode"] in (R2T, REJECT) and (
        p["opcode"] == REJECT or p["itt"] == cmd["itt"]), what="the R2T again")
    if again["opcode"] == REJECT:
        raise ConformanceFailure(f"the R2T SNACK was rejected (reason {again['reason']:#x})")
    for field in ("r2t_sn", "ttt", "buffer_offset", "desired_data_transfer_length"):
        if again[field] != first[field]:
            raise ConformanceFailure(f"the R2T sent again has {field} {again[field]}, the "
                                     f"first had {first[field]}")
    off, length = again["buffer_offset"], again["desired_data_transfer_length"]
    mrdsl = int(sess.params.get("MaxRecvDataSegmentLength", "8192"))
    pos, data_sn = off, 0
    while pos < off + length:
        chunk = data[pos:min(off + length, pos + mrdsl)]
        sess.conn.send(sess.data_out_pdu(cmd, pos, chunk, data_sn=data_sn, ttt=again["ttt"],
                                         final=pos + len(chunk) >= off + length))
        pos, data_sn = pos + len(chunk), data_sn + 1
    while True:
        p = sess.recv_until(lambda p: p["itt"] == cmd["itt"] and p["opcode"] in (
            R2T, SCSI_RESPONSE), what="R2T or status")
        if p["opcode"] == SCSI_RESPONSE:
            expect_good(p, "WRITE(10) after an R2T SNACK")
            return
        off, length = p["buffer_offset"], p["desired_data_transfer_length"]
        pos, data_sn = off, 0
        while pos < off + length:
            chunk = data[pos:min(off + length, pos + mrdsl)]
            sess.conn.send(sess.data_out_pdu(cmd, pos, chunk, data_sn=data_sn, ttt=p["ttt"],
                                             final=pos + len(chunk) >= off + length))
            pos, data_sn = pos + len(chunk), data_sn + 1


@case("ERL-008", "11.16",
      "A Data SNACK on a session at ErrorRecoveryLevel 0 is answered with a Reject (reason "
      "protocol error 0x04), not acted on", level="SHOULD")
def _(ctx):
    sess = ready(ctx, {"ErrorRecoveryLevel": "0"})
    cmd, status, data_in = read_unacknowledged(sess, 512)
    snack(sess, DATA_R2T, itt=cmd["itt"], beg_run=0, run_length=0,
          exp_stat_sn=status["stat_sn"], lun=cmd["lun"])
    expect_reject(sess, (PROTOCOL_ERROR, 0x03, 0x05), "a Data SNACK at ErrorRecoveryLevel 0")
