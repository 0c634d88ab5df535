"""pytest set-up for the Python tests: makes target-lab/ importable and loads the lab fixtures."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "target-lab"))

pytest_plugins = ["iscsilab.pytest_plugin"]
