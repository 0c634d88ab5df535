"""Blocking calls release the GIL (Python threads run while the engine works), and one Initiator
carries many sessions at once, from many threads, byte-exact."""
import os
import sys
import threading
import time

import pytest

from _core_testlib import FAST, core, tgtd

BIG_READ_BLOCKS = 65536  # 32 MiB from the null LUN: long enough to observe, cheap for tgtd


@pytest.fixture(scope="module")
def target():
    with tgtd(file_lun_bytes=64 << 20) as t:
        yield t


@pytest.fixture(scope="module")
def ini():
    with core().Initiator() as i:
        yield i


@pytest.fixture
def long_switch_interval():
    # The main thread never gives the GIL up on its own for a second: a Python thread can only
    # run during a call if that call released the GIL.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    yield
    sys.setswitchinterval(old)


def test_a_python_thread_runs_during_a_blocking_read(ini, target, long_switch_interval):
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.0005)

    with ini.login(target.iqn, target.portal, FAST) as s:
        s.read(0, 1, lun=target.NULL_LUN)  # block length known before timing
        th = threading.Thread(target=ticker)
        th.start()
        try:
            while not ticks:
                time.sleep(0.001)
            t0 = time.monotonic()
            data = s.read(0, BIG_READ_BLOCKS, lun=target.NULL_LUN)
            t1 = time.monotonic()
        finally:
            stop.set()
            th.join()
    assert len(data) == BIG_READ_BLOCKS * 512
    during = [t for t in ticks if t0 < t < t1]
    # A call holding the GIL lets at most a stray tick in at its edges; one that releases it
    # lets the ticker run every 0.5 ms for the whole read.
    assert len(during) >= 3, (
        f"{len(during)} Python ticks during a {t1 - t0:.3f} s read: the GIL was held")


def test_two_threads_reads_overlap(ini, target, long_switch_interval):
    spans = {}
    barrier = threading.Barrier(2)

    def reader(name, s):
        barrier.wait()
        start = time.monotonic()
        s.read(0, BIG_READ_BLOCKS, lun=target.NULL_LUN)
        spans[name] = (start, time.monotonic())

    with ini.login(target.iqn, target.portal, FAST) as a, \
            ini.login(target.iqn, target.portal, FAST) as b:
        a.read(0, 1, lun=target.NULL_LUN)
        b.read(0, 1, lun=target.NULL_LUN)
        threads = [threading.Thread(target=reader, args=(n, s)) for n, s in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    (a0, a1), (b0, b1) = spans["a"], spans["b"]
    assert max(a0, b0) < min(a1, b1), f"reads did not overlap: a={spans['a']} b={spans['b']}"


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
