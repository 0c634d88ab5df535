"""Host side of provisioning: turns a LabConfig into guest agent requests and offers the live
operations (LUN add/remove, resize, TPG enable, portals, attributes, saveconfig round trip).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from ..agent.client import AgentClient
from .config import Backstore, LabConfig


class Provisioner:
    def __init__(self, agent: AgentClient, guest_ips: dict[str, str]):
        self.agent = agent
        self.guest_ips = guest_ips  # nic name -> guest address on that NIC
        # What LIO serves now, as far as this object changed it: {(target, tag): {"enable":
        # bool, "portals": [(ip, port), ...]}}; listeners are called after each change (the
        # lab's iSNS server registers LIO's portals again).
        self.live: dict[tuple[str, int], dict] = {}
        self.listeners: list[Callable[[], None]] = []

    def track(self, config: LabConfig) -> None:
        """Sets `live` from the config LIO was provisioned with (at boot or by apply)."""
        self.live = {(t.name, tpg.tag): {"enable": tpg.enable,
                                         "portals": [(self.guest_ips[p.nic], p.port) for p in tpg.portals]}
                     for t in config.targets for tpg in t.tpgs}
        self._changed()

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def wire(self, config: LabConfig) -> dict:
        """The config as the guest agent takes it: portals resolved, secrets in plain fields."""
        def auth(a):
            return a.to_wire() if a else None
        targets = []
        for t in config.targets:
            tpgs = []
            for tpg in t.tpgs:
                tpgs.append({
                    "tag": tpg.tag, "enable": tpg.enable,
                    "portals": [{"ip": self.guest_ips[p.nic], "port": p.port} for p in tpg.portals],
                    "attributes": tpg.attributes, "parameters": tpg.parameters,
                    "auth": auth(tpg.auth),
                    "luns": [{"lun": l.lun, "backstore": asdict(l.backstore),
                              "alua_group": l.alua_group} for l in tpg.luns],
                    "acls": [{"initiator": a.initiator, "auth": auth(a.auth),
                              "mapped_luns": None if a.mapped_luns is None else [asdict(m) for m in a.mapped_luns]}
                             for a in tpg.acls],
                })
            targets.append({"name": t.name, "tpgs": tpgs})
        return {"targets": targets, "discovery_auth": auth(config.discovery_auth)}

    def apply(self, config: LabConfig) -> dict:
        applied = self.agent.call("lio.apply", timeout=180, **self.wire(config))
        self.track(config)
        return applied

    def add_lun(self, target: str, lun: int, backstore: Backstore, tag: int = 1) -> None:
        self.agent.call("lio.add_lun", target=target, tag=tag, lun=lun, backstore=asdict(backstore))

    def remove_lun(self, target: str, lun: int, tag: int = 1, delete_backstore: bool = True) -> None:
        self.agent.call("lio.remove_lun", target=target, tag=tag, lun=lun,
                        delete_backstore=delete_backstore)

    def resize(self, backstore: str, size: int) -> int:
        """Grows a block backstore live; returns the size the guest's loop device now has."""
        return self.agent.call("lio.resize", backstore=backstore, size=size)["size"]

    def tpg_enable(self, target: str, enable: bool, tag: int = 1) -> None:
        self.agent.call("lio.tpg_enable", target=target, tag=tag, enable=enable)
        if (target, tag) in self.live:
            self.live[(target, tag)]["enable"] = enable
            self._changed()

    def portal(self, target: str, nic: str, add: bool, port: int = 3260, tag: int = 1) -> None:
        self.agent.call("lio.portal", target=target, tag=tag, ip=self.guest_ips[nic], port=port, add=add)
        tpg = self.live.setdefault((target, tag), {"enable": True, "portals": []})
        where = (self.guest_ips[nic], port)
        if add and where not in tpg["portals"]:
            tpg["portals"].append(where)
        elif not add and where in tpg["portals"]:
            tpg["portals"].remove(where)
        self._changed()

    def acl_add(self, target: str, acl, tag: int = 1) -> None:
        """Adds a node ACL (a config.Acl) to a running TPG."""
        self.agent.call("lio.acl", target=target, tag=tag, add={
            "initiator": acl.initiator, "auth": acl.auth.to_wire() if acl.auth else None,
            "mapped_luns": None if acl.mapped_luns is None else [asdict(m) for m in acl.mapped_luns]})

    def acl_remove(self, target: str, initiator: str, tag: int = 1) -> None:
        self.agent.call("lio.acl", target=target, tag=tag, remove=initiator)

    def alua_state(self, backstore: str, group: str, state: str, transition_ms: int = 0) -> None:
        """Moves an ALUA target port group of `backstore` to `state` (active/optimized,
        active/non-optimized, standby, unavailable, offline), through `transitioning` for
        transition_ms first."""
        self.agent.call("lio.alua_state", backstore=backstore, group=group, state=state,
                        transition_ms=transition_ms, timeout=60 + transition_ms / 1000)

    def set_attributes(self, target: str, settings: dict, tag: int = 1) -> None:
        self.agent.call("lio.set", target=target, tag=tag, kind="attribute",
                        settings={k: str(v) for k, v in settings.items()})

    def set_parameters(self, target: str, settings: dict, tag: int = 1) -> None:
        self.agent.call("lio.set", target=target, tag=tag, kind="parameter",
                        settings={k: str(v) for k, v in settings.items()})

    def capabilities(self, target: str, tag: int = 1) -> dict:
        return self.agent.call("lio.capabilities", target=target, tag=tag)

    def sessions(self, target: str, tag: int = 1) -> list[dict]:
        return self.agent.call("lio.sessions", target=target, tag=tag)

    def dump(self) -> dict:
        """rtslib-fb's dump of the whole LIO config, CHAP secrets replaced by fingerprints."""
        return self.agent.call("lio.dump")

    def save(self, path: str = "/etc/target/saveconfig.json") -> None:
        self.agent.call("lio.save", path=path)

    def restore(self, path: str = "/etc/target/saveconfig.json") -> list[str]:
        return self.agent.call("lio.restore", path=path, timeout=120)

    def clear(self) -> None:
        self.agent.call("lio.clear", timeout=120)
        self.live = {}
        self._changed()
