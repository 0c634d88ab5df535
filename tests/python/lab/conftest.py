"""The real-VM tests share one lab per session, described by lab.yaml next to this file."""
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
