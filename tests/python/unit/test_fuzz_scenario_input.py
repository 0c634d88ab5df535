"""The fuzz target for scenario input (fuzz/python/fuzz_scenario_input.py) as part of the gate:
every regression input in fuzz/corpus/scenario_input/ replayed, then a fixed number of
derandomized examples, so the same commit always gets the same verdict. Campaigns with fresh
randomness run the script itself (`--seconds N`)."""
import importlib.util
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[3]
spec = importlib.util.spec_from_file_location(
    "fuzz_scenario_input", TOP / "fuzz" / "python" / "fuzz_scenario_input.py")
target = importlib.util.module_from_spec(spec)
spec.loader.exec_module(target)


@pytest.mark.parametrize("path", sorted((TOP / "fuzz" / "corpus" / "scenario_input").iterdir()),
                         ids=lambda p: p.name)
def test_regression_inputs_load_or_fail_in_words(path):
    text = path.read_text()
    target.check_one(text, text)


def test_three_hundred_derandomized_mutations_of_the_scenarios():
    assert target.run(300, derandomize=True) == 300
