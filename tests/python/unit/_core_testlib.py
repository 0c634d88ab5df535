"""Shared by tests/python/unit/test_core_*.py: the compiled module (a missing build FAILS the
tests, it does not skip them), a tgtd on loopback (iscsilab.peers.tgtd), and that tgtd stopped
on purpose, so that a command sent to it stays outstanding until the test lets it go."""
import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from iscsilab.peers.tgtd import Tgtd, unavailable_reason

BUILD_HINT = "build first: cmake --preset default && cmake --build --preset default"

# Sessions in these tests never wait for pings, nor retry a login that cannot succeed.
FAST = {"node.conn[0].timeo.noop_out_interval": 0, "node.session.initial_login_retry_max": 0}


def core():
    try:
        from iscsilab import _core
    except ImportError as e:
        pytest.fail(f"iscsilab._core is not importable ({e}); {BUILD_HINT} "
                    "(or point ISCSILAB_BUILD_DIR at <build>/python/iscsilab)", pytrace=False)
    return _core


def tgtd(**kw) -> Tgtd:
    reason = unavailable_reason()
    if reason:
        pytest.fail(reason, pytrace=False)
    return Tgtd(**kw)


def wait_until(pred, timeout: float, what: str) -> None:
    """Polls `pred` until it holds; fails the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} (waited {timeout} s)", pytrace=False)
        time.sleep(0.001)


def _all_threads_stopped(pid: int) -> bool:
    tasks = Path(f"/proc/{pid}/task")
    try:
        return all((t / "stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
                   for t in tasks.iterdir())
    except OSError:
        return False


@contextlib.contextmanager
def stopped(target: Tgtd, watchdog: float):
    """`target`'s tgtd stopped (SIGSTOP) for the block: what is sent to it stays unanswered
    until `release()` (the value of the block) continues it, or the block ends. A watchdog
    process continues it after `watchdog` seconds whatever happens here: a call that kept this
    interpreter from running (the GIL held while it blocks) ends then instead of never."""
    pid = target.pid
    os.kill(pid, signal.SIGSTOP)
    dog = subprocess.Popen(["sh", "-c", f"sleep {watchdog}; kill -CONT {pid}"],
                           start_new_session=True)
    try:
        wait_until(lambda: _all_threads_stopped(pid), 10, f"tgtd {pid} did not stop")
        yield lambda: os.kill(pid, signal.SIGCONT)
    finally:
        os.kill(pid, signal.SIGCONT)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(dog.pid, signal.SIGKILL)
        dog.wait()
