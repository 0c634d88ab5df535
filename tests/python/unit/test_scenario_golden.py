"""The `iscsiadm:` step's golden files: a missing file is a load error naming file:line, and
output is compared line by line with {nicN}/{target} expanded and {*} matching any text within
one line (no VM: a stand-in context gives the lab's addresses)."""
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from iscsilab.scenario.adm import golden_mismatch
from iscsilab.scenario.load import ScenarioError, load_text

SCENARIO = """\
name: s
lab:
  targets:
    - name: iqn.2026-11.org.example:t0
      tpgs:
        - portals: [nic0]
          luns: [{lun: 0, backstore: {type: block, size: 64MiB}}]
steps:
  - iscsiadm: {args: "-m session", golden: golden/session.txt}
"""


def context():
    portal = SimpleNamespace(target="iqn.2026-11.org.example:t0")
    lab = SimpleNamespace(portals=lambda: [portal])
    return SimpleNamespace(lab=lab, portal_address=lambda target, nic: "10.77.0.2:3260")


def test_a_missing_golden_file_is_a_load_error_with_its_line(tmp_path):
    with pytest.raises(ScenarioError) as e:
        load_text(SCENARIO, str(tmp_path / "s.yaml"))
    msg = str(e.value)
    assert msg.startswith(f"{tmp_path / 's.yaml'}:9:")
    assert "golden: expected a file of expected output" in msg and "session.txt does not exist" in msg


def test_the_golden_path_is_resolved_beside_the_scenario_file(tmp_path):
    (tmp_path / "golden").mkdir()
    (tmp_path / "golden" / "session.txt").write_text("tcp [1] {nic0},1 {target}\n")
    (cell,) = load_text(SCENARIO, str(tmp_path / "s.yaml"))
    assert cell.steps[0].body["golden"] == str(tmp_path / "golden" / "session.txt")


def golden(tmp_path, text: str) -> Path:
    path = tmp_path / "g.txt"
    path.write_text(textwrap.dedent(text))
    return path


def test_placeholders_expand_and_brackets_are_literal(tmp_path):
    g = golden(tmp_path, """\
        tcp [1] {nic0},1 {target}
        \tSID: {*}
        """)
    out = "tcp [1] 10.77.0.2:3260,1 iqn.2026-11.org.example:t0\n\tSID: 17\n"
    assert golden_mismatch(context(), g, out) is None
    # '[1]' is text, not a character class: '1' alone does not match it
    assert golden_mismatch(context(), g, out.replace("[1]", "1")) is not None


def test_the_first_differing_line_is_named(tmp_path):
    g = golden(tmp_path, "a\n\tState: LOGGED IN\nc\n")
    why = golden_mismatch(context(), g, "a\n\tState: FREE\nc\n")
    assert why == "g.txt:2: expected '\\tState: LOGGED IN', got '\\tState: FREE'"


def test_the_wildcard_stays_within_its_line(tmp_path):
    g = golden(tmp_path, "Portal: {*}\nTarget: {target}\n")
    assert golden_mismatch(context(), g, "Portal: anything at all\nTarget: iqn.2026-11.org.example:t0\n") is None
    assert golden_mismatch(context(), g, "Portal: x\nTarget: iqn.2026-11.org.example:t1\n") \
        == "g.txt:2: expected 'Target: {target}', got 'Target: iqn.2026-11.org.example:t1'"


def test_extra_and_missing_lines_are_reported(tmp_path):
    g = golden(tmp_path, "one\ntwo\n")
    assert golden_mismatch(context(), g, "one\ntwo\nthree\n") \
        == "g.txt: 2 lines expected, 3 printed (first extra line: 'three')"
    assert golden_mismatch(context(), g, "one\n") \
        == "g.txt: 2 lines expected, 1 printed (first missing line: 'two')"
