"""CHAP for the conformance suite's --chap runs (RFC 7143 section 12.1.3, RFC 1994): a secret
type that does not print, and the CHAP exchange of a login's security stage on a driver Session.

    creds = Credentials.parse("user:secret", target="tuser:tsecret")   # --chap, --chap-target
    chap_login(sess, creds)        # security stage with CHAP, then the operational stage

A Secret's text never appears in repr(), str(), an f-string, a traceback's locals or a transcript
(the driver logs PDUs, and CHAP_R is a hash, never the secret); `--show` in the CLI is the one
place that reveals it, on purpose."""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from .driver import OPERATIONAL, SECURITY, ConformanceFailure, decode_text

CHAP_MD5 = "5"


class Secret:
    """A CHAP secret: kept in a bytearray that wipe() zeroes; prints as <secret>."""

    __slots__ = ("_value",)

    def __init__(self, value: str | bytes):
        self._value = bytearray(value.encode() if isinstance(value, str) else value)

    def reveal(self) -> bytes:
        return bytes(self._value)

    def wipe(self) -> None:
        for i in range(len(self._value)):
            self._value[i] = 0

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __format__(self, spec) -> str:
        return "<secret>"

    def __len__(self) -> int:
        return len(self._value)


@dataclass(frozen=True)
class Credentials:
    user: str
    secret: Secret
    target_user: str | None = None          # mutual CHAP: the name and secret the target uses
    target_secret: Secret | None = None

    @classmethod
    def parse(cls, initiator: str, target: str | None = None) -> "Credentials":
        """USER:SECRET (and the target's, for mutual CHAP); ValueError names what is wrong
        without the secret."""
        def split(text: str, flag: str) -> tuple[str, Secret]:
            user, sep, secret = text.partition(":")
            if not sep or not user or not secret:
                raise ValueError(f"{flag} wants USER:SECRET (got a value without both parts)")
            return user, Secret(secret)
        user, secret = split(initiator, "--chap")
        if target is None:
            return cls(user, secret)
        tuser, tsecret = split(target, "--chap-target")
        return cls(user, secret, tuser, tsecret)

    @property
    def mutual(self) -> bool:
        return self.target_secret is not None

    def shown(self, reveal: bool = False) -> str:
        text = f"{self.user}:{self.secret.reveal().decode() if reveal else '<secret>'}"
        if self.mutual:
            text += (f", target {self.target_user}:"
                     f"{self.target_secret.reveal().decode() if reveal else '<secret>'}")
        return text


def chap_response(identifier: int, secret: Secret, challenge: bytes) -> bytes:
    """MD5(identifier byte, secret, challenge) (RFC 1994 section 4.1)."""
    return hashlib.md5(bytes([identifier & 0xFF]) + secret.reveal() + challenge).digest()


def parse_hex(value: str) -> bytes:
    """A CHAP binary value in 0x hex form (the form LIO and tgtd send); base64 (0b) too."""
    import base64
    if value[:2] in ("0x", "0X"):
        return bytes.fromhex(value[2:])
    if value[:2] in ("0b", "0B"):
        return base64.b64decode(value[2:])
    raise ValueError(f"not a CHAP binary value: {value[:8]!r}...")


def keys(rsp) -> dict:
    return dict(decode_text(rsp.get("data") or b""))


def chap_security(sess, creds: Credentials, *, wrong: bool = False,
                  algorithms: str = CHAP_MD5, session_type: str = "Normal") -> dict:
    """The security stage with CHAP on `sess`; returns the target's last keys. With `wrong`,
    the response is computed from a secret that is not the one given. Raises ConformanceFailure
    on a login reject (the caller may expect one: last_login_response has it)."""
    first = dict(sess.leading_keys(session_type), AuthMethod="CHAP")
    rsp = sess.login_exchange(first, csg=SECURITY, transit=False)
    sess._login_ok(rsp)
    if keys(rsp).get("AuthMethod") != "CHAP":
        raise ConformanceFailure(f"AuthMethod=CHAP answered {keys(rsp).get('AuthMethod')!r}")
    rsp = sess.login_exchange({"CHAP_A": algorithms}, csg=SECURITY, transit=False)
    sess._login_ok(rsp)
    got = keys(rsp)
    if got.get("CHAP_A") not in algorithms.split(","):
        raise ConformanceFailure(f"CHAP_A={algorithms} answered {got.get('CHAP_A')!r}")
    try:
        identifier = int(got["CHAP_I"])
        challenge = parse_hex(got["CHAP_C"])
    except (KeyError, ValueError) as e:
        raise ConformanceFailure(f"no usable CHAP_I/CHAP_C from the target ({e})") from None
    secret = Secret(os.urandom(len(creds.secret) or 12)) if wrong else creds.secret
    answer = {"CHAP_N": creds.user,
              "CHAP_R": "0x" + chap_response(identifier, secret, challenge).hex()}
    ours = None
    if creds.mutual:
        ours = (os.urandom(1)[0], os.urandom(16))
        answer.update(CHAP_I=str(ours[0]), CHAP_C="0x" + ours[1].hex())
    rsp = sess.login_exchange(answer, csg=SECURITY, nsg=OPERATIONAL, transit=True)
    sess._login_ok(rsp)
    got = keys(rsp)
    if ours is not None:
        want = chap_response(ours[0], creds.target_secret, ours[1])
        try:
            theirs = parse_hex(got.get("CHAP_R", ""))
        except ValueError:
            theirs = b""
        if got.get("CHAP_N") != creds.target_user or not hmac.compare_digest(theirs, want):
            raise ConformanceFailure("the target's CHAP_N/CHAP_R to our challenge do not verify "
                                     "with the target credentials given")
    # Some targets answer T=1 only after one more exchange; the driver's login() goes on.
    if not rsp["transit"]:
        rsp = sess.login_exchange({}, csg=SECURITY, nsg=OPERATIONAL, transit=True)
        sess._login_ok(rsp)
    return got


def chap_login(sess, creds: Credentials, operational: dict | None = None):
    """A whole login with CHAP: the security stage, then the operational one."""
    from .driver import OPERATIONAL_DEFAULTS
    chap_security(sess, creds)
    return sess.login(dict(OPERATIONAL_DEFAULTS, **(operational or {})), security=False,
                      names=False)
