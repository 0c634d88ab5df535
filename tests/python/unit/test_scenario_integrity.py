"""The integrity map tells a lost write, a stale block, a misplaced block, a corrupt block and a
block of another run apart, and lets a failed (unacknowledged) write go either way (no VM)."""
from iscsilab.scenario.integrity import IntegrityMap, generation_text

T = "iqn.2026-11.org.example:t0"
W1 = (1 << 48) | 1
W2 = (1 << 48) | 2
W3 = (1 << 48) | 3


def rec(lba, gen, start, end, ok=True, blocks=1):
    return [True, lba, blocks, gen, start, end, ok, "" if ok else "CHECK CONDITION"]


def check(m, lba, kind, found_lba, gen):
    return m.check_blocks(T, 0, lba, [[kind, found_lba, gen]])


def fresh(*records):
    m = IntegrityMap()
    m.record(T, 0, 512, list(records))
    return m


def test_the_last_acknowledged_write_is_what_must_be_there():
    m = fresh(rec(10, W1, 0, 10), rec(10, W2, 20, 30))
    assert check(m, 10, "intact", 10, W2) == []
    (p,) = check(m, 10, "intact", 10, W1)
    assert p.kind == "stale" and p.lba == 10 and p.expected == [W2] and p.found == W1
    assert "LBA 10" in str(p) and generation_text(W2) in str(p)


def test_an_acknowledged_write_that_vanished_is_lost_and_named_by_lba():
    m = fresh(rec(7, W1, 0, 10, blocks=2))
    (p,) = check(m, 8, "unwritten", 0, 0)
    assert p.kind == "lost" and p.lba == 8
    assert "t0 LUN 0 LBA 8: acknowledged write lost" in str(p)


def test_misplaced_and_corrupt_blocks():
    m = fresh(rec(3, W1, 0, 10))
    assert check(m, 3, "intact", 4, W1)[0].kind == "misplaced"
    assert check(m, 3, "corrupt", 3, W1)[0].kind == "corrupt"


def test_a_generation_this_scenario_never_wrote_is_foreign():
    m = fresh(rec(3, W1, 0, 10))
    assert check(m, 3, "intact", 3, (9 << 48) | 77)[0].kind == "foreign"


def test_a_failed_write_may_or_may_not_have_landed():
    m = fresh(rec(5, W1, 0, 10), rec(5, W2, 20, 30, ok=False))
    assert check(m, 5, "intact", 5, W1) == []        # it did not land
    assert check(m, 5, "intact", 5, W2) == []        # it did
    # ... unless an acknowledged write started after it ended: then that one must be there.
    m = fresh(rec(5, W1, 0, 10), rec(5, W2, 20, 30, ok=False), rec(5, W3, 40, 50))
    assert check(m, 5, "intact", 5, W2)[0].kind == "stale"


def test_overlapping_writes_either_may_win():
    m = fresh(rec(1, W1, 0, 30), rec(1, W2, 10, 20))
    assert check(m, 1, "intact", 1, W1) == [] and check(m, 1, "intact", 1, W2) == []


def test_only_failed_writes_allow_an_unwritten_or_older_block():
    m = fresh(rec(2, W1, 0, 10, ok=False))
    assert check(m, 2, "unwritten", 0, 0) == []
    assert check(m, 2, "intact", 2, (9 << 48) | 1) == []   # what an earlier scenario left
    assert m.acked == 0 and m.failed == 1


def test_blocks_never_written_are_not_judged_and_ranges_are_runs():
    m = fresh(rec(0, W1, 0, 1, blocks=4), rec(10, W2, 0, 1, blocks=2))
    assert m.check_blocks(T, 0, 4, [["unwritten", 0, 0]] * 6) == []
    assert m.luns[(T, 0)].ranges() == [(0, 4), (10, 12)]


def test_reads_in_the_records_do_not_count():
    m = IntegrityMap()
    m.record(T, 0, 512, [[False, 3, 1, 0, 0, 1, True, ""]])
    assert m.luns[(T, 0)].writes == {} and m.acked == 0
