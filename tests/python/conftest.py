"""The Python tests: target-lab/ is importable and the lab fixtures are registered by the
repository's top-level conftest.py (pytest takes `pytest_plugins` only from there)."""
