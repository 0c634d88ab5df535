"""The target conformance suite's own tests (no VM, no tgtd): the PDU binding iscsilab._pdu, the
driver's text/patch/serial helpers, the catalogue and -k, the runner's verdicts and JUnit, the
CLI, and - against a scripted fake target that breaks one rule at a time - that tests FAIL when
their requirement is violated."""
import xml.etree.ElementTree as ET

import pytest

from _conformance_fake import FakeTarget, pdu_module
from iscsilab.conformance import driver, registry, runner
from iscsilab.conformance import commands  # noqa: F401 - the CLI module imports cleanly


# ---- iscsilab._pdu

@pytest.mark.parametrize("opcode", [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x20, 0x21,
                                    0x22, 0x23, 0x24, 0x25, 0x26, 0x31, 0x32, 0x3F])
def test_every_pdu_type_round_trips_through_proto(opcode):
    pdu = pdu_module()
    fields = pdu.defaults(opcode)
    if "data" in fields and opcode not in (0x02, 0x06, 0x10, 0x22, 0x26, 0x31):
        fields["data"] = b"abcde"  # 5 bytes: padding is exercised too
    if "itt" in fields and opcode not in (0x32, 0x3F):
        fields["itt"] = 0x1234
    wire = pdu.encode(fields)
    assert len(wire) % 4 == 0
    back, consumed = pdu.decode(wire)
    assert consumed == len(wire)
    assert back == fields


def test_encode_refuses_a_misspelt_field_and_a_value_that_does_not_fit():
    pdu = pdu_module()
    with pytest.raises(pdu.PduError, match="has no field 'cmdsn'"):
        pdu.encode({"opcode": 0x00, "cmdsn": 1})
    with pytest.raises(pdu.PduError, match="does not fit"):
        pdu.encode({"opcode": 0x03, "tsih": 0x10000})
    with pytest.raises(pdu.PduError, match="not an RFC 7143 opcode"):
        pdu.encode({"opcode": 0x1C})


def test_framer_yields_pdus_fed_one_byte_at_a_time_with_their_wire_bytes():
    pdu = pdu_module()
    a = pdu.encode({"opcode": 0x20, "itt": 7, "data": b"xyz"})
    b = pdu.encode({"opcode": 0x21, "itt": 8, "status": 2})
    framer = pdu.Framer(True)
    got = []
    for byte in a + b:
        framer.feed(bytes([byte]))
        while (item := framer.next()) is not None:
            got.append(item)
    assert [(f["opcode"], f["itt"], w) for f, w in got] == [(0x20, 7, a), (0x21, 8, b)]
    assert got[0][0]["data"] == b"xyz"


def test_framer_fails_on_an_initiator_opcode_and_reserved_violations_are_named():
    pdu = pdu_module()
    framer = pdu.Framer(True)
    framer.feed(pdu.encode({"opcode": 0x00, "itt": 1}))
    with pytest.raises(pdu.PduError):
        framer.next()
    assert framer.failed
    bhs = bytearray(pdu.encode({"opcode": 0x20})[:48])
    assert pdu.reserved_violation(bytes(bhs)) is None
    bhs[40] = 1  # reserved in a NOP-In
    assert "reserved" in pdu.reserved_violation(bytes(bhs))


def test_the_stub_names_exactly_what_the_module_exports():
    import ast
    from pathlib import Path
    stub = Path(__file__).resolve().parents[3] / "target-lab" / "iscsilab" / "_pdu.pyi"
    tree = ast.parse(stub.read_text())
    names = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    names |= {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
    exported = {n for n in dir(pdu_module()) if not n.startswith("_")}
    assert exported == names


# ---- driver helpers

def test_text_keeps_order_and_duplicates_and_marks_a_pair_without_equals():
    data = driver.encode_text([("A", "1"), ("B", "x=y"), ("A", "2")]) + b"C\0"
    assert driver.decode_text(data) == [("A", "1"), ("B", "x=y"), ("A", "2"), ("C", None)]


def test_patch_writes_named_fields_at_proto_offsets():
    pdu = pdu_module()
    wire = pdu.encode({"opcode": 0x01, "cmd_sn": 5, "itt": 9})
    patched = driver.patch(wire, {"cmd_sn": 0xDEADBEEF, "opcode": 0x41})
    fields, _ = pdu.decode(patched)
    assert fields["cmd_sn"] == 0xDEADBEEF and fields["immediate"] and fields["itt"] == 9
    with pytest.raises(KeyError):
        driver.patch(wire, {"no_such_field": 1})
    with pytest.raises(ValueError):
        driver.patch(wire, {"cmd_sn": b"\0\0"})


def test_serial_comparison_wraps():
    assert driver.sn_lt(0xFFFFFFF0, 5)
    assert not driver.sn_lt(5, 0xFFFFFFF0)
    assert driver.sn_le(7, 7) and not driver.sn_lt(7, 7)
    assert driver.sn_add(0xFFFFFFFF, 2) == 1


class _NoConnection:
    target = driver.Target("127.0.0.1", 3260, "iqn.2026-12.org.example:none")


def received(fields, mangle=None):
    """A PDU as the driver's connection hands it over: decoded, with its wire bytes."""
    pdu = pdu_module()
    wire = pdu.encode(fields)
    if mangle:
        wire = driver.patch(wire, mangle)
    p = driver.Pdu(pdu.decode(wire)[0])
    p.wire = wire
    return p


def test_session_check_records_statsn_window_reserved_and_tag_violations():
    sess = driver.Session(_NoConnection())
    sess.check(received({"opcode": 0x23, "transit": True, "csg": 1, "nsg": 3, "tsih": 1,
                         "stat_sn": 10, "exp_cmd_sn": 1, "max_cmd_sn": 8}))
    assert sess.exp_stat_sn == 11 and not sess.violations
    # An R2T carries the next StatSN without using it; a SCSI Response uses it.
    sess.check(received({"opcode": 0x31, "itt": 1, "ttt": 5, "stat_sn": 11, "exp_cmd_sn": 1,
                         "max_cmd_sn": 8, "desired_data_transfer_length": 512}))
    sess.check(received({"opcode": 0x21, "itt": 1, "stat_sn": 11, "exp_cmd_sn": 2,
                         "max_cmd_sn": 8}))
    assert not sess.violations and sess.exp_stat_sn == 12
    sess.check(received({"opcode": 0x21, "itt": 2, "stat_sn": 14, "exp_cmd_sn": 3,
                         "max_cmd_sn": 8}))
    sess.check(received({"opcode": 0x20, "itt": 3, "stat_sn": 15, "exp_cmd_sn": 9,
                         "max_cmd_sn": 2}))
    sess.check(received({"opcode": 0x31, "itt": 1, "ttt": driver.RESERVED_TAG, "stat_sn": 16,
                         "exp_cmd_sn": 9, "max_cmd_sn": 20}))
    sess.check(received({"opcode": 0x20, "itt": driver.RESERVED_TAG, "stat_sn": 16,
                         "exp_cmd_sn": 9, "max_cmd_sn": 20}, mangle={40: 1}))
    rules = [v.split("]")[0][1:] for v in sess.violations]
    assert rules == ["4.2.2.2 StatSN", "4.2.2.1 window", "11.8 TTT", "11.2 reserved"], \
        sess.violations


def test_login_response_checks_compare_with_the_request():
    sess = driver.Session(_NoConnection())
    req = sess.login_pdu({"InitiatorName": "iqn.x"}, transit=False)
    rsp = received({"opcode": 0x23, "transit": True, "csg": 1, "nsg": 1, "isid": 5,
                    "itt": req["itt"] + 1, "version_active": 1, "stat_sn": 1})
    sess.check_login_response(req, rsp)
    rules = sorted(v.split("]")[0][1:] for v in sess.violations)
    assert rules == ["11.13 CSG", "11.13 ISID", "11.13 ITT", "11.13 T", "11.13.1 version"]


# ---- the catalogue

def test_every_test_has_an_id_a_section_and_a_one_line_requirement():
    cases = registry.all_cases()
    assert len(cases) >= 50
    assert len({c.id for c in cases}) == len(cases)
    for c in cases:
        assert c.requirement and "\n" not in c.requirement and len(c.requirement) < 200, c.id
        assert c.section[0].isdigit(), c.id


def test_every_test_id_appears_in_the_coverage_matrix():
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[3] / "conformance" / "README.md").read_text()
    missing = [c.id for c in registry.all_cases() if c.id not in readme]
    assert not missing, f"not in conformance/README.md's matrix: {missing}"


@pytest.mark.parametrize("expr, expected", [
    ("LOGIN-002", {"LOGIN-002"}),
    ("4.2.2.1 and beyond", {"FFP-003", "FFP-005"}),
    ("(FFP-010 or FFP-011) and not 11.18", {"FFP-010"}),
    ("SHOULD and LOGIN-00", {"LOGIN-005"}),
])
def test_k_expressions_select_by_words(expr, expected):
    pick = registry.matcher(expr)
    assert {c.id for c in registry.all_cases() if pick(c)} == expected


@pytest.mark.parametrize("expr", ["a and", "(a or b", "not", "a b )"])
def test_k_expressions_that_do_not_parse_are_refused(expr):
    with pytest.raises(ValueError):
        registry.matcher(expr)


# ---- the runner against a fake target

def run(ids, defect=None, expected=None):
    with FakeTarget(defect) as t:
        factory = runner.ContextFactory(driver.Target(t.host, t.port, t.iqn), timeout=3.0)
        cases = {c.id: c for c in registry.all_cases()}
        results = {i: runner.run_case(cases[i], factory, expected or {}) for i in ids}
        assert not t.errors, t.errors
    return results


SHOWN = ["LOGIN-001", "LOGIN-002", "LOGIN-003", "LOGIN-018", "FFP-001", "FFP-005", "FFP-010"]


def test_a_target_that_keeps_the_rules_passes():
    results = run(SHOWN)
    assert {i: r.outcome for i, r in results.items()} == {i: "passed" for i in SHOWN}, \
        {i: r.message for i, r in results.items()}


@pytest.mark.parametrize("defect, failing", [
    ("itt", ["LOGIN-003"]),
    ("version", ["LOGIN-001", "LOGIN-002"]),
    ("window", ["FFP-005"]),
    ("stat_sn", ["FFP-001"]),
    ("ping_data", ["FFP-010"]),
])
def test_each_broken_rule_fails_the_test_that_checks_it(defect, failing):
    results = run(failing, defect)
    for i in failing:
        assert results[i].outcome == "failed", (i, results[i].outcome, results[i].message)
        assert results[i].message


def test_key_tests_fail_against_a_target_that_takes_any_offer():
    # The fake target echoes every key it is offered: an obsolete key, an offer beyond the
    # legal range. The edge-of-range offers it echoes are right.
    ids = {"KEY-003": "passed", "KEY-004": "failed", "KEY-017": "failed", "KEY-019": "passed"}
    results = run(list(ids))
    assert {i: r.outcome for i, r in results.items()} == ids, \
        {i: r.message for i, r in results.items()}


def test_expected_failures_are_reported_as_such_and_a_listed_pass_fails_the_run():
    results = run(["FFP-010", "LOGIN-001"], "ping_data",
                  expected={"FFP-010": "reverses ping data", "LOGIN-001": "not true"})
    assert results["FFP-010"].outcome == "xfailed"
    assert "reverses ping data" in results["FFP-010"].message
    assert results["LOGIN-001"].outcome == "xpassed"
    assert not runner.ok(list(results.values()))


def test_junit_has_one_testcase_per_id_with_section_and_verdict():
    results = list(run(["FFP-010", "LOGIN-001"], "ping_data",
                       expected={"LOGIN-001": "x"}).values())
    suite = ET.fromstring(runner.junit_xml(results, "conformance.fake", 1.0))
    assert suite.get("tests") == "2" and suite.get("failures") == "2"
    cases = {c.get("name"): c for c in suite}
    assert cases["FFP-010"].find("failure") is not None
    props = {p.get("name"): p.get("value") for p in cases["FFP-010"].find("properties")}
    assert props["section"] == "11.19"


def test_a_test_needing_what_the_run_lacks_is_skipped_with_why():
    results = run(["FFP-012"])
    assert results["FFP-012"].outcome == "skipped"
    assert "nop-in" in results["FFP-012"].message


def test_expected_lists_parse_and_need_a_reason(tmp_path):
    for path in runner.EXPECTED_DIR.glob("*.txt"):
        ids = {c.id for c in registry.all_cases()}
        for test_id in runner.load_expected(path):
            assert test_id in ids, f"{path.name}: {test_id} is not a test"
    bad = tmp_path / "bad.txt"
    bad.write_text("FFP-010\n")
    with pytest.raises(ValueError, match="reason"):
        runner.load_expected(bad)


# ---- the CLI

def test_cli_list_prints_one_test_a_line(capsys):
    from iscsilab.cli import parser
    args = parser().parse_args(["conformance", "list", "-k", "LOGIN-00"])
    assert args.func(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 9 and lines[0].split()[:2] == ["LOGIN-001", "11.13.1"]


def test_cli_run_against_a_portal_writes_junit_and_fails_on_a_broken_rule(tmp_path, capsys):
    from iscsilab.cli import parser
    with FakeTarget("ping_data") as t:
        args = parser().parse_args(["conformance", "run", "--portal", f"{t.host}:{t.port}",
                                    "--target-iqn", t.iqn, "--name", "fake", "--out",
                                    str(tmp_path), "-k", "FFP-010 or LOGIN-001",
                                    "--timeout", "3"])
        assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "FAIL  FFP-010" in out and "PASS  LOGIN-001" in out
    assert "fake: 2 tests, 1 passed, 1 failed" in out
    suite = ET.parse(tmp_path / "conformance-fake.xml").getroot()
    assert suite.get("name") == "conformance.fake" and suite.get("tests") == "2"
    assert "FFP-010" in (tmp_path / "conformance-fake.log").read_text()


def test_cli_run_refuses_a_portal_without_an_iqn(capsys):
    from iscsilab.cli import parser
    args = parser().parse_args(["conformance", "run", "--portal", "127.0.0.1:3260"])
    assert args.func(args) == 2
    assert "--target-iqn" in capsys.readouterr().err


# ---- table-driven shapes, --target lio,tgtd, CHAP credentials

def test_rows_of_a_shape_register_one_test_each_with_their_own_fields():
    cases = {c.id: c for c in registry.all_cases()}
    assert cases["KEY-004"].section == "13.13" and "16777215" in cases["KEY-004"].requirement
    assert cases["LOGIN-035"].level == "SHOULD"
    assert cases["TMF-007"].section == "11.6.1"
    # the login tests that build AuthMethod=None by hand are skipped by a --chap run
    assert "no-auth" in cases["LOGIN-010"].needs and "no-auth" not in cases["LOGIN-001"].needs


def test_a_refusal_row_fails_when_the_target_takes_the_login():
    # The fake target accepts every version range: LOGIN-002 (a Refusal row) must fail.
    results = run(["LOGIN-002"], "version")
    assert results["LOGIN-002"].outcome == "failed", results["LOGIN-002"].message


def test_diff_table_names_the_side_that_follows_the_rfc():
    from iscsilab.conformance import commands
    cases = [c for c in registry.all_cases() if c.id in ("FFP-010", "FFP-014", "LOGIN-001",
                                                        "ERL-001")]
    table = commands.diff_table(cases, {
        "lio": {"FFP-010": "passed", "FFP-014": "xfailed", "LOGIN-001": "passed",
                "ERL-001": "passed"},
        "tgtd": {"FFP-010": "failed", "FFP-014": "xfailed", "LOGIN-001": "passed",
                 "ERL-001": "skipped"}})
    rows = {line.split()[0]: line for line in table[1:]}
    assert set(rows) == {"FFP-010", "ERL-001"}
    assert "  lio  " in rows["FFP-010"] or rows["FFP-010"].split("  ")[-2].strip() == "lio"
    assert "not comparable (tgtd skipped)" in rows["ERL-001"]
    assert commands.diff_table(cases[:1], {"a": {}, "b": {}}) == ["no test differs"]


def test_a_chap_secret_never_prints_unless_shown():
    from iscsilab.conformance.chap import Credentials, Secret, chap_response
    creds = Credentials.parse("u:s3cret-value", "t:other-value")
    text = f"{creds} {creds!r} {creds.secret} {[creds]} {creds.shown()}"
    assert "s3cret-value" not in text and "other-value" not in text
    assert creds.shown(reveal=True) == "u:s3cret-value, target t:other-value"
    with pytest.raises(ValueError) as e:
        Credentials.parse("no-colon-secret")
    assert "no-colon-secret" not in str(e.value)
    # RFC 1994: MD5 over the identifier byte, the secret and the challenge
    import hashlib
    assert chap_response(7, Secret("abc"), b"\x01\x02") == hashlib.md5(b"\x07abc\x01\x02").digest()
    s = Secret("wipe me")
    s.wipe()
    assert s.reveal() == bytes(7)


def test_cli_refuses_chap_without_a_portal_and_an_unknown_target(capsys):
    from iscsilab.cli import parser
    args = parser().parse_args(["conformance", "run", "--target", "tgtd", "--chap", "u:s"])
    assert args.func(args) == 2
    args = parser().parse_args(["conformance", "run", "--target", "lio,nvmet"])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "--chap is for --portal" in err and "not 'lio,nvmet'" in err


def test_target_lio_tgtd_runs_each_and_prints_where_they_differ(tmp_path, capsys, monkeypatch):
    import subprocess
    from iscsilab.cli import parser
    seen = []

    def fake_run(argv, check=False):
        target = argv[argv.index("--target") + 1]
        seen.append(target)
        outcome = {"lio": "passed", "tgtd": "xfailed"}[target]
        Path(argv[argv.index("--results") + 1]).write_text(
            f"FFP-010 {outcome}\nLOGIN-001 passed\n")
        return subprocess.CompletedProcess(argv, 0)

    from pathlib import Path
    monkeypatch.setattr(subprocess, "run", fake_run)
    args = parser().parse_args(["conformance", "run", "--target", "lio,tgtd", "-k",
                                "FFP-010 or LOGIN-001", "--out", str(tmp_path)])
    assert args.func(args) == 0
    assert seen == ["lio", "tgtd"]
    out = capsys.readouterr().out
    assert "where lio and tgtd differ (1 tests)" in out
    row = [line for line in out.splitlines() if line.startswith("FFP-010")][0]
    assert "passed" in row and "xfailed" in row and " lio " in row
    assert "FFP-010" in (tmp_path / "conformance-diff.txt").read_text()
