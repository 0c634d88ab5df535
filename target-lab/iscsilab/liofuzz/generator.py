"""The state-aware case generator: programs that log in (validly or with mutated keys and
stages), reach the full feature phase with the sequence numbers right, then send commands,
data, text, TMF, SNACK and logout PDUs of which some fields are mutated; sessions of several
connections; and recorded good sessions mutated byte by byte.

It runs offline (no target): what only the target knows is left to the executor's fixes (see
program.py), so the same seed gives the same programs.
"""
from __future__ import annotations

import random
import struct
from dataclasses import dataclass

from ..conformance.driver import (DATA_OUT, LOGIN_REQUEST, LOGOUT_REQUEST, NOP_OUT, OPERATIONAL,
                                  OPERATIONAL_DEFAULTS, SCSI_COMMAND, SECURITY, SNACK_REQUEST,
                                  TEXT_REQUEST, TMF_REQUEST, FULL_FEATURE, RESERVED_TAG,
                                  core_pdu, lun_field)
from . import mutators as mu
from .program import Program, Step, close, connect, recv, send

ANSWER_WAIT = 2.0     # seconds a well-formed request waits for its answer (TCG is slow)
MUTATED_WAIT = 0.25   # after a mutated PDU the target may rightly say nothing
BLOCK = 512           # the lab's LUNs have 512-byte blocks
LBA_SPAN = 4096       # fuzz writes stay in the first 2 MiB; the probe writes above


@dataclass(frozen=True)
class Settings:
    target_iqn: str
    initiator_iqn: str = "iqn.2026-12.org.example:liofuzz"
    lun: int = 0
    mutate_rate: float = 0.35      # chance that one PDU of the full feature phase is mutated


class Builder:
    """Steps of one case, with the session's numbering as the generator believes it."""

    def __init__(self, rng: random.Random, cfg: Settings):
        self.rng, self.cfg = rng, cfg
        self.steps: list[Step] = []
        self.isid = (2 << 46) | rng.getrandbits(40)
        self.cmd_sn = rng.choice((1, 0, 0x7FFFFFFF, 0xFFFFFFF0, rng.getrandbits(32)))
        self.itt = rng.getrandbits(16) << 8
        self.notes: list[str] = []

    # -- numbering
    def next_itt(self) -> int:
        """A new ITT for each task, never the reserved 0xffffffff."""
        self.itt = (self.itt + 1) & 0xFFFFFFFF
        if self.itt == 0xFFFFFFFF:
            self.itt = 0
        return self.itt

    def take_cmd_sn(self, immediate: bool) -> int:
        sn = self.cmd_sn
        if not immediate:
            self.cmd_sn = (sn + 1) & 0xFFFFFFFF
        return sn

    # -- emitting
    def emit(self, c: int, fields: dict, *, fix=("exp_stat_sn",), mutate: bool = False,
             wait: float | None = None, note: str = "") -> None:
        """Encodes `fields` (mutated when asked) and sends it on c, then reads the answer."""
        pdu = core_pdu()
        fix = tuple(fix)
        rng = self.rng
        what = []
        if mutate:
            how = rng.randrange(6)
            if how <= 1:
                fields, changed = mu.mutate_fields(rng, fields, rng.randint(1, 2))
                fix = tuple(f for f in fix if f not in changed and
                            not (f == "r2t" and {"ttt", "buffer_offset"} & set(changed)))
                what.append("fields " + ",".join(changed))
            elif how == 2 and "data" in fields:
                fields = dict(fields, data=mu.oversized_data(rng))
                what.append(f"data[{len(fields['data'])}]")
        try:
            wire = pdu.encode(fields)
        except (pdu.PduError, RuntimeError):   # a value proto will not encode: no PDU
            return
        if mutate and not what:
            if rng.random() < 0.2:
                wire = mu.add_ahs(rng, wire)
                what.append("AHS")
            else:
                wire, name = mu.mutate_header(rng, wire, framing=rng.random() < 0.3)
                what.append(f"header {name}")
                if name in ("opcode",):
                    fix = tuple(f for f in fix if f == "exp_stat_sn")
        label = pdu.opcode_name(fields["opcode"]) + (" mutated: " + "; ".join(what) if what
                                                     else "")
        self.notes.append(label)
        self.steps.append(send(c, wire, fix, note=note or label))
        if wait is None:
            wait = MUTATED_WAIT if mutate else ANSWER_WAIT
        if wait:
            self.steps.append(recv(c, wait))

    # -- login
    def login_keys(self, session_type: str = "Normal") -> list[tuple[str, str]]:
        keys = [("InitiatorName", self.cfg.initiator_iqn), ("SessionType", session_type)]
        if session_type == "Normal":
            keys.append(("TargetName", self.cfg.target_iqn))
        return keys

    def login_pdu(self, c: int, data: bytes, csg: int, nsg: int, *, transit=True,
                  cont=False, cid: int = 0, itt: int = 0, tsih: int = 0) -> dict:
        return {"opcode": LOGIN_REQUEST, "transit": transit, "cont": cont, "csg": csg,
                "nsg": nsg if transit else 0, "isid": self.isid, "tsih": tsih, "itt": itt,
                "cid": cid, "cmd_sn": self.cmd_sn, "exp_stat_sn": 0, "data": data}

    def login(self, c: int, *, cid: int = 0, session_type: str = "Normal",
              operational: dict | None = None, join: bool = False) -> None:
        """A well-formed login on a new connection c (join: to the session of connection 0,
        with its TSIH)."""
        self.steps.append(connect(c))
        itt = self.next_itt()
        fix_first = ("tsih",) if join else ()
        keys = self.login_keys(session_type) + [("AuthMethod", "None")]
        self.steps.append(send(c, core_pdu().encode(self.login_pdu(
            c, mu.encode_pairs(None, keys), SECURITY, OPERATIONAL, cid=cid, itt=itt)),
            fix_first, note=f"login security c{c}"))
        self.steps.append(recv(c, ANSWER_WAIT))
        ops = dict(OPERATIONAL_DEFAULTS, **(operational or {}))
        if session_type == "Discovery":
            ops = {k: v for k, v in ops.items() if k in ("HeaderDigest", "DataDigest",
                                                         "MaxRecvDataSegmentLength",
                                                         "DefaultTime2Wait",
                                                         "DefaultTime2Retain",
                                                         "ErrorRecoveryLevel")}
        self.steps.append(send(c, core_pdu().encode(self.login_pdu(
            c, mu.encode_pairs(None, list(ops.items())), OPERATIONAL, FULL_FEATURE, cid=cid,
            itt=itt)), ("exp_stat_sn",) + fix_first, note=f"login operational c{c}"))
        self.steps.append(recv(c, ANSWER_WAIT))

    def mutated_login(self, c: int) -> None:
        """One to three login requests with mutated keys, stages, flags or numbers."""
        rng = self.rng
        self.steps.append(connect(c))
        itt = self.next_itt()
        stages = [(SECURITY, OPERATIONAL, True), (OPERATIONAL, FULL_FEATURE, True)]
        if rng.random() < 0.3:
            stages = [rng.choice([(SECURITY, FULL_FEATURE, True), (OPERATIONAL, FULL_FEATURE,
                                                                   True),
                                  (FULL_FEATURE, FULL_FEATURE, True), (2, 3, True),
                                  (SECURITY, 2, True), (SECURITY, OPERATIONAL, False)])]
        for i, (csg, nsg, transit) in enumerate(stages):
            keys = self.login_keys() if i == 0 else []
            keys += [("AuthMethod", rng.choice(("None", "None", "CHAP", "CHAP,None")))] \
                if csg == SECURITY else list(OPERATIONAL_DEFAULTS.items())
            keys, done = mu.mutate_keys(rng, keys, rng.randint(1, 3))
            data = mu.encode_pairs(rng, keys)
            pdu = self.login_pdu(c, data, csg, nsg, transit=transit, itt=itt)
            if rng.random() < 0.3:
                pdu, changed = mu.mutate_fields(rng, pdu, 1)
                done += changed
            if rng.random() < 0.1:
                pdu["version_max"], pdu["version_min"] = rng.randrange(256), rng.randrange(256)
                done.append("version")
            if rng.random() < 0.1:
                pdu["cont"], pdu["transit"] = True, rng.random() < 0.5
                done.append("C bit")
            try:
                wire = core_pdu().encode(pdu)
            except (core_pdu().PduError, RuntimeError):
                wire = core_pdu().encode(self.login_pdu(c, data, csg, nsg, itt=itt))
            if rng.random() < 0.1:
                wire, name = mu.mutate_header(rng, wire, framing=True)
                done.append(f"header {name}")
            label = f"login csg={csg} nsg={nsg} T={int(transit)}: {'; '.join(done)}"
            self.notes.append(label)
            self.steps.append(send(c, wire, ("exp_stat_sn",) if i else (), note=label))
            self.steps.append(recv(c, ANSWER_WAIT))
        # If that got through, a command on the session.
        self.emit(c, self.nop_pdu(), wait=MUTATED_WAIT)

    # -- full feature phase PDUs
    def nop_pdu(self, data: bytes = b"") -> dict:
        return {"opcode": NOP_OUT, "immediate": False, "itt": self.next_itt(),
                "ttt": RESERVED_TAG, "lun": 0, "cmd_sn": self.take_cmd_sn(False),
                "exp_stat_sn": 0, "data": data}

    def scsi_pdu(self, cdb: bytes, *, read: int = 0, write: int = 0, data: bytes = b"",
                 final: bool = True) -> dict:
        return {"opcode": SCSI_COMMAND, "immediate": False, "final_pdu": final,
                "read": read > 0, "write": write > 0, "attr": 1,
                "lun": lun_field(self.cfg.lun), "itt": self.next_itt(),
                "expected_data_transfer_length": read or write,
                "cmd_sn": self.take_cmd_sn(False), "exp_stat_sn": 0, "cdb": cdb, "data": data}

    def op(self, c: int, mutate: bool) -> None:
        """One operation of the full feature phase, maybe with one PDU mutated."""
        rng = self.rng
        kind = rng.choices(("nop", "read", "write_imm", "write_r2t", "tur", "inquiry", "text",
                            "tmf", "snack", "cdb"),
                           (10, 12, 10, 12, 4, 4, 6, 8, 5, 6))[0]
        lba = rng.randrange(LBA_SPAN)
        if kind == "nop":
            self.emit(c, self.nop_pdu(bytes(rng.randrange(256) for _ in
                                            range(rng.choice((0, 1, 7, 64))))), mutate=mutate)
        elif kind == "read":
            blocks = rng.choice((1, 2, 8, 64, 256))
            self.emit(c, self.scsi_pdu(struct.pack(">BBIBHB", 0x28, 0, lba, 0, blocks, 0),
                                       read=blocks * BLOCK), mutate=mutate)
        elif kind == "write_imm":
            blocks = rng.choice((1, 2, 8))
            data = bytes([rng.randrange(256)]) * (blocks * BLOCK)
            self.emit(c, self.scsi_pdu(struct.pack(">BBIBHB", 0x2A, 0, lba, 0, blocks, 0),
                                       write=len(data), data=data), mutate=mutate)
        elif kind == "write_r2t":
            self.write_r2t(c, lba, mutate)
        elif kind == "tur":
            self.emit(c, self.scsi_pdu(bytes(6)), mutate=mutate)
        elif kind == "inquiry":
            self.emit(c, self.scsi_pdu(bytes([0x12, 0, 0, 0, 96, 0]), read=96), mutate=mutate)
        elif kind == "cdb":
            # No PERSISTENT RESERVE OUT (0x5F): a reservation left behind would fail the
            # probe's writes with RESERVATION CONFLICT (LIO right, the probe blind).
            cdb = bytes([rng.choice((0x00, 0x03, 0x12, 0x1A, 0x25, 0x28, 0x2A, 0x35, 0x5A,
                                     0x88, 0x8A, 0x93, 0x9E, 0xA0, 0x41, 0x89, 0x5E,
                                     rng.randrange(256)))]) + \
                bytes(rng.randrange(256) for _ in range(15))
            length = rng.choice((0, 512, 4096))
            self.emit(c, self.scsi_pdu(cdb, read=length), mutate=mutate)
        elif kind == "text":
            pairs = [("SendTargets", "All")]
            if rng.random() < 0.5:
                pairs, _ = mu.mutate_keys(rng, pairs, rng.randint(1, 2))
            self.emit(c, {"opcode": TEXT_REQUEST, "immediate": False, "final_pdu": True,
                          "cont": rng.random() < 0.1, "lun": 0, "itt": self.next_itt(),
                          "ttt": RESERVED_TAG, "cmd_sn": self.take_cmd_sn(False),
                          "exp_stat_sn": 0, "data": mu.encode_pairs(rng, pairs)}, mutate=mutate)
        elif kind == "tmf":
            ref = self.itt if rng.random() < 0.6 else rng.getrandbits(32)
            function = rng.choice((1, 1, 2, 3, 4, 5, 6, 7, 8, 14, 15))
            self.emit(c, {"opcode": TMF_REQUEST, "immediate": True, "function": function,
                          "lun": lun_field(self.cfg.lun), "itt": self.next_itt(),
                          "referenced_task_tag": ref if function == 1 else RESERVED_TAG,
                          "cmd_sn": self.take_cmd_sn(True), "exp_stat_sn": 0,
                          "ref_cmd_sn": (self.cmd_sn - 1) & 0xFFFFFFFF, "exp_data_sn": 0},
                      mutate=mutate)
        elif kind == "snack":
            self.emit(c, {"opcode": SNACK_REQUEST, "type": rng.randrange(4), "lun": 0,
                          "itt": self.itt if rng.random() < 0.5 else RESERVED_TAG,
                          "ttt": RESERVED_TAG, "exp_stat_sn": 0,
                          "beg_run": rng.choice((0, 1, rng.getrandbits(32))),
                          "run_length": rng.choice((0, 1, rng.getrandbits(32)))},
                      mutate=mutate, wait=MUTATED_WAIT)

    def write_r2t(self, c: int, lba: int, mutate: bool) -> None:
        """A write larger than FirstBurstLength: command (maybe with immediate data), then the
        Data-Out PDUs its R2T asks for; the mutation may hit the command or a Data-Out."""
        rng = self.rng
        blocks = rng.choice((16, 64, 256))
        total = blocks * BLOCK
        imm = rng.choice((0, 0, BLOCK, 8192))
        cmd = self.scsi_pdu(struct.pack(">BBIBHB", 0x2A, 0, lba, 0, blocks, 0), write=total,
                            data=bytes([0x5A]) * imm)
        hit = rng.randrange(3) if mutate else -1
        self.emit(c, cmd, mutate=hit == 0)
        # One R2T's worth (MaxBurstLength 262144 covers up to 512 blocks), in 8 KiB PDUs.
        offset, data_sn = imm, 0
        pdus = []
        while offset < total:
            n = min(8192, total - offset)
            pdus.append({"opcode": DATA_OUT, "final_pdu": offset + n >= total,
                         "lun": cmd["lun"], "itt": cmd["itt"], "ttt": 0, "exp_stat_sn": 0,
                         "data_sn": data_sn, "buffer_offset": offset,
                         "data": bytes([0xA5]) * n})
            offset, data_sn = offset + n, data_sn + 1
        bad = rng.randrange(len(pdus)) if hit == 1 and pdus else -1
        if hit == 2 and pdus and rng.random() < 0.5:
            pdus = pdus[:-1] if rng.random() < 0.5 else pdus + [pdus[-1]]  # too little/much
        for i, p in enumerate(pdus):
            last = i == len(pdus) - 1
            self.emit(c, p, fix=("exp_stat_sn", "ttt"), mutate=i == bad,
                      wait=ANSWER_WAIT if last else 0)
            if i == 0 and len(pdus) > 1:
                pass

    def logout(self, c: int, reason: int = 0, cid: int = 0, mutate: bool = False) -> None:
        self.emit(c, {"opcode": LOGOUT_REQUEST, "immediate": False, "reason": reason,
                      "itt": self.next_itt(), "cid": cid, "cmd_sn": self.take_cmd_sn(False),
                      "exp_stat_sn": 0}, mutate=mutate)


def _valid_session(b: Builder, ops: int) -> None:
    b.login(0)
    for _ in range(ops):
        b.op(0, mutate=False)
    b.logout(0)
    b.steps.append(close(0))


def generate(rng: random.Random, cfg: Settings, corpus: list[Program] | None = None
             ) -> tuple[Program, str]:
    """One case: (program, kind)."""
    kind = rng.choices(("login", "ffp", "multi", "discovery", "bytes", "valid"),
                       (22, 40, 10, 5, 20, 3))[0]
    b = Builder(rng, cfg)
    if kind == "login":
        b.mutated_login(0)
    elif kind in ("ffp", "valid"):
        ops = dict(OPERATIONAL_DEFAULTS)
        if rng.random() < 0.3:
            ops.update(InitialR2T=rng.choice(("Yes", "No")),
                       ImmediateData=rng.choice(("Yes", "No")),
                       MaxRecvDataSegmentLength=rng.choice(("512", "8192", "262144")),
                       FirstBurstLength=rng.choice(("512", "65536")),
                       ErrorRecoveryLevel=rng.choice(("0", "1", "2")))
        b.login(0, operational=ops)
        for _ in range(rng.randint(1, 6)):
            b.op(0, mutate=kind == "ffp" and rng.random() < cfg.mutate_rate)
        if rng.random() < 0.5:
            b.logout(0, mutate=kind == "ffp" and rng.random() < 0.1)
    elif kind == "multi":
        b.login(0, operational={"MaxConnections": "4"})
        conns = rng.randint(2, 3)
        for c in range(1, conns):
            b.login(c, cid=c, join=True, operational={"MaxConnections": "4"})
        for _ in range(rng.randint(2, 6)):
            b.op(rng.randrange(conns), mutate=rng.random() < cfg.mutate_rate)
        c = rng.randrange(conns)
        b.logout(c, reason=rng.choice((0, 1, 2)), cid=rng.randrange(conns),
                 mutate=rng.random() < 0.2)
    elif kind == "discovery":
        b.login(0, session_type="Discovery")
        for _ in range(rng.randint(1, 3)):
            b.op(0, mutate=rng.random() < 0.5)
    else:  # bytes: a recorded good session, byte by byte
        if corpus and rng.random() < 0.7:
            base = rng.choice(corpus)
            steps = list(base.steps)
        else:
            _valid_session(b, rng.randint(1, 4))
            steps = b.steps
        sends = [i for i, s in enumerate(steps) if s.kind == "send"]
        for i in rng.sample(sends, min(len(sends), rng.choice((1, 1, 2)))):
            s = steps[i]
            steps[i] = Step("send", s.conn, mu.mutate_bytes(rng, s.data), fix=(),
                            note="bytes mutated")
        b.steps = steps
    for c in sorted({s.conn for s in b.steps if s.kind == "connect"}):
        if not any(s.kind == "close" and s.conn == c for s in b.steps):
            b.steps.append(close(c))
    return Program(b.steps), kind
