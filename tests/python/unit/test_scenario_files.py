"""The scenario library and its documents stay true (no VM): every file in scenarios/ validates,
the reference page and the JSON Schema for editors are what the schema module makes today, and
the schema file is a valid JSON Schema that accepts the library's files."""
import json
from pathlib import Path

import pytest
import yaml

from iscsilab.scenario import reference, schema
from iscsilab.scenario.load import is_scenario_file, load_file

TOP = Path(__file__).resolve().parents[3]
SCENARIOS = TOP / "scenarios"
FILES = sorted(p for p in SCENARIOS.rglob("*.yaml") if is_scenario_file(p))


def test_the_library_is_there():
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_every_scenario_file_validates(path):
    cells = load_file(path)
    assert cells and all(c.steps for c in cells)


def test_the_default_set_has_a_scenario_for_each_job_of_the_issue():
    tags = {t for p in FILES for c in load_file(p) for t in c.tags if "default" in c.tags}
    for needed in ("login", "nop", "timers", "rescan", "errors", "tmf", "guard", "integrity", "scale"):
        assert needed in tags


def test_reference_page_is_current():
    committed = (SCENARIOS / "REFERENCE.md").read_text()
    assert committed == reference.markdown(), \
        "scenarios/REFERENCE.md is stale: ./iscsilab schema --markdown > scenarios/REFERENCE.md"


def test_schema_json_is_current_and_accepts_the_library():
    from jsonschema import Draft202012Validator
    committed = json.loads((SCENARIOS / "schema.json").read_text())
    assert committed == json.loads(json.dumps(schema.full_schema())), \
        "scenarios/schema.json is stale: ./iscsilab schema > scenarios/schema.json"
    Draft202012Validator.check_schema(committed)
    validator = Draft202012Validator(committed)
    for path in FILES:
        # Placeholders (${...}) stand for values only the matrix gives; editors see the template.
        data = yaml.safe_load(path.read_text())
        errors = [e for e in validator.iter_errors(data) if "${" not in json.dumps(e.instance)]
        assert not errors, f"{path.name}: {errors[0].message}"


def test_every_step_kind_and_expect_subject_is_documented():
    page = reference.markdown()
    for kind in schema.STEPS:
        assert f"### {kind}" in page
    for subject in schema.EXPECT_SUBJECTS:
        assert f"`{subject}`" in page
