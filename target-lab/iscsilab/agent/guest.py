"""The guest agent: runs inside the VM (Debian's python3, stdlib only) and serves JSON requests
from the host over the virtio-serial port `iscsilab.agent`.

Operations come from a handler module named on the command line (for the lab:
iscsilab.provision.lio_guest), so this file knows nothing about LIO. The handler module may
define warm(), run in a thread at start-up so that slow imports (rtslib-fb: 2-8 s under TCG)
overlap with the host's first requests instead of delaying them.
"""
from __future__ import annotations

import glob
import importlib
import os
import sys
import threading
import time

from .protocol import PORT_NAME, decode, encode

def find_port(name: str) -> str:
    for path in glob.glob("/sys/class/virtio-ports/*/name"):
        with open(path) as f:
            if f.read().strip() == name:
                return "/dev/" + path.split("/")[-2]
    raise SystemExit(f"iscsilab-agent: no virtio-serial port named {name}")


def uptime() -> float:
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


def builtin_ops() -> dict:
    def ping(args):
        times, boot_error = {}, None
        try:
            with open("/run/iscsilab/times") as f:
                for line in f:
                    key, value = line.split()
                    times[key] = float(value)
        except OSError:
            pass
        if "boot_failed" in times:
            with open("/run/iscsilab/boot.err") as f:
                boot_error = f.read().strip()[-2000:]
        return {"uptime": uptime(), "times": times, "boot_error": boot_error}

    def run(args):
        """Runs a command in the guest (netem for the faults layer, shell steps for tests)."""
        import subprocess
        proc = subprocess.run(args["argv"], capture_output=True, text=True,
                              timeout=args.get("timeout", 60), input=args.get("input"))
        return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}

    def read_file(args):
        with open(args["path"]) as f:
            return f.read()

    return {"ping": ping, "run": run, "read_file": read_file}


def serve(fd: int, ops: dict) -> None:
    buf = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except InterruptedError:
            continue
        if not chunk:
            # The host side is not connected (no client on the socket): wait for the next one
            # and forget any half line the previous client left behind.
            buf = b""
            time.sleep(0.05)
            continue
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                write_all(fd, encode(handle(line, ops)))


def write_all(fd: int, data: bytes) -> None:
    # A virtio-serial port takes at most what fits in its queue per write (about 64 KiB); what
    # os.write does not take must be written again, or a large reply is cut and never ends.
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except InterruptedError:
            continue


def handle(line: bytes, ops: dict) -> dict:
    try:
        req = decode(line)
    except ValueError as exc:
        return {"id": None, "ok": False, "error": f"bad request: {exc}"}
    rid = req.get("id")
    op = ops.get(req.get("op"))
    if op is None:
        return {"id": rid, "ok": False, "error": f"unknown operation {req.get('op')!r}"}
    try:
        return {"id": rid, "ok": True, "result": op(req.get("args") or {})}
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the host as text
        # The message only: a traceback's locals could include secrets from the arguments.
        return {"id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"}


def main() -> None:
    """Usage: python3 -m iscsilab.agent.guest [HANDLER_MODULE ...]  (argv, not argparse:
    every import counts at boot under TCG)."""
    ops = builtin_ops()
    for name in sys.argv[1:]:
        module = importlib.import_module(name)
        ops.update(module.HANDLERS)
        if hasattr(module, "warm"):
            threading.Thread(target=module.warm, daemon=True).start()
    with open("/run/iscsilab/times", "a") as f:
        f.write(f"agent {uptime()}\n")
    fd = os.open(find_port(PORT_NAME), os.O_RDWR)
    print("iscsilab-agent: ready", file=sys.stderr)
    serve(fd, ops)


if __name__ == "__main__":
    main()
