"""lab-iscsiadm in a scenario: the way open-iscsi users think (`iscsiadm: -m node -l`).

One lab-iscsid per cell, started on the first `iscsiadm` step in the lab's namespace with a
database root of its own (a temporary directory), stopped (SIGTERM: it logs every session out)
when the cell ends. `{nic0}` in the arguments is that portal's address, `{target}` the cell's
first target's IQN, `{target:NAME}` a named one's.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import tempfile
import time
from pathlib import Path

from .context import StepFailed


def build_dir() -> Path:
    """Where lab-iscsiadm and lab-iscsid were built (beside the Python module)."""
    env = os.environ.get("ISCSILAB_BUILD_DIR")
    if env:
        return Path(env).parents[1]
    return Path(__file__).resolve().parents[3] / "build" / "default"


class AdmDaemon:
    def __init__(self, lab):
        self.lab = lab
        self.root = Path(tempfile.mkdtemp(prefix="iscsilab-adm-"))
        self.bin = build_dir() / "initiator" / "cli"
        self.pid: int | None = None
        for name in ("lab-iscsiadm", "lab-iscsid"):
            if not (self.bin / name).exists():
                raise StepFailed(f"{self.bin / name} is not built (cmake --build --preset default)")
        res = lab.exec([str(self.bin / "lab-iscsid"), f"--root={self.root}"], timeout=60)
        if res.returncode != 0:
            raise StepFailed(f"lab-iscsid did not start ({res.returncode}): {res.stderr.strip()}")
        self.pid = int((self.root / "lab-iscsid.pid").read_text())

    def run(self, args: list[str], timeout: float = 300):
        return self.lab.exec([str(self.bin / "lab-iscsiadm"), *args, f"--root={self.root}"],
                             timeout=timeout)

    def stop(self) -> str:
        """SIGTERM and wait (30 s) for the daemon to log out and go; returns its log."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                end = time.monotonic() + 30
                while time.monotonic() < end:
                    os.kill(self.pid, 0)
                    time.sleep(0.05)
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = None
        log = self.root / "lab-iscsid.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(self.root, ignore_errors=True)
        return text


def expand(ctx, text: str) -> str:
    """{nic0}, {nic1}: portal addresses; {target} / {target:NAME}: target IQNs; {isns}: the
    lab's iSNS server."""
    targets = [p.target for p in ctx.lab.portals()]

    def one(m: re.Match) -> str:
        key = m.group(1)
        if key == "target":
            return targets[0]
        if key.startswith("target:"):
            name = key.split(":", 1)[1]
            for t in targets:
                if t == name or t.endswith(":" + name):
                    return t
            raise StepFailed(f"{{{key}}}: no target {name} in the lab")
        if re.fullmatch(r"nic\d+", key):
            return ctx.portal_address(targets[0], key)
        if key == "isns":
            if getattr(ctx.lab, "isns", None) is None:
                raise StepFailed("{isns}: the lab runs no iSNS server (set `isns: true` in `lab:`)")
            return ctx.lab.isns.address
        raise StepFailed(f"{{{key}}}: expected {{nicN}}, {{target}}, {{target:NAME}} or {{isns}}")

    return re.sub(r"\{([^{}]+)\}", one, text)


def golden_mismatch(ctx, golden: Path, out: str) -> str | None:
    """None when `out` matches the golden file line by line ({*}: any text within a line);
    otherwise where and how it differs."""
    want = golden.read_text().splitlines()
    got = out.splitlines()
    for n, (w, g) in enumerate(zip(want, got), 1):
        pattern = ".*".join(re.escape(expand(ctx, part)) for part in w.rstrip().split("{*}"))
        if not re.fullmatch(pattern, g.rstrip()):
            return f"{golden.name}:{n}: expected {w.rstrip()!r}, got {g.rstrip()!r}"
    if len(want) != len(got):
        extra = got[len(want)] if len(got) > len(want) else want[len(got)]
        return (f"{golden.name}: {len(want)} lines expected, {len(got)} printed (first "
                f"{'extra' if len(got) > len(want) else 'missing'} line: {extra.rstrip()!r})")
    return None


def do_iscsiadm(ctx, step, ini: str) -> dict:
    b = step.body
    if ctx.adm is None:
        ctx.adm = AdmDaemon(ctx.lab)
    args = shlex.split(expand(ctx, b["args"]))
    res = ctx.adm.run(args)
    want = b.get("status", 0)
    shown = f"lab-iscsiadm {' '.join(args)}"
    if res.returncode != want:
        raise StepFailed(f"{shown} exited {res.returncode}, expected {want}: "
                         f"{(res.stderr or res.stdout).strip()[-800:]}")
    for text in b.get("prints", []):
        text = expand(ctx, text)
        if text not in res.stdout and text not in res.stderr:
            raise StepFailed(f"{shown} did not print {text!r}; it printed: "
                             f"{(res.stdout + res.stderr).strip()[-800:]}")
    if "golden" in b:
        why = golden_mismatch(ctx, Path(b["golden"]), res.stdout)
        if why:
            raise StepFailed(f"{shown}: output differs from its golden file: {why}")
    if "output" in b:
        want_lines = sorted(expand(ctx, line) for line in b["output"])
        got_lines = sorted(res.stdout.splitlines())
        if got_lines != want_lines:
            raise StepFailed(f"{shown} printed {got_lines!r} on standard output, expected exactly "
                             f"{want_lines!r} (in any order)")
    return {"command": shown, "status": res.returncode, "stdout": res.stdout[-4000:],
            "stderr": res.stderr[-2000:]}
