"""pytest collects scenario files: one item per scenario and matrix cell, played by the same engine
as `iscsilab run` (execute.py), so `pytest scenarios/ -k nop`, `--junitxml` and pytest-xdist work
as pytest users expect. A scenario's tags become markers (`-m default`).

    pytest scenarios/                       every scenario file under scenarios/
    pytest scenarios/nop-timeout.yaml -k blackhole --scenario-out /tmp/r

Cells that declare the same lab share one booted guest, as with `iscsilab run` (items are
ordered so that they run one after another); each xdist worker boots its own. Reports (the
per-cell JSON and timeline, index.html) go to --scenario-out (default
build/reports/scenarios-pytest).
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from .load import ScenarioError, is_scenario_file, load_file


def pytest_addoption(parser):
    group = parser.getgroup("iscsilab scenarios")
    group.addoption("--scenario-out", help="reports of scenario items (default "
                                           "build/reports/scenarios-pytest)")


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix in (".yaml", ".yml") and is_scenario_file(file_path) \
            and "scenarios" in file_path.parts:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        try:
            cells = load_file(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        for cell in cells:
            item = ScenarioItem.from_parent(self, name=cell.id, cell=cell)
            for tag in cell.tags:
                marker = tag.replace("-", "_")
                self.config.addinivalue_line("markers", f"{marker}: scenario tag {tag}")
                item.add_marker(marker)
            yield item

    class CollectError(Exception):
        pass


class ScenarioFailed(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, cell, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell

    def runtest(self):
        from . import reports
        from .execute import run_cell
        from .runner import CellRun, slug
        state = _state(self.config)
        lab = state.pool.get(self.cell)
        rec, ctx = run_cell(self.cell, lab)
        out = state.out / slug(self.cell.id)
        run = CellRun(self.cell, 0, rec.to_json(), out)
        state.runs.append(run)
        if rec.outcome != "passed":
            reports.save_lab_evidence(run, lab)
        reports.write_cell(run)
        state.pool.after(self.cell, ctx, rec.outcome != "passed")
        for e in rec.expectations:
            measured = "-" if e.measured is None else f"{e.measured:.3f}"
            self.user_properties.append((f"step {e.index} {e.subject}", measured))
        if rec.outcome != "passed":
            raise ScenarioFailed("\n".join(rec.failures))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, (ScenarioFailed, ScenarioFile.CollectError)):
            return f"{self.cell.source}: {self.cell.id}\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"scenario {self.cell.id}"


class _State:
    def __init__(self, config):
        from .runner import DEFAULT_OUT, Display, LabPool
        out = config.getoption("--scenario-out")
        self.out = Path(out) if out else DEFAULT_OUT.with_name("scenarios-pytest")
        self.out.mkdir(parents=True, exist_ok=True)
        self.display = Display()
        self.pool = LabPool(self.display)
        self.runs = []
        self.t0 = time.monotonic()


_KEY = pytest.StashKey()


def _state(config) -> _State:
    if _KEY not in config.stash:
        config.stash[_KEY] = _State(config)
    return config.stash[_KEY]


def pytest_collection_modifyitems(session, config, items):
    # Cells with the same lab next to each other (stable otherwise), so one guest serves them.
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        if isinstance(item, ScenarioItem):
            first.setdefault(item.cell.lab_key, i)
    items.sort(key=lambda it: (first.get(it.cell.lab_key, 0) if isinstance(it, ScenarioItem) else -1))


def pytest_configure(config):
    config.addinivalue_line("markers", "default: in iscsilab's default scenario set")


def pytest_sessionfinish(session, exitstatus):
    if _KEY not in session.config.stash:
        return
    from . import reports
    state = session.config.stash[_KEY]
    state.display.close()
    state.pool.down()
    if state.runs:
        reports.write_run(state.runs, state.out, state.pool.stats, time.monotonic() - state.t0)
