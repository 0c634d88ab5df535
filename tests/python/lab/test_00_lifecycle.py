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

from iscsilab import net, state
from iscsilab.host import runtime_dir
from iscsilab.vm import qemu

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


def test_not_root_is_told_what_to_do():
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           CLI, "lab", "up", "--name", "nr"], capture_output=True, text=True,
                          env={**os.environ, "ISCSILAB_RUNTIME": "/tmp/iscsilab-nonroot"})
    assert proc.returncode == 2
    assert "needs root" in proc.stderr and "Traceback" not in proc.stderr


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


def test_pytest_fixture_without_root_fails_with_what_to_do():
    # Not pytest's tmp_path: its parent is private to root, and this pytest runs as nobody.
    tmp_path = Path(tempfile.mkdtemp(prefix="iscsilab-nonroot-"))
    tmp_path.chmod(0o777)
    test = tmp_path / "test_user.py"
    test.write_text("def test_uses_lab(lab):\n    pass\n")
    try:
        proc = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3",
             "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "iscsilab.pytest_plugin", str(test)],
            capture_output=True, text=True, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO / "target-lab"), "HOME": str(tmp_path)})
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)
    assert proc.returncode == 1
    assert "needs root" in proc.stdout and "sudo" in proc.stdout


def test_ctrl_c_during_lab_up_leaves_nothing():
    name = "ctrlc"
    proc = subprocess.Popen([CLI, "lab", "up", "--name", name], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            record = state.read(runtime_dir(name))
            if record and record.get("qemu_pid"):
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "interrupted" in err
    assert nothing_left(name)


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
