"""CRC32C header and data digests (RFC 7143 sections 7.8, 11.2.1, 13.1): once negotiated, every
target PDU carries correct digests (proto's framer verifies them), and a PDU of ours with a bad
digest is never acted on as if it were good."""
from __future__ import annotations

from ..driver import (NOP_IN, R2T, REJECT, SCSI_RESPONSE, ConformanceFailure, NoAnswer,
                      TargetClosed, cdb_write10)
from ..registry import case
from .ffp import block_size, expect_good, pattern, read_blocks, ready, write_and_collect

DIGESTS = {"HeaderDigest": "CRC32C", "DataDigest": "CRC32C"}


def with_digests(ctx, header: bool = True, data: bool = True):
    keys = {k: v for k, v in DIGESTS.items() if (header if k == "HeaderDigest" else data)}
    control = ctx.control if hasattr(ctx.control, "set_param") else None
    if control is not None:  # a target this run controls is told to take digests
        for key in keys:
            control.set_param(key, "CRC32C,None")
    try:
        sess = ready(ctx, keys)
    finally:
        if control is not None:
            for key in keys:
                control.set_param(key, "None")
    for key in keys:
        if sess.params.get(key) != "CRC32C":
            ctx.skip(f"the target chose {key}={sess.params.get(key)}")
    return sess


@case("DIG-001", "13.1",
      "With CRC32C header and data digests negotiated, every PDU of the target carries correct "
      "digests from the first PDU of the full feature phase on, and ours are accepted")
def _(ctx):
    sess = with_digests(ctx)
    sess.nop_ping(pattern(1001))
    read_blocks(sess, 0, 16)


def corrupted_ping(sess, where: str):
    """An immediate NOP-Out ping with one bit of its header or data digest flipped; returns
    its ITT."""
    req = sess.nop_out_pdu(b"digest test data", immediate=True)
    wire = bytearray(sess.conn.send_prepared(req))
    if where == "header":
        wire[48 + 3] ^= 0x01          # the header digest follows the 48-byte BHS
    else:
        wire[-1] ^= 0x01              # the data digest ends the PDU
    sess.conn.send_bytes(bytes(wire))
    return req["itt"]


def expect_not_acted_on(sess, itt: int, what: str) -> None:
    try:
        p = sess.recv_until(lambda p: p["opcode"] in (NOP_IN, REJECT), 3.0, what="an answer")
    except (NoAnswer, TargetClosed):
        return
    if p["opcode"] == NOP_IN and p["itt"] == itt:
        raise ConformanceFailure(f"a ping with a bad {what} digest was answered as if it were "
                                 "good")
    if p["opcode"] == REJECT and what == "data" and p["reason"] != 0x02:
        raise ConformanceFailure(f"Reject reason {p['reason']:#x} for a data digest error, "
                                 "0x02 expected")


@case("DIG-002", "7.8",
      "A PDU whose header digest is wrong is discarded: never acted on (the connection may be "
      "closed)")
def _(ctx):
    sess = with_digests(ctx, data=False)
    expect_not_acted_on(sess, corrupted_ping(sess, "header"), "header")


@case("DIG-003", "7.8",
      "A PDU whose data digest is wrong is not acted on: a Reject with reason 0x02, silence, or "
      "the connection closed")
def _(ctx):
    sess = with_digests(ctx, header=False)
    expect_not_acted_on(sess, corrupted_ping(sess, "data"), "data")


@case("DIG-004", "7.8",
      "Write data in a Data-Out whose data digest is wrong never reaches the medium: the command "
      "does not end GOOD and the blocks read back as before")
def _(ctx):
    sess = with_digests(ctx, header=False)
    bs = block_size(sess)
    before = pattern(bs)
    cmd = sess.scsi_pdu(cdb_write10(128, 1), write=bs, data=b"")
    status, _ = write_and_collect(sess, cmd, before)
    expect_good(status, "WRITE(10) of the old data")
    after = pattern(bs)
    cmd = sess.scsi_pdu(cdb_write10(128, 1), write=bs)
    sess.conn.send(cmd)
    try:
        r2t = sess.recv_until(lambda p: p["opcode"] in (R2T, SCSI_RESPONSE) and
                              p["itt"] == cmd["itt"], what="R2T")
    except TargetClosed:
        raise ConformanceFailure("the target closed the connection on a plain write") from None
    if r2t["opcode"] != R2T:
        ctx.skip("the target completed the write without asking for data")
    out = sess.data_out_pdu(cmd, 0, after, data_sn=0, ttt=r2t["ttt"], final=True)
    wire = bytearray(sess.conn.send_prepared(out))
    wire[-1] ^= 0x01
    sess.conn.send_bytes(bytes(wire))
    try:
        status = sess.recv_until(lambda p: p["opcode"] == SCSI_RESPONSE and
                                 p["itt"] == cmd["itt"], 5.0, what="status")
        if status["status"] == 0 and status["response"] == 0:
            raise ConformanceFailure("a write whose Data-Out had a bad data digest ended GOOD")
    except (NoAnswer, TargetClosed):
        pass
    check = ready(ctx)
    if read_blocks(check, 128, 1) == after:
        raise ConformanceFailure("the data with the bad digest was written")
