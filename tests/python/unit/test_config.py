"""The lab file parser: valid files, and errors that point at file:line:column (no VM)."""
import pytest

from iscsilab.errors import LabError
from iscsilab.provision.config import default_config, parse_config, parse_size

GOOD = """\
lab:
  nics: 2
  discovery_auth: {userid: d, password: discovery-secret}
  targets:
    - name: iqn.2026-11.org.example:t0
      tpgs:
        - tag: 1
          portals: [nic0, "nic1:3261"]
          attributes: {authentication: 0, generate_node_acls: true}
          parameters: {HeaderDigest: "CRC32C,None"}
          luns:
            - {lun: 0, backstore: {type: block, size: 64MiB}}
            - {lun: 1, backstore: {type: ramdisk, size: 1G, name: big}}
          acls:
            - initiator: iqn.2026-11.org.example:host0
              auth: {userid: u, password: user-secret-01, mutual_userid: t, mutual_password: target-secret-1}
              mapped_luns: [{lun: 5, tpg_lun: 1, write_protect: true}]
"""


def test_full_file_parses():
    cfg = parse_config(GOOD, "lab.yaml")
    tpg = cfg.targets[0].tpgs[0]
    assert [(p.nic, p.port) for p in tpg.portals] == [("nic0", 3260), ("nic1", 3261)]
    assert tpg.attributes == {"authentication": "0", "generate_node_acls": "1"}
    assert tpg.luns[0].backstore.size == 64 << 20
    assert tpg.luns[0].backstore.name == "t0-tpg1-lun0"
    assert tpg.luns[1].backstore.name == "big"
    acl = tpg.acls[0]
    assert acl.auth.mutual and acl.mapped_luns[0].tpg_lun == 1 and acl.mapped_luns[0].write_protect


def test_secrets_never_in_repr():
    cfg = parse_config(GOOD)
    text = repr(cfg)
    for secret in ("discovery-secret", "user-secret-01", "target-secret-1"):
        assert secret not in text


def test_default_lab_is_one_target_one_lun_on_two_portals():
    cfg = default_config()
    assert [t.name for t in cfg.targets] == ["iqn.2026-11.org.example:t0"]
    assert len(cfg.targets[0].tpgs[0].luns) == 1
    assert [p.nic for p in cfg.targets[0].tpgs[0].portals] == ["nic0", "nic1"]


@pytest.mark.parametrize("text, where, words", [
    ("lab:\n  targets:\n    - name: iqn.2026-11.lab:t0\n", "lab.yaml:3:13", "expected an IQN like"),
    ("lab:\n  targetz: []\n", "lab.yaml:2:3", "unknown key 'targetz'"),
    ("lab:\n  targets:\n    - name: iqn.2026-11.org.example:t0\n      tpgs:\n"
     "        - luns:\n            - {lun: 0, backstore: {type: tape}}\n", "lab.yaml:6:42", "expected one of ramdisk, fileio, block, pscsi"),
    ("lab:\n  targets:\n    - name: iqn.2026-11.org.example:t0\n      tpgs:\n"
     "        - luns:\n            - {lun: 0, backstore: {type: block, size: 12 parsecs}}\n",
     "lab.yaml:6:55", "expected a size such as 64MiB"),
    ("lab:\n  targets:\n    - name: iqn.2026-11.org.example:t0\n      tpgs:\n"
     "        - portals: [nic7]\n", "lab.yaml:5:21", "no such NIC"),
    ("lab:\n  targets:\n    - name: iqn.2026-11.org.example:t0\n      tpgs:\n"
     "        - auth: {userid: u, password: short}\n", "lab.yaml:5:39", "12 to 255"),
    ("lab:\n  targets:\n    - name: iqn.2026-11.org.example:t0\n      tpgs:\n"
     "        - acls:\n            - initiator: iqn.2026-11.org.example:h\n"
     "              mapped_luns: [{lun: 0, tpg_lun: 3}]\n", "lab.yaml:7:47", "no LUN 3"),
    ("lab:\n  targets: [\n", "lab.yaml:3:1", "expected"),
])
def test_errors_name_file_line_and_column(text, where, words):
    with pytest.raises(LabError) as err:
        parse_config(text, "lab.yaml")
    assert str(err.value).startswith(where + ":"), str(err.value)
    assert words in str(err.value)


def test_error_about_a_secret_does_not_echo_it():
    with pytest.raises(LabError) as err:
        parse_config("lab:\n  targets:\n    - name: iqn.2026-11.org.example:t0\n      tpgs:\n"
                     "        - auth: {userid: u, password: tiny-pw}\n", "lab.yaml")
    assert "tiny-pw" not in str(err.value)


@pytest.mark.parametrize("text, value", [("4096", 4096), ("64MiB", 64 << 20), ("1G", 1 << 30),
                                         ("1.5k", 1536), ("2TiB", 2 << 40)])
def test_sizes(text, value):
    assert parse_size(text) == value


GUARDED = """lab:
  guard: kernel
  targets:
    - name: iqn.2026-11.org.example:g
      tpgs:
        - attributes: {single_session: POLICY, authentication: 0}
"""


@pytest.mark.parametrize("policy, value", [("strict", "1"), ("reinstate", "2"), ("off", "0"),
                                           ("1", "1"), ("2", "2"), ("0", "0")])
def test_single_session_policy_words_become_the_attribute_value(policy, value):
    cfg = parse_config(GUARDED.replace("POLICY", policy))
    assert cfg.guard == "kernel"
    assert cfg.targets[0].tpgs[0].attributes["single_session"] == value


def test_single_session_needs_the_guard_module():
    with pytest.raises(LabError) as e:
        parse_config(GUARDED.replace("POLICY", "strict").replace("  guard: kernel\n", ""), "g.yaml")
    assert str(e.value).startswith("g.yaml:5:") and "guard: kernel" in str(e.value)


@pytest.mark.parametrize("text, words", [
    (GUARDED.replace("POLICY", "sometimes"), "expected strict, reinstate or off"),
    (GUARDED.replace("POLICY", "strict").replace("guard: kernel", "guard: firewall"),
     "lab.guard: expected one of none, kernel, nftables"),
])
def test_guard_errors_name_what_was_expected(text, words):
    with pytest.raises(LabError, match=words):
        parse_config(text, "g.yaml")


ISNS = """lab:
  isns: VALUE
  targets:
    - name: iqn.2026-11.org.example:t0
"""


def test_isns_is_off_unless_asked_and_a_boolean():
    assert parse_config(ISNS.replace("  isns: VALUE\n", "")).isns is False
    assert parse_config(ISNS.replace("VALUE", "true")).isns is True
    with pytest.raises(LabError) as e:
        parse_config(ISNS.replace("VALUE", "sometimes"), "i.yaml")
    assert str(e.value).startswith("i.yaml:2:") and "lab.isns: expected true or false, got 'sometimes'" in str(e.value)
