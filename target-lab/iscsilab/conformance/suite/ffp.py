"""Full feature phase: the CmdSN window, StatSN, NOP both ways, SCSI status and residuals,
immediate, unsolicited and solicited data (R2T), Reject of what a target does not support, and
logout (RFC 7143 sections 4.2.2, 11.3 to 11.19)."""
from __future__ import annotations

import os

from ..driver import (NOP_IN, R2T, REJECT, RESERVED_TAG, SCSI_RESPONSE,
                      ConformanceFailure, NoAnswer, Pdu, TargetClosed, cdb_read10,
                      cdb_read_capacity10,
                      cdb_test_unit_ready, cdb_write10, sn_add, sn_lt)
from ..registry import case

GOOD = 0x00


def expect_good(status: Pdu, what: str) -> None:
    if status["opcode"] == SCSI_RESPONSE and status["response"] != 0:
        raise ConformanceFailure(f"{what}: iSCSI response {status['response']:#x}")
    if status["status"] != GOOD:
        raise ConformanceFailure(f"{what}: SCSI status {status['status']:#04x}")


CHECK_CONDITION = 0x02
UNIT_ATTENTION = 0x6


def sense_key(status: Pdu) -> int | None:
    """The sense key of a CHECK CONDITION's sense data (fixed or descriptor format)."""
    data = status.get("data") or b""
    if len(data) < 4:
        return None
    sense = data[2:2 + int.from_bytes(data[:2], "big")]
    if len(sense) < 3:
        return None
    code = sense[0] & 0x7F
    return (sense[1] if code in (0x72, 0x73) else sense[2]) & 0x0F


def ready(ctx, operational: dict | None = None):
    """A logged-in session whose LU has delivered its unit attentions (the first command of a new
    I_T nexus may get one: a SCSI matter, not an iSCSI one)."""
    sess = ctx.logged_in(operational)
    for _ in range(4):
        status = tur(sess)
        if status["status"] == GOOD:
            return sess
        if status["status"] != CHECK_CONDITION or sense_key(status) != UNIT_ATTENTION:
            break
    expect_good(status, "TEST UNIT READY (after unit attentions)")
    return sess


def tur(sess) -> Pdu:
    cmd = sess.scsi_pdu(cdb_test_unit_ready())
    sess.conn.send(cmd)
    return sess.wait_status(cmd["itt"])


def block_size(sess) -> int:
    """The LU's block size from READ CAPACITY(10) (kept on the session)."""
    if getattr(sess, "block_size", None) is None:
        status, data_in = sess.run_read(cdb_read_capacity10(), 8)
        expect_good(status, "READ CAPACITY(10)")
        data = b"".join(p["data"] for p in data_in)
        if len(data) < 8:
            raise ConformanceFailure(f"READ CAPACITY(10) returned {len(data)} bytes")
        sess.block_size = int.from_bytes(data[4:8], "big")
    return sess.block_size


def read_blocks(sess, lba: int, blocks: int) -> bytes:
    bs = block_size(sess)
    status, data_in = sess.run_read(cdb_read10(lba, blocks), blocks * bs)
    expect_good(status, f"READ(10) lba {lba}")
    return b"".join(p["data"] for p in sorted(data_in, key=lambda p: p["buffer_offset"]))


def pattern(n: int) -> bytes:
    return os.urandom(n)


def negotiated(sess, key: str, default: str) -> str:
    return sess.params.get(key, default)


# ---- the CmdSN window and StatSN (4.2.2)

@case("FFP-001", "4.2.2.2",
      "StatSN rises by one with every status-bearing PDU on a connection, in order")
def _(ctx):
    sess = ready(ctx)
    for i in range(4):
        sess.nop_ping(bytes([i]) * 3)
        expect_good(tur(sess), "TEST UNIT READY")
    # the driver checked each StatSN against the previous one plus one


@case("FFP-002", "4.2.2.1",
      "Every PDU with ExpCmdSN/MaxCmdSN has MaxCmdSN >= ExpCmdSN - 1 (serial arithmetic)")
def _(ctx):
    sess = ready(ctx)
    for _ in range(4):
        tur(sess)
        sess.nop_ping(b"x")


@case("FFP-003", "4.2.2.1",
      "The response to a non-immediate command acknowledges it: its ExpCmdSN is beyond the "
      "command's CmdSN")
def _(ctx):
    sess = ready(ctx)
    cmd = sess.scsi_pdu(cdb_test_unit_ready())
    sess.conn.send(cmd)
    status = sess.wait_status(cmd["itt"])
    if not sn_lt(cmd["cmd_sn"], status["exp_cmd_sn"]):
        raise ConformanceFailure(f"ExpCmdSN {status['exp_cmd_sn']} after the status of CmdSN "
                                 f"{cmd['cmd_sn']}")


@case("FFP-004", "4.2.2.1",
      "An immediate command does not advance ExpCmdSN")
def _(ctx):
    sess = ctx.logged_in()
    before = sess.nop_ping(b"a")["exp_cmd_sn"]
    rsp = sess.nop_ping(b"b", immediate=True)
    # The first ping was non-immediate (ExpCmdSN moved past it); the immediate one carries the
    # next CmdSN without using it, so ExpCmdSN stays.
    if rsp["exp_cmd_sn"] != before:
        raise ConformanceFailure(f"ExpCmdSN {rsp['exp_cmd_sn']} after an immediate NOP-Out, "
                                 f"{before} expected")


@case("FFP-005", "4.2.2.1",
      "A non-immediate command with a CmdSN beyond MaxCmdSN is ignored without an answer")
def _(ctx):
    sess = ready(ctx)
    sess.nop_ping(b"window")
    cmd = sess.scsi_pdu(cdb_test_unit_ready())
    sess.cmd_sn = cmd["cmd_sn"]  # the command will not count
    outside = sn_add(sess.max_cmd_sn, 1000)
    sess.conn.send(cmd, mangle={"cmd_sn": outside})
    sess.conn.expect_silence(2.0)
    expect_good(tur(sess), "TEST UNIT READY after the ignored one")


@case("FFP-006", "4.2.2.1",
      "A non-immediate command whose CmdSN was already acknowledged (a duplicate) is ignored "
      "without an answer")
def _(ctx):
    sess = ready(ctx)
    expect_good(tur(sess), "TEST UNIT READY")
    cmd = sess.scsi_pdu(cdb_test_unit_ready())
    sess.cmd_sn = cmd["cmd_sn"]
    sess.conn.send(cmd, mangle={"cmd_sn": sn_add(cmd["cmd_sn"], -1)})
    sess.conn.expect_silence(2.0)
    expect_good(tur(sess), "TEST UNIT READY after the ignored one")


@case("FFP-007", "4.2.2.1",
      "Commands that arrive out of CmdSN order within the window are all executed")
def _(ctx):
    sess = ready(ctx)
    first = sess.scsi_pdu(cdb_test_unit_ready())
    second = sess.scsi_pdu(cdb_test_unit_ready())
    sess.conn.send(second)
    sess.conn.send(first)
    seen = set()
    keep: list = []
    while len(seen) < 2:
        p = sess.recv_until(lambda p: p["opcode"] == SCSI_RESPONSE, keep=keep,
                            what="both responses")
        seen.add(p["itt"])
    if seen != {first["itt"], second["itt"]}:
        raise ConformanceFailure(f"responses for ITTs {sorted(seen)}")


@case("FFP-008", "4.2.2.1",
      "CmdSN compares in serial arithmetic: commands whose CmdSN wraps past 2^32 - 1 are "
      "executed and acknowledged")
def _(ctx):
    sess = ctx.connect(cmd_sn=0xFFFFFFFE)
    sess.login()
    for _ in range(4):
        cmd = sess.scsi_pdu(cdb_test_unit_ready())
        sess.conn.send(cmd)
        status = sess.wait_status(cmd["itt"])
        if not sn_lt(cmd["cmd_sn"], status["exp_cmd_sn"]):
            raise ConformanceFailure(f"ExpCmdSN {status['exp_cmd_sn']:#x} after CmdSN "
                                     f"{cmd['cmd_sn']:#x}")
    if sess.cmd_sn != 2:
        raise ConformanceFailure(f"the session's CmdSN is {sess.cmd_sn:#x} after the wrap")


# ---- NOP both ways (11.18, 11.19)

@case("FFP-010", "11.19",
      "A NOP-Out ping (ITT set) is answered by a NOP-In with the same ITT, TTT 0xffffffff and "
      "the ping data returned unchanged")
def _(ctx):
    sess = ctx.logged_in()
    data = b"ping data, 29 bytes (padded)"
    rsp = sess.nop_ping(data)
    if rsp["ttt"] != RESERVED_TAG:
        raise ConformanceFailure(f"NOP-In TTT 0x{rsp['ttt']:x}, expected 0xffffffff")
    if rsp["data"] != data:
        raise ConformanceFailure(f"ping data came back as {rsp['data']!r}")


@case("FFP-011", "11.18",
      "A NOP-Out with ITT 0xffffffff (I=1) asks for no answer and gets none")
def _(ctx):
    sess = ctx.logged_in()
    sess.conn.send({"opcode": 0x00, "immediate": True, "itt": RESERVED_TAG, "ttt": RESERVED_TAG,
                    "cmd_sn": sess.cmd_sn, "exp_stat_sn": sess.exp_stat_sn})
    sess.conn.expect_silence(2.0)
    sess.nop_ping(b"still there")


@case("FFP-012", "11.19",
      "A NOP-In the target sends on its own has ITT 0xffffffff and a TTT, does not advance "
      "StatSN, and the NOP-Out answering it keeps the connection alive")
def _(ctx):
    control = ctx.control if hasattr(ctx.control, "enable_nop_in") else None
    if control is not None:
        interval = 1.0
        control.enable_nop_in(1)
    elif "nop-in" in ctx.provides:
        interval = float(ctx.target.facts.get("nop_in_interval", 5))
    else:
        ctx.skip("this run cannot make the target send NOP-Ins (--provides nop-in says the "
                 "target is set up to)")
    try:
        sess = ctx.logged_in()
        wait = interval * 3 + 5
        try:
            p = sess.recv_until(lambda p: p["opcode"] == NOP_IN, wait, what="target NOP-In")
        except NoAnswer:
            raise ConformanceFailure(f"no NOP-In within {wait:g} s although the target was set "
                                     "up to send them") from None
        if p["itt"] != RESERVED_TAG:
            raise ConformanceFailure(f"unsolicited NOP-In with ITT 0x{p['itt']:x}")
        if p["ttt"] == RESERVED_TAG:
            ctx.skip("the target's NOP-In asked for no answer (TTT 0xffffffff)")
        sess.answer_nop_in(p)
        sess.nop_ping(b"after answering")
    finally:
        if control is not None:
            control.disable_nop_in()


# ---- SCSI commands, status, Data-In, residuals (11.3, 11.4, 11.7)

@case("FFP-020", "11.4",
      "A command that completes is answered by a SCSI Response with its ITT, response 0 and "
      "status GOOD, with no residual flags when nothing was expected")
def _(ctx):
    sess = ready(ctx)
    status = tur(sess)
    expect_good(status, "TEST UNIT READY")
    if status["opcode"] == SCSI_RESPONSE and (status["underflow"] or status["overflow"]):
        raise ConformanceFailure("O or U set on a command without data")


@case("FFP-021", "11.7.5",
      "Data-In PDUs of a read carry DataSN 0, 1, 2..., contiguous buffer offsets, F on the last, "
      "and add up to the data the command asked for")
def _(ctx):
    sess = ready(ctx, {"MaxRecvDataSegmentLength": "512"})
    sess.conn.framer.set_max_recv_data_segment_length(512)
    blocks = 16
    status, data_in = sess.run_read(cdb_read10(0, blocks), blocks * block_size(sess))
    expect_good(status, "READ(10)")
    offset = 0
    for n, p in enumerate(data_in):
        if p["data_sn"] != n:
            raise ConformanceFailure(f"Data-In #{n} has DataSN {p['data_sn']}")
        if p["buffer_offset"] != offset:
            raise ConformanceFailure(f"Data-In #{n} at offset {p['buffer_offset']}, {offset} "
                                     "expected")
        if n == len(data_in) - 1 and not p["final_pdu"]:
            raise ConformanceFailure(f"the last Data-In (#{n}) has F=0")
        offset += len(p["data"])
    if offset != blocks * block_size(sess):
        raise ConformanceFailure(f"{offset} bytes of Data-In for {blocks} blocks")
    if status["opcode"] == SCSI_RESPONSE and status["exp_data_sn"] != len(data_in):
        raise ConformanceFailure(f"ExpDataSN {status['exp_data_sn']} after {len(data_in)} "
                                 "Data-In PDUs")


@case("FFP-022", "11.7.7",
      "No Data-In carries more data than the MaxRecvDataSegmentLength the initiator declared")
def _(ctx):
    sess = ready(ctx, {"MaxRecvDataSegmentLength": "512"})
    # The framer enforces the declared limit: a longer segment is a decode failure.
    sess.conn.framer.set_max_recv_data_segment_length(512)
    read_blocks(sess, 0, 32)


@case("FFP-023", "11.4.5.1",
      "A read whose expected length exceeds what the CDB transfers ends with U set and the "
      "shortfall as residual count")
def _(ctx):
    sess = ready(ctx)
    bs = block_size(sess)
    status, data_in = sess.run_read(cdb_read10(0, 1), 2 * bs)
    expect_good(status, "READ(10) 1 block, 2 expected")
    if not status["underflow"] or status["overflow"]:
        raise ConformanceFailure(f"U={status['underflow']} O={status['overflow']}, U expected")
    if status["residual_count"] != bs:
        raise ConformanceFailure(f"residual count {status['residual_count']}, {bs} expected")


@case("FFP-024", "11.4.5.1",
      "A read whose expected length is below what the CDB transfers ends with O set, the excess "
      "as residual count, and no more data than expected")
def _(ctx):
    sess = ready(ctx)
    bs = block_size(sess)
    status, data_in = sess.run_read(cdb_read10(0, 2), bs)
    if not status["overflow"] or status["underflow"]:
        raise ConformanceFailure(f"U={status['underflow']} O={status['overflow']}, O expected")
    if status["residual_count"] != bs:
        raise ConformanceFailure(f"residual count {status['residual_count']}, {bs} expected")
    got = sum(len(p["data"]) for p in data_in)
    if got > bs:
        raise ConformanceFailure(f"{got} bytes of Data-In, only {bs} expected")


@case("FFP-025", "11.4.7",
      "A CHECK CONDITION carries its sense data after a 2-byte SenseLength that fits the data "
      "segment (a read past the end of the LU: ILLEGAL REQUEST)")
def _(ctx):
    sess = ready(ctx)
    status, data_in = sess.run_read(cdb_read_capacity10(), 8)
    expect_good(status, "READ CAPACITY(10)")
    last_lba = int.from_bytes(b"".join(p["data"] for p in data_in)[:4], "big")
    if last_lba == 0xFFFFFFFF:
        ctx.skip("the LU is too large for READ(10) past its end")
    status, _ = sess.run_read(cdb_read10(last_lba + 1, 1), block_size(sess))
    if status["status"] != CHECK_CONDITION:
        raise ConformanceFailure(f"status {status['status']:#04x} for a read past the end")
    data = status.get("data") or b""
    if len(data) < 2 or 2 + int.from_bytes(data[:2], "big") > len(data):
        raise ConformanceFailure(f"SenseLength does not fit a {len(data)}-byte data segment")
    if sense_key(status) != 0x5:
        raise ConformanceFailure(f"sense key {sense_key(status)}, ILLEGAL REQUEST (5) expected")


# ---- writes: immediate, unsolicited and solicited data (11.3, 11.7, 11.8, 13.10, 13.11, 13.14)

def write_and_collect(sess, cmd, data: bytes, *, unsolicited_until: int = 0):
    """Sends `cmd` (whose immediate data is already in it), then unsolicited Data-Out up to
    `unsolicited_until`, then answers every R2T; returns (status, R2Ts)."""
    mrdsl = int(sess.params.get("MaxRecvDataSegmentLength", "8192"))
    sess.conn.send(cmd)
    sent = len(cmd["data"])
    data_sn = 0
    while sent < unsolicited_until:
        chunk = data[sent:min(unsolicited_until, sent + mrdsl)]
        last = sent + len(chunk) >= unsolicited_until
        sess.conn.send(sess.data_out_pdu(cmd, sent, chunk, data_sn=data_sn, final=last))
        data_sn += 1
        sent += len(chunk)
    r2ts = []
    while True:
        p = sess.recv_until(lambda p: p["itt"] == cmd["itt"] and p["opcode"] in (
            R2T, SCSI_RESPONSE), what=f"R2T or status for ITT 0x{cmd['itt']:x}")
        if p["opcode"] == SCSI_RESPONSE:
            return p, r2ts
        r2ts.append(p)
        off, length = p["buffer_offset"], p["desired_data_transfer_length"]
        if length == 0 or off + length > len(data):
            raise ConformanceFailure(f"R2T for offset {off} length {length} of a "
                                     f"{len(data)}-byte write")
        data_sn = 0
        pos = off
        while pos < off + length:
            chunk = data[pos:min(off + length, pos + mrdsl)]
            sess.conn.send(sess.data_out_pdu(cmd, pos, chunk, data_sn=data_sn,
                                             ttt=p["ttt"], final=pos + len(chunk) >= off + length))
            data_sn += 1
            pos += len(chunk)


@case("FFP-030", "11.3",
      "With ImmediateData=Yes a write whose data all travels in the command PDU completes "
      "without an R2T, and the data reads back")
def _(ctx):
    sess = ready(ctx, {"ImmediateData": "Yes", "InitialR2T": "Yes"})
    if negotiated(sess, "ImmediateData", "Yes") != "Yes":
        ctx.skip("the target negotiated ImmediateData=No")
    bs = block_size(sess)
    data = pattern(bs)
    cmd = sess.scsi_pdu(cdb_write10(8, 1), write=bs, data=data)
    status, r2ts = write_and_collect(sess, cmd, data)
    expect_good(status, "WRITE(10) with immediate data")
    if r2ts:
        raise ConformanceFailure(f"{len(r2ts)} R2T for a write that sent all its data")
    if read_blocks(sess, 8, 1) != data:
        raise ConformanceFailure("the block does not read back as written")


@case("FFP-031", "11.8",
      "With InitialR2T=Yes and no immediate data the target solicits a write's data with R2Ts: "
      "R2TSN from 0, a TTT, offsets and lengths within the command, each length at most "
      "MaxBurstLength")
def _(ctx):
    sess = ready(ctx, {"ImmediateData": "No", "InitialR2T": "Yes", "MaxBurstLength": "1024"})
    bs = block_size(sess)
    blocks = 8
    data = pattern(blocks * bs)
    cmd = sess.scsi_pdu(cdb_write10(16, blocks), write=len(data))
    status, r2ts = write_and_collect(sess, cmd, data)
    expect_good(status, "WRITE(10) through R2T")
    if not r2ts:
        raise ConformanceFailure("no R2T for a write without immediate or unsolicited data")
    mbl = int(negotiated(sess, "MaxBurstLength", "262144"))
    for n, p in enumerate(r2ts):
        if p["r2t_sn"] != n:
            raise ConformanceFailure(f"R2T #{n} has R2TSN {p['r2t_sn']}")
        if p["desired_data_transfer_length"] > mbl:
            raise ConformanceFailure(f"R2T asks for {p['desired_data_transfer_length']} bytes, "
                                     f"MaxBurstLength is {mbl}")
    covered = sorted((p["buffer_offset"], p["desired_data_transfer_length"]) for p in r2ts)
    pos = 0
    for off, length in covered:
        if off != pos:
            raise ConformanceFailure(f"R2Ts cover {covered}, a gap or overlap at {pos}")
        pos += length
    if pos != len(data):
        raise ConformanceFailure(f"R2Ts cover {pos} of {len(data)} bytes")
    if read_blocks(sess, 16, blocks) != data:
        raise ConformanceFailure("the blocks do not read back as written")


@case("FFP-032", "13.10",
      "With InitialR2T=No the target accepts unsolicited Data-Out up to FirstBurstLength and "
      "solicits only the rest")
def _(ctx):
    # InitialR2T is OR: a target that wants Yes wins. A target this run controls is told No.
    control = ctx.control if hasattr(ctx.control, "set_param") else None
    if control is not None:
        control.set_param("InitialR2T", "No")
    try:
        sess = ready(ctx, {"ImmediateData": "No", "InitialR2T": "No",
                           "FirstBurstLength": "1024", "MaxBurstLength": "4096"})
    finally:
        if control is not None:
            control.set_param("InitialR2T", "Yes")
    if negotiated(sess, "InitialR2T", "Yes") != "No":
        ctx.skip("the target negotiated InitialR2T=Yes")
    bs = block_size(sess)
    fbl = int(negotiated(sess, "FirstBurstLength", "65536"))
    blocks = 8
    data = pattern(blocks * bs)
    if fbl >= len(data):
        ctx.skip(f"FirstBurstLength {fbl} covers the whole write")
    cmd = sess.scsi_pdu(cdb_write10(32, blocks), write=len(data), final=False)
    status, r2ts = write_and_collect(sess, cmd, data, unsolicited_until=fbl)
    expect_good(status, "WRITE(10) with unsolicited data")
    if any(p["buffer_offset"] < fbl for p in r2ts):
        asked = [(p["buffer_offset"], p["desired_data_transfer_length"]) for p in r2ts]
        raise ConformanceFailure(f"an R2T asks again for unsolicited data: {asked}")
    if read_blocks(sess, 32, blocks) != data:
        raise ConformanceFailure("the blocks do not read back as written")


@case("FFP-033", "11.3",
      "Immediate data and R2T together: a write with FirstBurstLength of immediate data gets "
      "R2Ts for the rest only")
def _(ctx):
    sess = ready(ctx, {"ImmediateData": "Yes", "InitialR2T": "Yes",
                          "FirstBurstLength": "1024", "MaxBurstLength": "4096"})
    if negotiated(sess, "ImmediateData", "Yes") != "Yes":
        ctx.skip("the target negotiated ImmediateData=No")
    bs = block_size(sess)
    fbl = int(negotiated(sess, "FirstBurstLength", "65536"))
    mrdsl = int(negotiated(sess, "MaxRecvDataSegmentLength", "8192"))
    blocks = 8
    data = pattern(blocks * bs)
    first = min(fbl, mrdsl, len(data) // 2)
    cmd = sess.scsi_pdu(cdb_write10(48, blocks), write=len(data), data=data[:first])
    status, r2ts = write_and_collect(sess, cmd, data)
    expect_good(status, "WRITE(10) with immediate data and R2T")
    if not r2ts or min(p["buffer_offset"] for p in r2ts) != first:
        raise ConformanceFailure(f"R2Ts at {[p['buffer_offset'] for p in r2ts]}, the first "
                                 f"should start at {first}")
    if read_blocks(sess, 48, blocks) != data:
        raise ConformanceFailure("the blocks do not read back as written")


# ---- what a target does not support, and logout (11.14, 11.15, 11.17)

@case("FFP-040", "11.17.1",
      "A PDU with an opcode the RFC does not define is answered with a Reject that carries the "
      "rejected header")
def _(ctx):
    sess = ctx.logged_in()
    nop = sess.nop_out_pdu(immediate=True)
    wire = sess.conn.send(nop, mangle={"opcode": 0x40 | 0x1C})
    try:
        p = sess.recv_until(lambda p: p["opcode"] == REJECT, 5.0, what="Reject")
    except TargetClosed:
        raise ConformanceFailure("the target closed the connection instead of sending a "
                                 "Reject") from None
    if p["reason"] not in (0x04, 0x05):
        raise ConformanceFailure(f"Reject reason {p['reason']:#x}, 0x04 or 0x05 expected")
    if p["data"][:48] != wire[:48]:
        raise ConformanceFailure("the Reject's data is not the rejected header")


@case("FFP-041", "11.15",
      "A Logout Request that closes the session is answered with response 0, its ITT, and the "
      "target then closes the connection")
def _(ctx):
    sess = ctx.logged_in()
    rsp = sess.logout(0)
    if rsp["response"] != 0:
        raise ConformanceFailure(f"Logout response {rsp['response']}")
    sess.conn.expect_closed(10.0)


@case("FFP-042", "11.14",
      "A Logout Request that closes the connection (reason 1, its CID) is answered with "
      "response 0 and the connection closed")
def _(ctx):
    sess = ctx.logged_in()
    rsp = sess.logout(1)
    if rsp["response"] != 0:
        raise ConformanceFailure(f"Logout response {rsp['response']}")
    sess.conn.expect_closed(10.0)


@case("FFP-043", "6.2",
      "A key the target does not understand in a Text Request of the full feature phase is "
      "answered NotUnderstood")
def _(ctx):
    sess = ctx.logged_in()
    pairs, _ = sess.text_exchange({"NoSuchIscsiKey": "1"})
    answer = dict(pairs).get("NoSuchIscsiKey")
    if answer != "NotUnderstood":
        raise ConformanceFailure(f"NoSuchIscsiKey=1 answered {answer!r}")


@case("FFP-009", "4.2.2.1",
      "Every command with a CmdSN up to MaxCmdSN is accepted: a full window sent at once is "
      "executed")
def _(ctx):
    sess = ready(ctx)
    sess.nop_ping(b"window")
    room = ((sess.max_cmd_sn - sess.cmd_sn) & 0xFFFFFFFF) + 1
    if room > 0x80000000:
        raise ConformanceFailure("the window is closed after a ping")
    room = min(room, 32)
    cmds = [sess.scsi_pdu(cdb_test_unit_ready()) for _ in range(room)]
    for c in cmds:
        sess.conn.send(c)
    for c in cmds:
        sess.wait_status(c["itt"])


@case("FFP-044", "11.15.1",
      "A Logout Request closing a connection ID the session does not have is answered with "
      "response 1 (CID not found)")
def _(ctx):
    sess = ctx.logged_in()
    req = {"opcode": 0x06, "immediate": True, "reason": 1, "itt": sess.next_itt(), "cid": 0x77,
           "cmd_sn": sess.cmd_sn, "exp_stat_sn": sess.exp_stat_sn}
    sess.conn.send(req)
    try:
        rsp = sess.recv_until(lambda p: p["opcode"] == 0x26, what="Logout Response")
    except TargetClosed:
        raise ConformanceFailure("the target closed the connection") from None
    if rsp["response"] != 1:
        raise ConformanceFailure(f"Logout response {rsp['response']} for CID 0x77")


@case("FFP-013", "11.19",
      "A ping carrying as much data as the target may receive in one PDU is answered with all of "
      "it, in one NOP-In")
def _(ctx):
    sess = ctx.logged_in()
    size = min(int(negotiated(sess, "MaxRecvDataSegmentLength", "8192")), 8192)
    data = pattern(size)
    rsp = sess.nop_ping(data)
    if rsp["data"] != data:
        raise ConformanceFailure(f"{len(data)} bytes of ping data came back as "
                                 f"{len(rsp['data'])} bytes, not the same")


@case("FFP-034", "13.17",
      "With MaxOutstandingR2T=1 the target never has two R2Ts of a command outstanding: the "
      "next R2T waits until the data of the first has arrived")
def _(ctx):
    sess = ready(ctx, {"ImmediateData": "No", "InitialR2T": "Yes", "MaxBurstLength": "1024",
                       "MaxOutstandingR2T": "1"})
    if negotiated(sess, "MaxOutstandingR2T", "1") != "1":
        raise ConformanceFailure("MaxOutstandingR2T=1 was not settled at 1")
    bs = block_size(sess)
    blocks = max(8, 4096 // bs)
    data = pattern(blocks * bs)
    cmd = sess.scsi_pdu(cdb_write10(64, blocks), write=len(data))
    sess.conn.send(cmd)
    first = sess.recv_until(lambda p: p["opcode"] == R2T and p["itt"] == cmd["itt"],
                            what="the first R2T")
    if first["buffer_offset"] + first["desired_data_transfer_length"] >= len(data):
        ctx.skip("one R2T asked for the whole write")
    try:
        extra = sess.recv(1.5)
    except NoAnswer:
        extra = None
    if extra is not None and extra["opcode"] == R2T:
        raise ConformanceFailure("a second R2T came before the data of the first")
    # Finish the write the ordinary way from here: answer this R2T and every next one.
    off, length = first["buffer_offset"], first["desired_data_transfer_length"]
    mrdsl = int(negotiated(sess, "MaxRecvDataSegmentLength", "8192"))
    pos, data_sn = off, 0
    while pos < off + length:
        chunk = data[pos:min(off + length, pos + mrdsl)]
        sess.conn.send(sess.data_out_pdu(cmd, pos, chunk, data_sn=data_sn, ttt=first["ttt"],
                                         final=pos + len(chunk) >= off + length))
        pos, data_sn = pos + len(chunk), data_sn + 1
    while True:
        p = sess.recv_until(lambda p: p["itt"] == cmd["itt"] and p["opcode"] in (
            R2T, SCSI_RESPONSE), what="R2T or status")
        if p["opcode"] == SCSI_RESPONSE:
            expect_good(p, "WRITE(10) one R2T at a time")
            break
        try:
            extra = sess.recv(0.5)
        except NoAnswer:
            extra = None
        if extra is not None and extra["opcode"] == R2T:
            raise ConformanceFailure("two R2Ts outstanding at once")
        off, length = p["buffer_offset"], p["desired_data_transfer_length"]
        pos, data_sn = off, 0
        while pos < off + length:
            chunk = data[pos:min(off + length, pos + mrdsl)]
            sess.conn.send(sess.data_out_pdu(cmd, pos, chunk, data_sn=data_sn, ttt=p["ttt"],
                                             final=pos + len(chunk) >= off + length))
            pos, data_sn = pos + len(chunk), data_sn + 1
    if read_blocks(sess, 64, blocks) != data:
        raise ConformanceFailure("the blocks do not read back as written")


@case("FFP-026", "13.13",
      "A read longer than MaxBurstLength comes in Data-In sequences of at most MaxBurstLength "
      "bytes each (F ends each sequence) while DataSN runs on across them")
def _(ctx):
    sess = ready(ctx, {"MaxBurstLength": "1024", "FirstBurstLength": "512",
                       "MaxRecvDataSegmentLength": "512"})
    sess.conn.framer.set_max_recv_data_segment_length(512)
    mbl = int(negotiated(sess, "MaxBurstLength", "262144"))
    bs = block_size(sess)
    blocks = max(1, (4 * mbl) // bs)
    status, data_in = sess.run_read(cdb_read10(0, blocks), blocks * bs)
    expect_good(status, "READ(10)")
    run = 0
    for n, p in enumerate(data_in):
        if p["data_sn"] != n:
            raise ConformanceFailure(f"Data-In #{n} has DataSN {p['data_sn']} (DataSN runs on "
                                     "across sequences)")
        run += len(p["data"])
        if run > mbl:
            raise ConformanceFailure(f"a Data-In sequence carries {run} bytes, MaxBurstLength "
                                     f"is {mbl}")
        if p["final_pdu"]:
            run = 0


@case("FFP-027", "13.19",
      "With DataSequenceInOrder=Yes the R2Ts of a write ask for data at non-decreasing buffer "
      "offsets")
def _(ctx):
    sess = ready(ctx, {"ImmediateData": "No", "InitialR2T": "Yes", "MaxBurstLength": "512",
                       "MaxOutstandingR2T": "4", "DataSequenceInOrder": "Yes"})
    if negotiated(sess, "DataSequenceInOrder", "Yes") != "Yes":
        raise ConformanceFailure("DataSequenceInOrder=Yes (OR rule) did not come back Yes")
    bs = block_size(sess)
    blocks = max(8, 4096 // bs)
    data = pattern(blocks * bs)
    cmd = sess.scsi_pdu(cdb_write10(96, blocks), write=len(data))
    status, r2ts = write_and_collect(sess, cmd, data)
    expect_good(status, "WRITE(10)")
    offsets = [p["buffer_offset"] for p in r2ts]
    if offsets != sorted(offsets):
        raise ConformanceFailure(f"R2T offsets in the order they came: {offsets}")


@case("FFP-045", "11.14",
      "A Logout Request sent as an immediate command is answered (response 0, its ITT) and the "
      "connection closed")
def _(ctx):
    sess = ctx.logged_in()
    req = {"opcode": 0x06, "immediate": True, "reason": 0, "itt": sess.next_itt(), "cid": 0,
           "cmd_sn": sess.cmd_sn, "exp_stat_sn": sess.exp_stat_sn}
    sess.conn.send(req)
    rsp = sess.recv_until(lambda p: p["opcode"] == 0x26, what="Logout Response")
    if rsp["itt"] != req["itt"] or rsp["response"] != 0:
        raise ConformanceFailure(f"Logout Response ITT 0x{rsp['itt']:x} response "
                                 f"{rsp['response']}")
    sess.conn.expect_closed(10.0)


@case("FFP-028", "11.4.5.1",
      "A read whose expected length is 0 while the CDB transfers a block sends no Data-In and "
      "ends with O set and the whole block as residual count")
def _(ctx):
    sess = ready(ctx)
    bs = block_size(sess)
    cmd = sess.scsi_pdu(cdb_read10(0, 1))
    cmd["read"] = True
    sess.conn.send(cmd)
    keep: list = []
    status = sess.wait_status(cmd["itt"], keep=keep)
    data = sum(len(p["data"]) for p in keep if p["opcode"] == 0x25) + \
        (len(status["data"]) if status["opcode"] == 0x25 else 0)
    if data:
        raise ConformanceFailure(f"{data} bytes of Data-In for an expected length of 0")
    if not status["overflow"] or status["residual_count"] != bs:
        raise ConformanceFailure(f"O={status['overflow']} residual {status['residual_count']}, "
                                 f"O and {bs} expected")


@case("FFP-014", "11.19",
      "A ping with more data than the initiator's MaxRecvDataSegmentLength is answered with a "
      "NOP-In that still fits that limit (the ping data cut, never a longer segment)")
def _(ctx):
    sess = ctx.logged_in({"MaxRecvDataSegmentLength": "512"})
    sess.conn.framer.set_max_recv_data_segment_length(512)  # longer: a decode failure
    target_limit = int(negotiated(sess, "MaxRecvDataSegmentLength", "8192"))
    if target_limit < 1000:
        ctx.skip(f"the target receives at most {target_limit} bytes per PDU")
    data = pattern(1000)
    rsp = sess.nop_ping(data)
    if rsp["data"] != data[:len(rsp["data"])]:
        raise ConformanceFailure("the NOP-In's data is not the start of the ping data")


@case("FFP-035", "11.3.1",
      "A write sent with F=1 and no data (nothing unsolicited follows) is solicited whole by "
      "R2Ts from offset 0, even with InitialR2T=No")
def _(ctx):
    control = ctx.control if hasattr(ctx.control, "set_param") else None
    if control is not None:
        control.set_param("InitialR2T", "No")
    try:
        sess = ready(ctx, {"ImmediateData": "No", "InitialR2T": "No"})
    finally:
        if control is not None:
            control.set_param("InitialR2T", "Yes")
    bs = block_size(sess)
    data = pattern(4 * bs)
    cmd = sess.scsi_pdu(cdb_write10(160, 4), write=len(data), final=True)
    status, r2ts = write_and_collect(sess, cmd, data)
    expect_good(status, "WRITE(10) with F=1 and no data")
    if not r2ts or min(p["buffer_offset"] for p in r2ts) != 0:
        raise ConformanceFailure(f"R2Ts at {[p['buffer_offset'] for p in r2ts]}, the first "
                                 "should ask for offset 0")


@case("FFP-036", "11.4.8",
      "The SCSI Response of a write carries ExpDataSN 0: it counts the Data-In PDUs sent for the "
      "command, and a write has none (its R2Ts do not count)")
def _(ctx):
    sess = ready(ctx, {"ImmediateData": "No", "InitialR2T": "Yes", "MaxBurstLength": "1024"})
    bs = block_size(sess)
    blocks = max(4, 4096 // bs)
    data = pattern(blocks * bs)
    cmd = sess.scsi_pdu(cdb_write10(192, blocks), write=len(data))
    status, r2ts = write_and_collect(sess, cmd, data)
    expect_good(status, "WRITE(10)")
    if status["exp_data_sn"] != 0:
        raise ConformanceFailure(f"ExpDataSN {status['exp_data_sn']} in the response to a write "
                                 f"({len(r2ts)} R2Ts, no Data-In)")


@case("FFP-037", "11.4",
      "A command to a LUN the target does not have still gets a SCSI Response (not GOOD): no "
      "command goes unanswered")
def _(ctx):
    sess = ready(ctx)
    cmd = sess.scsi_pdu(cdb_test_unit_ready(), lun=200)
    sess.conn.send(cmd)
    status = sess.wait_status(cmd["itt"])
    if status["status"] == GOOD and status["response"] == 0:
        raise ConformanceFailure("TEST UNIT READY to LUN 200 ended GOOD")


# ---- unsolicited data the session did not allow (11.4.7.2: iSCSI conditions reported as CHECK
# CONDITION, ABORTED COMMAND)

ABORTED_COMMAND = 0xB


def expect_not_written(ctx, sess, cmd, lba: int, data: bytes, what: str) -> None:
    """The command must not end GOOD: CHECK CONDITION with ABORTED COMMAND, a Reject or the
    connection closed; and the blocks must not hold `data` afterwards."""
    try:
        p = sess.recv_until(lambda p: p["opcode"] == REJECT or (
            p["itt"] == cmd["itt"] and p["opcode"] == SCSI_RESPONSE), what="status or Reject")
    except TargetClosed:
        p = None
    if p is not None and p["opcode"] == SCSI_RESPONSE:
        if p["status"] == GOOD and p["response"] == 0:
            raise ConformanceFailure(f"{what}: the write ended GOOD")
        if p["status"] == CHECK_CONDITION and sense_key(p) != ABORTED_COMMAND:
            raise ConformanceFailure(f"{what}: sense key {sense_key(p)}, ABORTED COMMAND (0xb) "
                                     "expected")
    check = ready(ctx)
    if read_blocks(check, lba, len(data) // block_size(check)) == data:
        raise ConformanceFailure(f"{what}: the data was written")


@case("FFP-046", "11.4.7.2",
      "Immediate data on a session that negotiated ImmediateData=No is not taken: CHECK "
      "CONDITION (ABORTED COMMAND), a Reject or the connection closed; nothing is written")
def _(ctx):
    sess = ready(ctx, {"ImmediateData": "No", "InitialR2T": "Yes"})
    # Offered No, AND leaves only No: a target need not answer it (LIO does not).
    if negotiated(sess, "ImmediateData", "No") != "No":
        raise ConformanceFailure("ImmediateData=No (AND rule) did not come back No")
    bs = block_size(sess)
    data = pattern(bs)
    cmd = sess.scsi_pdu(cdb_write10(256, 1), write=bs, data=data)
    sess.conn.send(cmd)
    expect_not_written(ctx, sess, cmd, 256, data, "immediate data with ImmediateData=No")


@case("FFP-047", "11.4.7.2",
      "An unsolicited Data-Out on a session with InitialR2T=Yes is not taken: CHECK CONDITION "
      "(ABORTED COMMAND), a Reject or the connection closed; nothing is written")
def _(ctx):
    sess = ready(ctx, {"ImmediateData": "No", "InitialR2T": "Yes"})
    if negotiated(sess, "InitialR2T", "Yes") != "Yes":
        raise ConformanceFailure("InitialR2T=Yes (OR rule) did not come back Yes")
    bs = block_size(sess)
    data = pattern(bs)
    cmd = sess.scsi_pdu(cdb_write10(264, 1), write=bs, final=False)
    sess.conn.send(cmd)
    sess.conn.send(sess.data_out_pdu(cmd, 0, data, data_sn=0, final=True))
    expect_not_written(ctx, sess, cmd, 264, data, "unsolicited data with InitialR2T=Yes")


@case("FFP-048", "11.4.7.2",
      "Unsolicited data that stops short of FirstBurstLength (F=1 early) on a longer write ends "
      "the command with CHECK CONDITION (ABORTED COMMAND), never GOOD")
def _(ctx):
    control = ctx.control if hasattr(ctx.control, "set_param") else None
    if control is not None:
        control.set_param("InitialR2T", "No")
    try:
        sess = ready(ctx, {"ImmediateData": "No", "InitialR2T": "No",
                           "FirstBurstLength": "2048", "MaxBurstLength": "8192"})
    finally:
        if control is not None:
            control.set_param("InitialR2T", "Yes")
    if negotiated(sess, "InitialR2T", "Yes") != "No":
        ctx.skip("the target negotiated InitialR2T=Yes")
    bs = block_size(sess)
    fbl = int(negotiated(sess, "FirstBurstLength", "65536"))
    total = max(2 * fbl, 4 * bs)
    blocks = total // bs
    data = pattern(blocks * bs)
    short = min(bs, fbl // 2) or 512
    cmd = sess.scsi_pdu(cdb_write10(272, blocks), write=len(data), final=False)
    sess.conn.send(cmd)
    sess.conn.send(sess.data_out_pdu(cmd, 0, data[:short], data_sn=0, final=True))
    try:
        p = sess.recv_until(lambda p: p["itt"] == cmd["itt"] and p["opcode"] in (
            R2T, SCSI_RESPONSE), what="status")
    except TargetClosed:
        return
    if p["opcode"] == R2T:
        raise ConformanceFailure(f"the target asked for more data (R2T at "
                                 f"{p['buffer_offset']}) after {short} of {fbl} bytes of "
                                 "unsolicited data ended with F=1")
    if p["status"] == GOOD and p["response"] == 0:
        raise ConformanceFailure("a write whose unsolicited data stopped short ended GOOD")


@case("FFP-049", "13.14", level="SHOULD",
      requirement="Immediate data beyond FirstBurstLength (which bounds unsolicited data) is not "
                  "taken: CHECK CONDITION, a Reject or the connection closed, never written")
def _(ctx):
    sess = ready(ctx, {"ImmediateData": "Yes", "InitialR2T": "Yes", "FirstBurstLength": "512",
                       "MaxBurstLength": "8192"})
    if negotiated(sess, "ImmediateData", "Yes") != "Yes":
        ctx.skip("the target negotiated ImmediateData=No")
    fbl = int(negotiated(sess, "FirstBurstLength", "65536"))
    mrdsl = int(negotiated(sess, "MaxRecvDataSegmentLength", "8192"))
    bs = block_size(sess)
    blocks = max(2, (2 * fbl) // bs)
    data = pattern(blocks * bs)
    if fbl >= len(data) or len(data) > mrdsl:
        ctx.skip(f"FirstBurstLength {fbl} and MaxRecvDataSegmentLength {mrdsl} leave no room "
                 "for immediate data beyond the first burst in one PDU")
    cmd = sess.scsi_pdu(cdb_write10(288, blocks), write=len(data), data=data)
    sess.conn.send(cmd)
    try:
        p = sess.recv_until(lambda p: p["opcode"] == REJECT or (
            p["itt"] == cmd["itt"] and p["opcode"] in (SCSI_RESPONSE, R2T)), what="status")
    except TargetClosed:
        p = None
    if p is not None and p["opcode"] == SCSI_RESPONSE and p["status"] == GOOD and \
            p["response"] == 0:
        raise ConformanceFailure(f"{len(data)} bytes of immediate data with FirstBurstLength "
                                 f"{fbl} ended GOOD")
    check = ready(ctx)
    if read_blocks(check, 288, blocks) == data:
        raise ConformanceFailure(f"{len(data)} bytes of immediate data beyond FirstBurstLength "
                                 f"{fbl} were written")


@case("ERR-005", "7.9",
      "A Data-Out at a buffer offset no R2T asked for (ErrorRecoveryLevel 0) never completes "
      "the write GOOD: the command fails, the PDU is rejected, or the connection ends")
def _(ctx):
    sess = ready(ctx, {"ImmediateData": "No", "InitialR2T": "Yes", "ErrorRecoveryLevel": "0"})
    bs = block_size(sess)
    data = pattern(2 * bs)
    cmd = sess.scsi_pdu(cdb_write10(300, 2), write=len(data))
    sess.conn.send(cmd)
    try:
        r2t = sess.recv_until(lambda p: p["opcode"] == R2T and p["itt"] == cmd["itt"],
                              what="R2T")
    except TargetClosed:
        raise ConformanceFailure("the target closed the connection on a plain write") from None
    wrong = r2t["buffer_offset"] + r2t["desired_data_transfer_length"] + bs
    sess.conn.send(sess.data_out_pdu(cmd, wrong, data[:bs], data_sn=0, ttt=r2t["ttt"],
                                     final=True))
    try:
        p = sess.recv_until(lambda p: p["opcode"] == REJECT or (
            p["itt"] == cmd["itt"] and p["opcode"] == SCSI_RESPONSE), 5.0, what="status")
    except (NoAnswer, TargetClosed):
        return
    if p["opcode"] == SCSI_RESPONSE and p["status"] == GOOD and p["response"] == 0:
        raise ConformanceFailure(f"a write whose only Data-Out came at offset {wrong}, outside "
                                 f"the R2T ({r2t['buffer_offset']}+"
                                 f"{r2t['desired_data_transfer_length']}), ended GOOD")
