"""Scenario files are checked before any VM boots: every error names file:line:column and what
was expected (no VM; the engine's settings table comes from the built iscsilab._core)."""
import textwrap

import pytest

from iscsilab.scenario.load import ScenarioError, load_text
from iscsilab.scenario.model import Comparison, parse_duration, parse_within

HEAD = """\
name: s
lab:
  targets:
    - name: iqn.2026-11.org.example:t0
      tpgs:
        - portals: [nic0]
          luns: [{lun: 0, backstore: {type: block, size: 64MiB}}]
"""


def load(body: str, head: str = HEAD):
    return load_text(head + textwrap.dedent(body), "s.yaml")


def error(body: str, head: str = HEAD) -> str:
    with pytest.raises(ScenarioError) as e:
        load(body, head)
    return str(e.value)


def test_a_small_scenario_loads_with_defaults():
    (cell,) = load("""\
        steps:
          - login: t0
          - wait: 500ms
          - expect: {session: LOGGED_IN, within: 5s}
        """)
    assert cell.id == "s"
    assert [i.id for i in cell.initiators] == ["host0"]
    assert cell.initiators[0].name == "iqn.2026-11.org.example:host0"
    login, wait, expect = cell.steps
    assert login.body["target"] == "iqn.2026-11.org.example:t0"
    assert wait.body["for"] == 0.5
    assert expect.body["within"] == (0.0, 5.0)
    assert login.where == "s.yaml:9:5"


def test_the_lab_block_is_checked_by_the_lab_file_schema():
    head = HEAD.replace("type: block", "type: tape")
    msg = error("steps: [{wait: 1}]\n", head)
    assert msg.startswith("s.yaml:7:45:") and "expected one of ramdisk, fileio, block, pscsi" in msg


@pytest.mark.parametrize("body, where, words", [
    ("steps:\n  - logn: t0\n", "s.yaml:9:5", "unknown key 'logn' (step kinds: discover, login"),
    ("steps:\n  - {login: t0, wait: 1}\n", "s.yaml:9:5", "exactly one step kind"),
    ("steps:\n  - login: {target: t0, portal: nic9}\n", "s.yaml:9:33", "no NIC 'nic9'"),
    ("steps:\n  - login: t7\n", "s.yaml:9:12", "no target 't7'"),
    ("steps:\n  - login: {target: t0, portal: eth0}\n", "s.yaml:9:33",
     "expected nicN, nicN:port, or proxy"),
    ("steps:\n  - wait: soon\n", "s.yaml:9:11", "expected a duration such as 500ms"),
    ("steps:\n  - expect: {session: LOGGED_IN, from: cut}\n", "s.yaml:9:40",
     "no earlier step is labelled 'cut'"),
    ("steps:\n  - expect: {conn_error: ISCSI_ERR_NAP_TIMEDOUT}\n", "s.yaml:9:26",
     "unknown ISCSI_ERR code"),
    ("steps:\n  - login: {target: t0, refused: maybe}\n", "s.yaml:9:34", "unknown status 'maybe'"),
    ("steps:\n  - stop: load\n", "s.yaml:9:11", "no background io job 'load'"),
    ("steps:\n  - io: {op: write, background: true}\n", "s.yaml:9:9",
     "a background job needs a `name`"),
    ("steps:\n  - expect: {session: LOGGED_IN, event: login}\n", "s.yaml:9:13",
     "exactly one subject"),
    ("steps:\n  - fault: {freeze: on, blackhole: on}\n", "s.yaml:9:12", "exactly one fault kind"),
    ("steps:\n  - expect: {counters: {digest_err: lots}}\n", "s.yaml:9:37",
     "expected a count such as 0"),
    ("steps:\n  - expect: {session: LOGGED_IN, within: [5s, 2s]}\n", "s.yaml:9:42",
     "the minimum 5s is above the maximum 2s"),
    ("steps:\n  - login: t0\n    initiator: host3\n", "s.yaml:10:16", "no initiator 'host3'"),
    ("steps:\n  - login: t0\n  - io: {op: verify}\n    session: s9\n", "s.yaml:11:14",
     "no session 's9' was logged in before"),
    ("steps:\n  - login: t0\n    as: a\n  - wait: 1\n    as: a\n", "s.yaml:12:9", "label 'a' is used twice"),
    ("steps:\n  - login: t0\n  - expect: {session: LOGGED_IN, count: 2}\n", "s.yaml:10:34",
     "only for an event"),
    ("steps:\n  - login: t0\n  - expect: {event: login, count: many}\n", "s.yaml:10:35",
     "expected a count such as 0"),
    ("steps:\n  - login: t0\n  - expect: {event: login, count: 1, absent: true}\n", "s.yaml:10:28",
     "say `count: 0` instead of absent"),
    ("steps: []\n", "s.yaml:8:8", "expected at least 1 item"),
    ("steps:\n  - login: t0\n  - expect: {counters: {digest_err: many}}\n", "s.yaml:10:37",
     "or another counter (== digest_err)"),
    ("steps:\n  - fault: {corrupt: on, pdu: 3, data_in_every: 5}\n", "s.yaml:9:12",
     "say where to flip, once: `pdu:` (n-th PDU after login), `after_bytes:` or `data_in_every:`; "
     "or what to leave out: `drop_every:` with `drop_pdu:` (got pdu, data_in_every)"),
    ("steps:\n  - fault: {corrupt: on, drop_every: 5}\n", "s.yaml:9:12",
     "`drop_every:` and `drop_pdu:` go together"),
    ("steps:\n  - fault: {corrupt: on, data_in_every: 0}\n", "s.yaml:9:41", "expected at least 1"),
    ("steps:\n  - login: t0\n  - expect: {counters: {snacks: 1}}\n", "s.yaml:10:25",
     "unknown counter 'snacks' (one of txdata_octets"),
    ("stepz: []\n", "s.yaml:8:1", "unknown key 'stepz'"),
    ("steps:\n  - login: t0\n  - login: t0\n", None, None),
    ("steps:\n  - nbd: {kernel_client: true, kernel_size: 3000000}\n", "s.yaml:9:45",
     "nbd: kernel_size is whole MiB"),
    ("steps:\n  - nbd: {kernel_size: 2MiB}\n", "s.yaml:9:24", "kernel_size without kernel_client"),
    ("steps:\n  - nbd: {device: /dev/sda}\n", "s.yaml:9:19", "expected /dev/nbdN"),
    ("steps:\n  - nbd: {portal: nic3}\n", "s.yaml:9:19", "no NIC 'nic3'"),
    ("steps:\n  - nbd: {settings: {node.session.timeo.replacment_timeout: 5}}\n", "s.yaml:9:61",
     "did you mean 'node.session.timeo.replacement_timeout'"),
    ("steps:\n  - nbd: {kernel_client: yes}\n", None, None),
])
def test_errors_name_file_line_column_and_what_was_expected(body, where, words):
    if where is None:
        load(body)
        return
    msg = error(body)
    assert msg.startswith(where + ":"), msg
    assert words in msg, msg


def test_an_nbd_step_gets_its_target_and_sizes_in_bytes():
    (cell,) = load("""\
        steps:
          - nbd: {size: 4MiB, kernel_client: true, kernel_size: 2MiB}
        """)
    (step,) = cell.steps
    assert step.body["target"] == "iqn.2026-11.org.example:t0"
    assert step.body["size"] == 4 << 20 and step.body["kernel_size"] == 2 << 20


def test_unknown_open_iscsi_setting_gets_a_suggestion():
    msg = error("""\
        initiators:
          - settings: {node.sesion.timeo.replacement_timeout: 5}
        steps: [{wait: 1}]
        """)
    assert msg.startswith("s.yaml:9:16:"), msg
    assert "did you mean 'node.session.timeo.replacement_timeout'" in msg


def test_setting_values_are_checked_and_made_canonical():
    (cell,) = load("""\
        initiators:
          - settings:
              node.conn[0].iscsi.HeaderDigest: crc32c
              node.session.timeo.replacement_timeout: "007"
        steps: [{wait: 1}]
        """)
    assert cell.initiators[0].settings == {"node.conn[0].iscsi.HeaderDigest": "CRC32C",
                                           "node.session.timeo.replacement_timeout": "7"}
    msg = error("""\
        initiators:
          - settings:
              node.conn[0].timeo.noop_out_interval: -3
        steps: [{wait: 1}]
        """)
    assert msg.startswith("s.yaml:10:45:") and "noop_out_interval" in msg


def test_a_secret_in_a_bad_setting_is_never_echoed():
    msg = error("""\
        initiators:
          - settings: {node.session.auth.password: [hunter2-secret]}
        steps: [{wait: 1}]
        """)
    assert "hunter2" not in msg


def test_duplicate_keys_are_errors():
    msg = error("steps:\n  - login: t0\n    login: t0\n")
    assert msg.startswith("s.yaml:10:5:") and "duplicate key 'login'" in msg


def test_matrix_expands_into_cells_with_typed_values_and_exclusions():
    cells = load("""\
        initiators:
          - settings:
              node.conn[0].iscsi.HeaderDigest: ${digest}
              node.conn[0].timeo.noop_out_interval: ${nop.interval}
        matrix:
          digest: [None, CRC32C]
          nop: [{name: fast, interval: 1}, {name: slow, interval: 5}]
          exclude: [{digest: None, nop: slow}]
        steps:
          - login: t0
          - wait: ${nop.interval}
          - nop: {}
            when: {digest: CRC32C}
        """)
    assert [c.id for c in cells] == ["s[digest=None,nop=fast]", "s[digest=CRC32C,nop=fast]",
                                     "s[digest=CRC32C,nop=slow]"]
    assert cells[0].initiators[0].settings["node.conn[0].timeo.noop_out_interval"] == "1"
    assert cells[2].steps[1].body["for"] == 5.0
    assert [s.kind for s in cells[0].steps] == ["login", "wait"]
    assert [s.kind for s in cells[1].steps] == ["login", "wait", "nop"]
    assert cells[0].lab_key == cells[1].lab_key


def test_matrix_errors_name_the_cell():
    msg = error("""\
        matrix:
          t: [1, soon]
        steps:
          - wait: ${t}
        """)
    assert msg.startswith("s.yaml:11:11:") and "[matrix cell t=soon]" in msg
    msg = error("steps:\n  - wait: ${nope}\n")
    assert "no matrix parameter 'nope'" in msg
    msg = error("matrix:\n  a: [1]\n  exclude: [{b: 1}]\nsteps: [{wait: 1}]\n")
    assert "matrix.exclude: no parameter 'b'" in msg


def test_sessions_and_labels_resolve_in_order():
    (cell,) = load("""\
        initiators: [{id: a}, {id: b, name: "iqn.2026-11.org.example:other"}]
        steps:
          - login: {target: t0, session: first}
            initiator: a
            as: in
          - login: {target: t0, sessions: 3}
            initiator: b
          - parallel:
              - nop: {}
                initiator: a
                session: first
              - nop: {}
                initiator: b
                session: s2
          - expect: {event: login, from: in.start}
            initiator: all
        """)
    par = cell.steps[2]
    assert [c.index for c in par.children] == ["3.1", "3.2"]
    assert cell.steps[3].initiators == ["a", "b"]


def test_values():
    assert parse_duration("1.5min") == 90.0 and parse_duration(3) == 3.0
    assert parse_within("2s") == (0.0, 2.0) and parse_within(["500ms", 2]) == (0.5, 2.0)
    assert Comparison.parse(">= 2").holds(3) and not Comparison.parse(0).holds(1)
    # Counters may be compared with one another; a name is only taken where names are allowed.
    same = Comparison.parse("== datain_discarded", names=("datain_discarded", "b"))
    assert same.holds(7, {"datain_discarded": 7}) and not same.holds(6, {"datain_discarded": 7})
    assert not same.holds(7, {}) and str(same) == "datain_discarded"
    assert Comparison.parse("< b", names=("b",)).holds(1, {"b": 2})
    for text, names in (("== datain_discarded", ()), ("== c", ("b",))):
        with pytest.raises(ValueError):
            Comparison.parse(text, names)
    with pytest.raises(ValueError):
        parse_duration("2 hours")
