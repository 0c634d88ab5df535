"""The lab file: reads the `lab:` block (targets, TPGs, LUNs, ACLs, portals) into dataclasses.

The block's shape is the JSON Schema in schema.py (the same one scenario files embed); this
module adds the checks a schema cannot express and builds the objects. Errors name the file,
line and column of the offending value, e.g.
  lab.yaml:12:9: lab.targets[0].tpgs[0].luns[0].backstore: unknown key 'sise' (allowed: ...)
A scenario file (one with `steps:`) is accepted too: only its `lab:` block is read here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import yamlpos
from ..errors import LabError
from . import schema

BACKSTORE_TYPES = tuple(schema.BACKSTORE_TYPES)
SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.I)
UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
DEFAULT_TARGET = "iqn.2026-11.org.example:t0"
# lab.guard: how a TPG is kept to one session (split-brain guard, see iscsilab/guard):
# "kernel" boots LIO with iscsi-lab's patched iscsi_target_mod, whose TPG attribute
# single_session then picks the policy; "nftables" limits each portal to one TCP connection.
GUARDS = tuple(schema.GUARDS)
SINGLE_SESSION = {"off": "0", "strict": "1", "reinstate": "2"}


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
class AluaGroup:
    """An ALUA target port group of a backstore (LIO keeps them per device): the LUNs of the
    TPGs that are members answer REPORT TARGET PORT GROUPS with this group's state."""
    name: str
    id: int
    state: str = "active/optimized"
    preferred: bool = False


@dataclass
class Backstore:
    type: str
    name: str
    size: int | None = None       # bytes; ramdisk/fileio/block
    write_back: bool = False
    alua_groups: list[AluaGroup] = field(default_factory=list)


@dataclass
class Lun:
    lun: int
    backstore: Backstore          # the same object for LUNs that share a backstore
    alua_group: str | None = None


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
    isns: bool = False            # run isnsd in the namespace with LIO's targets (iscsilab/isns.py)
    source: str = "<default>"

    def backstores(self) -> list[Backstore]:
        """Every backstore once, in the order first used (LUNs may share one: the same LU seen
        through several TPGs, as multipath and ALUA need)."""
        out: dict[str, Backstore] = {}
        for t in self.targets:
            for tpg in t.tpgs:
                for lun in tpg.luns:
                    out.setdefault(lun.backstore.name, lun.backstore)
        return list(out.values())

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
    doc = yamlpos.load(text, source)
    if doc.data is None:
        doc.fail((), "empty file: expected a `lab:` block")
    if isinstance(doc.data, dict) and "steps" in doc.data:
        # A scenario file: its other keys are the scenario runner's to check.
        if "lab" not in doc.data:
            doc.fail((), "missing key 'lab'")
        yamlpos.check(doc, schema.LAB, base=("lab",))
    else:
        yamlpos.check(doc, schema.LAB_FILE)
    return build_config(doc, ("lab",))


def build_config(doc: yamlpos.Doc, base: tuple = ("lab",)) -> LabConfig:
    """The LabConfig for the schema-valid `lab:` block at `base` of `doc`, after the checks a
    schema cannot express (errors at the value's position)."""
    return _Builder(doc, base).lab()


class _Builder:
    def __init__(self, doc: yamlpos.Doc, base: tuple):
        self.doc = doc
        self.base = base
        self.defined: dict[str, Backstore] = {}              # backstores LUNs define
        self.references: list[tuple[tuple, Lun]] = []         # LUNs that name another's

    def fail(self, path: tuple, message: str, key: bool = False):
        self.doc.fail(self.base + path, message, key)

    def get(self, path: tuple):
        node = self.doc.data
        for p in self.base + path:
            node = node[p]
        return node

    def size(self, path: tuple, what: str) -> int:
        try:
            return parse_size(self.get(path))
        except ValueError as exc:
            self.fail(path, f"{what}: {exc}")

    def lab(self) -> LabConfig:
        f = self.get(())
        cfg = LabConfig(source=self.doc.source)
        cfg.name = f.get("name")
        cfg.nics = f.get("nics", cfg.nics)
        if "memory" in f:
            cfg.memory_mb = self.size(("memory",), "lab.memory") >> 20
            if cfg.memory_mb < 256:
                self.fail(("memory",), "lab.memory: at least 256MiB")
        if "discovery_auth" in f:
            cfg.discovery_auth = self.auth(("discovery_auth",), "lab.discovery_auth")
        cfg.guard = f.get("guard", cfg.guard)
        cfg.isns = f.get("isns", cfg.isns)
        names = set()
        for i, t in enumerate(f["targets"]):
            target = self.target(("targets", i), cfg)
            if target.name in names:
                self.fail(("targets", i), f"target {target.name}: defined twice")
            names.add(target.name)
            cfg.targets.append(target)
        for path, lun in self.references:     # `backstore: <name>`: another LUN's backstore
            if lun.backstore.name not in self.defined:
                self.fail(path, f"backstore {lun.backstore.name!r}: no LUN of this lab defines a "
                                f"backstore of that name (defined: {', '.join(self.defined) or 'none'})")
            lun.backstore = self.defined[lun.backstore.name]
        for t in cfg.targets:
            for ti, tpg in enumerate(t.tpgs):
                for lun in tpg.luns:
                    groups = {g.name for g in lun.backstore.alua_groups}
                    if lun.alua_group and lun.alua_group not in groups:
                        self.fail((), f"{t.name} TPG {tpg.tag} LUN {lun.lun}: alua_group "
                                      f"{lun.alua_group!r} is not a group of backstore "
                                      f"{lun.backstore.name!r} (groups: {', '.join(sorted(groups)) or 'none'})")
        return cfg

    def target(self, path: tuple, cfg: LabConfig) -> Target:
        f = self.get(path)
        name = f["name"]
        if "tpgs" not in f:
            return Target(name, [Tpg()])
        tpgs = [self.tpg(path + ("tpgs", i), name, cfg) for i in range(len(f["tpgs"]))]
        if len({t.tag for t in tpgs}) != len(tpgs):
            self.fail(path + ("tpgs",), "target.tpgs: two TPGs with the same tag")
        return Target(name, tpgs)

    def tpg(self, path: tuple, target: str, cfg: LabConfig) -> Tpg:
        f = self.get(path)
        tpg = Tpg(tag=f.get("tag", 1), enable=f.get("enable", True))
        if "portals" in f:
            tpg.portals = [self.portal(path + ("portals", i), cfg) for i in range(len(f["portals"]))]
        if "attributes" in f:
            tpg.attributes = settings(f["attributes"])
            if "single_session" in f["attributes"]:
                tpg.attributes["single_session"] = self.single_session(
                    path + ("attributes", "single_session"), cfg)
        if "parameters" in f:
            tpg.parameters = settings(f["parameters"])
        if "auth" in f:
            tpg.auth = self.auth(path + ("auth",), "tpg.auth")
        for i in range(len(f.get("luns") or [])):
            tpg.luns.append(self.lun(path + ("luns", i), target, tpg.tag))
        if len({l.lun for l in tpg.luns}) != len(tpg.luns):
            self.fail(path + ("luns",), "tpg.luns: two LUNs with the same number")
        for i in range(len(f.get("acls") or [])):
            tpg.acls.append(self.acl(path + ("acls", i), {l.lun for l in tpg.luns}))
        return tpg

    def single_session(self, path: tuple, cfg: LabConfig) -> str:
        """The guard's TPG attribute: strict/reinstate/off (or 1/2/0); needs `guard: kernel`."""
        raw = self.get(path)
        # YAML 1.1 reads a bare `off` as false.
        value = "off" if raw is False else str(raw).lower()
        value = SINGLE_SESSION.get(value, value)
        if value not in SINGLE_SESSION.values():
            self.fail(path, "tpg.attributes.single_session: expected strict, reinstate or off, "
                            f"got {raw!r}")
        if cfg.guard != "kernel":
            self.fail(path, "tpg.attributes.single_session: LIO has this attribute only with "
                            "iscsi-lab's guard module; put `guard: kernel` in the lab block")
        return value

    def portal(self, path: tuple, cfg: LabConfig) -> Portal:
        text = self.get(path)
        nic, _, port = text.partition(":")
        if nic not in cfg.nic_names():
            self.fail(path, f"portal {text!r}: no such NIC (this lab has {', '.join(cfg.nic_names())}; "
                            "set `nics:` in the lab block to add more)")
        if port and not 0 < int(port) < 65536:
            self.fail(path, f"portal {text!r}: bad port")
        return Portal(nic, int(port) if port else 3260)

    def lun(self, path: tuple, target: str, tag: int) -> Lun:
        f = self.get(path)
        number = f["lun"]
        b = f["backstore"]
        if isinstance(b, str):
            # A reference to a backstore another LUN defines: resolved once all are read.
            lun = Lun(number, Backstore("?", b), f.get("alua_group"))
            self.references.append((path + ("backstore",), lun))
            return lun
        name = b.get("name", backstore_name(target, tag, number))
        if name in self.defined:
            self.fail(path + ("backstore",), f"backstore name {name!r} used twice (to share a "
                                             f"backstore, write `backstore: {name}`)")
        size = self.size(path + ("backstore", "size"), "backstore.size") if "size" in b else 64 << 20
        if size < 1 << 20 or size % 512:
            self.fail(path + ("backstore", "size"), "backstore.size: at least 1MiB and a multiple of 512")
        groups = [AluaGroup(g["name"], g["id"], g.get("state", "active/optimized"),
                            g.get("preferred", False)) for g in b.get("alua_groups", [])]
        if len({g.name for g in groups}) != len(groups) or len({g.id for g in groups}) != len(groups):
            self.fail(path + ("backstore", "alua_groups"), "alua_groups: two groups with the same "
                                                           "name or id")
        store = Backstore(b["type"], name, size, b.get("write_back", False), groups)
        self.defined[name] = store
        return Lun(number, store, f.get("alua_group"))

    def acl(self, path: tuple, luns: set[int]) -> Acl:
        f = self.get(path)
        acl = Acl(f["initiator"])
        if "auth" in f:
            acl.auth = self.auth(path + ("auth",), "acl.auth")
        if "mapped_luns" in f:
            acl.mapped_luns = []
            for i, m in enumerate(f["mapped_luns"]):
                tpg_lun = m.get("tpg_lun", m["lun"])
                if tpg_lun not in luns:
                    self.fail(path + ("mapped_luns", i, "tpg_lun" if "tpg_lun" in m else "lun"),
                              f"mapped_lun: the TPG has no LUN {tpg_lun}")
                acl.mapped_luns.append(MappedLun(m["lun"], tpg_lun, m.get("write_protect", False)))
        return acl

    def auth(self, path: tuple, what: str) -> Auth:
        f = self.get(path)
        auth = Auth(str(f["userid"]), str(f["password"]))
        if ("mutual_userid" in f) != ("mutual_password" in f):
            self.fail(path, f"{what}: mutual CHAP needs both mutual_userid and mutual_password")
        if "mutual_userid" in f:
            auth.mutual_userid = str(f["mutual_userid"])
            auth.mutual_password = str(f["mutual_password"])
            if auth.mutual_password == auth.password:
                # LIO refuses a mutual secret equal to the initiator's, at login time.
                self.fail(path + ("mutual_password",), f"{what}: mutual_password must differ from password")
        for key in ("password", "mutual_password"):
            secret = getattr(auth, key)
            if secret is not None and not 12 <= len(secret) <= 255:
                # Say nothing about the secret's content: only its required length.
                self.fail(path + (key,), f"{what}.{key}: CHAP secrets must be 12 to 255 characters long")
        return auth


def backstore_name(target: str, tag: int, lun: int) -> str:
    """The default name of a LUN's backstore: `t0-tpg1-lun0` for LUN 0 of TPG 1 of ...:t0."""
    short = re.sub(r"[^A-Za-z0-9_-]", "_", target.rsplit(":", 1)[-1])[:24]
    return f"{short}-tpg{tag}-lun{lun}"


def build_lun(doc, path: tuple, target: str, tag: int) -> Lun:
    """A schema-valid LUN mapping at `path` of `doc` (a scenario's `lun: {add: ...}`)."""
    builder = _Builder(doc, ())
    lun = builder.lun(path, target, tag)
    if builder.references:
        builder.fail(path + ("backstore",), "a LUN added by a step defines its own backstore "
                                            "(type, size), it cannot name another's")
    return lun


def build_acl(doc, path: tuple, luns: set[int]) -> Acl:
    """A schema-valid ACL mapping at `path` of `doc` (a scenario's `target: {acl: {add: ...}}`),
    its mapped LUNs checked against `luns`."""
    return _Builder(doc, ()).acl(path, luns)


def settings(values: dict) -> dict[str, str]:
    # configfs takes text; YAML's true/false become LIO's 1/0.
    return {str(k): str(int(v)) if isinstance(v, bool) else str(v) for k, v in values.items()}
