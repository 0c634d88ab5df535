"""iscsilab._core against a real tgtd on loopback: discovery, login/logout, byte-exact I/O from
bytes and memoryviews, SCSI helpers, task management, NOP, stats, events, negotiated settings."""
import os
import time

import pytest

from _core_testlib import FAST, core, tgtd
from iscsilab.scenario.model import SESSION_COUNTERS


def settled_stats(s):
    """stats() once the engine has published the counters of the calls that already returned.
    The engine completes a call's future before it refreshes the stats snapshot (end of
    Core::pump), so a NOP round trip first makes the snapshot cover every earlier call."""
    s.nop()
    return s.stats()


@pytest.fixture(scope="module")
def target():
    with tgtd() as t:
        yield t


@pytest.fixture
def ini():
    with core().Initiator() as i:
        yield i


def test_discovery_finds_the_target_and_its_portal(ini, target):
    found = ini.discover(target.portal)
    assert [t.name for t in found] == [target.iqn]
    assert found[0].portals == [target.portal]
    assert found[0].addresses[0].tpgt == 1
    named = ini.discover(target.portal, target=target.iqn)
    assert [t.name for t in named] == [target.iqn]


def test_login_logout_state_tsih_isid(ini, target):
    s = ini.login(target.iqn, target.portal, FAST)
    assert s.state == "LOGGED_IN"
    assert s.tsih != 0
    assert 0 < s.isid < 1 << 48
    assert s.target_name == target.iqn and s.portal == target.portal
    s.logout()
    assert s.state != "LOGGED_IN"
    with pytest.raises(core().SessionClosedError):
        s.nop()
    types = [e.type for e in s.events()]
    assert types[0] == "login" and "logout" in types
    s.close()
    with pytest.raises(core().SessionClosedError, match="close"):
        s.stats()


def test_context_manager_logs_out(ini, target):
    with ini.login(target.iqn, target.portal, FAST) as s:
        assert s.state == "LOGGED_IN"
    assert s.closed
    with ini.login(target.iqn, target.portal, FAST) as s2:
        s2.logout()  # an explicit logout inside the block is fine
    assert s2.closed


def test_isid_and_initiator_name_settings_reach_the_target(ini, target):
    name = "iqn.2026-11.org.example:pytest-isid"
    with ini.login(target.iqn, target.portal,
                   {**FAST, "iface.isid": "400001370a0b", "iface.initiatorname": name}) as s:
        assert s.isid == 0x400001370A0B  # tgtadm does not print ISIDs; ours is what we sent
        assert f"Initiator: {name}" in target.show()


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "memoryview-slice"])
def test_write_read_back_byte_exact(ini, target, kind):
    lun = target.FILE_LUN
    payload = os.urandom(256 * 1024)
    if kind == "bytes":
        data = payload
    elif kind == "bytearray":
        data = bytearray(payload)
    elif kind == "memoryview":
        data = memoryview(bytearray(payload))
    else:  # a window of a larger buffer, no copy on the Python side
        big = bytearray(4096) + bytearray(payload) + bytearray(4096)
        data = memoryview(big)[4096:4096 + len(payload)]
    with ini.login(target.iqn, target.portal, FAST) as s:
        s.write(64, data, lun=lun)
        back = s.read(64, len(payload) // 512, lun=lun)
        assert isinstance(back, bytes)
        assert back == payload
        assert s.read(63, 1, lun=lun) != payload[:512] or payload[:512] == bytes(512)


@pytest.mark.parametrize("size", [4096, 1024 * 1024])
def test_read_into_fills_a_window_of_the_callers_buffer_and_nothing_else(ini, target, size):
    lun = target.FILE_LUN
    payload = os.urandom(size)
    big = bytearray(b"\xa5" * 4096) + bytearray(size) + bytearray(b"\xa5" * 4096)
    window = memoryview(big)[4096:4096 + size]
    with ini.login(target.iqn, target.portal, FAST) as s:
        s.write(2048, payload, lun=lun)
        assert s.read_into(2048, window, lun=lun) == size
    assert bytes(window) == payload
    assert big[:4096] == b"\xa5" * 4096 and big[-4096:] == b"\xa5" * 4096


def test_read_into_refuses_read_only_and_partial_block_buffers(ini, target):
    with ini.login(target.iqn, target.portal, FAST) as s:
        with pytest.raises(BufferError):
            s.read_into(0, bytes(4096), lun=target.FILE_LUN)
        with pytest.raises(core().InvalidArgumentError, match="whole number"):
            s.read_into(0, bytearray(1000), lun=target.FILE_LUN)


def test_non_contiguous_buffer_is_refused(ini, target):
    with ini.login(target.iqn, target.portal, FAST) as s:
        with pytest.raises(BufferError):
            s.write(0, memoryview(bytearray(2048))[::2], lun=target.FILE_LUN)


@pytest.mark.parametrize("settings", [
    {"node.session.iscsi.ImmediateData": False, "node.session.iscsi.InitialR2T": True},
    {"node.session.iscsi.ImmediateData": True, "node.session.iscsi.InitialR2T": False,
     "node.session.iscsi.FirstBurstLength": 8192, "node.session.iscsi.MaxBurstLength": 16384},
    {"node.conn[0].iscsi.MaxRecvDataSegmentLength": 512},
])
def test_settings_are_negotiated_and_data_stays_exact(ini, target, settings):
    payload = os.urandom(192 * 1024 + 512)
    with ini.login(target.iqn, target.portal, {**FAST, **settings}) as s:
        p = s.params
        for key in ("ImmediateData", "InitialR2T", "FirstBurstLength", "MaxBurstLength",
                    "MaxRecvDataSegmentLength", "HeaderDigest", "DataDigest"):
            full = next(k for k in settings if k.endswith("." + key)) if any(
                k.endswith("." + key) for k in settings) else None
            if full is None:
                continue
            want = settings[full]
            if key in ("ImmediateData", "InitialR2T"):
                # ImmediateData is AND-ed, InitialR2T OR-ed with tgt's (Yes, Yes).
                assert p[key] == (want if key == "ImmediateData" else True)
            elif key in ("FirstBurstLength", "MaxBurstLength"):
                assert p[key] <= want
            else:
                assert p[key] == want
        s.write(1000, payload, lun=target.FILE_LUN)
        assert s.read(1000, len(payload) // 512, lun=target.FILE_LUN) == payload
        if "node.conn[0].iscsi.MaxRecvDataSegmentLength" in settings:
            # 512-byte segments: the target needs one Data-In per 512 bytes.
            assert settled_stats(s)["datain_pdus"] >= len(payload) // 512


@pytest.mark.parametrize("digest", ["CRC32C", "None"])
def test_digests_on_and_off(ini, digest):
    # tgt's configured digest is its only choice; the initiator offers both, in its order.
    with tgtd(params={"HeaderDigest": digest, "DataDigest": digest}, null_lun=False) as t:
        offer = "CRC32C,None" if digest == "CRC32C" else "None,CRC32C"
        with ini.login(t.iqn, t.portal, {**FAST, "node.conn[0].iscsi.HeaderDigest": offer,
                                         "node.conn[0].iscsi.DataDigest": offer}) as s:
            assert (s.params["HeaderDigest"], s.params["DataDigest"]) == (digest, digest)
            payload = os.urandom(128 * 1024)
            s.write(0, payload, lun=t.FILE_LUN)
            assert s.read(0, len(payload) // 512, lun=t.FILE_LUN) == payload
            assert s.stats()["digest_err"] == 0


def test_a_digest_the_target_refuses_fails_the_login_in_words(ini):
    with tgtd(null_lun=False) as t:  # tgt: HeaderDigest None only
        with pytest.raises(core().LoginError, match="HeaderDigest"):
            ini.login(t.iqn, t.portal, {**FAST, "node.conn[0].iscsi.HeaderDigest": "CRC32C"})


def test_scsi_helpers(ini, target):
    with ini.login(target.iqn, target.portal, FAST) as s:
        assert s.report_luns() == [0, 1, 2]
        cap = s.read_capacity(target.FILE_LUN)
        assert (cap.blocks, cap.block_length, cap.bytes) == (131072, 512, 64 << 20)
        assert s.read_capacity(target.NULL_LUN).bytes == 1 << 40
        inq = s.inquiry(target.FILE_LUN)
        assert inq.device_type == 0 and inq.vendor == "IET"
        assert len(s.inquiry_vpd(0x00, target.FILE_LUN)) >= 4
        s.test_unit_ready(target.FILE_LUN)
        report = s.rescan()
        assert sorted(l.lun for l in report.luns) == [0, 1, 2]
        assert sorted(report.added) == [0, 1, 2]
        assert s.rescan().added == []


def test_task_management_and_nop(ini, target):
    c = core()
    with ini.login(target.iqn, target.portal, FAST) as s:
        rtt = s.nop()
        assert 0 < rtt < 5
        lun = target.FILE_LUN
        assert s.abort_task_set(lun) == c.TmfResponse.function_complete
        # tgt 1.0.85 does not implement CLEAR TASK SET and says so.
        assert s.clear_task_set(lun) in (c.TmfResponse.function_complete,
                                         c.TmfResponse.tmf_not_supported)
        assert s.lun_reset(lun) == c.TmfResponse.function_complete
        with pytest.raises(c.InvalidArgumentError, match="no longer outstanding"):
            s.abort_task(0x12345, lun)  # nothing outstanding with that handle
        warm = s.target_warm_reset()
        assert isinstance(warm, c.TmfResponse) and warm.words
        stats = settled_stats(s)
        assert stats["tmfcmd_pdus"] == 4 and stats["tmfrsp_pdus"] == 4
        assert stats["noptx_pdus"] >= 1 and stats["noprx_pdus"] >= 1


def test_stats_count_what_was_sent_and_received(ini, target):
    with ini.login(target.iqn, target.portal, FAST) as s:
        before = s.stats()
        assert set(before) == {
            "txdata_octets", "rxdata_octets", "noptx_pdus", "scsicmd_pdus", "tmfcmd_pdus",
            "login_pdus", "text_pdus", "dataout_pdus", "logout_pdus", "snack_pdus", "noprx_pdus",
            "scsirsp_pdus", "tmfrsp_pdus", "textrsp_pdus", "datain_pdus", "logoutrsp_pdus",
            "r2t_pdus", "async_pdus", "rjt_pdus", "digest_err", "timeout_err",
            "datain_discarded", "datain_recovered", "status_recovered",
            "r2t_recovered", "r2t_replaced", "connection_reinstatements", "tasks_reassigned",
            "commands_resent", "reassign_refused"}
        assert set(before) == set(SESSION_COUNTERS)   # what `expect: {counters: ...}` may name
        assert before["login_pdus"] >= 1
        s.read(0, 1, lun=target.FILE_LUN)  # READ CAPACITY once, for the block length
        before = settled_stats(s)
        s.write(0, bytes(65536), lun=target.FILE_LUN)
        s.read(0, 256, lun=target.FILE_LUN)
        after = settled_stats(s)
        assert after["txdata_octets"] - before["txdata_octets"] >= 65536
        assert after["rxdata_octets"] - before["rxdata_octets"] >= 131072
        assert after["scsicmd_pdus"] - before["scsicmd_pdus"] == 2
        assert after["digest_err"] == 0 and after["timeout_err"] == 0
        assert after["datain_discarded"] == after["datain_recovered"] == 0
        assert after["status_recovered"] == after["r2t_recovered"] == after["r2t_replaced"] == 0


def test_events_have_types_and_both_clocks(ini, target):
    t0, w0 = time.monotonic(), time.time()
    s = ini.login(target.iqn, target.portal, FAST)
    t1, w1 = time.monotonic(), time.time()
    login = s.events()[0]
    assert login.type == "login"
    assert t0 <= login.steady <= t1
    assert login.steady_ns == pytest.approx(login.steady * 1e9, abs=1e3)
    assert w0 - 0.01 <= login.system <= w1 + 0.01
    assert login.conn_error == 0 and login.conn_error_name is None
    assert target.iqn in login.detail
    s.logout()


def test_lost_target_gives_conn_error_event_and_replacement_timeout(ini):
    c = core()
    with tgtd() as t:
        s = ini.login(t.iqn, t.portal, {**FAST, "node.session.timeo.replacement_timeout": 2})
        t.tgtadm("--mode", "target", "--op", "delete", "--force", "--tid", "1")
        start = time.monotonic()
        with pytest.raises(c.IscsiTimeoutError) as info:
            s.read(0, 1, lun=t.FILE_LUN)
        waited = time.monotonic() - start
        assert info.value.code == "replacement_timeout"
        assert "replacement_timeout" in str(info.value)
        assert waited < 2 + 15  # 2 s timer, generous slack for a loaded machine
        events = s.events()
        err = next(e for e in events if e.type == "conn_error")
        assert err.conn_error > 0 and err.conn_error_name.startswith("ISCSI_ERR_")
        fired = next(e for e in events if e.type == "replacement_timeout")
        # The timer starts when the session fails, just after the conn error is recorded.
        assert fired.steady - err.steady >= 2 - 0.05
        print(f"replacement_timeout 2 s: fired {fired.steady - err.steady:.3f} s after the conn "
              f"error; the read failed {waited:.3f} s after it was issued")
        s.close()
