"""Blocking calls release the GIL (Python threads run while the engine works), and one Initiator
carries many sessions at once, from many threads, byte-exact.

The GIL tests do not count on timing: a read sent to a stopped tgtd stays outstanding until the
test continues tgtd, so "a thread ran during the call" and "two calls were in flight together"
are conditions the test waits for, not something a fast or a loaded machine decides."""
import os
import threading
import time

import pytest

from _core_testlib import FAST, core, stopped, tgtd, wait_until

READ_BLOCKS = 8
# How long a stopped tgtd waits before a watchdog continues it anyway: only reached when a call
# held the GIL (nothing else could continue it), and then the test fails.
WATCHDOG = 60


@pytest.fixture(scope="module")
def target():
    with tgtd(file_lun_bytes=64 << 20) as t:
        yield t


@pytest.fixture(scope="module")
def ini():
    with core().Initiator() as i:
        yield i


def answered(s) -> int:
    st = s.stats()
    return st["scsirsp_pdus"] + st["datain_pdus"]


def test_a_python_thread_runs_during_a_blocking_read(ini, target):
    """The read cannot complete before a Python thread continues tgtd, and that thread only
    gets to run while the main thread is inside s.read() if the read released the GIL."""
    with ini.login(target.iqn, target.portal, FAST) as s:
        s.read(0, 1, lun=target.NULL_LUN)  # block length known: the next read is one command
        sent = s.stats()["scsicmd_pdus"]
        continued = []
        with stopped(target, WATCHDOG) as release:
            def continuer():
                # The main thread is inside s.read() once its command has gone out.
                deadline = time.monotonic() + WATCHDOG
                while s.stats()["scsicmd_pdus"] == sent and time.monotonic() < deadline:
                    time.sleep(0.001)
                continued.append(time.monotonic())
                release()

            th = threading.Thread(target=continuer)
            th.start()
            t0 = time.monotonic()
            data = s.read(0, READ_BLOCKS, lun=target.NULL_LUN)
            t1 = time.monotonic()
            th.join()
    assert len(data) == READ_BLOCKS * 512
    assert continued and t0 < continued[0] < t1, (
        f"the Python thread ran {continued[0] - t1:+.3f} s after the read returned: "
        "the read held the GIL (tgtd was continued by the watchdog)")
    print(f"GIL: a Python thread continued tgtd {(continued[0] - t0) * 1e3:.1f} ms into the "
          f"read, which returned {(t1 - continued[0]) * 1e3:.1f} ms later")


def test_two_threads_reads_overlap(ini, target):
    """Two threads block in a read each (one session each) at once: both commands outstanding
    at a stopped tgtd together, which needs the first blocked call to let the second run."""
    results = {}

    def reader(name, s):
        results[name] = s.read(0, READ_BLOCKS, lun=target.NULL_LUN)

    with ini.login(target.iqn, target.portal, FAST) as a, \
            ini.login(target.iqn, target.portal, FAST) as b:
        sessions = {"a": a, "b": b}
        for s in sessions.values():
            s.read(0, 1, lun=target.NULL_LUN)
        sent = {n: s.stats()["scsicmd_pdus"] for n, s in sessions.items()}
        got = {n: answered(s) for n, s in sessions.items()}
        with stopped(target, WATCHDOG) as release:
            threads = [threading.Thread(target=reader, args=item) for item in sessions.items()]
            for t in threads:
                t.start()
            wait_until(lambda: all(s.stats()["scsicmd_pdus"] > sent[n] and answered(s) == got[n]
                                   for n, s in sessions.items()),
                       WATCHDOG / 2, "the two reads were never outstanding together")
            release()
            for t in threads:
                t.join()
    assert {n: len(d) for n, d in results.items()} == {"a": READ_BLOCKS * 512, "b": READ_BLOCKS * 512}


def test_many_sessions_from_many_threads(ini, target):
    n = 16
    blocks = 64  # 32 KiB per session, each in its own LBA range
    payloads = [os.urandom(blocks * 512) for _ in range(n)]
    sessions = [ini.login(target.iqn, target.portal, FAST) for _ in range(n)]
    try:
        assert len({s.isid for s in sessions}) == n  # each its own random ISID
        errors = []

        def worker(i):
            try:
                for _ in range(5):
                    sessions[i].write(i * blocks, payloads[i], lun=target.FILE_LUN)
                    back = sessions[i].read(i * blocks, blocks, lun=target.FILE_LUN)
                    assert back == payloads[i], f"session {i}: data differs"
            except BaseException as e:  # reported on the main thread
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        # Cross-check through one session: every range holds its writer's data.
        for i in range(n):
            assert sessions[0].read(i * blocks, blocks, lun=target.FILE_LUN) == payloads[i]
    finally:
        for s in sessions:
            s.logout()
            s.close()


def test_close_of_the_initiator_ends_its_sessions(target):
    c = core()
    ini = c.Initiator()
    s = ini.login(target.iqn, target.portal, FAST)
    ini.close()
    assert ini.closed
    with pytest.raises(c.IscsiError):
        s.read(0, 1, lun=target.FILE_LUN)
    ini.close()  # idempotent
