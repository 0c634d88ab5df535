"""iscsilab._core workloads: the block pattern (encode_blocks / decode_blocks) and Session.start_io
-> IoJob against a real tgtd on loopback: writes at queue depth read back block by block with the
generation of the last acknowledged write, drain/in_flight/summary, stop, wait without the GIL,
a bad spec, a closed session."""
import threading
import time

import pytest

from _core_testlib import FAST, core, tgtd


@pytest.fixture(scope="module")
def target():
    with tgtd() as t:
        yield t


@pytest.fixture
def session(target):
    with core().Initiator() as ini, ini.login(target.iqn, target.portal, FAST) as s:
        yield s


def last_acknowledged(records):
    """{lba: generation of the last acknowledged write}; writes of one block are never in
    flight together, so completion order is the order they reached the disk."""
    last = {}
    for write, lba, blocks, gen, _start, _end, ok, _error in records:
        if write and ok:
            for i in range(blocks):
                last[lba + i] = gen
    return last


def test_encode_decode_round_trip_and_the_three_kinds():
    c = core()
    gen = (3 << 48) | 17
    data = c.encode_blocks(100, 4, 512, gen)
    assert isinstance(data, bytes) and len(data) == 4 * 512
    assert data[:8] == b"iSCSIlab"
    assert c.decode_blocks(data, 512) == [("intact", 100 + i, gen) for i in range(4)]
    # zeros: unwritten; one flipped fill byte: corrupt; a block from elsewhere: intact, other LBA
    assert c.decode_blocks(bytes(1024), 512) == [("unwritten", 0, 0)] * 2
    bad = bytearray(data)
    bad[512 + 200] ^= 1
    assert c.decode_blocks(bad, 512)[1] == ("corrupt", 101, gen)
    moved = bytearray(data)
    moved[0:512] = data[3 * 512:]
    assert c.decode_blocks(memoryview(moved), 512)[0] == ("intact", 103, gen)


def test_pattern_arguments_are_checked():
    c = core()
    with pytest.raises(c.InvalidArgumentError, match="block_size 100"):
        c.encode_blocks(0, 1, 100, 1)
    with pytest.raises(c.InvalidArgumentError):
        c.decode_blocks(b"x" * 64, 0)


def test_start_io_write_qd16_then_every_acknowledged_block_reads_back_intact(session, target):
    c = core()
    lun = target.FILE_LUN
    first, count = 2048, 1024
    job = session.start_io("write", count, first_lba=first, lun=lun, queue_depth=16,
                           random=True, seed=11, max_ios=300, writer_id=5)
    assert job.wait(60.0), job.summary()
    assert job.done
    records = job.drain()
    assert len(records) == 300
    assert job.drain() == []
    assert all(ok for *_, ok, _error in records), [r for r in records if not r[6]][:3]
    assert all(err == "" for *_, err in records)
    summary = job.summary()
    assert summary["started"] == summary["completed_ok"] == summary["writes"] == 300
    assert summary["failed"] == 0 and summary["in_flight"] == 0
    assert summary["bytes_written"] == 300 * 8 * 512
    assert summary["end_reason"] == "max_ios reached"
    assert summary["first_start_ns"] <= min(r[4] for r in records)
    assert summary["last_end_ns"] == max(r[5] for r in records)
    now = time.monotonic_ns()
    assert all(r[4] <= r[5] <= now for r in records)      # the same clock as time.monotonic_ns()
    assert len({r[3] for r in records}) == 300              # one generation per write
    assert all(r[3] >> 48 == 5 for r in records)

    last = last_acknowledged(records)
    assert len(last) > count // 2
    states = c.decode_blocks(session.read(first, count, lun=lun), 512)
    assert len(states) == count
    for i, (kind, lba, gen) in enumerate(states):
        want = last.get(first + i)
        if want is None:
            assert kind == "unwritten", (first + i, kind)
        else:
            assert (kind, lba, gen) == ("intact", first + i, want), first + i


def test_in_flight_stop_and_summary(session, target):
    job = session.start_io("read", 1 << 16, lun=target.NULL_LUN, blocks_per_io=128,
                           queue_depth=8)
    flights = []
    deadline = time.monotonic() + 5
    while not flights and time.monotonic() < deadline:
        flights = [f for f in job.in_flight() if f[0] != 0]
    assert flights
    handle, write, lba, blocks, gen, start_ns = flights[0]
    assert handle > 0 and write is False and blocks == 128 and gen == 0 and start_ns > 0
    assert not job.done
    job.stop()
    assert job.wait(10.0)
    summary = job.summary()
    assert summary["end_reason"] == "stopped"
    assert summary["reads"] == summary["completed_ok"] > 0
    assert job.in_flight() == []


def test_wait_releases_the_gil(session, target):
    job = session.start_io("read", 1 << 16, lun=target.NULL_LUN, queue_depth=4)
    result = {}
    waiter = threading.Thread(target=lambda: result.setdefault("done", job.wait(30.0)))
    t0 = time.monotonic()
    waiter.start()
    time.sleep(0.2)  # runs only if wait() let go of the GIL
    job.stop()
    waiter.join(10)
    assert result.get("done") is True
    assert time.monotonic() - t0 < 10


def test_seconds_end_the_job_and_mixed_does_both(session, target):
    job = session.start_io("mixed", 512, lun=target.FILE_LUN, first_lba=8192, queue_depth=4,
                           random=True, seconds=0.3, read_percent=30)
    assert job.wait(30.0)
    summary = job.summary()
    assert summary["end_reason"] == "seconds elapsed"
    assert summary["reads"] > 0 and summary["writes"] > summary["reads"]


def test_unit_attention_after_login_is_retried_and_named(target):
    # tgt answers a new session's first command on a LUN with UNIT ATTENTION (power on); an
    # explicit block_size skips the READ CAPACITY that would take it.
    with core().Initiator() as ini, ini.login(target.iqn, target.portal, FAST) as s:
        job = s.start_io("read", 64, block_size=512, lun=target.FILE_LUN, max_ios=4)
        assert job.wait(30.0)
        summary = job.summary()
        assert summary["completed_ok"] == 4 and summary["ua_retries"] == 1
        assert any("power on" in u.lower() for u in summary["unit_attentions"]), summary


def test_a_bad_spec_is_invalid_argument(session, target):
    c = core()
    with pytest.raises(c.InvalidArgumentError, match="op must be"):
        session.start_io("trim", 64, lun=target.FILE_LUN)
    with pytest.raises(c.InvalidArgumentError, match="queue_depth is 0"):
        session.start_io("read", 64, lun=target.FILE_LUN, queue_depth=0)
    with pytest.raises(c.InvalidArgumentError, match="smaller than one I/O"):
        session.start_io("write", 4, lun=target.FILE_LUN, blocks_per_io=8)
    with pytest.raises(c.InvalidArgumentError, match="block_size 500"):
        session.start_io("write", 64, block_size=500, lun=target.FILE_LUN)
    with pytest.raises(ValueError):  # InvalidArgumentError is a ValueError too
        session.start_io("write", 64, lun=target.FILE_LUN, read_percent=101)


def test_a_job_on_a_logged_out_session_fails_and_ends(session, target):
    session.logout()
    job = session.start_io("write", 64, block_size=512, lun=target.FILE_LUN, queue_depth=4)
    assert job.wait(10.0)
    records = job.drain()
    assert records and not any(r[6] for r in records)
    assert all("logged out" in r[7] for r in records), records[:2]
    assert job.summary()["end_reason"].startswith("submissions refused")


def test_dropping_a_running_job_stops_it(session, target):
    job = session.start_io("read", 1 << 16, lun=target.NULL_LUN, queue_depth=4)
    time.sleep(0.05)
    del job
    time.sleep(0.2)  # commands in flight finish; no new ones start
    session.nop()    # the stats snapshot covers every command before the ping's reply
    before = session.stats()["scsicmd_pdus"]
    time.sleep(0.2)
    session.nop()
    assert session.stats()["scsicmd_pdus"] == before
