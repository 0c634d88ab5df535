"""JSON lines, the wire format of both channels the host speaks: the guest agent (over
virtio-serial) and the initiator worker (over a pipe into the lab's namespace).

Request:  {"id": 7, "op": "login", "args": {...}}
Reply:    {"id": 7, "ok": true, "result": ...}  or  {"id": 7, "ok": false, "error": {...}}
Notice:   {"notice": "events", "data": ...}      (unsolicited, worker -> host; no id)

Arguments may carry CHAP secrets: neither side ever logs a request.
"""
from __future__ import annotations

import json


def encode(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=str).encode() + b"\n"


def decode(line: bytes | str) -> dict:
    return json.loads(line)


def request(rid: int, op: str, args: dict) -> bytes:
    return encode({"id": rid, "op": op, "args": args})


def reply_ok(rid, result) -> bytes:
    return encode({"id": rid, "ok": True, "result": result})


def reply_error(rid, error) -> bytes:
    return encode({"id": rid, "ok": False, "error": error})


def notice(kind: str, data) -> bytes:
    return encode({"notice": kind, "data": data})
