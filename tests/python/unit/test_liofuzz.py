"""The LIO network fuzzer's parts that need no target: the reproducer format (round trip and
errors that say where), minimization against a fake predicate, finding signatures, that the
generator is deterministic and that its mutators keep PDUs decodable where they mean to, and a
short campaign against a scripted fake target (no VM)."""
import random

import pytest

from _conformance_fake import FakeTarget, pdu_module
from iscsilab.liofuzz import detect, mutators, program as pg
from iscsilab.liofuzz.campaign import Campaign
from iscsilab.liofuzz.backends import PortalBackend
from iscsilab.liofuzz.generator import Settings, generate
from iscsilab.liofuzz.minimize import Budget, ddmin, minimize

SETTINGS = Settings("iqn.2026-12.org.example:t0")


# ---- the reproducer file

def test_a_program_round_trips_through_its_file(tmp_path):
    pdu_module()
    for n in range(40):
        prog, _kind = generate(random.Random(f"7:{n}"), SETTINGS)
        prog.comments = ["signature: kernel:warning:x", "seed 7 case %d" % n]
        path = tmp_path / f"{n}.repro"
        pg.save(prog, path)
        back = pg.load(path)
        assert [s.line() for s in back.steps] == [s.line() for s in prog.steps]
        assert back.comments == prog.comments


@pytest.mark.parametrize("text, where, what", [
    ("", "x.repro", "empty"),
    ("send 0 00\n", "x.repro:1", "expected 'iscsilab-liofuzz 1' first"),
    ("iscsilab-liofuzz 2\n", "x.repro:1", "expected 'iscsilab-liofuzz 1' first"),
    ("iscsilab-liofuzz 1\n\nfrob 0\n", "x.repro:3", "expected one of connect"),
    ("iscsilab-liofuzz 1\nsend 0 0g\n", "x.repro:2", "expected the bytes to send as hex"),
    ("iscsilab-liofuzz 1\nsend 0 00 fix=tsih,itt\n", "x.repro:2", "unknown fix 'itt'"),
    ("iscsilab-liofuzz 1\nsend 0 00 fox=tsih\n", "x.repro:2", "expected fix=NAME"),
    ("iscsilab-liofuzz 1\nrecv 0\n", "x.repro:2", "recv takes 2 arguments, got 1"),
    ("iscsilab-liofuzz 1\nrecv 0 nan\n", "x.repro:2", "outside"),
    ("iscsilab-liofuzz 1\nconnect 99\n", "x.repro:2", "a connection number '99' is outside"),
    ("iscsilab-liofuzz 1\nconnect x\n", "x.repro:2", "expected a connection number"),
    ("iscsilab-liofuzz 1\nsleep 1e9\n", "x.repro:2", "outside"),
])
def test_a_bad_reproducer_is_refused_with_its_place_and_what_was_expected(text, where, what):
    with pytest.raises(pg.ProgramError) as e:
        pg.loads(text, "x.repro")
    assert str(e.value).startswith(where + ":") or str(e.value).startswith(where)
    assert what in str(e.value)


def test_a_gzipped_reproducer_loads_and_a_broken_one_is_refused(tmp_path):
    import gzip
    good = tmp_path / "a.repro.gz"
    good.write_bytes(gzip.compress(b"iscsilab-liofuzz 1\nconnect 0\nclose 0\n"))
    assert [s.kind for s in pg.load(good).steps] == ["connect", "close"]
    again = tmp_path / "c.repro.gz"
    pg.save(pg.load(good), again)
    assert gzip.decompress(again.read_bytes()).startswith(b"iscsilab-liofuzz 1\n")
    bad = tmp_path / "b.repro.gz"
    bad.write_bytes(b"iscsilab-liofuzz 1\n")
    with pytest.raises(pg.ProgramError, match="b.repro.gz: not a gzip file"):
        pg.load(bad)


def test_a_reproducer_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "bin.repro"
    path.write_bytes(b"iscsilab-liofuzz 1\n\xff\xfe\n")
    with pytest.raises(pg.ProgramError, match="not UTF-8 text"):
        pg.load(path)


def test_random_text_never_escapes_the_parser_with_anything_but_program_error():
    rng = random.Random(3)
    alphabet = "iscsilab-liofuzz 1\nsendrecvconnectclosesleep fix=tsih,ttt 0123456789abcdef.#"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(80)))
        try:
            pg.loads("iscsilab-liofuzz 1\n" + text if rng.random() < 0.7 else text)
        except pg.ProgramError:
            pass


# ---- minimization

def _steps(n):
    return [pg.send(0, bytes([i])) for i in range(n)]


def test_ddmin_finds_the_two_steps_that_matter():
    steps = _steps(40)
    need = {steps[7].data, steps[31].data}
    calls = []

    def fails(cand):
        calls.append(1)
        return need <= {s.data for s in cand}

    small = ddmin(steps, fails, Budget(tries=500))
    assert {s.data for s in small} == need
    assert len(calls) < 200


def test_minimize_keeps_order_shortens_waits_and_respects_its_budget():
    steps = [pg.connect(0), pg.send(0, b"a"), pg.recv(0, 3.0), pg.send(0, b"b"),
             pg.recv(0, 3.0), pg.close(0)]
    prog = pg.Program(steps, ["signature: s"])

    def fails(p):
        sent = [s.data for s in p.steps if s.kind == "send"]
        return sent == [b"a", b"b"]

    small = minimize(prog, fails, Budget(tries=100))
    assert [s.kind for s in small.steps] == ["send", "send"]
    assert small.comments == ["signature: s"]
    budget = Budget(tries=3)
    minimize(prog, fails, budget)
    assert budget.used == 3


# ---- signatures

def test_kernel_signatures_ignore_addresses_numbers_and_process_names():
    a = ("[  12.345678] WARNING: CPU: 0 PID: 1234 at drivers/target/iscsi/iscsi_target.c:4321 "
         "iscsit_close_connection+0x52/0x7a0 [iscsi_target_mod]")
    b = ("[ 999.000001] WARNING: CPU: 1 PID: 77 at drivers/target/iscsi/iscsi_target.c:4399 "
         "iscsit_close_connection+0x60/0x7a0 [iscsi_target_mod]")
    excerpt_a = a + "\nCall Trace:\n iscsit_take_action_for_connection_exit+0x10/0x20"
    excerpt_b = b + "\nCall Trace:\n iscsit_take_action_for_connection_exit+0x44/0x20"
    sa = detect.kernel_signature("warning", excerpt_a, a)
    assert sa == detect.kernel_signature("warning", excerpt_b, b)
    assert sa.startswith("kernel:warning:WARNING:")
    assert sa.endswith(":iscsit_close_connection")
    other = detect.kernel_signature("bug", "BUG: kernel NULL pointer dereference, address: "
                                    "0000000000000010", "BUG: kernel NULL pointer dereference, "
                                    "address: 0000000000000010")
    assert other != sa
    kasan = "BUG: KASAN: slab-out-of-bounds in iscsit_foo+0x1/0x2"
    assert detect.kernel_signature("bug", kasan, kasan).startswith("kernel:kasan:")


def test_violation_signatures_group_by_rule_and_text_without_numbers():
    a = detect.violation_signature("[11.2 reserved] Reject: byte 2 is 0x17\nmore")
    b = detect.violation_signature("[11.2 reserved] Reject: byte 3 is 0x20")
    c = detect.violation_signature("[4.2.2.1 window] NOP-In: MaxCmdSN 3 < ExpCmdSN 9 - 1")
    assert a == b != c
    assert a.startswith("violation:11.2 reserved:")


def test_console_watch_reports_each_kernel_report_once(tmp_path):
    log = tmp_path / "console.log"
    log.write_text("boot\n")
    watch = detect.ConsoleWatch(log)
    watch.skip_to_end()
    assert watch.poll() == []
    with open(log, "a") as f:
        f.write("[ 5.0] BUG: unable to handle page fault for address: ffffa0\n[ 5.1] Oops: 0000\n"
                "[ 5.2] half a li")
    found = watch.poll()
    assert [f.kind for f in found] and all(f.kind == "kernel" for f in found)
    assert found[0].signature.startswith("kernel:bug:BUG: unable to handle page fault")
    assert watch.poll() == []


# ---- generator and mutators

def test_thousands_of_cases_generate_without_an_exception():
    pdu_module()
    corpus = [generate(random.Random(f"c:{n}"), SETTINGS)[0] for n in range(5)]
    for n in range(3000):
        generate(random.Random(f"many:{n}"), SETTINGS, corpus)


def test_generation_is_a_function_of_the_seed():
    pdu_module()
    a = [pg.dumps(generate(random.Random(f"5:{n}"), SETTINGS)[0]) for n in range(30)]
    b = [pg.dumps(generate(random.Random(f"5:{n}"), SETTINGS)[0]) for n in range(30)]
    assert a == b


def test_every_kind_of_case_comes_up_and_logins_come_first():
    pdu_module()
    kinds = set()
    for n in range(300):
        prog, kind = generate(random.Random(f"9:{n}"), SETTINGS)
        kinds.add(kind)
        if kind in ("ffp", "multi", "valid", "discovery"):
            first = prog.steps[1]
            assert first.kind == "send" and first.data[0] & 0x3F == 0x03  # a Login Request
    assert kinds == {"login", "ffp", "multi", "discovery", "bytes", "valid"}


def test_field_and_framing_safe_header_mutations_stay_decodable():
    pdu = pdu_module()
    rng = random.Random(11)
    for n in range(400):
        base = {"opcode": 0x01, "final_pdu": True, "read": True, "write": False, "attr": 1,
                "lun": 0, "itt": 5, "expected_data_transfer_length": 512, "cmd_sn": 9,
                "exp_stat_sn": 3, "cdb": bytes(16), "data": b"abc"}
        fields, changed = mutators.mutate_fields(rng, base, 2)
        try:
            wire = pdu.encode(fields)
        except pdu.PduError:
            continue            # a flag combination proto refuses: the generator skips it
        wire, name = mutators.mutate_header(rng, wire, framing=False)
        framer = pdu.Framer(False, 1 << 24)
        framer.feed(wire)
        got = None
        try:
            got = framer.next()
        except pdu.PduError:
            # The BHS is framable; only an opcode the codec does not know may be refused.
            assert name in ("opcode", "flags", "byte2", "byte3"), name
            continue
        assert got is not None and len(got[1]) == len(wire), (name, changed)


def test_data_segment_length_mutations_break_framing_on_purpose():
    pdu = pdu_module()
    wire = pdu.encode({"opcode": 0x00, "immediate": False, "lun": 0, "itt": 1,
                       "ttt": 0xFFFFFFFF, "cmd_sn": 1, "exp_stat_sn": 1, "data": b"abcd"})
    from iscsilab.conformance.driver import patch
    bad = patch(wire, {"data_segment_length": 8})
    framer = pdu.Framer(False, 8192)
    framer.feed(bad)
    assert framer.next() is None      # it waits for 4 more bytes that never come


def test_byte_mutation_changes_something_and_key_mutation_keeps_pairs():
    rng = random.Random(1)
    data = bytes(range(64))
    assert sum(mutators.mutate_bytes(rng, data) != data for _ in range(50)) >= 45
    pairs = [("InitiatorName", "iqn.x"), ("AuthMethod", "None")]
    for _ in range(100):
        out, done = mutators.mutate_keys(rng, pairs, 2)
        assert done and all(isinstance(k, str) and isinstance(v, str) for k, v in out)


# ---- a short campaign against the scripted fake target (no VM)

@pytest.mark.parametrize("jobs", [1, 3])
def test_a_campaign_against_a_fake_target_runs_and_writes_its_summary(tmp_path, jobs):
    pdu_module()
    with FakeTarget() as t:
        backend = PortalBackend(t.host, t.port, t.iqn)
        camp = Campaign(backend, tmp_path, seed=1, probe_every=1000, minimize_seconds=2,
                        hang_bound=3, jobs=jobs)
        stats = camp.run(cases=4)
    assert stats.cases == 4
    assert (tmp_path / "findings.json").exists()
    for path in (tmp_path / "findings").glob("*.repro"):
        pg.load(path)           # every saved reproducer parses


def test_the_known_findings_file_parses_and_a_line_without_reason_is_refused(tmp_path):
    from iscsilab.liofuzz.campaign import KNOWN_FILE, load_known
    known = load_known(KNOWN_FILE)
    assert all(sig.startswith(("kernel:", "violation:", "unresponsive:", "data:"))
               for sig in known)
    bad = tmp_path / "known.txt"
    bad.write_text("# c\nkernel:warning:x  # why\nkernel:bug:y\n")
    with pytest.raises(ValueError, match=r"known.txt:3: expected 'SIGNATURE  # reason'"):
        load_known(bad)


def test_a_batch_finding_is_traced_to_the_case_that_shows_it_alone(tmp_path):
    backend = PortalBackend("127.0.0.1", 1, "iqn.2026-12.org.example:t0")
    camp = Campaign(backend, tmp_path, seed=1, minimize_seconds=5, jobs=3)
    window = [pg.Program([pg.send(0, bytes([i]))]) for i in range(3)]
    culprit = window[1].steps[0].data
    camp.reproduces = lambda p, f, reboot: any(s.data == culprit for s in p.steps)
    f = detect.Finding("kernel", "kernel:bug:BUG: x", "BUG: x")
    camp.handle(f, window, 7)
    whole = pg.load(next((tmp_path / "findings").glob("kernel-*[0-9a-f].repro")))
    small = pg.load(next((tmp_path / "findings").glob("kernel-*.min.repro")))
    assert len(whole.steps) == 3
    assert [s.data for s in small.steps] == [culprit]
    assert "reproduces alone" in small.comments
    # A kernel report during one case, caused by an earlier one: found among the last cases.
    earlier = [pg.Program([pg.send(0, bytes([0x40 + i]))]) for i in range(9)]
    camp.history = [(0.0, p) for p in earlier]
    cause = earlier[6].steps[0].data
    camp.reproduces = lambda p, f, reboot: any(s.data == cause for s in p.steps)
    g = detect.Finding("kernel", "kernel:bug:BUG: y", "BUG: y")
    camp.handle(g, [earlier[-1]], 9)
    hist = pg.load(next((tmp_path / "findings").glob("kernel-*.history.repro.gz")))
    assert len(hist.steps) == 9
    small_y = [pg.load(p) for p in (tmp_path / "findings").glob("kernel-*.min.repro")
               if "BUG: y" in pg.load(p).comments[0]][0]
    assert [s.data for s in small_y.steps] == [cause]
    # None of them alone: saved, not minimized.
    camp.reproduces = lambda p, f, reboot: False
    h = detect.Finding("kernel", "kernel:bug:BUG: z", "BUG: z")
    camp.handle(h, [earlier[-1]], 10)
    small_z = [pg.load(p) for p in (tmp_path / "findings").glob("kernel-*.min.repro")
               if "BUG: z" in pg.load(p).comments[0]][0]
    assert "no single case of the last 6 shows it alone: not minimized" in small_z.comments
    camp.handle(f, window, 8)                # the same signature again: counted, not saved
    assert camp.stats.unique == {"kernel:bug:BUG: x": 2, "kernel:bug:BUG: y": 1,
                                 "kernel:bug:BUG: z": 1}


def test_each_task_of_a_case_gets_its_own_itt():
    pdu = pdu_module()
    from iscsilab.liofuzz.generator import Builder
    b = Builder(random.Random(1), SETTINGS)
    b.itt = 0xFFFFFFFD
    assert [b.next_itt() for _ in range(3)] == [0xFFFFFFFE, 0, 1]
    checked = 0
    for n in range(300):
        prog, kind = generate(random.Random(f"3:{n}"), SETTINGS)
        if kind != "valid":
            continue
        checked += 1
        tasks = [pdu.decode(s.data)[0] for s in prog.steps if s.kind == "send"]
        itts = [t["itt"] for t in tasks if t["opcode"] in (0x00, 0x01, 0x02, 0x04, 0x06)]
        assert len(itts) == len(set(itts)), itts
    assert checked


def test_the_executor_logs_in_with_fixes_and_a_nop_ping_is_answered():
    pdu_module()
    from iscsilab.conformance.driver import Target
    from iscsilab.liofuzz.executor import Executor
    from iscsilab.liofuzz.generator import Builder
    with FakeTarget() as t:
        b = Builder(random.Random(2), Settings(t.iqn))
        b.cmd_sn = 1
        b.login(0)
        b.emit(0, b.nop_pdu(b"ping"))
        prog = pg.Program(b.steps + [pg.close(0)])
        ex = Executor(Target(t.host, t.port, t.iqn))
        out = ex.run(pg.loads(pg.dumps(prog)))          # as a saved reproducer would run
        assert out.full_feature == 1
        assert out.received == 3                        # two Login Responses, the NOP-In
        assert out.violations == [] and out.closed_by_target == 0
        assert t.errors == []


def test_fuzz_cases_rebuilds_what_a_run_generated(tmp_path):
    pdu_module()
    from iscsilab.cli import parser
    out = tmp_path / "c.repro"
    args = parser().parse_args(["fuzz", "cases", "--seed", "9", "3", "4", "--target-iqn",
                                SETTINGS.target_iqn, "--out", str(out)])
    assert args.func(args) == 0
    want = [s.line() for n in (3, 4) for s in generate(random.Random(f"9:{n}"), SETTINGS)[0].steps]
    assert [s.line() for s in pg.load(out).steps] == want
