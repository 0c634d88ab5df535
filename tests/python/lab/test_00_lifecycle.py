"""The command line and the lab's lifecycle: up, status, exec, down, and nothing left behind,
even when the runner that owned a lab is killed. Runs before the shared session lab boots
(file order), so that only one VM runs at a time on small CI machines.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from iscsilab import net, state
from iscsilab.host import runtime_dir
from iscsilab.vm import qemu

pytestmark = pytest.mark.own_labs

REPO = Path(__file__).resolve().parents[3]
CLI = str(REPO / "iscsilab")


def cli(*args, timeout=300, **kw):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout, **kw)


def nothing_left(name):
    return (not runtime_dir(name).exists() and f"iscsilab-{name}" not in net.namespaces()
            and not any(f"/{name}/".encode() in _cmdline(p) and b"qemu" in _cmdline(p)
                        for p in os.listdir("/proc") if p.isdigit()))


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def nobody_dir():
    """A directory user nobody owns, for its runtime root and files (not pytest's tmp_path:
    its parents are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="iscsilab-rl-"))
    os.chown(path, 65534, 65534)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def nobody_env(runtime: Path, **extra) -> dict:
    # A clean environment, as a user's login would give: HOME nobody cannot write, so the
    # kernel and initramfs cache falls back to /var/tmp/iscsilab-cache-65534.
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8",
            "ISCSILAB_RUNTIME": str(runtime), **extra}


def nobody_left(runtime: Path, name: str) -> bool:
    holders = runtime / ".netns"
    return (not (runtime / name).exists()
            and not (holders.exists() and any(holders.iterdir()))
            and not any(f"{runtime}/{name}/".encode() in _cmdline(p)
                        for p in os.listdir("/proc") if p.isdigit()))


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie its new parent has not reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_rootless_cli_up_exec_fault_down_as_nobody(nobody_dir):
    """Without root the lab runs in a user + network namespace of its own: taps, addresses,
    nft and QEMU on the taps, all as user nobody."""
    runtime = nobody_dir / "run"
    env = nobody_env(runtime)
    name = "rl-cli"

    def as_nobody(*args, timeout=300):
        return subprocess.run([*NOBODY, CLI, *args], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=nobody_dir)
    holder = None
    try:
        up = as_nobody("lab", "up", "--name", name)
        assert up.returncode == 0, up.stderr
        assert "10.77.0.2:3260" in up.stdout
        holder = int((runtime / ".netns" / f"iscsilab-{name}").read_text().split()[0])
        assert os.stat(f"/proc/{holder}").st_uid == 65534
        record = state.read(runtime / name)
        assert os.stat(f"/proc/{record['qemu_pid']}").st_uid == 65534  # QEMU runs as nobody
        assert f"iscsilab-{name}" not in net.namespaces()  # not a root-made named namespace
        status = as_nobody("lab", "status", "--name", name)
        assert "10.77.1.2:3260  iqn.2026-11.org.example:t0" in status.stdout, status.stderr
        ls = as_nobody("lab", "exec", "--name", name, "--", "iscsi-ls", "-s", "iscsi://10.77.1.2")
        assert "Target:iqn.2026-11.org.example:t0" in ls.stdout and "Lun:0" in ls.stdout, ls.stderr
        assert as_nobody("lab", "fault", "blackhole", "on", "--name", name).returncode == 0
        dropped = as_nobody("lab", "exec", "--name", name, "--", "timeout", "3", "iscsi-ls",
                            "iscsi://10.77.0.2")
        assert dropped.returncode == 124  # nft in the user's namespace drops the login
        assert as_nobody("lab", "fault", "clear", "--name", name).returncode == 0
        assert as_nobody("lab", "exec", "--name", name, "--", "iscsi-ls",
                         "iscsi://10.77.0.2").returncode == 0
    finally:
        down = as_nobody("lab", "down", "--name", name, timeout=120)
    assert down.returncode == 0, down.stderr
    assert nobody_left(runtime, name)
    assert holder is None or gone(holder)


def test_rootless_killed_runner_leaves_nothing_after_the_next_start(nobody_dir):
    """As nobody, a runner SIGKILLed with its lab up: QEMU dies with it (the parent-death
    signal survives nsenter), the next reap kills the namespace's holder and removes the rest."""
    runtime = nobody_dir / "run"
    env = nobody_env(runtime, PYTHONPATH=str(REPO / "target-lab"))
    name = "rl-crash"
    child = subprocess.Popen([*NOBODY, "/usr/bin/python3", "-c", (
        "from iscsilab.lab import Lab\n"
        "Lab(name=%r).up()\n"
        "import time; time.sleep(600)\n") % name],
        env=env, cwd=nobody_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        record = None
        while time.monotonic() < deadline:
            record = state.read(runtime / name)
            if record and record.get("qemu_pid"):
                break
            time.sleep(0.1)
        assert record and record["qemu_pid"], "the runner never started QEMU"
        holder = int((runtime / ".netns" / f"iscsilab-{name}").read_text().split()[0])
        child.send_signal(signal.SIGKILL)
        child.wait()
        deadline = time.monotonic() + 10
        while not gone(record["qemu_pid"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gone(record["qemu_pid"]), "QEMU outlived its runner"
        assert not gone(holder)  # still there: nobody reaped yet
        reap = subprocess.run([*NOBODY, "/usr/bin/python3", "-c",
                               "from iscsilab import state; print(state.reap_stale())"],
                              env=env, cwd=nobody_dir, capture_output=True, text=True, timeout=60)
        assert name in reap.stdout, reap.stderr
        assert gone(holder) and nobody_left(runtime, name)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        subprocess.run([*NOBODY, "/usr/bin/python3", "-c", "from iscsilab import state; state.reap_stale()"],
                       env=env, cwd=nobody_dir, capture_output=True, timeout=60)


def test_rootless_without_user_namespaces_says_what_to_do(nobody_dir):
    # Stands in for a kernel that refuses unprivileged user namespaces: an unshare that fails
    # the way util-linux's does there.
    fake = nobody_dir / "bin"
    fake.mkdir()
    (fake / "unshare").write_text("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\n"
                                  "exit 1\n")
    (fake / "unshare").chmod(0o755)
    runtime = nobody_dir / "run"
    env = nobody_env(runtime, PATH=f"{fake}:/usr/sbin:/usr/bin:/sbin:/bin")
    proc = subprocess.run([*NOBODY, CLI, "lab", "up", "--name", "rl-nouserns"], capture_output=True,
                          text=True, env=env, cwd=nobody_dir, timeout=120)
    assert proc.returncode == 2
    assert "unshare failed: Operation not permitted" in proc.stderr
    assert "root (sudo) or unprivileged user namespaces" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert nobody_left(runtime, "rl-nouserns")


def test_bad_lab_file_error_names_the_line(tmp_path):
    bad = tmp_path / "lab.yaml"
    bad.write_text("lab:\n  targets:\n    - name: iqn.2026-11.lab:t0\n")
    proc = cli("lab", "up", str(bad), "--name", "bad")
    assert proc.returncode == 2
    assert f"{bad}:3:13:" in proc.stderr and "Traceback" not in proc.stderr
    assert nothing_left("bad")


def test_cli_up_status_exec_fault_down_leaves_nothing():
    name = "lc"
    try:
        up = cli("lab", "up", "--name", name, "--timings")
        assert up.returncode == 0, up.stderr
        assert "boot_to_ready" in up.stdout
        status = cli("lab", "status", "--name", name)
        assert "10.77.0.2:3260  iqn.2026-11.org.example:t0" in status.stdout
        assert "10.77.1.2:3260  iqn.2026-11.org.example:t0" in status.stdout
        ls = cli("lab", "exec", "--name", name, "--", "iscsi-ls", "-s", "iscsi://10.77.1.2")
        assert "Target:iqn.2026-11.org.example:t0" in ls.stdout and "Lun:0" in ls.stdout
        fault = cli("lab", "fault", "freeze", "on", "--name", name)
        assert fault.returncode == 0, fault.stderr
        frozen = cli("lab", "exec", "--name", name, "--", "timeout", "3", "iscsi-ls", "iscsi://10.77.0.2")
        assert frozen.returncode == 124  # `timeout` killed it: the frozen target never answered
        assert cli("lab", "fault", "freeze", "off", "--name", name).returncode == 0
        console = cli("lab", "console", "--name", name, "-n", "5")
        assert console.returncode == 0
    finally:
        down = cli("lab", "down", "--name", name)
    assert down.returncode == 0
    assert nothing_left(name)


def test_killed_runner_leaves_nothing_after_the_next_start():
    """A runner SIGKILLed mid-boot: QEMU dies with it, the next reap removes the rest."""
    name = "crash"
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys; sys.path.insert(0, %r)\n"
        "from iscsilab.lab import Lab\n"
        "Lab(name=%r).up()\n"
        "import time; time.sleep(600)\n") % (str(REPO / "target-lab"), name)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run_dir = runtime_dir(name)
    try:
        deadline = time.monotonic() + 60
        record = None
        while time.monotonic() < deadline:
            record = state.read(run_dir)
            if record and record.get("qemu_pid"):
                break
            time.sleep(0.1)
        assert record and record["qemu_pid"], "the runner never started QEMU"
        child.send_signal(signal.SIGKILL)
        child.wait()
        deadline = time.monotonic() + 10
        while qemu.is_our_qemu(record["qemu_pid"], run_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not qemu.is_our_qemu(record["qemu_pid"], run_dir), "QEMU outlived its runner"
        assert f"iscsilab-{name}" in net.namespaces()  # still there: nobody reaped yet
        assert name in state.reap_stale()
        assert nothing_left(name)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        state.teardown(run_dir, state.read(run_dir))


def test_pytest_fixture_without_root_runs_rootless(nobody_dir):
    test = nobody_dir / "test_user.py"
    test.write_text(
        "def test_uses_lab(lab, libiscsi):\n"
        "    assert libiscsi.capacity(lab.portal(), lab.portals()[0].target) == 64 << 20\n")
    runtime = nobody_dir / "run"
    proc = subprocess.run(
        [*NOBODY, "/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "iscsilab.pytest_plugin", str(test)],
        capture_output=True, text=True, cwd=nobody_dir, timeout=300,
        env=nobody_env(runtime, PYTHONPATH=str(REPO / "target-lab")))
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "1 passed" in proc.stdout
    assert not (runtime / ".netns").exists() or not any((runtime / ".netns").iterdir())
    assert not any(d.name[0] != "." for d in runtime.iterdir())


def test_ctrl_c_during_lab_up_leaves_nothing():
    name = "ctrlc"
    # A test run started in the background (`ci/test &`) inherits SIGINT as ignored, and Python
    # keeps an inherited SIG_IGN: give the child the default disposition, as a terminal would.
    proc = subprocess.Popen([CLI, "lab", "up", "--name", name], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            record = state.read(runtime_dir(name))
            if record and record.get("qemu_pid"):
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "interrupted" in err
        assert nothing_left(name)
    finally:
        if proc.poll() is None:
            proc.kill()
        if not nothing_left(name):  # the assertions above failed: do not leave a lab running
            cli("lab", "down", "--name", name)


def test_lab_boots_from_a_checkout_under_tmp():
    # The guest covers its /tmp with a tmpfs; a checkout under the host's /tmp (where CI clones
    # often live) must still be reachable by the guest agent.
    checkout = Path(tempfile.mkdtemp(prefix="iscsilab-checkout-", dir="/tmp"))
    name = "tmpco"
    try:
        shutil.copytree(REPO / "target-lab", checkout / "target-lab",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(REPO / "iscsilab", checkout / "iscsilab")
        up = subprocess.run([str(checkout / "iscsilab"), "lab", "up", "--name", name],
                            capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stderr
        assert "10.77.0.2:3260" in up.stdout
    finally:
        subprocess.run([str(checkout / "iscsilab"), "lab", "down", "--name", name],
                       capture_output=True, timeout=120)
        shutil.rmtree(checkout, ignore_errors=True)
    assert nothing_left(name)
