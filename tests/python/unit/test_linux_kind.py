"""The `linux` initiator kind's pieces that need no VM: its kernel log lines as events, the
guest's I/O job writing the engine's block pattern (checked by the engine's own decoder), the
scenario loader's kinds and `when: {initiator: ...}`, and the side-by-side table."""
import os
import textwrap

import pytest

from iscsilab import _core
from iscsilab.initiator.linux import guest_io, kernel_events
from iscsilab.scenario.commands import parse_kinds
from iscsilab.scenario.compare import render, split_id
from iscsilab.scenario.load import ScenarioError, load_text
from iscsilab.errors import LabError
from test_scenario_load import HEAD  # the same small lab

NAMES = {number: name for number, name, _ in _core.conn_errors()}


# ---------------------------------------------------------------- kernel log lines
def test_a_nop_timeout_conn_error_is_our_code_22_and_starts_recovery():
    events = kernel_events.parse(12.5, " connection1:0: detected conn error (1022)", NAMES)
    assert [e["type"] for e in events] == ["conn_error", "recovery_started"]
    assert events[0]["conn_error"] == 22 and events[0]["conn_error_name"] == "ISCSI_ERR_NOP_TIMEDOUT"
    assert all(e["sid"] == 1 and e["stamp"] == 12.5 for e in events)


def test_a_tcp_close_is_code_20():
    (err, _) = kernel_events.parse(1.0, "connection3:0: detected conn error (1020)", NAMES)
    assert (err["sid"], err["conn_error_name"]) == (3, "ISCSI_ERR_TCP_CONN_CLOSE")


def test_ping_timeout_replacement_timeout_and_capacity_lines():
    (nop,) = kernel_events.parse(2.0, "connection2:0: ping timeout of 3 secs expired, recv "
                                      "timeout 2, last rx 4294, last ping 4295, now 4296")
    assert (nop["type"], nop["sid"]) == ("nop_timeout", 2)
    (tmo,) = kernel_events.parse(3.0, "session2: session recovery timed out after 4 secs")
    assert (tmo["type"], tmo["sid"]) == ("replacement_timeout", 2)
    (cap,) = kernel_events.parse(4.0, "sdb: detected capacity change from 131072 to 196608")
    assert (cap["type"], cap["disk"]) == ("capacity_changed", "sdb")


def test_other_lines_are_no_events():
    assert kernel_events.parse(1.0, "scsi host2: iSCSI Initiator over TCP/IP") == []
    assert kernel_events.parse(1.0, "connection1:0: detected conn error") == []


# ---------------------------------------------------------------- the guest's I/O job
@pytest.fixture
def disk(tmp_path):
    """A file that takes O_DIRECT (not tmpfs) standing in for the SCSI disk."""
    path = os.path.join(os.environ.get("ISCSILAB_DIRECT_DIR", "/var/tmp"),
                        f"linux-kind-{os.getpid()}.img")
    with open(path, "wb") as f:
        f.truncate(512 * 4096)
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_DIRECT))
    except OSError:
        os.unlink(path)
        pytest.skip("no file system here takes O_DIRECT")
    yield path
    os.unlink(path)


def run_job(dev, spec, count=4096):
    guest_io._load_core(_core.__file__)
    job = guest_io.Job(dev, spec, 512, 0, count)
    for t in job.threads:
        t.join(60)
    assert job.done()
    return job


def test_a_random_write_job_writes_the_engines_pattern_with_its_generations(disk):
    job = run_job(disk, {"op": "write", "io_size": 4096, "queue_depth": 4, "random": True,
                         "max_ios": 300, "writer_id": 7})
    recs = job.records
    assert len(recs) == 300 and all(r[6] for r in recs)
    assert job.summary["end_reason"] == "max_ios reached"
    assert sorted(r[3] & 0xFFFFFFFFFFFF for r in recs) == list(range(1, 301))
    assert all(r[3] >> 48 == 7 for r in recs)
    latest = {}
    for write, lba, blocks, gen, start, end, ok, err in sorted(recs, key=lambda r: r[5]):
        for b in range(lba, lba + blocks):
            latest[b] = gen
    with open(disk, "rb") as f:
        data = f.read()
    decoded = _core.decode_blocks(data, 512)
    for b, gen in latest.items():
        assert tuple(decoded[b]) == ("intact", b, gen)
    untouched = [b for b in range(4096) if b not in latest]
    assert all(decoded[b][0] == "unwritten" for b in untouched)


def test_a_one_pass_sequential_job_covers_the_region_once_in_order(disk):
    job = run_job(disk, {"op": "write", "io_size": 8192, "queue_depth": 2, "one_pass": True},
                  count=1000)
    lbas = sorted(r[1] for r in job.records)
    assert lbas == list(range(0, 1000, 16))
    assert sum(r[2] for r in job.records) == 1000      # the last command is the 8 blocks left
    assert job.summary["end_reason"] == "max_ios reached"


def test_a_device_that_cannot_be_opened_ends_the_job_saying_so(tmp_path):
    guest_io._load_core(_core.__file__)
    job = guest_io.Job(str(tmp_path / "missing"), {"op": "write", "max_ios": 3}, 512, 0, 64)
    for t in job.threads:
        t.join(10)
    assert job.records == [] and job.summary["end_reason"].startswith("cannot open")


# ---------------------------------------------------------------- the loader
def load(body, kinds=None):
    return load_text(HEAD + textwrap.dedent(body), "s.yaml", kinds)


BOTH = """\
    kinds: [iscsi-lab, linux]
    steps:
      - login: t0
      - wait: 1s
        when: {initiator: linux}
      - expect: {session: LOGGED_IN, within: 5s}
    """


def test_with_kinds_each_cell_runs_once_per_kind_it_is_written_for():
    cells = load(BOTH, ["iscsi-lab", "linux"])
    assert [c.id for c in cells] == ["s[initiator=iscsi-lab]", "s[initiator=linux]"]
    assert [c.initiators[0].kind for c in cells] == ["iscsi-lab", "linux"]
    assert [len(c.steps) for c in cells] == [2, 3]


def test_without_kinds_ids_are_unchanged_and_initiator_is_the_written_kind():
    (cell,) = load(BOTH)
    assert cell.id == "s" and cell.initiators[0].kind == "iscsi-lab" and len(cell.steps) == 2


def test_a_scenario_not_written_for_a_kind_has_no_cell_of_it():
    cells = load("steps: [{login: t0}]\n", ["iscsi-lab", "linux"])
    assert [c.id for c in cells] == ["s[initiator=iscsi-lab]"]


def test_when_initiator_names_a_kind_or_is_an_error_with_the_line():
    with pytest.raises(ScenarioError) as e:
        load("""\
            steps:
              - login: t0
              - wait: 1s
                when: {initiator: windows}
            """)
    assert "s.yaml:11:" in str(e.value) and "'windows' is not a kind" in str(e.value)


@pytest.mark.parametrize("text", ["linux,linux", "solaris", ","])
def test_bad_initiator_option(text):
    with pytest.raises(LabError):
        parse_kinds(text)


# ---------------------------------------------------------------- side by side
def record(cell, outcome, measured, passed=True):
    return {"cell": cell, "outcome": outcome, "failures": [] if outcome == "passed" else ["x"],
            "expectations": [{"index": "5", "text": "conn_error from cut within [2, 6] s",
                              "window": [2, 6], "measured": measured, "passed": passed}]}


def test_split_id():
    assert split_id("n[fault=freeze,initiator=linux]") == ("n[fault=freeze]", "linux")
    assert split_id("n[initiator=iscsi-lab]") == ("n", "iscsi-lab")
    assert split_id("n[fault=freeze]") == ("n[fault=freeze]", None)


def test_the_table_shows_each_kind_with_spread_and_lists_differences():
    text = render([record("n[initiator=iscsi-lab]", "passed", 4.0),
                   record("n[initiator=iscsi-lab]", "passed", 5.0),
                   record("n[initiator=linux]", "failed", 7.5, passed=False)])
    assert "4.50 s (4.00-5.00, n=2)" in text
    assert "7.50 s [1 failed]" in text
    assert "n: outcome iscsi-lab passed, linux failed" in text
    assert "met by iscsi-lab; not by linux" in text


def test_one_kind_gives_no_table():
    assert render([record("n[initiator=linux]", "passed", 1.0)]) == ""


def test_matrix_exclude_may_name_the_initiator_kind():
    body = """\
        kinds: [iscsi-lab, linux]
        matrix:
          fault: [link, alua]
          exclude:
            - {initiator: linux, fault: alua}
        steps: [{login: t0}]
        """
    assert [c.id for c in load(body, ["iscsi-lab", "linux"])] == [
        "s[fault=link,initiator=iscsi-lab]", "s[fault=alua,initiator=iscsi-lab]",
        "s[fault=link,initiator=linux]"]
    assert [c.id for c in load(body)] == ["s[fault=link]", "s[fault=alua]"]


# ---------------------------------------------------------------- fuzz: kernel log lines
from hypothesis import given, settings, strategies as st  # noqa: E402

KNOWN_LINES = [" connection1:0: detected conn error (1022)",
               "connection12:0: ping timeout of 3 secs expired, recv timeout 2, last rx 1",
               "session7: session recovery timed out after 4 secs",
               "device-mapper: multipath: 253:0: Failing path 8:16.",
               "sdb: detected capacity change from 131072 to 196608"]
TYPES = {"conn_error", "recovery_started", "nop_timeout", "replacement_timeout", "path_failed",
         "path_reinstated", "capacity_changed"}


@st.composite
def mutated_line(draw):
    line = draw(st.sampled_from(KNOWN_LINES))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(line)))
        line = line[:i] + draw(st.text(max_size=4)) + line[i + draw(st.integers(0, 3)):]
    return line


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.one_of(st.text(max_size=200), mutated_line()), st.floats(0, 1e6, allow_nan=False))
def test_fuzz_any_kernel_line_gives_known_events_or_none(text, stamp):
    """The guest's kernel log is input: any line gives well-formed events or nothing, never an
    exception (a conn error code outside the table has no name, not a crash)."""
    for e in kernel_events.parse(stamp, text, NAMES):
        assert e["type"] in TYPES and e["stamp"] == stamp
        assert ("sid" in e) or ("disk" in e) or ("dm" in e and "path" in e)
        assert isinstance(e["conn_error"], int) and isinstance(e["detail"], str)


def test_steps_for_one_kind_and_intervals_far_apart_are_listed():
    a = record("n[initiator=iscsi-lab]", "passed", 1.0)
    b = record("n[initiator=linux]", "passed", 3.0)
    b["expectations"].append({"index": "10", "text": "io load outcome failed error EIO",
                              "window": [0, 5], "measured": 4.2, "passed": True})
    text = render([a, b])
    assert "n step 10 (io load outcome failed error EIO): written for linux only" in text
    assert "iscsi-lab 1.00 s, linux 3.00 s (linux slower)" in text
    assert text.index("  5. conn_error") < text.index("  10. io load")     # run order, not text
    assert "intervals apart: none" in render([a, record("n[initiator=linux]", "passed", 1.5)])


def test_dm_path_states_from_the_kernels_multipath_status():
    from iscsilab.initiator.linux.driver import dm_path_states
    line = "0 131072 multipath 2 0 0 0 1 1 A 0 2 0 8:0 A 0 0 1 8:16 F 1 0 1"
    assert dm_path_states(line) == {"8:0": "active", "8:16": "failed"}
    assert dm_path_states("") == {}


def test_the_same_step_bounded_differently_per_kind_pairs_up_and_says_so():
    a = record("n[initiator=iscsi-lab]", "passed", 3.0)
    b = record("n[initiator=linux]", "passed", 6.2)
    b["expectations"][0].update(text="conn_error from cut within [2, 10] s", window=[2, 10])
    text = render([a, b])
    assert "3.00 s" in text.splitlines()[3] and "6.20 s" in text.splitlines()[3]
    assert "bounded differently, iscsi-lab [2, 6] s, linux [2, 10] s" in text


def test_negotiated_values_from_sysfs_read_as_ours():
    from iscsilab.initiator.linux.driver import _param
    assert _param("HeaderDigest", "1") == "CRC32C" and _param("DataDigest", "0") == "None"
    assert _param("InitialR2T", "0") == "No" and _param("ImmediateData", "1") == "Yes"
    assert _param("MaxBurstLength", "262144") == 262144 and _param("x", None) is None


def test_a_build_under_tmp_is_copied_where_the_guest_sees_it(tmp_path):
    """The guest has its own /tmp: a CI clone's _core.so there is copied into the cache
    (ci26 failed every Linux cell on it); a path the guest sees is used as it is."""
    from pathlib import Path
    from iscsilab.initiator.linux.driver import guest_visible
    so = tmp_path / "_core.so"
    so.write_bytes(b"one")
    cache = Path("/var/tmp") / f"iscsilab-test-cache-{os.getpid()}"
    try:
        first = guest_visible(so, cache)
        assert first.parent == cache / "guest-visible" and first.read_bytes() == b"one"
        assert guest_visible(so, cache) == first                   # the same content: reused
        so.write_bytes(b"two")
        second = guest_visible(so, cache)
        assert second != first and not first.exists() and second.read_bytes() == b"two"
        assert guest_visible(second, cache) == second              # not hidden: as it is
    finally:
        import shutil
        shutil.rmtree(cache, ignore_errors=True)
