"""The Linux initiator guest's pieces that need no VM: iscsid.conf from open-iscsi settings and
the addresses of a second guest on the lab's subnets."""
import pytest

from iscsilab import net
from iscsilab.errors import LabError
from iscsilab.initiator.linux.guest import iscsid_conf, multipath_conf


def test_iscsid_conf_has_the_settings_and_never_starts_iscsid_through_systemd():
    text = iscsid_conf({"node.conn[0].timeo.noop_out_interval": 5,
                        "node.session.iscsi.InitialR2T": False,
                        "node.session.auth.authmethod": "CHAP"})
    lines = text.splitlines()
    assert "iscsid.startup = /bin/false" in lines
    assert "node.startup = manual" in lines
    assert "node.conn[0].timeo.noop_out_interval = 5" in lines
    assert "node.session.iscsi.InitialR2T = No" in lines
    assert "node.session.auth.authmethod = CHAP" in lines


def test_settings_override_the_base_lines():
    assert "node.startup = automatic" in iscsid_conf({"node.startup": "automatic"}).splitlines()


@pytest.mark.parametrize("key, value", [("not.a.key", 1), ("node.x = y\nnode.z", 1),
                                        ("node.session.auth.password", "a\nb")])
def test_bad_keys_and_values_are_refused(key, value):
    with pytest.raises(LabError):
        iscsid_conf({key: value})


def test_peer_links_share_the_target_subnets():
    links = net.plan(2)
    peer = net.plan_peer(links)
    assert [(p.nic, p.tap, p.guest_ip, p.host_ip, p.prefix) for p in peer] == [
        ("nic0", "itap0", "10.77.0.3", "10.77.0.1", 24), ("nic1", "itap1", "10.77.1.3", "10.77.1.1", 24)]
    assert {p.tap for p in peer}.isdisjoint(l.tap for l in links)


def test_multipath_conf_takes_the_multipath_steps_names_into_defaults():
    text = multipath_conf({"path_selector": "service-time 0", "no_path_retry": 6,
                           "find_multipaths": "no"})
    lines = [line.strip() for line in text.splitlines()]
    body = lines[lines.index("defaults {") + 1:lines.index("}")]
    assert body == ["user_friendly_names yes", "find_multipaths no",
                    'path_selector "service-time 0"', "no_path_retry 6"]
    assert "blacklist {" in lines


@pytest.mark.parametrize("key, value", [("Bad-Key", 1), ("alias", 'a"b'), ("alias", "a}"),
                                        ("alias", "a\nb")])
def test_multipath_conf_refuses_what_would_break_the_file(key, value):
    with pytest.raises(LabError):
        multipath_conf({key: value})


def test_missing_guest_packages_are_named(monkeypatch):
    from iscsilab import host
    monkeypatch.setattr(host, "LINUX_INITIATOR_FILES", {"/nonexistent/iscsid": "open-iscsi",
                                                        "/nonexistent/multipathd": "multipath-tools"})
    with pytest.raises(LabError, match="apt-get install -y --no-install-recommends "
                                       "multipath-tools open-iscsi"):
        host.require_linux_initiator_packages()
