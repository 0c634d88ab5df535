"""iscsilab.peers.tgtd: a real tgtd on loopback, checked with libiscsi's iscsi-ls (libiscsi-bin)."""
import os
import subprocess

import pytest

from iscsilab.peers.tgtd import Tgtd, TgtdError, unavailable_reason


@pytest.fixture(autouse=True)
def _needs_tgtd():
    reason = unavailable_reason()
    if reason:
        pytest.fail(reason)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def _ls(portal: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["iscsi-ls", "-s", "-i", "iqn.2026-11.org.example:pytest",
                           f"iscsi://{portal}"], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(env or {})})


def test_starts_and_iscsi_ls_sees_target_and_luns():
    with Tgtd() as t:
        assert t.host == "127.0.0.1" and t.port > 0
        assert t.portal == f"127.0.0.1:{t.port}"
        assert t.url(Tgtd.FILE_LUN) == f"iscsi://127.0.0.1:{t.port}/{t.iqn}/2"
        assert (Tgtd.NULL_LUN, Tgtd.FILE_LUN) == (1, 2)
        r = _ls(t.portal)
        assert r.returncode == 0, r.stderr
        assert f"Target:{t.iqn}" in r.stdout.replace(" ", "")
        assert "Lun:1" in r.stdout and "Lun:2" in r.stdout
        # iscsi-ls prints (last LBA * block size) rounded down: 1 TiB null LUN, 64 MiB file LUN.
        assert "(Size:1023G)" in r.stdout and "(Size:63M)" in r.stdout


def test_close_leaves_no_process_socket_or_dir():
    t = Tgtd()
    pid, control, d = t.pid, t.control_port, t.dir
    assert _alive(pid)
    t.close()
    assert not _alive(pid)
    assert not os.path.exists(f"/var/run/tgtd/socket.{control}")
    assert not os.path.exists(f"/var/run/tgtd/socket.{control}.lock")
    assert not d.exists()
    t.close()  # idempotent


def test_chap_rejects_wrong_secret_and_accepts_right_one():
    with Tgtd(chap=("alice", "secret-1234"), null_lun=False) as t:
        bad = _ls(t.portal, {"LIBISCSI_CHAP_USERNAME": "alice",
                             "LIBISCSI_CHAP_PASSWORD": "wrong-secret"})
        # Discovery is not CHAP-protected in tgt; the LUN listing needs the target login.
        assert "Lun:2" not in bad.stdout
        good = _ls(t.portal, {"LIBISCSI_CHAP_USERNAME": "alice",
                              "LIBISCSI_CHAP_PASSWORD": "secret-1234"})
        assert good.returncode == 0, good.stderr
        assert "Lun:2" in good.stdout
        assert "Lun:1" not in good.stdout


def test_params_reach_the_target():
    with Tgtd(params={"MaxRecvDataSegmentLength": 8192, "ImmediateData": False}) as t:
        shown = t.tgtadm("--mode", "target", "--op", "show", "--tid", str(t.tid)).split()
        assert "MaxRecvDataSegmentLength=8192" in shown
        assert "ImmediateData=No" in shown


def test_bad_param_gives_tgtd_error_with_log_and_cleans_up():
    before = set(os.listdir("/var/run/tgtd")) if os.path.isdir("/var/run/tgtd") else set()
    with pytest.raises(TgtdError) as info:
        Tgtd(params={"NoSuchKey": "1"})
    assert "NoSuchKey" in str(info.value)
    assert "tail of" in str(info.value)
    after = set(os.listdir("/var/run/tgtd"))
    assert after <= before


def test_secret_never_in_error_message():
    with Tgtd() as t:
        with pytest.raises(TgtdError) as info:
            t.tgtadm("--mode", "account", "--op", "new", "--user", "bob", "--password",
                     "topsecret-99", "--bogus")
        assert "topsecret-99" not in str(info.value)


def test_interpreter_exit_without_close_stops_tgtd():
    # No PR_SET_PDEATHSIG in Python: atexit must stop tgtd when a script forgets close().
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from iscsilab.peers.tgtd import Tgtd\n"
            "t = Tgtd(); print(t.pid, flush=True)\n") % str(
                __import__("pathlib").Path(__file__).resolve().parents[3] / "target-lab")
    r = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    pid = int(r.stdout.split()[0])
    assert not _alive(pid)
