"""The fuzz target for the LIO fuzzer's reproducer files (fuzz/python/fuzz_liofuzz_program.py)
in the gate: every file of fuzz/corpus/liofuzz_program/ and the reproducers in fuzz/lio/, then a
fixed number of derandomized mutations."""
import importlib.util
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[3]
spec = importlib.util.spec_from_file_location(
    "fuzz_liofuzz_program", TOP / "fuzz" / "python" / "fuzz_liofuzz_program.py")
target = importlib.util.module_from_spec(spec)
spec.loader.exec_module(target)

LIO = TOP / "fuzz" / "lio"
FILES = sorted((TOP / "fuzz" / "corpus" / "liofuzz_program").iterdir()) + \
    sorted(LIO.glob("*.repro")) + sorted(LIO.glob("*.repro.gz"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_and_committed_reproducers_load(path):
    from iscsilab.liofuzz.program import dumps, load
    text = dumps(load(path))                        # they are programs, not errors
    target.check_one(text)


def test_three_hundred_derandomized_mutations_of_reproducers():
    assert target.run(300, derandomize=True) == 300
