"""iscsilab: a lab of real Linux LIO iSCSI targets in QEMU guests, provisioned through rtslib-fb.

Kept import-light on purpose: the guest agent imports this package under TCG, where every
import costs. The host API (Lab, load_config) is loaded on first use.
"""

__all__ = ["Lab", "LabConfig", "load_config", "LabError"]


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
