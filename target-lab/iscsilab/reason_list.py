"""Lists of keys that each carry a reason, one `KEY  # reason` a line ('#' lines are comments):
the conformance suite's expected failures per target and the LIO fuzzer's known findings. Both
are read by people first, so a line without its reason is an error that names file and line."""
from __future__ import annotations

from pathlib import Path


def read_reason_list(path: str | Path, key_name: str) -> dict[str, str]:
    """{key: reason}; a missing file is an empty list. ValueError("FILE:LINE: ...") for a line
    without 'KEY  # reason' (two spaces, '#', a reason). The last '  # ' splits, so a key may
    itself hold a '#'."""
    path = Path(path)
    if not path.exists():
        return {}
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        body = line.strip()
        if not body or body.startswith("#"):
            continue
        key, sep, reason = body.rpartition("  # ")
        if not sep or not key.strip() or not reason.strip():
            raise ValueError(f"{path}:{n}: expected '{key_name}  # reason' (two spaces, '#', "
                             f"then why), got {body!r}")
        out[key.strip()] = reason.strip()
    return out
