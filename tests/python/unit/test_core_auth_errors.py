"""CHAP against tgtd (tgt speaks MD5 only), and errors that say what went wrong in iSCSI words:
login status, ISCSI_ERR codes, SCSI sense, settings that name the offending key."""
import socket

import pytest

from _core_testlib import FAST, core, tgtd

ALICE = ("alice", "alice-secret-12")
TARGET = ("tgt-user", "target-secret-34")


def chap(user, secret, **extra):
    return {**FAST, "node.session.auth.authmethod": "CHAP", "node.session.auth.username": user,
            "node.session.auth.password": secret, "node.session.auth.chap_algs": "MD5", **extra}


@pytest.fixture(scope="module")
def chap_target():
    with tgtd(chap=ALICE, mutual_chap=TARGET, null_lun=False) as t:
        yield t


@pytest.fixture
def ini():
    with core().Initiator() as i:
        yield i


def test_chap_md5_logs_in_and_moves_data(ini, chap_target):
    with ini.login(chap_target.iqn, chap_target.portal, chap(*ALICE)) as s:
        assert s.params["AuthMethod"] == "CHAP"
        s.write(8, b"\xa5" * 4096, lun=chap_target.FILE_LUN)
        assert s.read(8, 8, lun=chap_target.FILE_LUN) == b"\xa5" * 4096


def test_mutual_chap(ini, chap_target):
    settings = chap(*ALICE, **{"node.session.auth.username_in": TARGET[0],
                               "node.session.auth.password_in": TARGET[1]})
    with ini.login(chap_target.iqn, chap_target.portal, settings) as s:
        assert s.state == "LOGGED_IN"


def test_mutual_chap_with_the_wrong_target_secret_is_an_auth_error(ini, chap_target):
    c = core()
    settings = chap(*ALICE, **{"node.session.auth.username_in": TARGET[0],
                               "node.session.auth.password_in": "not-the-target-99"})
    with pytest.raises(c.AuthError) as info:
        ini.login(chap_target.iqn, chap_target.portal, settings)
    assert "not-the-target-99" not in str(info.value)


def test_wrong_password_is_an_authentication_failure(ini, chap_target):
    c = core()
    with pytest.raises(c.LoginError) as info:
        ini.login(chap_target.iqn, chap_target.portal, chap(ALICE[0], "wrong-secret-56"))
    e = info.value
    assert isinstance(e, c.AuthError) and isinstance(e, c.IscsiError)
    assert "authentication failure" in str(e)
    assert (e.status, e.status_class, e.status_detail) == (0x0201, 2, 1)
    assert e.code == "login_rejected"
    assert "wrong-secret-56" not in str(e) and ALICE[1] not in str(e)


def test_no_chap_to_a_chap_target_is_refused(ini, chap_target):
    with pytest.raises(core().LoginError) as info:
        ini.login(chap_target.iqn, chap_target.portal, FAST)
    assert info.value.status_class == 2


def test_unknown_target_is_not_found(ini, chap_target):
    c = core()
    with pytest.raises(c.LoginError) as info:
        ini.login("iqn.2026-11.org.example:nobody", chap_target.portal, FAST)
    assert info.value.status == 0x0203
    assert "not found" in str(info.value)
    assert not isinstance(info.value, c.AuthError)


def test_bad_settings_name_the_key():
    c = core()
    with c.Initiator() as ini:
        with pytest.raises(c.SettingsError, match="node.sesion.timeo.replacement_timeout") as info:
            ini.login("iqn.2026-11.org.example:x", "127.0.0.1:1",
                      {"node.sesion.timeo.replacement_timeout": 5})
        assert "did you mean 'node.session.timeo.replacement_timeout'" in str(info.value)
        assert isinstance(info.value, ValueError)
        with pytest.raises(c.SettingsError, match="'node.session.scan'.*not supported"):
            ini.login("iqn.2026-11.org.example:x", "127.0.0.1:1", {"node.session.scan": "manual"})
        with pytest.raises(c.SettingsError, match="node.session.iscsi.ImmediateData"):
            ini.login("iqn.2026-11.org.example:x", "127.0.0.1:1",
                      {"node.session.iscsi.ImmediateData": "maybe"})
        with pytest.raises(c.SettingsError, match="is a node setting"):
            ini.discover("127.0.0.1:1", {"node.session.auth.username": "x"})
        with pytest.raises(TypeError, match="node.session.cmds_max"):
            ini.login("iqn.2026-11.org.example:x", "127.0.0.1:1", {"node.session.cmds_max": 1.5})


def test_secret_never_in_a_settings_error():
    c = core()
    with c.Initiator() as ini:
        with pytest.raises(c.SettingsError) as info:
            ini.login("iqn.2026-11.org.example:x", "127.0.0.1:1",
                      {"node.session.auth.password": "hunter2\x01-topsecret"})
        assert "node.session.auth.password" in str(info.value)
        assert "topsecret" not in str(info.value)


def test_connection_refused_is_a_connection_error():
    c = core()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with c.Initiator() as ini:
        with pytest.raises(c.IscsiConnectionError) as info:
            ini.login("iqn.2026-11.org.example:x", f"127.0.0.1:{port}", FAST)
        assert isinstance(info.value, ConnectionError)
        assert info.value.code == "connect_failed"


def test_bad_portal_is_an_invalid_argument():
    c = core()
    with c.Initiator() as ini:
        with pytest.raises(c.InvalidArgumentError, match="portal"):
            ini.login("iqn.2026-11.org.example:x", "[::1:3260", FAST)


def test_scsi_error_carries_the_sense(ini):
    c = core()
    with tgtd(null_lun=False) as t, ini.login(t.iqn, t.portal, FAST) as s:
        with pytest.raises(c.ScsiError) as info:
            s.read(1 << 40, 1, lun=t.FILE_LUN)
        e = info.value
        assert (e.status, e.sense_key, e.asc, e.ascq) == (0x02, 0x5, 0x21, 0x00)
        assert "LOGICAL BLOCK ADDRESS OUT OF RANGE" in str(e)
        assert e.code == "scsi_error"


def test_log_callable_gets_kernel_style_lines():
    c = core()
    lines = []
    with tgtd(null_lun=False) as t, c.Initiator(log=lines.append) as ini:
        ini.login(t.iqn, t.portal, FAST).logout()
    assert any("logged in" in line for line in lines)


def test_log_accepts_a_logging_logger(caplog):
    import logging
    c = core()
    logger = logging.getLogger("iscsilab.test.core")
    with caplog.at_level(logging.INFO, logger="iscsilab.test.core"):
        with tgtd(null_lun=False) as t, c.Initiator(log=logger) as ini:
            ini.login(t.iqn, t.portal, FAST).logout()
    assert any("logged in" in r.getMessage() for r in caplog.records)
