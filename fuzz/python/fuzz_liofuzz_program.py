#!/usr/bin/python3
"""Fuzz target for the LIO fuzzer's reproducer files: iscsilab.liofuzz.program.loads on mutated
reproducers, built with Hypothesis (as fuzz_scenario_input.py; libFuzzer needs C).

Seeds are the files in fuzz/corpus/liofuzz_program/; each example mutates one (characters
inserted, deleted, replaced or duplicated, from an alphabet of what the format is made of).
Invariants:
- loads returns a Program or raises ProgramError, never any other exception;
- the error starts with the file name, and "file:line: " when a line is to blame;
- a program that loads dumps to text that loads back to the same steps.

    fuzz/python/fuzz_liofuzz_program.py --seconds 600       a campaign (fresh randomness)
    pytest tests/python/unit/test_fuzz_liofuzz_program.py    the gate (derandomized)
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "target-lab"))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from iscsilab.liofuzz.program import ProgramError, dumps, loads  # noqa: E402

SOURCE = "fuzz.repro"
CORPUS = TOP / "fuzz" / "corpus" / "liofuzz_program"
SEED_TEXTS = [p.read_text() for p in sorted(CORPUS.iterdir())]
POSITION = re.compile(r"^fuzz\.repro(:\d+)?: ")
ALPHABET = " \n\t#=,.-0123456789abcdefABCDEFxg\u00e9\0"
WORDS = ["send", "recv", "connect", "close", "sleep", "fix=", "tsih", "ttt", "r2t",
         "exp_stat_sn", "iscsilab-liofuzz", "1", "2", "64", "1e9", "nan", "-0", "0x10"]


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(SEED_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, max(0, len(text) - 1)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "word"]))
        piece = draw(st.text(alphabet=ALPHABET, min_size=1, max_size=3))
        if op == "insert":
            text = text[:i] + piece + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 40)):]
        elif op == "replace":
            text = text[:i] + piece + text[i + len(piece):]
        elif op == "duplicate":
            j = draw(st.integers(i, min(len(text), i + 200)))
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + draw(st.sampled_from(WORDS)) + text[i:]
    return text


FINDINGS = TOP / "build" / "fuzz-findings" / "fuzz_liofuzz_program"


def check_one(text: str) -> None:
    try:
        try:
            prog = loads(text, SOURCE)
        except ProgramError as exc:
            assert POSITION.match(str(exc)), f"error without the file (and line): {exc!s}"
            return
        back = loads(dumps(prog), SOURCE)
        assert [s.line() for s in back.steps] == [s.line() for s in prog.steps]
    except BaseException:
        import hashlib
        FINDINGS.mkdir(parents=True, exist_ok=True)
        name = "crash-" + hashlib.sha1(text.encode()).hexdigest()[:16] + ".repro"
        (FINDINGS / name).write_text(text)
        raise


def run(examples: int, derandomize: bool) -> int:
    count = 0

    @settings(max_examples=examples, derandomize=derandomize, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(mutated())
    def target(text):
        nonlocal count
        count += 1
        check_one(text)

    target()
    return count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--examples", type=int, default=10 ** 9)
    args = ap.parse_args()
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < args.seconds and n < args.examples:
        n += run(min(1000, args.examples - n), derandomize=False)
    took = time.monotonic() - t0
    print(f"stat::number_of_executed_units: {n}")
    print(f"stat::average_exec_per_sec: {n / took:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
