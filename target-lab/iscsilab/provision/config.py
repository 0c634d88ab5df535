"""The lab file: parses the `lab:` block (targets, TPGs, LUNs, ACLs, portals) into dataclasses.

Errors name the file, line and column of the offending node, e.g.
  lab.yaml:12:9: lun: unknown key 'sise' (allowed: backstore, lun)
The same block is accepted inside scenario files, which carry other top-level keys too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import LabError

BACKSTORE_TYPES = ("ramdisk", "fileio", "block", "pscsi")
IQN = re.compile(r"^iqn\.\d{4}-\d{2}\.[a-z0-9-]+(\.[a-z0-9-]+)+(:[^\s]+)?$", re.I)
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.I)
UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
DEFAULT_TARGET = "iqn.2026-11.org.example:t0"
# lab.guard: how a TPG is kept to one session (split-brain guard, see iscsilab/guard):
# "kernel" boots LIO with iscsi-lab's patched iscsi_target_mod, whose TPG attribute
# single_session then picks the policy; "nftables" limits each portal to one TCP connection.
GUARDS = ("none", "kernel", "nftables")
SINGLE_SESSION = {"off": "0", "strict": "1", "reinstate": "2"}


class ConfigError(LabError):
    def __init__(self, source: str, node, message: str):
        mark = getattr(node, "start_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        super().__init__(f"{where}: {message}")


@dataclass
class Auth:
    """CHAP credentials. repr() hides the secrets so that they never reach a log."""
    userid: str
    password: str = field(repr=False)
    mutual_userid: str | None = None
    mutual_password: str | None = field(default=None, repr=False)

    @property
    def mutual(self) -> bool:
        return self.mutual_userid is not None

    def to_wire(self) -> dict:
        return {"userid": self.userid, "password": self.password,
                "mutual_userid": self.mutual_userid or "", "mutual_password": self.mutual_password or ""}


@dataclass
class Backstore:
    type: str
    name: str
    size: int | None = None       # bytes; ramdisk/fileio/block
    write_back: bool = False


@dataclass
class Lun:
    lun: int
    backstore: Backstore


@dataclass
class MappedLun:
    mapped_lun: int
    tpg_lun: int
    write_protect: bool = False


@dataclass
class Acl:
    initiator: str
    auth: Auth | None = None
    mapped_luns: list[MappedLun] | None = None   # None: map every LUN of the TPG


@dataclass
class Portal:
    nic: str
    port: int = 3260


@dataclass
class Tpg:
    tag: int = 1
    enable: bool = True
    portals: list[Portal] = field(default_factory=lambda: [Portal("nic0")])
    attributes: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    auth: Auth | None = None
    luns: list[Lun] = field(default_factory=list)
    acls: list[Acl] = field(default_factory=list)


@dataclass
class Target:
    name: str
    tpgs: list[Tpg]


@dataclass
class LabConfig:
    name: str | None = None
    nics: int = 2
    memory_mb: int = 1024
    targets: list[Target] = field(default_factory=list)
    discovery_auth: Auth | None = None
    guard: str = "none"
    source: str = "<default>"

    def backstores(self) -> list[Backstore]:
        return [lun.backstore for t in self.targets for tpg in t.tpgs for lun in tpg.luns]

    def nic_names(self) -> list[str]:
        return [f"nic{i}" for i in range(self.nics)]


def default_config() -> LabConfig:
    """One target, one TPG open to any initiator, one 64 MiB block LUN (so it can grow)."""
    tpg = Tpg(portals=[Portal("nic0"), Portal("nic1")], attributes={"authentication": "0", "generate_node_acls": "1",
                          "demo_mode_write_protect": "0", "cache_dynamic_acls": "1"},
              luns=[Lun(0, Backstore("block", "t0-lun0", 64 << 20))])
    return LabConfig(targets=[Target(DEFAULT_TARGET, [tpg])])


def parse_size(text) -> int:
    m = SIZE.match(str(text))
    if not m:
        raise ValueError(f"not a size: {text!r} (examples: 64MiB, 1G, 4096)")
    number, unit = m.groups()
    return int(float(number) * UNITS[(unit or "").upper()[:1]])


def load_config(path: str | Path) -> LabConfig:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise LabError(f"{path}: {exc.strerror}") from None
    return parse_config(text, str(path))


def parse_config(text: str, source: str = "<string>") -> LabConfig:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise LabError(f"{source}:{mark.line + 1}:{mark.column + 1}: {exc.problem}") from None
    return _Parser(source).lab(root)


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.constructor = yaml.SafeLoader("")

    # -- generic helpers: every one takes the node, so every error carries a position --
    def fail(self, node, message: str):
        raise ConfigError(self.source, node, message)

    def mapping(self, node, what: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what}: expected a mapping")
        out = {}
        for key, value in node.value:
            k = self.scalar(key, what)
            if k not in allowed:
                self.fail(key, f"{what}: unknown key {k!r} (allowed: {', '.join(sorted(allowed))})")
            if k in out:
                self.fail(key, f"{what}: duplicate key {k!r}")
            out[k] = value
        for k in sorted(required - out.keys()):
            self.fail(node, f"{what}: missing key {k!r}")
        return out

    def sequence(self, node, what: str) -> list:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what}: expected a list")
        return node.value

    def scalar(self, node, what: str):
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, f"{what}: expected a single value")
        return self.constructor.construct_object(node)

    def string(self, node, what: str) -> str:
        value = self.scalar(node, what)
        if isinstance(value, bool) or value is None:
            self.fail(node, f"{what}: expected text, got {value!r}")
        return str(value)

    def integer(self, node, what: str, lo: int = 0, hi: int = 65535) -> int:
        value = self.scalar(node, what)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.fail(node, f"{what}: expected an integer in [{lo}, {hi}], got {value!r}")
        return value

    def boolean(self, node, what: str) -> bool:
        value = self.scalar(node, what)
        if not isinstance(value, bool):
            self.fail(node, f"{what}: expected true or false, got {value!r}")
        return value

    def size(self, node, what: str) -> int:
        try:
            return parse_size(self.scalar(node, what))
        except ValueError as exc:
            self.fail(node, f"{what}: {exc}")

    def settings(self, node, what: str) -> dict[str, str]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what}: expected a mapping")
        out = {}
        for key, value in node.value:
            v = self.scalar(value, what)
            # configfs takes text; YAML's true/false become LIO's 1/0.
            out[self.string(key, what)] = str(int(v)) if isinstance(v, bool) else str(v)
        return out

    # -- the lab file's structure --
    def lab(self, root) -> LabConfig:
        if root is None:
            self.fail(None, "empty file: expected a `lab:` block")
        top = self.mapping(root, "file", {"lab", "name", "initiator", "steps", "description"},
                           {"lab"})
        node = top["lab"]
        fields = self.mapping(node, "lab", {"name", "nics", "memory", "targets", "discovery_auth",
                                            "guard"}, {"targets"})
        cfg = LabConfig(source=self.source)
        if "name" in fields:
            cfg.name = self.string(fields["name"], "lab.name")
            if not NAME.match(cfg.name):
                self.fail(fields["name"], "lab.name: lower-case letters, digits and '-', "
                                          "starting with a letter, at most 16 characters")
        if "nics" in fields:
            cfg.nics = self.integer(fields["nics"], "lab.nics", 1, 4)
        if "memory" in fields:
            cfg.memory_mb = self.size(fields["memory"], "lab.memory") >> 20
            if cfg.memory_mb < 256:
                self.fail(fields["memory"], "lab.memory: at least 256MiB")
        if "discovery_auth" in fields:
            cfg.discovery_auth = self.auth(fields["discovery_auth"], "lab.discovery_auth")
        if "guard" in fields:
            cfg.guard = self.string(fields["guard"], "lab.guard")
            if cfg.guard not in GUARDS:
                self.fail(fields["guard"], f"lab.guard: expected one of {', '.join(GUARDS)}, "
                                           f"got {cfg.guard!r}")
        names = set()
        for tnode in self.sequence(fields["targets"], "lab.targets"):
            target = self.target(tnode, cfg)
            if target.name in names:
                self.fail(tnode, f"target {target.name}: defined twice")
            names.add(target.name)
            cfg.targets.append(target)
        if not cfg.targets:
            self.fail(fields["targets"], "lab.targets: at least one target")
        seen = {}
        for bs in cfg.backstores():
            if bs.name in seen:
                self.fail(node, f"backstore name {bs.name!r} used twice")
            seen[bs.name] = bs
        return cfg

    def target(self, node, cfg: LabConfig) -> Target:
        f = self.mapping(node, "target", {"name", "tpgs"}, {"name"})
        name = self.string(f["name"], "target.name")
        if not IQN.match(name):
            self.fail(f["name"], f"target.name: {name!r} is not an IQN like {DEFAULT_TARGET} "
                                 "(rtslib-fb wants a reversed domain with at least two parts)")
        tpgs = [self.tpg(n, name, cfg) for n in self.sequence(f["tpgs"], "target.tpgs")] \
            if "tpgs" in f else [Tpg()]
        if len({t.tag for t in tpgs}) != len(tpgs):
            self.fail(f["tpgs"], "target.tpgs: two TPGs with the same tag")
        return Target(name, tpgs)

    def tpg(self, node, target: str, cfg: LabConfig) -> Tpg:
        f = self.mapping(node, "tpg", {"tag", "enable", "portals", "attributes", "parameters",
                                       "auth", "luns", "acls"})
        tpg = Tpg()
        if "tag" in f:
            tpg.tag = self.integer(f["tag"], "tpg.tag", 1, 65535)
        if "enable" in f:
            tpg.enable = self.boolean(f["enable"], "tpg.enable")
        if "portals" in f:
            tpg.portals = [self.portal(n, cfg) for n in self.sequence(f["portals"], "tpg.portals")]
        if "attributes" in f:
            tpg.attributes = self.settings(f["attributes"], "tpg.attributes")
            if "single_session" in tpg.attributes:
                tpg.attributes["single_session"] = self.single_session(f["attributes"], cfg)
        if "parameters" in f:
            tpg.parameters = self.settings(f["parameters"], "tpg.parameters")
        if "auth" in f:
            tpg.auth = self.auth(f["auth"], "tpg.auth")
        short = re.sub(r"[^A-Za-z0-9_-]", "_", target.rsplit(":", 1)[-1])[:24]
        for n in self.sequence(f.get("luns") or yaml.SequenceNode("", []), "tpg.luns"):
            tpg.luns.append(self.lun(n, f"{short}-tpg{tpg.tag}"))
        if len({l.lun for l in tpg.luns}) != len(tpg.luns):
            self.fail(f["luns"], "tpg.luns: two LUNs with the same number")
        for n in self.sequence(f.get("acls") or yaml.SequenceNode("", []), "tpg.acls"):
            tpg.acls.append(self.acl(n, {l.lun for l in tpg.luns}))
        return tpg

    def single_session(self, attributes, cfg: LabConfig) -> str:
        """The guard's TPG attribute: strict/reinstate/off (or 1/2/0); needs `guard: kernel`."""
        node = next(v for k, v in attributes.value if k.value == "single_session")
        raw = self.scalar(node, "tpg.attributes.single_session")
        # YAML 1.1 reads a bare `off` as false.
        value = "off" if raw is False else str(raw).lower()
        value = SINGLE_SESSION.get(value, value)
        if value not in SINGLE_SESSION.values():
            self.fail(node, "tpg.attributes.single_session: expected strict, reinstate or off, "
                            f"got {node.value!r}")
        if cfg.guard != "kernel":
            self.fail(node, "tpg.attributes.single_session: LIO has this attribute only with "
                            "iscsi-lab's guard module; put `guard: kernel` in the lab block")
        return value

    def portal(self, node, cfg: LabConfig) -> Portal:
        text = self.string(node, "portal")
        nic, _, port = text.partition(":")
        if nic not in cfg.nic_names():
            self.fail(node, f"portal {text!r}: no such NIC (this lab has {', '.join(cfg.nic_names())}; "
                            "put `nics:` before `targets:` to add more)")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            self.fail(node, f"portal {text!r}: bad port")
        return Portal(nic, int(port) if port else 3260)

    def lun(self, node, prefix: str) -> Lun:
        f = self.mapping(node, "lun", {"lun", "backstore"}, {"lun", "backstore"})
        number = self.integer(f["lun"], "lun.lun", 0, 255)
        b = self.mapping(f["backstore"], "backstore", {"type", "size", "name", "write_back"}, {"type"})
        kind = self.string(b["type"], "backstore.type")
        if kind not in BACKSTORE_TYPES:
            self.fail(b["type"], f"backstore.type: {kind!r} is not one of {', '.join(BACKSTORE_TYPES)}")
        name = self.string(b["name"], "backstore.name") if "name" in b else f"{prefix}-lun{number}"
        if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", name):
            self.fail(b.get("name", node), f"backstore.name: {name!r}: letters, digits, '_', '.', '-'")
        size = self.size(b["size"], "backstore.size") if "size" in b else 64 << 20
        if size < 1 << 20 or size % 512:
            self.fail(b.get("size", node), "backstore.size: at least 1MiB and a multiple of 512")
        wb = self.boolean(b["write_back"], "backstore.write_back") if "write_back" in b else False
        return Lun(number, Backstore(kind, name, size, wb))

    def acl(self, node, luns: set[int]) -> Acl:
        f = self.mapping(node, "acl", {"initiator", "auth", "mapped_luns"}, {"initiator"})
        name = self.string(f["initiator"], "acl.initiator")
        if not IQN.match(name):
            self.fail(f["initiator"], f"acl.initiator: {name!r} is not an IQN")
        acl = Acl(name)
        if "auth" in f:
            acl.auth = self.auth(f["auth"], "acl.auth")
        if "mapped_luns" in f:
            acl.mapped_luns = []
            for n in self.sequence(f["mapped_luns"], "acl.mapped_luns"):
                m = self.mapping(n, "mapped_lun", {"lun", "tpg_lun", "write_protect"}, {"lun"})
                mapped = self.integer(m["lun"], "mapped_lun.lun", 0, 255)
                tpg_lun = self.integer(m["tpg_lun"], "mapped_lun.tpg_lun", 0, 255) if "tpg_lun" in m else mapped
                if tpg_lun not in luns:
                    self.fail(m.get("tpg_lun", m["lun"]), f"mapped_lun: the TPG has no LUN {tpg_lun}")
                wp = self.boolean(m["write_protect"], "mapped_lun.write_protect") if "write_protect" in m else False
                acl.mapped_luns.append(MappedLun(mapped, tpg_lun, wp))
        return acl

    def auth(self, node, what: str) -> Auth:
        f = self.mapping(node, what, {"userid", "password", "mutual_userid", "mutual_password"},
                         {"userid", "password"})
        auth = Auth(self.string(f["userid"], f"{what}.userid"), self.string(f["password"], f"{what}.password"))
        if ("mutual_userid" in f) != ("mutual_password" in f):
            self.fail(node, f"{what}: mutual CHAP needs both mutual_userid and mutual_password")
        if "mutual_userid" in f:
            auth.mutual_userid = self.string(f["mutual_userid"], f"{what}.mutual_userid")
            auth.mutual_password = self.string(f["mutual_password"], f"{what}.mutual_password")
            if auth.mutual_password == auth.password:
                # LIO refuses a mutual secret equal to the initiator's, at login time.
                self.fail(f["mutual_password"], f"{what}: mutual_password must differ from password")
        for key in ("password", "mutual_password"):
            secret = getattr(auth, key)
            if secret is not None and not 12 <= len(secret) <= 255:
                # Say nothing about the secret's content: only its required length.
                self.fail(f[key], f"{what}.{key}: CHAP secrets must be 12 to 255 characters long")
        return auth
