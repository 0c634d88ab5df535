"""libiscsi's command-line tools (Debian libiscsi-bin) run against a lab, from its namespace.

CHAP secrets go through libiscsi's environment variables (LIBISCSI_CHAP_USERNAME, ...), never
on the command line, where `ps` and logs would show them.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass


@dataclass
class Creds:
    user: str | None = None
    password: str | None = None
    target_user: str | None = None       # mutual CHAP: what the target must prove
    target_password: str | None = None

    def env(self) -> dict[str, str]:
        pairs = {"LIBISCSI_CHAP_USERNAME": self.user, "LIBISCSI_CHAP_PASSWORD": self.password,
                 "LIBISCSI_CHAP_TARGET_USERNAME": self.target_user,
                 "LIBISCSI_CHAP_TARGET_PASSWORD": self.target_password}
        return {k: v for k, v in pairs.items() if v}


def url(portal: str, target: str | None = None, lun: int | None = None, **options: str) -> str:
    text = f"iscsi://{portal}"
    if target:
        text += f"/{target}"
        if lun is not None:
            text += f"/{lun}"
    if options:
        text += "?" + "&".join(f"{k}={v}" for k, v in options.items())
    return text


class LibIscsi:
    """Runs libiscsi tools in a lab's namespace; `lab` is anything with exec(argv, timeout, env)."""

    def __init__(self, lab, initiator: str = "iqn.2026-11.org.example:host0"):
        self.lab = lab
        self.initiator = initiator

    def run(self, tool: str, *args: str, creds: Creds | None = None, timeout: float = 30,
            initiator: str | None = None, debug: int = 0) -> subprocess.CompletedProcess:
        """`debug` > 0 makes libiscsi log to stderr (e.g. digest failures and reconnects)."""
        argv = [tool, "-i", initiator or self.initiator, *args]
        env = {"LIBISCSI_TCP_SYNCNT": "2", **(creds.env() if creds else {})}
        if debug:
            env["LIBISCSI_DEBUG"] = str(debug)
        return self.lab.exec(argv, timeout=timeout, env=env)

    def ls(self, portal: str, creds: Creds | None = None, luns: bool = True, **kw):
        return self.run("iscsi-ls", *(["-s"] if luns else []), url(portal), creds=creds, **kw)

    def inq(self, portal: str, target: str, lun: int = 0, creds: Creds | None = None,
            options: dict | None = None, **kw):
        return self.run("iscsi-inq", url(portal, target, lun, **(options or {})), creds=creds, **kw)

    def capacity(self, portal: str, target: str, lun: int = 0, creds: Creds | None = None, **kw) -> int:
        """READ CAPACITY(16) in bytes; raises CalledProcessError if the tool fails."""
        proc = self.run("iscsi-readcapacity16", url(portal, target, lun), creds=creds, **kw)
        if proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, "iscsi-readcapacity16",
                                                proc.stdout, proc.stderr)
        for line in proc.stdout.splitlines():
            if line.startswith("Total size:"):
                return int(line.split(":", 1)[1])
        raise ValueError(f"no size in iscsi-readcapacity16 output: {proc.stdout!r}")
