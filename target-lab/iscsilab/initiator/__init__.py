"""Our initiator (the compiled module iscsilab._core) run in a process inside a lab's network
namespace, where the lab's portals are, driven from the host with JSON lines: tests, scenarios
and timing experiments use it as they would use open-iscsi on a real host.

    with InitiatorProcess(lab, "iqn.2026-11.org.example:vm1") as ini:
        ini.login("a", target, "10.77.0.2:3260", isid="400000000001")
        ini.write("a", lba=0, blocks=8, seed=1); ini.verify("a", lba=0, blocks=8, seed=1)
"""
from .process import InitiatorProcess, RemoteError

__all__ = ["InitiatorProcess", "RemoteError"]
