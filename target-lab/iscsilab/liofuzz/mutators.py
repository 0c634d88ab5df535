"""Mutators: of PDU fields (before or after encoding), of login/text keys, and of raw bytes.

Each takes a random.Random and returns something new (nothing is changed in place). The field
mutators that keep a PDU framable (header length fields untouched) are listed in
FRAMING_SAFE; the others (DataSegmentLength, TotalAHSLength, raw bytes) break framing on purpose.
"""
from __future__ import annotations

import random

from ..conformance.driver import patch

U32 = 0xFFFFFFFF

# Values that tend to sit on a boundary of some check.
INTERESTING_32 = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x1FF, 0x200, 0xFFFF, 0x10000, 0x7FFFFFFF,
                  0x80000000, 0xFFFFFFFE, U32)
INTERESTING_8 = (0, 1, 0x7F, 0x80, 0xFE, 0xFF)


def serial_near(rng: random.Random, current: int) -> int:
    """A 32-bit value around `current` (sequence numbers, offsets) or an interesting one."""
    choice = rng.randrange(5)
    if choice == 0:
        return rng.choice(INTERESTING_32)
    if choice == 1:
        return (current + rng.randint(-4, 4)) & U32
    if choice == 2:
        return (current + 0x80000000 + rng.randint(-2, 2)) & U32
    if choice == 3:
        return (current + rng.choice((64, 128, 256, 1000, 1 << 20))) & U32
    return rng.getrandbits(32)


# -- fields of a PDU dict (before encoding): what proto can still encode

def mutate_fields(rng: random.Random, pdu: dict, n: int = 1) -> tuple[dict, list[str]]:
    """`pdu` with n of its sequence/tag/offset/length fields changed; the names changed."""
    out = dict(pdu)
    names = [k for k in ("itt", "ttt", "cmd_sn", "exp_stat_sn", "data_sn", "buffer_offset",
                         "expected_data_transfer_length", "referenced_task_tag", "ref_cmd_sn",
                         "exp_data_sn", "beg_run", "run_length", "lun", "cid", "tsih",
                         "function", "reason", "type", "isid") if k in out]
    flags = [k for k in ("immediate", "final_pdu", "read", "write", "cont", "transit")
             if k in out]
    changed = []
    for _ in range(n):
        if flags and rng.random() < 0.25:
            k = rng.choice(flags)
            out[k] = not out[k]
        elif names:
            k = rng.choice(names)
            if k == "lun":
                # Below 2**63: iscsilab._pdu.encode cannot take a larger LUN (RuntimeError
                # from pybind11); mutate_header patches all 64 bits on the wire instead.
                out[k] = rng.choice((0, 1 << 48, 0x7FFF << 48, rng.getrandbits(63)))
            elif k in ("cid", "tsih"):
                out[k] = rng.choice((0, 1, 0xFFFF, rng.getrandbits(16)))
            elif k in ("function",):
                out[k] = rng.randrange(0, 128)
            elif k in ("reason",):
                out[k] = rng.randrange(0, 128)
            elif k == "type":
                out[k] = rng.randrange(0, 16)
            elif k == "isid":
                out[k] = rng.getrandbits(48)
            else:
                out[k] = serial_near(rng, out[k] or 0)
        else:
            continue
        changed.append(k)
    return out, changed


def oversized_data(rng: random.Random, limit: int = 8192) -> bytes:
    """A data segment at or beyond a negotiated limit (MaxRecvDataSegmentLength, FirstBurst)."""
    size = rng.choice((limit, limit + 1, limit + 4, 2 * limit, 65536 + 4, 262144 + 512,
                       rng.randrange(limit, 4 * limit)))
    return bytes([rng.randrange(256)]) * size


# -- the encoded header (what proto would refuse to build)

FRAMING_SAFE = ("opcode", "flags", "byte2", "byte3", "itt", "ttt", "lun")
FRAMING_BREAKING = ("data_segment_length", "total_ahs_length")


def mutate_header(rng: random.Random, wire: bytes, framing: bool = False) -> tuple[bytes, str]:
    """`wire` with one header field patched; `framing` allows the length fields too."""
    names = FRAMING_SAFE + (FRAMING_BREAKING if framing else ())
    name = rng.choice(names)
    if name == "opcode":
        keep_i = wire[0] & 0x40
        value = keep_i | rng.choice((0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x1C, 0x1D,
                                     0x1E, 0x20, 0x21, 0x3F, rng.randrange(0x40)))
    elif name in ("flags", "byte2", "byte3", "total_ahs_length"):
        value = rng.choice(INTERESTING_8 + (rng.randrange(256),))
    elif name == "data_segment_length":
        value = rng.choice((0, 1, 3, 4, 48, 8192, 8193, 0xFFFFFF, rng.randrange(1 << 24)))
    elif name == "lun":
        value = rng.getrandbits(64)
    else:
        value = rng.choice(INTERESTING_32 + (rng.getrandbits(32),))
    return patch(wire, {name: value}), name


def add_ahs(rng: random.Random, wire: bytes) -> bytes:
    """An AHS inserted after the BHS with TotalAHSLength set to match (or not)."""
    ahs_type = rng.choice((0, 1, 2, 0x3F, 0x40, rng.randrange(256)))
    body = bytes(rng.randrange(256) for _ in range(rng.choice((1, 3, 5, 17, 33, 250))))
    length = rng.choice((len(body), 0, 0xFFFF, len(body) + 1))
    ahs = length.to_bytes(2, "big") + bytes([ahs_type]) + body
    ahs += bytes(-len(ahs) % 4)
    total = len(ahs) // 4 if rng.random() < 0.7 else rng.randrange(256)
    return patch(wire[:48] + ahs + wire[48:], {"total_ahs_length": total & 0xFF})


# -- raw bytes (recorded sessions, byte by byte)

def mutate_bytes(rng: random.Random, data: bytes, n: int | None = None) -> bytes:
    buf = bytearray(data)
    for _ in range(n if n is not None else rng.randint(1, 4)):
        op = rng.randrange(7)
        if not buf:
            buf += bytes([rng.randrange(256)])
            continue
        i = rng.randrange(len(buf))
        if op == 0:
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[i] = rng.choice(INTERESTING_8)
        elif op == 2:
            j = min(len(buf), i + 4)
            buf[i:j] = rng.choice(INTERESTING_32).to_bytes(4, "big")[:j - i]
        elif op == 3:
            del buf[i:i + rng.randint(1, 8)]
        elif op == 4:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 5:
            j = rng.randrange(len(buf))
            buf[i:i] = buf[j:j + rng.randint(1, 64)]
        else:
            del buf[i:]
    return bytes(buf)


# -- key=value text (login and text negotiation)

KEY_VALUES = {
    "HeaderDigest": ("None", "CRC32C", "CRC32C,None", "None,CRC32C", "MD5", ""),
    "DataDigest": ("None", "CRC32C", "None,CRC32C"),
    "MaxConnections": ("1", "2", "4", "0", "65535", "65536"),
    "InitialR2T": ("Yes", "No", "yes", "Maybe"),
    "ImmediateData": ("Yes", "No", "Perhaps"),
    "MaxRecvDataSegmentLength": ("512", "511", "0", "8192", "16777215", "16777216",
                                 "4294967296", "-1", "0x2000"),
    "MaxBurstLength": ("512", "262144", "16777215", "16777216", "0", "1"),
    "FirstBurstLength": ("512", "65536", "16777215", "0", "300000"),
    "DefaultTime2Wait": ("0", "2", "3600", "3601"),
    "DefaultTime2Retain": ("0", "20", "3600", "3601"),
    "MaxOutstandingR2T": ("1", "0", "65535", "65536"),
    "DataPDUInOrder": ("Yes", "No"),
    "DataSequenceInOrder": ("Yes", "No"),
    "ErrorRecoveryLevel": ("0", "1", "2", "3", "255"),
    "IFMarker": ("No", "Yes"), "OFMarker": ("No", "Yes"),
    "OFMarkInt": ("2048", "1~65535", "0~1", "Reject"), "IFMarkInt": ("2048", "65535~1"),
    "TaskReporting": ("RFC3720", "ResponseFence", "FastAbort", "junk"),
    "AuthMethod": ("None", "CHAP", "CHAP,None", "KRB5,SRP,SPKM1,SPKM2,CHAP", "Bogus"),
    "CHAP_A": ("5", "5,7", "7", "99", ""),
    "CHAP_N": ("user", "", "x" * 255),
    "CHAP_R": ("0x" + "00" * 16, "0x", "0x" + "ab" * 1024, "0b" + "A" * 24),
    "CHAP_I": ("1", "256", "-1"), "CHAP_C": ("0x" + "11" * 16, "0x" + "22" * 1024),
    "SessionType": ("Normal", "Discovery", "Other"),
    "SendTargets": ("All", "", "iqn.bogus"),
    "TargetAlias": ("x",), "InitiatorAlias": ("fuzz",),
    "X-com.example.fuzz": ("1",), "X#private": ("1",), "NotAKey": ("1",),
}


def mutate_keys(rng: random.Random, pairs: list[tuple[str, str]], n: int = 1
                ) -> tuple[list[tuple[str, str]], list[str]]:
    """Key list mutations: drop, duplicate, change to an edge value, oversize the name or the
    value, add an unknown key or a CHAP key, reorder."""
    out = list(pairs)
    done = []
    for _ in range(n):
        op = rng.randrange(8)
        if op == 0 and out:
            i = rng.randrange(len(out))
            done.append(f"drop {out[i][0]}")
            del out[i]
        elif op == 1 and out:
            k, _v = rng.choice(out)
            v = rng.choice(KEY_VALUES.get(k, ("dup",)))
            out.insert(rng.randrange(len(out) + 1), (k, v))
            done.append(f"duplicate {k}")
        elif op == 2:
            k = rng.choice(list(KEY_VALUES))
            v = rng.choice(KEY_VALUES[k])
            out = [(a, b) for a, b in out if a != k] + [(k, v)]
            done.append(f"{k}={v[:20]}")
        elif op == 3 and out:
            i = rng.randrange(len(out))
            k, _v = out[i]
            v = "a" * rng.choice((255, 256, 4096, 8192, 9000, 70000))
            out[i] = (k, v)
            done.append(f"oversized value of {k} ({len(v)})")
        elif op == 4:
            k = "K" * rng.choice((63, 64, 65, 300))
            out.append((k, "1"))
            done.append(f"oversized key name ({len(k)})")
        elif op == 5:
            k = rng.choice(("CHAP_A", "CHAP_N", "CHAP_R", "CHAP_I", "CHAP_C"))
            out.append((k, rng.choice(KEY_VALUES[k])))
            done.append(k)
        elif op == 6:
            rng.shuffle(out)
            done.append("reorder")
        else:
            k = rng.choice(list(KEY_VALUES))
            v = rng.choice(("", "NotUnderstood", "Irrelevant", "Reject", "?", "1,2,3,4,5"
                            * 40, "\u00e9\u00e8"))
            out.append((k, v))
            done.append(f"{k}={v[:12]!r}")
    return out, done


def encode_pairs(rng: random.Random | None, pairs: list[tuple[str, str]]) -> bytes:
    """key=value\\0 ...; with `rng`, sometimes malformed (no '=', no final NUL, raw bytes)."""
    parts = [f"{k}={v}".encode() for k, v in pairs]
    if rng is not None and parts and rng.random() < 0.15:
        i = rng.randrange(len(parts))
        parts[i] = rng.choice((parts[i].replace(b"=", b"", 1), parts[i] + b"\xff\xfe",
                               b"=" + parts[i], parts[i] + b"=x"))
    data = b"".join(p + b"\0" for p in parts)
    if rng is not None and data and rng.random() < 0.05:
        data = data[:-1]
    return data
