"""The lab's iSNS server: open-isns's isnsd in the lab's namespace, holding LIO's targets and
portals.

Linux 6.1's LIO has no iSNS client (drivers/target has none), so the lab registers every
enabled TPG's portals on LIO's behalf through iscsilab._core (our own iSNS client), one entity
per target, and registers again whenever the lab's targets, TPGs or portals change, so that
`lab-iscsiadm -m discovery -t isns -p 127.0.0.1` in the namespace finds what SendTargets finds.
isnsd listens on the namespace's loopback (127.0.0.1:3205, unaffected by link faults), keeps its
database under the lab's run dir, and is stopped with the lab (state.teardown too, after a
crash). The registrations run in a short-lived `python3 -m iscsilab.isns` inside the namespace:
the runner itself is not in it.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import net
from .errors import LabError
from .vm.qemu import die_with_parent

ISNSD = "/usr/sbin/isnsd"
HOST = "127.0.0.1"
PORT = 3205
DIR = "isns"  # under the lab's run dir: isnsd.conf, db/, isnsd.log, isnsd.pid

# What a registration looks like: target name -> [(address, port, portal group tag), ...].
Entities = dict[str, list[tuple[str, int, int]]]


def _listening(pid: int, host: str, port: int) -> bool:
    """Whether the namespace of `pid` has a TCP socket listening on host:port."""
    want = "%08X:%04X" % (int.from_bytes(bytes(int(x) for x in host.split(".")), "little"), port)
    try:
        lines = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(f.split()[1] == want and f.split()[3] == "0A" for f in lines)


class IsnsServer:
    def __init__(self, netns: str, run_dir: Path, tie_to_parent: bool = True):
        self.netns = netns
        self.dir = run_dir / DIR
        self.tie_to_parent = tie_to_parent
        self.registered: Entities = {}
        self._proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{PORT}"

    def start(self, timeout: float = 15.0) -> "IsnsServer":
        if not os.access(ISNSD, os.X_OK):
            raise LabError(f"lab.isns needs {ISNSD}: apt-get install -y open-isns-server")
        (self.dir / "db").mkdir(parents=True, exist_ok=True)
        conf = self.dir / "isnsd.conf"
        conf.write_text(f"BindAddress = {HOST}:{PORT}\nSourceName = iscsilab.isns.server\n"
                        f"Database = {self.dir / 'db'}\nPIDFile = {self.dir / 'isnsd.pid.own'}\n"
                        f"ControlSocket = {self.dir / 'control'}\nSecurity = 0\nSLPRegister = 0\n"
                        "ESIRetries = 0\nDefaultDiscoveryDomain = 1\n")
        log = open(self.dir / "isnsd.log", "ab")
        try:
            self._proc = subprocess.Popen(
                net.exec_argv(self.netns, [ISNSD, "-f", "-c", str(conf)]), stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, start_new_session=True,
                preexec_fn=die_with_parent if self.tie_to_parent else None)
        finally:
            log.close()
        (self.dir / "isnsd.pid").write_text(str(self._proc.pid))
        end = time.monotonic() + timeout
        while not _listening(self._proc.pid, HOST, PORT):
            if self._proc.poll() is not None or time.monotonic() > end:
                tail = (self.dir / "isnsd.log").read_text(errors="replace")[-600:]
                self.stop()
                raise LabError(f"isnsd did not listen on {self.address} in the lab's namespace "
                               f"within {timeout:g} s: {tail.strip()}")
            time.sleep(0.05)
        return self

    def sync(self, entities: Entities) -> None:
        """Makes the server hold exactly `entities`: each target registered with its portals
        (again, which replaces them), the targets no longer there deregistered."""
        gone = sorted(set(self.registered) - set(entities))
        request = {"server": self.address, "register": entities, "deregister": gone}
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        res = net.run(self.netns, ["/usr/bin/python3", "-m", "iscsilab.isns"],
                      timeout=60, input=json.dumps(request), capture_output=True, text=True, env=env)
        if res.returncode != 0:
            raise LabError(f"registering LIO's targets in the lab's isnsd failed: "
                           f"{(res.stderr or res.stdout).strip()[-800:]}")
        self.registered = {t: list(p) for t, p in entities.items()}

    def stop(self) -> None:
        stop(self.dir.parent)
        self._proc = None


def stop(run_dir: Path) -> None:
    """Stops the lab's isnsd (SIGTERM, then SIGKILL after 3 s); nothing to do when none runs."""
    pidfile = run_dir / DIR / "isnsd.pid"
    try:
        pid = int(pidfile.read_text())
    except (OSError, ValueError):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        cmdline = b""
    # Only our own isnsd: a pid file can outlive its process and the pid be reused.
    if b"isnsd" in cmdline and str(run_dir / DIR).encode() in cmdline:
        for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            end = time.monotonic() + wait
            while time.monotonic() < end:
                try:
                    if os.waitpid(pid, os.WNOHANG)[0] == pid:
                        break
                except ChildProcessError:  # not our child (a reaper after a crash)
                    if not Path(f"/proc/{pid}").exists():
                        break
                time.sleep(0.05)
            else:
                continue
            break
    pidfile.unlink(missing_ok=True)


def entities_of(live: dict) -> Entities:
    """LIO's current targets as iSNS entities: `live` is Provisioner.live ({(target, tag):
    {"enable": bool, "portals": [(ip, port), ...]}}); disabled TPGs are left out, as LIO leaves
    them out of SendTargets."""
    out: Entities = {}
    for (target, tag), tpg in sorted(live.items()):
        if tpg["enable"]:
            out.setdefault(target, []).extend((ip, port, tag) for ip, port in sorted(tpg["portals"]))
    return {t: p for t, p in out.items() if p}


def _main() -> int:
    """In the lab's namespace: registers / deregisters what the JSON request on stdin says."""
    from . import _core  # noqa: PLC0415 - only this entry point needs the compiled module
    request = json.load(sys.stdin)
    server = request["server"]
    for target in request["deregister"]:
        try:
            _core.isns_deregister_target(server, target)
        except _core.IscsiError as exc:  # already gone (isnsd restarted): nothing to remove
            print(f"deregister {target}: {exc}", file=sys.stderr)
    for target, portals in request["register"].items():
        _core.isns_register_target(server, target, [tuple(p) for p in portals])
    return 0


if __name__ == "__main__":
    sys.exit(_main())
