"""Wire format shared by the guest agent and its host client: one JSON object per line.

Request:  {"id": 7, "op": "create_lun", "args": {...}}
Response: {"id": 7, "ok": true, "result": ...} or {"id": 7, "ok": false, "error": "..."}
Arguments may carry CHAP secrets: neither side ever logs a request.
"""
from __future__ import annotations

import json

PORT_NAME = "iscsilab.agent"


def encode(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict:
    return json.loads(line.decode())
