"""pytest from the repository root: makes target-lab/ importable and registers iscsilab's two
plugins, the lab fixtures (`lab`, `libiscsi`) and the scenario collector (`pytest scenarios/`).
They live here because pytest only takes `pytest_plugins` from the top-level conftest."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "target-lab"))

pytest_plugins = ["iscsilab.pytest_plugin", "iscsilab.scenario.pytest_plugin"]
