"""Detectors and finding signatures: the guest kernel's console (BUG, Oops, WARNING, hung task,
KASAN), a target that stops answering (a fresh login within a bound fails), responses that
proto's decoder or the driver's per-PDU rules call a protocol violation, and data that does not
read back as written (checked by the probe on a fresh session).

A signature is what two findings share when they are the same bug: the detector, and the
normalized first line of the report (numbers, addresses and process names taken out).
"""
from __future__ import annotations

import os
import re
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from ..conformance.driver import (ConformanceFailure, NoAnswer, Session, TargetClosed,
                                  cdb_read10, cdb_write10)
from ..vm.console import scan_text

RESERVATION_CONFLICT = 0x18
KASAN = re.compile(r"\bBUG: KASAN\b|\bUBSAN:")


@dataclass
class Finding:
    kind: str            # kernel, unresponsive, violation, data
    signature: str
    detail: str          # what was seen (kernel log excerpt, violation text, probe error)


_HEX = re.compile(r"\b(?:0x)?[0-9a-f]{6,}\b", re.I)
_NUM = re.compile(r"\d+")
_COMM = re.compile(r"\b(?:PID|pid|CPU|Comm|comm|task)[:= ]\s*\S+")
_OFFSET = re.compile(r"\+0x[0-9a-f]+/0x[0-9a-f]+", re.I)
_TIME = re.compile(r"^\s*\[\s*\d+\.\d+\]\s*")


def normalize(text: str) -> str:
    """A line with what varies between two occurrences of one bug taken out."""
    text = _TIME.sub("", text)
    text = _OFFSET.sub("", text)
    text = _COMM.sub("", text)
    text = _HEX.sub("X", text)
    text = _NUM.sub("N", text)
    return " ".join(text.split())[:160]


def kernel_signature(kind: str, excerpt: str, line: str) -> str:
    """kernel:<kind>:<normalized report line>[:<first LIO/target function in the trace>]."""
    func = ""
    for l in excerpt.splitlines():
        m = re.search(r"\b((?:iscsit|iscsi_target|target_|transport_|core_|lio_|iscsi_)\w*)"
                      r"\+0x", l)
        if m:
            func = m.group(1)
            break
    kind = "kasan" if KASAN.search(line) else kind
    return f"kernel:{kind}:{normalize(line)}" + (f":{func}" if func else "")


def violation_signature(violation: str) -> str:
    """violation:<rule>:<normalized text> ("[11.2 reserved] Reject: byte 2 ..." ->
    "violation:11.2 reserved:Reject: byte N ...")."""
    rule, _, text = violation.partition("] ")
    return f"violation:{rule.lstrip('[')}:{normalize(text.splitlines()[0] if text else '')}"


class ConsoleWatch:
    """New kernel reports in the console file since the last call (whole lines only)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0
        self.line = 1

    def skip_to_end(self) -> None:
        text = self._text()
        self.offset = text.rfind("\n") + 1
        self.line = text.count("\n", 0, self.offset) + 1

    def _text(self) -> str:
        try:
            return self.path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def poll(self) -> list[Finding]:
        text = self._text()
        cut = text.rfind("\n", self.offset) + 1
        if cut <= self.offset:
            return []
        chunk = text[self.offset:cut]
        found = scan_text(chunk, start_line=self.line)
        self.line += chunk.count("\n")
        self.offset = cut
        return [Finding("kernel", kernel_signature(f.kind, f.excerpt, f.line), f.excerpt)
                for f in found]

    def tail(self, lines: int = 200) -> str:
        return "\n".join(self._text().splitlines()[-lines:])


class Probe:
    """A fresh session on a fresh connection: login, write a pattern, read it back.

    Returns None when the target is healthy, else a Finding ("unresponsive" when the login
    does not complete within the bound, "data" when the pattern does not read back)."""

    def __init__(self, executor, bound: float = 20.0, lba_base: int = 8192, lba_span: int = 4096,
                 block: int = 512):
        self.ex, self.bound, self.block = executor, bound, block
        self.lba_base, self.lba_span = lba_base, lba_span

    def __call__(self) -> Finding | None:
        t0 = time.monotonic()
        try:
            conn = self.ex.connect(self.bound)
        except OSError as e:
            return Finding("unresponsive", "unresponsive:connect",
                           f"no TCP connection within {self.bound:g} s: {e}")
        try:
            sess = Session(conn, strict_stat_sn=False)
            try:
                sess.login()
            except (NoAnswer, TargetClosed, ConformanceFailure, OSError) as e:
                return Finding("unresponsive", "unresponsive:login",
                               f"a fresh login did not complete within {self.bound:g} s "
                               f"({time.monotonic() - t0:.1f} s): {str(e).splitlines()[0]}")
            lba = self.lba_base + int.from_bytes(os.urandom(2), "big") % self.lba_span
            pattern = struct.pack(">Q", lba) + os.urandom(self.block - 8)
            try:
                # A new I_T nexus may first get a UNIT ATTENTION (CHECK CONDITION): retried.
                for _ in range(3):
                    cmd = sess.scsi_pdu(cdb_write10(lba, 1), write=self.block, data=pattern)
                    conn.send(cmd)
                    st = sess.wait_status(cmd["itt"])
                    if st.get("status") != 2 or not _unit_attention(st):
                        break
                if st.get("status") == RESERVATION_CONFLICT:
                    # A fuzz case's PERSISTENT RESERVE OUT (a random CDB or mutated bytes) may
                    # have left a reservation: LIO doing its job, not a data finding.
                    return None
                if st["opcode"] != 0x21 or st.get("status", 0) != 0 or st.get("response", 0):
                    return Finding("data", "data:write-failed",
                                   f"WRITE(10) of LBA {lba} on a fresh session: {st}")
                st, data_in = sess.run_read(cdb_read10(lba, 1), self.block)
            except (NoAnswer, TargetClosed, ConformanceFailure, OSError) as e:
                return Finding("unresponsive", "unresponsive:io",
                               f"a write/read on a fresh session failed: "
                               f"{str(e).splitlines()[0]}")
            got = b"".join(p.get("data") or b"" for p in data_in)
            if got != pattern:
                first = next((i for i in range(min(len(got), len(pattern)))
                              if got[i] != pattern[i]), min(len(got), len(pattern)))
                return Finding("data", "data:mismatch",
                               f"LBA {lba}: read back {len(got)} bytes, first difference at "
                               f"byte {first} of {len(pattern)}")
            try:
                sess.logout()
            except (NoAnswer, TargetClosed, ConformanceFailure, OSError):
                pass
            return None
        finally:
            conn.close()


def _unit_attention(st) -> bool:
    """A SCSI Response whose sense data (2-byte length, then fixed or descriptor format) says
    UNIT ATTENTION (sense key 6)."""
    sense = (st.get("data") or b"")[2:]
    if len(sense) < 3:
        return False
    key = sense[1] & 0x0F if sense[0] & 0x7F in (0x72, 0x73) else sense[2] & 0x0F
    return key == 6
