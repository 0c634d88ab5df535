#!/usr/bin/python3
"""Fuzz target for scenario input: the scenario loader (iscsilab.scenario.load.load_text) on
mutated scenario files, built with Hypothesis (Debian's python3-hypothesis; libFuzzer needs C).

Seeds are the files in scenarios/; each example mutates one: characters inserted, deleted or
replaced in the text, or its YAML tree changed (values replaced by other types, keys dropped,
unknown keys added, lists emptied) and written back. Invariants:
- the loader returns cells or raises ScenarioError, never any other exception;
- the error names the file, and a position as file:line:column when it has one;
- no CHAP secret of the seed file appears in an error message.

    fuzz/python/fuzz_scenario_input.py --seconds 600     a campaign (fresh randomness)
    pytest tests/python/unit/test_fuzz_scenario_input.py  the gate (derandomized, fixed count)
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "target-lab"))

import yaml  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from iscsilab.scenario.load import ScenarioError, load_text  # noqa: E402

SOURCE = "fuzz.yaml"
SEEDS = sorted((TOP / "scenarios").rglob("*.yaml"))
SEED_TEXTS = [p.read_text() for p in SEEDS if p.name != "schema.json"]
SECRET = re.compile(r"password:\s*\"?([A-Za-z0-9_.-]{12,})")
POSITION = re.compile(r"^fuzz\.yaml(:\d+:\d+)?: ")

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False),
                    st.text(max_size=12), st.sampled_from(["${x}", "${case.name}", "1s", "nic0",
                                                          "t0", "0x0201", "CRC32C", "-1", "∞"]))


@st.composite
def text_mutation(draw, text: str) -> str:
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        piece = draw(st.text(alphabet=" \n\t:-[]{},#&*!|>'\"${}%@`0aZ", min_size=1, max_size=3))
        if op == "insert":
            text = text[:i] + piece + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 8)):]
        elif op == "replace":
            text = text[:i] + piece + text[i + len(piece):]
        else:
            j = draw(st.integers(i, min(len(text), i + 60)))
            text = text[:j] + text[i:j] + text[j:]
    return text


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, prefix + (i,))


@st.composite
def tree_mutation(draw, text: str) -> str:
    data = yaml.safe_load(text)
    for _ in range(draw(st.integers(1, 3))):
        all_paths = [p for p in paths(data) if p]
        if not all_paths:
            break
        path = draw(st.sampled_from(all_paths))
        parent = data
        for p in path[:-1]:
            parent = parent[p]
        op = draw(st.sampled_from(["value", "drop", "extra", "empty", "wrap"]))
        key = path[-1]
        if op == "value":
            parent[key] = draw(SCALARS)
        elif op == "drop":
            del parent[key]
        elif op == "extra" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(SCALARS)
        elif op == "empty":
            parent[key] = draw(st.sampled_from([{}, [], "", None]))
        elif op == "wrap":
            parent[key] = [parent[key]] if draw(st.booleans()) else {"x": parent[key]}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def scenario_input(draw) -> tuple[str, str]:
    seed = draw(st.sampled_from(SEED_TEXTS))
    mutate = draw(st.sampled_from([text_mutation, tree_mutation]))
    return seed, draw(mutate(seed))


FINDINGS = TOP / "build" / "fuzz-findings" / "fuzz_scenario_input"


def check_one(seed: str, text: str) -> None:
    try:
        try:
            load_text(text, SOURCE)
        except ScenarioError as exc:
            message = str(exc)
            assert POSITION.match(message), f"error without the file and position: {message!r}"
            for secret in SECRET.findall(seed):
                assert secret not in message, f"a secret in an error message: {message!r}"
    except BaseException:
        # Keep the input as a reproducer (fuzz/corpus/scenario_input/ takes it once fixed).
        import hashlib
        FINDINGS.mkdir(parents=True, exist_ok=True)
        name = "crash-" + hashlib.sha1(text.encode()).hexdigest()[:16] + ".yaml"
        (FINDINGS / name).write_text(text)
        raise


def run(examples: int, derandomize: bool) -> int:
    """Runs `examples` examples; returns how many ran. Raises on a finding (with the input)."""
    count = 0

    @settings(max_examples=examples, derandomize=derandomize, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(scenario_input())
    def target(case):
        nonlocal count
        count += 1
        check_one(*case)

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
        n += run(min(1000, args.examples - n), derandomize=False)   # fresh randomness each batch
    took = time.monotonic() - t0
    print(f"stat::number_of_executed_units: {n}")
    print(f"stat::average_exec_per_sec: {n / took:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
