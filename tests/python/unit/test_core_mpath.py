"""iscsilab._core.Multipath against a real tgtd on loopback with two portals: one LU over two
sessions, I/O (read, read_into, write, start_io) spread by round-robin, status() like
`multipathd show paths`, events() in Session's shape, a session logged out under load with
nothing lost, LUs that differ refused, multipath.conf settings and their errors,
mpath_fast_io_fail_tmo."""
import time

import pytest

from _core_testlib import FAST, core, tgtd

LUN = 2  # tgt's file LUN
BS = 512


@pytest.fixture(scope="module")
def target():
    with tgtd() as t:
        t.second_portal = t.add_portal()
        yield t


@pytest.fixture
def sessions(target):
    c = core()
    settings = dict(FAST)
    settings["node.session.timeo.replacement_timeout"] = c.mpath_fast_io_fail_tmo({"fast_io_fail_tmo": 2})
    with c.Initiator() as ini:
        a = ini.login(target.iqn, target.portal, settings)
        b = ini.login(target.iqn, target.second_portal, settings)
        for s in (a, b):  # tgt's power-on UNIT ATTENTION of each new I_T nexus
            s.read_capacity(LUN)
        yield a, b
        for s in (a, b):
            s.close()


def test_fast_io_fail_tmo_and_settings_errors():
    c = core()
    assert c.mpath_fast_io_fail_tmo() == 5          # multipath-tools' default
    assert c.mpath_fast_io_fail_tmo({"fast_io_fail_tmo": 2}) == 2
    assert c.mpath_fast_io_fail_tmo({"fast_io_fail_tmo": "off"}) is None
    with pytest.raises(c.SettingsError, match='path_selector: "fastest 0" is not one of'):
        c.mpath_check_settings({"path_selector": "fastest 0"})
    with pytest.raises(c.SettingsError, match='unknown multipath setting "polling"'):
        c.mpath_fast_io_fail_tmo({"polling": 5})
    with pytest.raises(TypeError):
        c.mpath_check_settings({"no_path_retry": [1]})
    c.mpath_check_settings({"polling_interval": 0.5, "no_path_retry": 3, "queue_if_no_path": True,
                            "failback": "followover"})


def test_one_lu_over_two_portals(target, sessions):
    c = core()
    a, b = sessions
    with c.Multipath([a, b], lun=LUN, settings={"polling_interval": 0.2,
                                                "path_grouping_policy": "multibus",
                                                "path_selector": "round-robin 0"}) as mp:
        assert mp.paths == [f"{target.portal} LUN 2", f"{target.second_portal} LUN 2"]
        assert mp.wwid.startswith("naa.")
        assert mp.capacity.block_length == BS
        data = c.encode_blocks(10, 8, BS, 5)
        mp.write(10, data)
        assert mp.read(10, 8) == data
        buf = bytearray(8 * BS)
        assert mp.read_into(10, buf) == 8 * BS and bytes(buf) == data
        assert b.read(10, 8, LUN) == data
        status = mp.status()
        assert [p["group"] for p in status] == [1, 1]
        assert all(p["dm_state"] == "active" and p["checker_state"].startswith("ready")
                   and p["session_state"] == "LOGGED_IN" and p["alua"] == "no ALUA"
                   for p in status)
        assert sum(p["completed"] for p in status) == 3
        assert min(p["completed"] for p in status) >= 1  # round-robin used both
        dev = mp.device_status()
        assert dev["path_selector"] == "round-robin 0" and dev["path_grouping_policy"] == "multibus"
        assert dev["no_path_state"] == "serving" and dev["queued"] == 0
        assert mp.events() == []
    assert mp.closed
    with pytest.raises(c.SessionClosedError):
        mp.read(0, 1)


def test_start_io_survives_a_session_logged_out(target, sessions):
    c = core()
    a, b = sessions
    mp = c.Multipath([a, b], LUN, {"polling_interval": 0.2, "path_grouping_policy": "multibus",
                                   "path_selector": "round-robin 0"})
    job = mp.start_io("write", 2048, first_lba=4096, queue_depth=16, random=True, seed=5,
                      seconds=2.5)
    time.sleep(0.6)
    b.logout()
    assert job.wait(60)
    records = job.drain()
    summary = job.summary()
    assert summary["failed"] == 0, [r for r in records if not r[6]][:3]
    assert summary["completed_ok"] > 100
    events = mp.events()
    failed = [e for e in events if e.type == "path_failed"]
    assert len(failed) == 1 and failed[0].path == f"{target.second_portal} LUN 2", events
    assert isinstance(failed[0].steady_ns, int) and failed[0].steady_ns <= time.monotonic_ns()
    assert failed[0].detail
    assert mp.status()[1]["dm_state"] == "failed"
    # Every acknowledged write reads back with its generation (or a later one).
    last = {}
    for write, lba, blocks, gen, _s, _e, ok, _err in records:
        if write and ok:
            for i in range(blocks):
                last[lba + i] = gen
    blocks = c.decode_blocks(mp.read(4096, 2048), BS)
    for i, (kind, lba, gen) in enumerate(blocks):
        if 4096 + i in last:
            assert kind == "intact" and lba == 4096 + i and gen >= last[4096 + i]
    mp.close()


def test_different_lus_are_refused(target, sessions):
    c = core()
    a, b = sessions
    b.read_capacity(1)
    # lun may be one per session: LUN 2 over the first portal, LUN 1 over the second.
    with pytest.raises(c.InvalidArgumentError, match="do not reach one logical unit") as e:
        c.Multipath([a, b], lun=[LUN, 1])
    text = str(e.value)
    assert f"{target.second_portal} LUN 1 ({target.iqn}) is not the LU of {target.portal} LUN 2" in text
    assert "(NAA) != naa." in text
    with pytest.raises(c.InvalidArgumentError, match="one LUN per session"):
        c.Multipath([a, b], lun=[LUN])


def test_bad_arguments(sessions):
    c = core()
    a, _b = sessions
    with pytest.raises(c.InvalidArgumentError, match="no paths"):
        c.Multipath([], lun=LUN)
    with pytest.raises(c.SettingsError, match="no_path_retry"):
        c.Multipath([a], lun=LUN, settings={"no_path_retry": "never"})
    with pytest.raises(TypeError):
        c.Multipath([a], lun=LUN, settings=["polling_interval"])
