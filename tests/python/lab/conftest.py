"""The real-VM tests share one lab per session, described by lab.yaml next to this file.

Tests marked on_demand are long experiments kept out of CI's time budget: they are deselected
(reported as such, never counted as passed or skipped) unless ISCSILAB_ON_DEMAND=1 is set."""
import os
from pathlib import Path

import pytest

from iscsilab.provision.config import load_config

LAB_FILE = Path(__file__).with_name("lab.yaml")

T0 = "iqn.2026-11.org.example:t0"
T1 = "iqn.2026-11.org.example:t1"
T2 = "iqn.2026-11.org.example:t2"


@pytest.fixture(scope="session")
def lab_config():
    return load_config(LAB_FILE)


def pytest_configure(config):
    config.addinivalue_line("markers", "own_labs: boots its own labs; runs before the session lab")
    config.addinivalue_line("markers", "on_demand: run only with ISCSILAB_ON_DEMAND=1 (not in CI)")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("ISCSILAB_ON_DEMAND") != "1":
        later = [item for item in items if item.get_closest_marker("on_demand")]
        if later:
            config.hook.pytest_deselected(items=later)
            items[:] = [item for item in items if not item.get_closest_marker("on_demand")]
    # Tests that boot their own labs run first, while the session lab is not up yet, so that at
    # most two VMs run at once (two only in the side-by-side test) on small CI machines.
    items.sort(key=lambda item: item.get_closest_marker("own_labs") is None)
