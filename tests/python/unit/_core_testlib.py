"""Shared by tests/python/unit/test_core_*.py: the compiled module (a missing build FAILS the
tests, it does not skip them) and a tgtd on loopback (iscsilab.peers.tgtd)."""
import pytest

from iscsilab.peers.tgtd import Tgtd, unavailable_reason

BUILD_HINT = "build first: cmake --preset default && cmake --build --preset default"

# Sessions in these tests never wait for pings, nor retry a login that cannot succeed.
FAST = {"node.conn[0].timeo.noop_out_interval": 0, "node.session.initial_login_retry_max": 0}


def core():
    try:
        from iscsilab import _core
    except ImportError as e:
        pytest.fail(f"iscsilab._core is not importable ({e}); {BUILD_HINT} "
                    "(or point ISCSILAB_BUILD_DIR at <build>/python/iscsilab)", pytrace=False)
    return _core


def tgtd(**kw) -> Tgtd:
    reason = unavailable_reason()
    if reason:
        pytest.fail(reason, pytrace=False)
    return Tgtd(**kw)
