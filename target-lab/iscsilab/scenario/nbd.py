"""The NBD export in a scenario: nbdkit with our plugin (initiator/nbd) serving a LUN of the lab.

One `nbd` step starts nbdkit in the lab's namespace, listening on the host end of the portal's
NIC, with `url=iscsi://<portal>/<target>/<lun>`; copies random data in and back out with
nbdcopy and compares sha256; with `kernel_client: true` the guest's kernel NBD client
(`modprobe nbd`, `nbd-client <host end> <port> /dev/nbdN`) writes and reads back with O_DIRECT
and the host reads the export once more to see the kernel's bytes on the LU; then nbdkit is
stopped (SIGTERM, it logs its sessions out). Everything is started and stopped inside the step,
in `finally`, so a failing step leaves no nbdkit and no connected /dev/nbdN behind.

The loop guest -> nbdkit (namespace) -> our initiator -> LIO (same guest) is deliberate: it is
what makes the kernel client testable with one VM.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .adm import build_dir
from .context import StepFailed

MIB = 1 << 20


def plugin_path() -> Path:
    return build_dir() / "initiator" / "nbd" / "nbdkit-lab-iscsi-plugin.so"


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StepFailed(f"nbd: {name} is not installed (Debian package {package})")
    return path


def sha256_file(path: Path, limit: int | None = None) -> str:
    h = hashlib.sha256()
    left = limit
    with open(path, "rb") as f:
        while left is None or left > 0:
            chunk = f.read(MIB if left is None else min(MIB, left))
            if not chunk:
                break
            h.update(chunk)
            if left is not None:
                left -= len(chunk)
    return h.hexdigest()


def plugin_key(key: str) -> str:
    # nbdkit keys cannot hold brackets: the plugin reads node.conn0.X as node.conn[0].X.
    return key.replace("[", "").replace("]", "")


class NbdServer:
    """nbdkit -f in the lab's namespace, stopped by stop() (SIGTERM, then SIGKILL as a failure)."""

    def __init__(self, ctx, url: str, listen_ip: str, port: int, settings: dict, workdir: Path):
        self.ctx = ctx
        self.uri = f"nbd://{listen_ip}:{port}"
        self.log_path = workdir / "nbdkit.log"
        pidfile = workdir / "nbdkit.pid"
        plugin = plugin_path()
        if not plugin.exists():
            raise StepFailed(f"nbd: {plugin} is not built (cmake --build --preset default "
                             "--target nbdkit-lab-iscsi-plugin)")
        from ..net import exec_argv
        argv = [tool("nbdkit", "nbdkit"), "-f", "--exit-with-parent", "-i", listen_ip,
                "-p", str(port), "-P", str(pidfile), str(plugin), f"url={url}",
                *(f"{plugin_key(k)}={v}" for k, v in settings.items())]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(exec_argv(ctx.lab.netns, argv), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + 30
        while not pidfile.exists() or not pidfile.read_text().strip():  # written once listening
            if self.proc.poll() is not None:
                self.log.close()
                raise StepFailed(f"nbd: nbdkit exited {self.proc.returncode} before serving: "
                                 f"{self.log_tail()}")
            if time.monotonic() > end:
                self.stop()
                raise StepFailed(f"nbd: nbdkit did not listen on {self.uri} within 30 s: "
                                 f"{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, n: int = 1500) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-n:].strip()

    def errors(self, n: int = 800) -> str:
        """nbdkit's error lines (the plugin's: a refused login, a failed command), the last ones."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return " | ".join(l.strip() for l in lines if "error:" in l)[-n:]

    def stop(self) -> str | None:
        """None when nbdkit exited on SIGTERM with status 0, else what went wrong."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.log.close()
                return "nbdkit did not exit within 20 s of SIGTERM (killed)"
        self.log.close()
        if self.proc.returncode != 0:
            return f"nbdkit exited {self.proc.returncode}: {self.log_tail()}"
        return None


# The guest agent kills a command after 60 s (its own limit); `timeout` ends it a little before,
# so that the step fails with this command's words and the agent is free again.
GUEST_LIMIT = 50


def guest_run(ctx, argv: list[str]) -> dict:
    return ctx.lab.agent.call("run", argv=["timeout", str(GUEST_LIMIT), *argv],
                              timeout=GUEST_LIMIT + 20)


def guest_ok(ctx, argv: list[str], what: str) -> str:
    res = guest_run(ctx, argv)
    if res["rc"] == 124:
        raise StepFailed(f"nbd: {what} did not end within {GUEST_LIMIT} s in the guest")
    if res["rc"] != 0:
        raise StepFailed(f"nbd: {what} failed in the guest ({res['rc']}): "
                         f"{(res['stderr'] or res['stdout']).strip()[-800:]}")
    return res["stdout"]


def copy(ctx, src: str, dst: str, what: str, timeout: float) -> float:
    t0 = time.monotonic()
    res = ctx.lab.exec([tool("nbdcopy", "libnbd-bin"), "--flush", src, dst], timeout=timeout)
    if res.returncode != 0:
        raise StepFailed(f"nbd: nbdcopy {what} exited {res.returncode}: "
                         f"{(res.stderr or res.stdout).strip()[-800:]}")
    return time.monotonic() - t0


def kernel_round_trip(ctx, server: NbdServer, host_ip: str, port: int, b: dict,
                      export_size: int, workdir: Path) -> dict:
    """Guest: nbd-client, O_DIRECT write + read back, sha256 both; nbd-client -d. Host: the
    export read again holds the guest's bytes."""
    dev = b.get("device", "/dev/nbd0")
    nbytes = b.get("kernel_size", 4 * MIB)
    if nbytes % MIB or nbytes > export_size:
        raise StepFailed(f"nbd: kernel_size must be whole MiB and at most the export's "
                         f"{export_size} bytes, got {nbytes}")
    out: dict = {"device": dev, "bytes": nbytes}
    guest_ok(ctx, ["modprobe", "nbd"], "modprobe nbd")
    t0 = time.monotonic()
    guest_ok(ctx, ["nbd-client", host_ip, str(port), dev], f"nbd-client {host_ip} {port} {dev}")
    out["connect_seconds"] = round(time.monotonic() - t0, 3)
    ok = False
    try:
        blocks = nbytes // MIB
        script = (
            "set -e; d=$1; n=$2; "
            "head -c $((n*1048576)) /dev/urandom > /tmp/nbd-in; "
            "dd if=/tmp/nbd-in of=$d bs=1M count=$n oflag=direct status=none; "
            "dd if=$d of=/tmp/nbd-out bs=1M count=$n iflag=direct status=none; "
            "sha256sum /tmp/nbd-in /tmp/nbd-out; rm -f /tmp/nbd-in /tmp/nbd-out")
        t1 = time.monotonic()
        text = guest_ok(ctx, ["sh", "-c", script, "nbd-io", dev, str(blocks)],
                        f"O_DIRECT write and read of {dev}")
        out["io_seconds"] = round(time.monotonic() - t1, 3)
        sums = [line.split()[0] for line in text.splitlines() if line.strip()]
        if len(sums) != 2:
            raise StepFailed(f"nbd: sha256sum in the guest printed {text!r}")
        out["sha256_written"], out["sha256_read"] = sums
        if sums[0] != sums[1]:
            raise StepFailed(f"nbd: {dev} read back differs from what was written with O_DIRECT "
                             f"(sha256 {sums[0][:16]}... written, {sums[1][:16]}... read)")
        ok = True
    finally:
        res = guest_run(ctx, ["nbd-client", "-d", dev])
        if res["rc"] != 0 and ok:  # else the first failure is the one to report
            raise StepFailed(f"nbd: nbd-client -d {dev} failed ({res['rc']}): "
                             f"{(res['stderr'] or res['stdout']).strip()[-400:]}")
    check = guest_run(ctx, ["nbd-client", "-c", dev])
    if check["rc"] == 0:
        raise StepFailed(f"nbd: {dev} is still connected after nbd-client -d "
                         f"({check['stdout'].strip()})")
    back = workdir / "after-kernel.bin"
    copy(ctx, server.uri, str(back), "export -> file after the kernel client", timeout=300)
    on_lun = sha256_file(back, nbytes)
    back.unlink()
    if on_lun != out["sha256_written"]:
        raise StepFailed(f"nbd: the export read after nbd-client -d does not hold the bytes the "
                         f"guest wrote (sha256 {on_lun[:16]}... vs "
                         f"{out['sha256_written'][:16]}...)")
    return out


def do_nbd(ctx, step, ini: str) -> dict:
    b = step.body
    targets = [p.target for p in ctx.lab.portals()]
    target = b.get("target") or targets[0]
    address = ctx.portal_address(target, b.get("portal"))
    ip = address.rsplit(":", 1)[0]
    link = next((l for l in ctx.lab.links if l.guest_ip == ip), None)
    if link is None:
        raise StepFailed(f"nbd: portal {address} is on no NIC of the lab")
    port = int(b.get("port", 10809))
    url = f"iscsi://{address}/{target}/{b.get('lun', 0)}"
    settings = {"node.session.timeo.replacement_timeout": 15, **(b.get("settings") or {})}
    workdir = Path(tempfile.mkdtemp(prefix="iscsilab-nbd-"))
    result: dict = {"url": url, "nbd_uri": f"nbd://{link.host_ip}:{port}"}
    server = None
    try:
        server = NbdServer(ctx, url, link.host_ip, port, settings, workdir)
        info = ctx.lab.exec([tool("nbdinfo", "libnbd-bin"), "--size", server.uri], timeout=60)
        if info.returncode != 0:
            raise StepFailed(f"nbd: nbdinfo --size {server.uri} exited {info.returncode}: "
                             f"{info.stderr.strip()[-800:]}")
        export_size = int(info.stdout.strip())
        nbytes = b.get("size", export_size)
        if nbytes > export_size:
            raise StepFailed(f"nbd: size {nbytes} is more than the export's {export_size} bytes")
        result["export_size"] = export_size
        src, back = workdir / "in.bin", workdir / "out.bin"
        with open(src, "wb") as f:
            left = nbytes
            while left:
                f.write(os.urandom(min(MIB, left)))
                left -= min(MIB, left)
        want = sha256_file(src)
        write_s = copy(ctx, str(src), server.uri, "file -> export", timeout=600)
        read_s = copy(ctx, server.uri, str(back), "export -> file", timeout=600)
        got = sha256_file(back, nbytes)
        result.update({"bytes": nbytes, "sha256": want, "write_seconds": round(write_s, 3),
                       "read_seconds": round(read_s, 3),
                       "write_MBps": round(nbytes / write_s / 1e6, 1),
                       "read_MBps": round(export_size / read_s / 1e6, 1)})
        if got != want:
            raise StepFailed(f"nbd: nbdcopy round trip through {url}: the export read back "
                             f"differs (sha256 {got[:16]}... vs {want[:16]}... written)")
        src.unlink()
        back.unlink()
        if b.get("kernel_client"):
            result["kernel_client"] = kernel_round_trip(ctx, server, link.host_ip, port, b,
                                                        export_size, workdir)
    except StepFailed as exc:
        problem = server.stop() if server is not None else None
        said = server.errors() if server is not None else ""
        shutil.rmtree(workdir, ignore_errors=True)
        if said and said not in str(exc):
            exc = StepFailed(f"{exc}; nbdkit said: {said}")
        if problem:
            exc = StepFailed(f"{exc}; and stopping nbdkit: {problem}")
        raise exc from None
    except BaseException:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    problem = server.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    if problem:
        raise StepFailed(f"nbd: stopping nbdkit: {problem}")
    result["nbdkit_stopped"] = "SIGTERM, exit 0"
    return result
