"""iscsilab: a lab of real Linux LIO iSCSI targets in QEMU guests, provisioned through rtslib-fb.

Kept import-light on purpose: the guest agent imports this package under TCG, where every
import costs. The host API (Lab, load_config) is loaded on first use.
"""

import os as _os

__all__ = ["Lab", "LabConfig", "load_config", "LabError"]

# The compiled initiator (iscsilab._core) is built into <build>/python/iscsilab/, not into this
# source tree: look there too. ISCSILAB_BUILD_DIR names that folder; default build/default's.
__path__.append(_os.environ.get("ISCSILAB_BUILD_DIR") or _os.path.join(
    _os.path.dirname(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))),
    "build", "default", "python", "iscsilab"))


def __getattr__(name):
    if name == "Lab":
        from .lab import Lab
        return Lab
    if name in ("LabConfig", "load_config"):
        from .provision import config
        return getattr(config, name)
    if name == "LabError":
        from .errors import LabError
        return LabError
    raise AttributeError(name)
