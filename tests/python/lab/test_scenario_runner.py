"""`iscsilab run` end to end against real LIO, as a user runs it: its exit status, its reports,
and that nothing is left behind (QEMU, the lab's namespace and taps, initiator workers, proxies,
run directories) after a pass, a failure, Ctrl-C and SIGTERM. Also `pytest` collecting a
scenario file. Each test boots its own lab (marked own_labs: they run before the session lab)."""
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from iscsilab import host, net

pytestmark = pytest.mark.own_labs
TOP = Path(__file__).resolve().parents[3]

LAB = """\
lab:
  targets:
    - name: iqn.2026-11.org.example:t0
      tpgs:
        - portals: [nic0]
          attributes: {authentication: 0, generate_node_acls: 1, demo_mode_write_protect: 0}
          luns: [{lun: 0, backstore: {type: block, size: 16MiB}}]
"""

PASSING = "name: runner-pass\n" + LAB + """\
steps:
  - login: t0
  - io: {op: write, size: 1MiB, io_size: 64KiB, queue_depth: 4}
  - io: {op: verify}
"""

FAILING = "name: runner-fail\n" + LAB + """\
initiators:
  - settings:
      node.conn[0].timeo.noop_out_interval: 1
      node.conn[0].timeo.noop_out_timeout: 1
steps:
  - login: t0
  - fault: {freeze: on}
    as: cut
  # Wrong on purpose: a NOP timeout cannot be noticed within 0.1 s of the freeze.
  - expect: {conn_error: ISCSI_ERR_NOP_TIMEDOUT, from: cut, within: 0.1s}
  - fault: {freeze: off}
"""

LONG = "name: runner-long\n" + LAB + """\
steps:
  - login: t0
  - io: {op: write, random: true, queue_depth: 4, background: true, name: load}
  - wait: 120s
"""


def helper_processes() -> set[int]:
    """Initiator workers and corrupting proxies running now (any run's)."""
    out = set()
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes() if proc.name.isdigit() else b""
        except OSError:
            continue
        if b"iscsilab.initiator.worker" in cmd or b"iscsilab.faults.corrupt_proxy" in cmd:
            out.add(int(proc.name))
    return out


BEFORE: set[int] = set()


@pytest.fixture(autouse=True)
def _helpers_before():
    BEFORE.clear()
    BEFORE.update(helper_processes())


def leftovers(pid: int) -> list[str]:
    """What a run with process id `pid` could leave: its lab's QEMU, namespace, run directory,
    and initiator workers or proxies started since the test began."""
    name = f"run{pid % 100000}"
    found = [f"helper process {p}" for p in helper_processes() - BEFORE]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"/{name}/" in cmd and "qemu-system" in cmd:
            found.append(f"process {proc.name}: {cmd[:120]}")
    if net.exists(net.NS_PREFIX + name):
        found.append(f"namespace {net.NS_PREFIX + name}")
    if (host.runtime_root() / name).exists():
        found.append(f"run directory {host.runtime_root() / name}")
    return found


def wait_gone(pid: int, timeout: float = 20.0) -> list[str]:
    # The kernel reaps a killed QEMU and its namespace shortly after the runner exits.
    deadline = time.monotonic() + timeout
    while (left := leftovers(pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def start(tmp_path: Path, text: str, *extra: str) -> subprocess.Popen:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return subprocess.Popen([str(TOP / "iscsilab"), "run", str(path), "--out", str(tmp_path / "out"),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_passing_run_exits_0_with_reports_and_leaves_nothing(tmp_path):
    proc = start(tmp_path, PASSING)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    assert "1 passed, 0 failed" in out
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    (cell,) = results["cells"]
    assert cell["outcome"] == "passed" and cell["integrity"]
    assert (tmp_path / "out" / "runner-pass" / "timeline.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "out" / "index.html").exists()
    assert wait_gone(proc.pid) == []


def test_a_failing_run_exits_1_names_the_step_and_keeps_evidence(tmp_path):
    proc = start(tmp_path, FAILING)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 1, out
    assert "0 passed, 1 failed" in out
    line = 1 + FAILING.splitlines().index("  - expect: {conn_error: ISCSI_ERR_NOP_TIMEDOUT, from: cut, within: 0.1s}")
    assert f"s.yaml:{line}:5" in out and "outside [0, 0.1] s" in out
    suite = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    assert suite.get("failures") == "2"           # the cell and its expectation
    expectation = next(c for c in suite.iter("testcase") if "expect" in c.get("name"))
    assert "measured" in expectation.find("failure").get("message")
    cell_dir = tmp_path / "out" / "runner-fail"
    assert (cell_dir / "console.log").exists() and (cell_dir / "lio.json").exists()
    assert wait_gone(proc.pid) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_leaves_nothing_behind(tmp_path, sig):
    proc = start(tmp_path, LONG)
    deadline = time.monotonic() + 300
    seen = ""
    while "step 3" not in seen:            # the background writes run, the wait has begun
        line = proc.stdout.readline()
        assert line and time.monotonic() < deadline, f"the run did not get going: {seen[-2000:]}"
        seen += line
    time.sleep(2)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + out
    assert "interrupted" in out
    assert wait_gone(proc.pid) == []


def test_pytest_collects_a_scenario_file_and_reports_it(tmp_path):
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "p.yaml").write_text(PASSING.replace("runner-pass", "via-pytest"))
    junit = tmp_path / "junit.xml"
    # As a user of the package would: the plugin by name, the package on the path.
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p",
         "iscsilab.scenario.pytest_plugin", str(scenarios), "-q", f"--junitxml={junit}",
         "--scenario-out", str(tmp_path / "out")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=str(TOP / "target-lab")))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    (case,) = ET.parse(junit).getroot().iter("testcase")
    assert case.get("name") == "via-pytest"
    assert (tmp_path / "out" / "via-pytest" / "result.json").exists()


def test_a_reused_lab_whose_portal_stopped_answering_is_dropped():
    """The runner's check after a cell (LabPool.after): LIO's configuration is as declared and
    the guest runs, but nic0's tap is down in the namespace, so the portal cannot be reached
    ("No route to host", as seen in CI): the lab must not be reused."""
    from types import SimpleNamespace

    from iscsilab.scenario.load import load_text
    from iscsilab.scenario.runner import LabPool

    (cell,) = load_text(PASSING, "s.yaml")
    lines = []
    display = SimpleNamespace(progress=SimpleNamespace(step=""), line=lines.append)
    after_cell = SimpleNamespace(mutated_lab=False, rec=SimpleNamespace(lab_info={}, failures=[]))
    pool = LabPool(display)
    lab = pool.get(cell)
    try:
        pool.after(cell, after_cell, failed=False)
        assert pool.lab is lab and pool.stats.reboots == {}, lines   # sound: kept for reuse
        tap = next(link.tap for link in lab.links if link.nic == "nic0")
        lab.exec(["ip", "link", "set", tap, "down"], check=True)
        pool.after(cell, after_cell, failed=False)
        assert pool.lab is None, lines
        (reason,) = pool.stats.reboots
        assert reason.startswith("a portal did not take a connection after the scenario"), reason
        assert "did not accept connections in 5 s" in reason, reason
        assert not lab.alive()                                        # and it was taken down
    finally:
        pool.down()
        lab.down()
