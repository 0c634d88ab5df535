"""The raw-connection driver of the conformance suite: one TCP connection to a target on which a
test sends any PDU, well formed or not, at any moment, and reads back every PDU the target sends,
each checked field by field.

PDUs are built and parsed by proto's codec and framer (iscsilab._pdu, a pybind11 module over
proto/pdu alone), the code the initiator itself uses; this module adds only what a test needs
on top: a socket, patching named header fields after encoding (to send what the codec would
refuse to build), the key=value text format, and the checks every received PDU must pass
whatever the test is about.

    conn = Connection(target)                       # TCP only, nothing sent yet
    sess = Session(conn)
    final = sess.login()                            # security -> operational -> full feature
    rsp = sess.nop_ping(b"hello")                   # NOP-Out with an ITT, the NOP-In back
    conn.send(sess.scsi_command_pdu(cdb), mangle={"cmd_sn": 0x12345678})
    conn.expect_silence(1.0)                        # the target must ignore it

Every received PDU goes through Session.check(): reserved fields (strict mode of the decoder),
StatSN order on the connection, the ExpCmdSN/MaxCmdSN window, ITT/TTT rules of the type. What it
finds is collected in Session.violations (a test can read them), and the runner fails the test
with them unless the test says it expects one.
"""
from __future__ import annotations

import os
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Iterable

RESERVED_TAG = 0xFFFFFFFF

# Opcodes (RFC 7143 section 11.1.1.1). The codec knows them too; these are for test readability.
NOP_OUT, SCSI_COMMAND, TMF_REQUEST, LOGIN_REQUEST, TEXT_REQUEST, DATA_OUT, LOGOUT_REQUEST = (
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06)
SNACK_REQUEST = 0x10
NOP_IN, SCSI_RESPONSE, TMF_RESPONSE, LOGIN_RESPONSE, TEXT_RESPONSE, DATA_IN, LOGOUT_RESPONSE = (
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26)
R2T, ASYNC_MESSAGE, REJECT = 0x31, 0x32, 0x3F

# Login stages (section 11.12.3).
SECURITY, OPERATIONAL, FULL_FEATURE = 0, 1, 3

# Width in bytes of the header fields a test may patch by name (offsets come from proto).
_FIELD_WIDTHS = {
    "opcode": 1, "flags": 1, "byte2": 1, "byte3": 1, "total_ahs_length": 1,
    "data_segment_length": 3, "lun": 8, "itt": 4, "ttt": 4, "cmd_sn": 4, "exp_stat_sn": 4,
    "stat_sn": 4, "exp_cmd_sn": 4, "max_cmd_sn": 4, "data_sn": 4, "buffer_offset": 4,
    "residual_count": 4, "expected_data_transfer_length": 4, "version_max": 1, "version_min": 1,
    "isid": 6, "tsih": 2, "cid": 2, "status_class": 1, "status_detail": 1,
}


BUILD_HINT = ("cmake --preset default && cmake --build --preset default --target iscsilab_pdu "
              "(or point ISCSILAB_BUILD_DIR at <build>/python/iscsilab)")


def core_pdu():
    """iscsilab._pdu, or ImportError with what to build."""
    try:
        from iscsilab import _pdu
    except ImportError as e:
        raise ImportError(f"iscsilab._pdu is not importable ({e}): build it first: "
                          f"{BUILD_HINT}") from None
    return _pdu


class ConformanceFailure(AssertionError):
    """A target did not do what a requirement says; the message names the field and values."""


class TargetClosed(ConnectionError):
    """The target closed (or reset) the connection."""


class NoAnswer(TimeoutError):
    """Nothing (or not the PDU waited for) arrived in time."""


@dataclass(frozen=True)
class Target:
    """Where the target under test is and what it offers."""
    host: str
    port: int
    iqn: str
    lun: int = 0
    initiator_iqn: str = "iqn.2026-12.org.example:conformance"
    # What the test run knows about the target's configuration ("nop_in_interval": seconds).
    facts: dict = field(default_factory=dict)


class Pdu(dict):
    """A PDU as proto decoded it: a dict of its fields, also readable as attributes
    (rsp.status_class), with the wire bytes it came in and its opcode's name."""

    wire: bytes = b""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def name(self) -> str:
        return core_pdu().opcode_name(self["opcode"])

    def __str__(self) -> str:
        shown = {k: (f"0x{v:x}" if isinstance(v, int) and not isinstance(v, bool) and
                     k in ("itt", "ttt", "isid", "lun") else v)
                 for k, v in self.items() if k != "opcode" and not isinstance(v, bytes)}
        data = self.get("data") or b""
        return f"{self.name} {shown}" + (f" data[{len(data)}]" if data else "")


# ---- key=value text (section 6.1)

def encode_text(pairs: dict | Iterable[tuple[str, str]]) -> bytes:
    """key=value pairs, each NUL terminated. A list of tuples keeps duplicates (for tests that
    send them on purpose)."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return b"".join(f"{k}={v}".encode() + b"\0" for k, v in items)


def decode_text(data: bytes) -> list[tuple[str, str]]:
    """The pairs in order (duplicates kept). A pair without '=' comes back with value None."""
    out = []
    for item in data.split(b"\0"):
        if not item:
            continue
        key, sep, value = item.decode("utf-8", "replace").partition("=")
        out.append((key, value if sep else None))
    return out


# ---- serial arithmetic (RFC 1982, as section 4.2.2.1 requires)

def sn_add(a: int, n: int) -> int:
    return (a + n) & 0xFFFFFFFF


def sn_lt(a: int, b: int) -> bool:
    """a < b in 32-bit serial arithmetic."""
    return a != b and ((b - a) & 0xFFFFFFFF) < 0x80000000


def sn_le(a: int, b: int) -> bool:
    return a == b or sn_lt(a, b)


# ---- patching header fields

def patch(wire: bytes, mangle: dict) -> bytes:
    """`wire` with header fields replaced: {name or byte offset: int or bytes}. A named field
    takes its width from the table above and its offset from proto; an int offset with an int
    value writes one byte. Digests are not recomputed (tests that mangle run without them)."""
    offsets = core_pdu().offsets()
    buf = bytearray(wire)
    for where, value in mangle.items():
        if isinstance(where, str):
            if where not in _FIELD_WIDTHS:
                raise KeyError(f"no patchable header field {where!r}")
            off, width = offsets[where], _FIELD_WIDTHS[where]
        else:
            off, width = int(where), (len(value) if isinstance(value, (bytes, bytearray)) else 1)
        raw = bytes(value) if isinstance(value, (bytes, bytearray)) else \
            int(value).to_bytes(width, "big")
        if len(raw) != width:
            raise ValueError(f"{where}: {len(raw)} bytes for a {width}-byte field")
        buf[off:off + width] = raw
    return bytes(buf)


# ---- the connection

class Connection:
    """One TCP connection: send anything, receive framed and decoded PDUs, see the close."""

    def __init__(self, target: Target, timeout: float = 10.0, connect_timeout: float = 10.0):
        self.target = target
        self.timeout = timeout
        self.sock = socket.create_connection((target.host, target.port), connect_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.framer = core_pdu().Framer(True)
        # ("sent"/"received", time, wire, (header digest, data digest) in force)
        self.log: list[tuple[str, float, bytes, tuple[bool, bool]]] = []
        self.eof = False
        self.header_digest = False
        self.data_digest = False

    def set_digests(self, header: bool, data: bool) -> None:
        """CRC32C digests both ways from the next PDU on (after a login negotiated them)."""
        self.header_digest, self.data_digest = header, data
        self.framer.set_digests(header, data)

    # -- sending --
    def send(self, fields: dict | None = None, *, raw: bytes | None = None,
             mangle: dict | None = None) -> bytes:
        """Sends a PDU given as a dict of proto's field names (or raw bytes), with header fields
        patched by `mangle`; returns the bytes sent."""
        wire = raw if raw is not None else core_pdu().encode(fields, self.header_digest,
                                                             self.data_digest)
        if mangle:
            wire = patch(wire, mangle)
        self.send_bytes(wire)
        return wire

    def send_prepared(self, fields: dict) -> bytes:
        """The wire form send() would send, digests included, without sending it."""
        return core_pdu().encode(fields, self.header_digest, self.data_digest)

    def send_bytes(self, wire: bytes) -> None:
        self.log.append(("sent", time.monotonic(), bytes(wire),
                         (self.header_digest, self.data_digest)))
        try:
            self.sock.sendall(wire)
        except OSError as e:
            raise TargetClosed(f"sending failed: {e}") from None

    # -- receiving --
    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise NoAnswer("timed out")
        ready, _, _ = select.select([self.sock], [], [], left)
        if not ready:
            raise NoAnswer("timed out")
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ConnectionAbortedError) as e:
            self.eof = True
            raise TargetClosed(f"connection reset ({e})") from None
        if not chunk:
            self.eof = True
            raise TargetClosed("the target closed the connection")
        self.framer.feed(chunk)

    def recv(self, timeout: float | None = None) -> Pdu:
        """The next PDU from the target. NoAnswer after `timeout`; TargetClosed at the end of the
        stream; ConformanceFailure when proto's decoder rejects what came (a malformed PDU)."""
        pdu_mod = core_pdu()
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                got = self.framer.next()
            except pdu_mod.PduError as e:
                raise ConformanceFailure(f"the target sent a PDU proto's decoder rejects: {e}") \
                    from None
            if got is not None:
                fields, wire = got
                pdu = Pdu(fields)
                pdu.wire = wire
                self.log.append(("received", time.monotonic(), wire,
                                 (self.header_digest, self.data_digest)))
                return pdu
            if self.eof:
                raise TargetClosed("the target closed the connection")
            self._fill(deadline)

    def expect_closed(self, timeout: float) -> list[Pdu]:
        """Waits for the target to close the connection; returns what it sent first.
        ConformanceFailure if the connection is still open after `timeout` seconds."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                got.append(self.recv(max(0.0, deadline - time.monotonic())))
            except TargetClosed:
                return got
            except NoAnswer:
                raise ConformanceFailure(
                    f"the target kept the connection open for {timeout:g} s") from None

    def expect_silence(self, seconds: float) -> None:
        """ConformanceFailure if the target sends anything (or closes) within `seconds`."""
        try:
            pdu = self.recv(seconds)
        except NoAnswer:
            return
        except TargetClosed:
            raise ConformanceFailure("the target closed the connection instead of ignoring "
                                     "the PDU") from None
        raise ConformanceFailure(f"the target answered a PDU it must ignore: {pdu}")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def transcript(self, last: int = 12) -> str:
        """The last PDUs both ways, one line each, for failure messages."""
        lines = []
        t0 = self.log[0][1] if self.log else 0.0
        for way, t, wire, (hd, dd) in self.log[-last:]:
            try:
                fields, _ = core_pdu().decode(wire, hd, dd)
                desc = str(Pdu(fields))
            except Exception as e:  # noqa: BLE001 - a mangled PDU need not decode
                desc = f"undecodable ({e}): {wire[:48].hex()}"
            lines.append(f"  {t - t0:8.3f} {'->' if way == 'sent' else '<-'} {desc}")
        return "\n".join(lines)


# ---- the session

# Which target PDUs advance the connection's StatSN (section 4.2.2.2 and each PDU's StatSN field):
# responses do; R2T, Async Message and an unsolicited NOP-In carry the next StatSN without
# advancing it; a Data-In carries one only with the S bit.
def advances_stat_sn(p: Pdu) -> bool | None:
    op = p["opcode"]
    if op in (SCSI_RESPONSE, TMF_RESPONSE, TEXT_RESPONSE, LOGOUT_RESPONSE, REJECT):
        return True
    if op == LOGIN_RESPONSE:
        return True if p["status_class"] == 0 else None  # a rejection's StatSN means nothing
    if op == DATA_IN:
        return True if p["status_present"] else None
    if op == NOP_IN:
        return p["itt"] != RESERVED_TAG
    if op in (R2T, ASYNC_MESSAGE):
        return False
    return None


# The operational keys at their RFC 7143 defaults (section 13), offered by Session.login.
OPERATIONAL_DEFAULTS = {
    "HeaderDigest": "None", "DataDigest": "None", "MaxConnections": "1", "InitialR2T": "Yes",
    "ImmediateData": "Yes", "MaxRecvDataSegmentLength": "8192", "MaxBurstLength": "262144",
    "FirstBurstLength": "65536", "DefaultTime2Wait": "2", "DefaultTime2Retain": "20",
    "MaxOutstandingR2T": "1", "DataPDUInOrder": "Yes", "DataSequenceInOrder": "Yes",
    "ErrorRecoveryLevel": "0",
}


def default_isid() -> int:
    """A random-format ISID (type 10, section 11.12.5) drawn per session."""
    rnd = int.from_bytes(os.urandom(3), "big")
    qualifier = int.from_bytes(os.urandom(2), "big")
    return (2 << 46) | (rnd << 16) | qualifier


class Session:
    """What a test drives on one connection: login, the sequence numbers of the session and the
    connection, helpers that build well-formed PDUs, and the checks on every received PDU."""

    def __init__(self, conn: Connection, *, isid: int | None = None, tsih: int = 0, cid: int = 0,
                 cmd_sn: int = 1, strict_stat_sn: bool = True):
        self.conn = conn
        self.target = conn.target
        self.isid = default_isid() if isid is None else isid
        self.tsih = tsih
        self.cid = cid
        self.cmd_sn = cmd_sn
        self.exp_stat_sn: int | None = None   # unknown until the first login response
        self.exp_cmd_sn: int | None = None
        self.max_cmd_sn: int | None = None
        self.params: dict[str, str] = {}      # negotiated keys, as the target answered them
        self.target_keys: list[tuple[str, str]] = []
        self.violations: list[str] = []
        self.expected_violations: set[str] = set()
        self.strict_stat_sn = strict_stat_sn
        self._itt = int.from_bytes(os.urandom(2), "big") << 8
        self.login_itt: int | None = None
        self.last_login_response: Pdu | None = None

    # -- numbering --
    def next_itt(self) -> int:
        self._itt = (self._itt + 1) & 0xFFFFFFFF
        if self._itt == RESERVED_TAG:
            self._itt = 0
        return self._itt

    def take_cmd_sn(self, immediate: bool = False) -> int:
        """The CmdSN for the next command; advanced unless the command is immediate."""
        sn = self.cmd_sn
        if not immediate:
            self.cmd_sn = sn_add(self.cmd_sn, 1)
        return sn

    # -- checks on everything received --
    def violation(self, rule: str, text: str) -> None:
        self.violations.append(f"[{rule}] {text}")

    def check(self, p: Pdu) -> Pdu:
        """Checks every field rule that holds whatever the test does; records violations."""
        pdu_mod = core_pdu()
        bad = pdu_mod.reserved_violation(p.wire[:pdu_mod.BHS_LENGTH])
        if bad:
            self.violation("11.2 reserved", f"{p.name}: {bad}")
        op = p["opcode"]
        if "max_cmd_sn" in p and (op != LOGIN_RESPONSE or p["status_class"] == 0):
            exp, mx = p["exp_cmd_sn"], p["max_cmd_sn"]
            # Section 4.2.2.1: MaxCmdSN never below ExpCmdSN - 1 (that is an empty window).
            if sn_lt(mx, sn_add(exp, -1)):
                self.violation("4.2.2.1 window", f"{p.name}: MaxCmdSN {mx} < ExpCmdSN {exp} - 1")
            else:
                if self.exp_cmd_sn is None or sn_lt(self.exp_cmd_sn, exp):
                    self.exp_cmd_sn = exp
                if self.max_cmd_sn is None or sn_lt(self.max_cmd_sn, mx):
                    self.max_cmd_sn = mx
        adv = advances_stat_sn(p)
        if adv is not None and "stat_sn" in p:
            sn = p["stat_sn"]
            if op == LOGIN_RESPONSE and self.exp_stat_sn is None:
                self.exp_stat_sn = sn  # the first login response starts the connection's StatSN
            if self.strict_stat_sn and self.exp_stat_sn is not None and sn != self.exp_stat_sn:
                self.violation("4.2.2.2 StatSN",
                               f"{p.name}: StatSN {sn}, expected {self.exp_stat_sn} "
                               f"({'advancing' if adv else 'carrying the next StatSN'})")
            if adv:
                self.exp_stat_sn = sn_add(sn, 1)
        if op in (R2T,) and p["ttt"] == RESERVED_TAG:
            self.violation("11.8 TTT", "R2T with the reserved Target Transfer Tag 0xffffffff")
        if op == NOP_IN and p["itt"] != RESERVED_TAG and p["ttt"] != RESERVED_TAG:
            self.violation("11.19 NOP-In tags", "NOP-In answering a ping (ITT set) with a TTT")
        if op == DATA_IN and p["status_present"] and not p["final_pdu"]:
            self.violation("11.7.3 S bit", "Data-In with S=1 and F=0")
        if op == DATA_IN and p["acknowledge"] and self.params.get("ErrorRecoveryLevel",
                                                                  "0") == "0":
            self.violation("11.7.2 A bit", "Data-In with A=1 at ErrorRecoveryLevel 0")
        if op == TEXT_RESPONSE and p["cont"] and p["final_pdu"]:
            self.violation("11.11 C/F", "Text Response with both C and F set")
        if op == LOGIN_RESPONSE and p["cont"] and p["transit"]:
            self.violation("11.13.1 C/T", "Login Response with both C and T set")
        return p

    def recv(self, timeout: float | None = None) -> Pdu:
        return self.check(self.conn.recv(timeout))

    def recv_until(self, pred, timeout: float | None = None, *, what: str = "the answer",
                   keep: list | None = None) -> Pdu:
        """Receives (checking each PDU) until pred(pdu); other PDUs go to `keep` or are
        answered when they are target NOP-Ins that ask for an answer."""
        deadline = time.monotonic() + (self.conn.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            try:
                p = self.recv(max(left, 0.0))
            except NoAnswer:
                raise NoAnswer(f"no {what} within "
                               f"{self.conn.timeout if timeout is None else timeout:g} s\n"
                               f"{self.conn.transcript()}") from None
            if pred(p):
                return p
            if p["opcode"] == NOP_IN and p["ttt"] != RESERVED_TAG:
                self.answer_nop_in(p)
            if keep is not None:
                keep.append(p)

    # -- builders of well-formed PDUs --
    def login_pdu(self, keys, *, csg=SECURITY, nsg=OPERATIONAL, transit=True, cont=False,
                  itt: int | None = None, **fields) -> dict:
        if itt is None:
            if self.login_itt is None:
                self.login_itt = self.next_itt()
            itt = self.login_itt
        pdu = {"opcode": LOGIN_REQUEST, "transit": transit, "cont": cont, "csg": csg,
               "nsg": nsg if transit else 0, "isid": self.isid, "tsih": self.tsih, "itt": itt,
               "cid": self.cid, "cmd_sn": self.cmd_sn,
               "exp_stat_sn": self.exp_stat_sn if self.exp_stat_sn is not None else 0,
               "data": keys if isinstance(keys, bytes) else encode_text(keys)}
        pdu.update(fields)
        return pdu

    def leading_keys(self, session_type: str = "Normal") -> dict:
        keys = {"InitiatorName": self.target.initiator_iqn, "SessionType": session_type}
        if session_type == "Normal":
            keys["TargetName"] = self.target.iqn
        return keys

    def login_exchange(self, keys, **kw) -> Pdu:
        """Sends one Login Request and returns the Login Response (checked against it)."""
        req = self.login_pdu(keys, **kw)
        self.conn.send(req)
        rsp = self.recv_until(lambda p: p["opcode"] == LOGIN_RESPONSE, what="Login Response")
        self.check_login_response(req, rsp)
        self.last_login_response = rsp
        return rsp

    def check_login_response(self, req: dict, rsp: Pdu) -> None:
        """Field rules of a Login Response towards the request it answers (section 11.13)."""
        if rsp["itt"] != req["itt"]:
            self.violation("11.13 ITT", f"Login Response ITT 0x{rsp['itt']:x}, request had "
                                        f"0x{req['itt']:x}")
        # Only accepted logins are judged on the ISID: no rule we know of asks a rejection to
        # carry it (tgtd zeroes it there).
        if rsp["status_class"] == 0 and rsp["isid"] != req["isid"]:
            self.violation("11.13 ISID", f"Login Response ISID 0x{rsp['isid']:x}, request had "
                                         f"0x{req['isid']:x}")
        if rsp["version_max"] != 0 or rsp["version_active"] != 0:
            self.violation("11.13.1 version",
                           f"Version-max {rsp['version_max']}, Version-active "
                           f"{rsp['version_active']} (the only version is 0)")
        if rsp["status_class"] == 0:
            if rsp["csg"] != req["csg"]:
                self.violation("11.13 CSG", f"Login Response CSG {rsp['csg']}, request CSG "
                                            f"{req['csg']}")
            if rsp["transit"] and not req["transit"]:
                self.violation("11.13 T", "the target set T=1 although the initiator sent T=0")
            if rsp["transit"] and rsp["nsg"] == FULL_FEATURE and rsp["tsih"] == 0:
                self.violation("11.13.3 TSIH", "the Login Final-Response carries TSIH 0")

    def login(self, operational: dict | None = None, *, session_type: str = "Normal",
              security: bool = True, names: bool = True) -> Pdu:
        """A complete login: a security stage (AuthMethod=None, or CHAP when the target's facts
        carry credentials: a --chap run) unless `security` is False, then the operational stage with `operational` keys, until the
        target answers T=1 NSG=full feature. The first request carries InitiatorName,
        TargetName and SessionType unless `names` is False (a test sent them already). Returns
        the final response; raises ConformanceFailure if the target rejects the login."""
        # On every connection, not only the leading one (13.4, 13.5).
        first = dict(self.leading_keys(session_type)) if names else {}
        rsp = None
        chap = self.target.facts.get("chap")
        if security and chap is not None and names and session_type == "Normal":
            # A --chap run: the security stage of a Normal session with CHAP (chap.py); a
            # Discovery session still offers None (targets set CHAP for discovery apart).
            from .chap import chap_security
            chap_security(self, chap, session_type=session_type)
            security, first = False, {}
        if security:
            keys = dict(first, AuthMethod="None")
            for _ in range(8):
                rsp = self.login_exchange(keys, csg=SECURITY, nsg=OPERATIONAL)
                self._login_ok(rsp)
                if rsp["transit"]:
                    break
                keys = {}
            else:
                raise ConformanceFailure("the target never left the security stage")
            first = {}
        # The operational keys are offered at their RFC defaults unless a test says otherwise:
        # LIO does not leave the operational stage for a request that offers none.
        keys = dict(first, **OPERATIONAL_DEFAULTS) if names else dict(first)
        keys.update(operational or {})
        for _ in range(8):
            rsp = self.login_exchange(keys, csg=OPERATIONAL, nsg=FULL_FEATURE)
            self._login_ok(rsp)
            if rsp["transit"] and rsp["nsg"] == FULL_FEATURE:
                break
            keys = {}
        else:
            raise ConformanceFailure("the target never reached the full feature phase")
        self.tsih = rsp["tsih"]
        self.cmd_sn = rsp["exp_cmd_sn"]
        self.login_itt = None
        # Digests start with the first PDU of the full feature phase (13.1).
        self.conn.set_digests(self.params.get("HeaderDigest") == "CRC32C",
                              self.params.get("DataDigest") == "CRC32C")
        return rsp

    def _login_ok(self, rsp: Pdu) -> None:
        for k, v in decode_text(rsp.get("data") or b""):
            self.target_keys.append((k, v))
            self.params[k] = v
        if rsp["status_class"] != 0:
            raise ConformanceFailure(
                f"the target rejected the login: status 0x{rsp['status_class']:02x}"
                f"{rsp['status_detail']:02x}\n{self.conn.transcript()}")

    # -- full feature phase helpers --
    def nop_out_pdu(self, data: bytes = b"", *, immediate: bool = False, itt: int | None = None,
                    ttt: int = RESERVED_TAG, lun: int = 0) -> dict:
        itt = self.next_itt() if itt is None else itt
        return {"opcode": NOP_OUT, "immediate": immediate, "itt": itt, "ttt": ttt, "lun": lun,
                "cmd_sn": self.take_cmd_sn(immediate), "exp_stat_sn": self.exp_stat_sn or 0,
                "data": data}

    def nop_ping(self, data: bytes = b"", *, immediate: bool = False) -> Pdu:
        """NOP-Out with an ITT; returns the NOP-In that answers it (same ITT)."""
        req = self.nop_out_pdu(data, immediate=immediate)
        self.conn.send(req)
        return self.recv_until(lambda p: p["opcode"] == NOP_IN and p["itt"] == req["itt"],
                               what=f"NOP-In for ITT 0x{req['itt']:x}")

    def answer_nop_in(self, p: Pdu) -> None:
        """The NOP-Out a target NOP-In with a TTT asks for (section 11.18): ITT reserved, TTT and
        LUN copied, I=1."""
        self.conn.send({"opcode": NOP_OUT, "immediate": True, "itt": RESERVED_TAG,
                        "ttt": p["ttt"], "lun": p["lun"], "cmd_sn": self.cmd_sn,
                        "exp_stat_sn": self.exp_stat_sn or 0})

    def scsi_pdu(self, cdb: bytes, *, read: int = 0, write: int = 0, data: bytes = b"",
                 final: bool = True, immediate: bool = False, lun: int | None = None,
                 itt: int | None = None, attr: int = 1) -> dict:
        """A SCSI Command PDU: `read`/`write` expected lengths, `data` immediate data."""
        itt = self.next_itt() if itt is None else itt
        return {"opcode": SCSI_COMMAND, "immediate": immediate, "final_pdu": final,
                "read": read > 0, "write": write > 0, "attr": attr,
                "lun": lun_field(self.target.lun if lun is None else lun), "itt": itt,
                "expected_data_transfer_length": read or write,
                "cmd_sn": self.take_cmd_sn(immediate), "exp_stat_sn": self.exp_stat_sn or 0,
                "cdb": cdb, "data": data}

    def data_out_pdu(self, cmd: dict, offset: int, data: bytes, *, data_sn: int,
                     ttt: int = RESERVED_TAG, final: bool = True) -> dict:
        return {"opcode": DATA_OUT, "final_pdu": final, "lun": cmd["lun"], "itt": cmd["itt"],
                "ttt": ttt, "exp_stat_sn": self.exp_stat_sn or 0, "data_sn": data_sn,
                "buffer_offset": offset, "data": data}

    def wait_status(self, itt: int, timeout: float | None = None,
                    keep: list | None = None) -> Pdu:
        """Receives until the status of task `itt` (a SCSI Response, or a Data-In with S);
        Data-In and R2T PDUs of the task go to `keep`."""
        return self.recv_until(
            lambda p: p["itt"] == itt and (p["opcode"] == SCSI_RESPONSE or (
                p["opcode"] == DATA_IN and p["status_present"])),
            timeout, what=f"status for ITT 0x{itt:x}", keep=keep)

    def run_read(self, cdb: bytes, length: int, **kw) -> tuple[Pdu, list[Pdu]]:
        """Sends a read command; returns (status PDU, every Data-In of the task in order)."""
        cmd = self.scsi_pdu(cdb, read=length, **kw)
        self.conn.send(cmd)
        keep: list[Pdu] = []
        status = self.wait_status(cmd["itt"], keep=keep)
        data_in = [p for p in keep if p["opcode"] == DATA_IN and p["itt"] == cmd["itt"]]
        if status["opcode"] == DATA_IN:
            data_in.append(status)
        return status, data_in

    def text_pdu(self, keys, *, ttt: int = RESERVED_TAG, final: bool = True, cont: bool = False,
                 itt: int | None = None, immediate: bool = False) -> dict:
        return {"opcode": TEXT_REQUEST, "immediate": immediate, "final_pdu": final,
                "cont": cont, "itt": self.next_itt() if itt is None else itt, "ttt": ttt,
                "cmd_sn": self.take_cmd_sn(immediate), "exp_stat_sn": self.exp_stat_sn or 0,
                "data": keys if isinstance(keys, bytes) else encode_text(keys)}

    def text_exchange(self, keys) -> tuple[list[tuple[str, str]], list[Pdu]]:
        """A text negotiation to its end: a Text Response with F=0 (more to come) is answered
        with an empty Text Request carrying its TTT (section 11.10). Returns the pairs of all
        responses and the responses."""
        req = self.text_pdu(keys)
        self.conn.send(req)
        data, responses = b"", []
        for _ in range(64):
            rsp = self.recv_until(lambda p: p["opcode"] == TEXT_RESPONSE, what="Text Response")
            responses.append(rsp)
            if rsp["itt"] != req["itt"]:
                self.violation("11.11 ITT", f"Text Response ITT 0x{rsp['itt']:x}, request "
                                            f"0x{req['itt']:x}")
            data += rsp.get("data") or b""
            if rsp["final_pdu"]:
                if rsp["ttt"] != RESERVED_TAG:
                    self.violation("11.11 TTT", "final Text Response with a TTT other than "
                                                "0xffffffff")
                return decode_text(data), responses
            if rsp["ttt"] == RESERVED_TAG:
                self.violation("11.11 TTT", "Text Response with F=0 and the reserved TTT")
            req = self.text_pdu(b"", ttt=rsp["ttt"], itt=req["itt"])
            self.conn.send(req)
        raise ConformanceFailure("a text negotiation did not end after 64 responses")

    def send_targets(self, value: str = "All") -> list[tuple[str, str]]:
        return self.text_exchange({"SendTargets": value})[0]

    def tmf_pdu(self, function: int, *, referenced_task_tag: int = RESERVED_TAG,
                ref_cmd_sn: int = 0, lun: int | None = None, immediate: bool = True) -> dict:
        return {"opcode": TMF_REQUEST, "immediate": immediate, "function": function,
                "lun": lun_field(self.target.lun if lun is None else lun),
                "itt": self.next_itt(), "referenced_task_tag": referenced_task_tag,
                "cmd_sn": self.take_cmd_sn(immediate), "exp_stat_sn": self.exp_stat_sn or 0,
                "ref_cmd_sn": ref_cmd_sn, "exp_data_sn": 0}

    def tmf(self, function: int, **kw) -> Pdu:
        """Sends a Task Management Function Request; returns its response (same ITT)."""
        req = self.tmf_pdu(function, **kw)
        self.conn.send(req)
        return self.recv_until(lambda p: p["opcode"] == TMF_RESPONSE and p["itt"] == req["itt"],
                               what=f"TMF Response for ITT 0x{req['itt']:x}")

    def logout(self, reason: int = 0) -> Pdu:
        req = {"opcode": LOGOUT_REQUEST, "immediate": False, "reason": reason,
               "itt": self.next_itt(), "cid": self.cid if reason else 0,
               "cmd_sn": self.take_cmd_sn(False), "exp_stat_sn": self.exp_stat_sn or 0}
        self.conn.send(req)
        rsp = self.recv_until(lambda p: p["opcode"] == LOGOUT_RESPONSE, what="Logout Response")
        if rsp["itt"] != req["itt"]:
            self.violation("11.15 ITT", f"Logout Response ITT 0x{rsp['itt']:x}, request "
                                        f"0x{req['itt']:x}")
        return rsp


def lun_field(lun: int) -> int:
    """The 8-byte LUN field for a LUN below 256 (SAM peripheral addressing)."""
    if not 0 <= lun < 256:
        raise ValueError("the suite addresses LUNs 0..255")
    return lun << 48


# ---- SCSI CDBs the suite needs (SBC/SPC; nothing iSCSI specific)

def cdb_test_unit_ready() -> bytes:
    return bytes(6)


def cdb_read10(lba: int, blocks: int) -> bytes:
    return struct.pack(">BBIBHB", 0x28, 0, lba, 0, blocks, 0)


def cdb_write10(lba: int, blocks: int) -> bytes:
    return struct.pack(">BBIBHB", 0x2A, 0, lba, 0, blocks, 0)


def cdb_read_capacity10() -> bytes:
    return bytes([0x25]) + bytes(9)


def cdb_inquiry(length: int = 96) -> bytes:
    return struct.pack(">BBBHB", 0x12, 0, 0, length, 0)
