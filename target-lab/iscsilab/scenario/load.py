"""Reads scenario files: YAML with positions, the schema, the matrix expanded into cells, and the
checks a schema cannot make (labels used before they are set, targets and NICs that the lab does
not have, open-iscsi settings the initiator does not know, ISCSI_ERR names, login statuses).
Everything is checked before any VM boots; an error names file, line, column and what was
expected, and for a matrix cell which cell.

    cells = load_file("scenarios/nop-timeout.yaml")      # ScenarioError on any problem
"""
from __future__ import annotations

import copy
import itertools
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .. import yamlpos
from ..errors import LabError
from ..provision.config import build_acl, build_config, build_lun
from . import schema
from .model import (SESSION_COUNTERS, Cell, Comparison, InitiatorSpec, Step, param_text,
                    parse_duration, parse_within)

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\}")
DEFAULT_IQN_PREFIX = "iqn.2026-11.org.example:"


class ScenarioError(LabError):
    """A scenario file that cannot run, with file:line:column."""


def load_file(path: str | Path, kinds: list[str] | None = None) -> list[Cell]:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"{path}: {exc.strerror}") from None
    return load_text(text, str(path), kinds)


def load_text(text: str, source: str = "<string>", kinds: list[str] | None = None) -> list[Cell]:
    """The cells of a scenario. kinds (`iscsilab run --initiator`): every matrix cell once per
    initiator kind the scenario is written for, with the parameter `initiator` in its id."""
    try:
        doc = yamlpos.load(text, source)
        if doc.data is None:
            doc.fail((), "empty file: expected a scenario (name, lab, steps)")
        yamlpos.check(doc, schema.SCENARIO)
        if kinds is None:
            return [_CellBuilder(doc, params).build() for params in matrix_cells(doc)]
        written = written_kinds(doc.data)
        return [_CellBuilder(doc, {**params, "initiator": kind}).build()
                for kind in kinds if kind in written for params in matrix_cells(doc, kind)]
    except ScenarioError:
        raise
    except LabError as exc:   # yamlpos.DocError and the lab block's own errors
        raise ScenarioError(str(exc)) from None


def written_kinds(data: dict) -> list[str]:
    """The initiator kinds a scenario is written for: `kinds:`, else those its initiators name,
    else ours."""
    if "kinds" in data:
        return list(data["kinds"])
    named = [i["kind"] for i in data.get("initiators") or [] if isinstance(i, dict) and "kind" in i]
    return sorted(set(named)) or ["iscsi-lab"]


def is_scenario_file(path: Path) -> bool:
    """A YAML file whose top level has `steps:` (cheap: no full parse)."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        return any(line.startswith("steps:") for line in path.read_text().splitlines())
    except OSError:
        return False


# ------------------------------------------------------------------------ matrix
def matrix_cells(doc: yamlpos.Doc, kind: str | None = None) -> list[dict[str, Any]]:
    """The matrix's combinations left after `exclude:`, whose rules may also name the
    `initiator` kind (the run's `kind`, else the one the scenario is written for)."""
    matrix = doc.data.get("matrix")
    if not matrix:
        return [{}]
    names = [k for k in matrix if k != "exclude"]
    for name in names:
        for i, value in enumerate(matrix[name]):
            if isinstance(value, dict) and "name" not in value:
                doc.fail(("matrix", name, i), f"matrix.{name}: a mapping value needs a `name` "
                                              "(it names the cell)")
    cells = [dict(zip(names, combo)) for combo in itertools.product(*(matrix[n] for n in names))]
    kind = kind or written_kinds(doc.data)[0]
    for i, rule in enumerate(matrix.get("exclude", [])):
        for key in rule:
            if key not in names and key != "initiator":
                doc.fail(("matrix", "exclude", i, key), f"matrix.exclude: no parameter {key!r} "
                                                        f"(parameters: {', '.join(names)}, "
                                                        "initiator)", key=True)
        cells = [c for c in cells if not matches({"initiator": kind, **c}, rule)]
    if not cells and kind == written_kinds(doc.data)[0]:
        doc.fail(("matrix",), "matrix: `exclude` leaves no cell to run")
    return cells


def matches(params: dict, rule: dict) -> bool:
    """True when every key of `rule` has its value (or one of a list) in `params`; a key may
    name a field of a mapping value (`case.how`)."""
    for key, want in rule.items():
        name, _, attr = key.partition(".")
        value = params.get(name)
        if attr:
            have = str(value.get(attr)) if isinstance(value, dict) else None
        else:
            have = param_text(value)
        wanted = want if isinstance(want, list) else [want]
        if have not in [param_text(w) for w in wanted]:
            return False
    return True


def substitute(value, params: dict, doc: yamlpos.Doc, path: tuple):
    """`${name}` / `${name.field}` replaced by the cell's values; a whole-value placeholder keeps
    the value's type."""
    if isinstance(value, dict):
        # Keys too (`fault: {"${kind}": on}`); a value under a substituted key keeps the
        # position of the mapping it is in.
        out = {}
        for k, v in value.items():
            key = substitute(k, params, doc, path + (k,))
            if not isinstance(key, (str, int, float, bool)):
                doc.fail(path + (k,), f"{k}: a key must be text, but the matrix value is a "
                                      f"{type(key).__name__}", key=True)
            out[str(key) if not isinstance(key, str) else key] = substitute(v, params, doc, path + (k,))
        return out
    if isinstance(value, list):
        return [substitute(v, params, doc, path + (i,)) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def lookup(m):
        name, attr = m.group(1), m.group(2)
        if name not in params:
            doc.fail(path, f"${{{name}}}: no matrix parameter {name!r}"
                           + (f" (parameters: {', '.join(params)})" if params else " (no matrix)"))
        v = params[name]
        if attr is not None:
            if not isinstance(v, dict) or attr not in v:
                doc.fail(path, f"${{{name}.{attr}}}: the value of {name!r} has no field {attr!r}")
            v = v[attr]
        return v

    whole = PLACEHOLDER.fullmatch(value)
    if whole:
        return lookup(whole)
    return PLACEHOLDER.sub(lambda m: str(lookup(m)), value)


# ------------------------------------------------------------------------ one cell
class _CellBuilder:
    def __init__(self, doc: yamlpos.Doc, params: dict):
        self.params = params
        # Steps are substituted one by one once their `when:` says they run in this cell, so a
        # placeholder in a step of another cell is not an error here.
        data = {k: (copy.deepcopy(v) if k in ("matrix", "steps") else substitute(v, params, doc, (k,)))
                for k, v in doc.data.items()}
        self.raw_doc = doc
        self.doc = yamlpos.Doc(data, doc.source, doc.values, doc.keys)
        self.cell_id = None
        # `initiator` is always a parameter of `when:`: the run's kind (--initiator), else the
        # kind the scenario is written for.
        self.kind = params.get("initiator") or written_kinds(doc.data)[0]

    def fail(self, path: tuple, message: str, key: bool = False):
        where = self.doc.where(path, key)
        cell = f" [matrix cell {self.cell_id}]" if self.params else ""
        raise ScenarioError(f"{where}: {message}{cell}")

    def build(self) -> Cell:
        d = self.doc.data
        self.cell_id = ",".join(f"{k}={param_text(v)}" for k, v in self.params.items())
        try:
            yamlpos.check(self.doc, schema.LAB, base=("lab",))
            if "initiators" in d:   # again: the matrix's values are in now
                yamlpos.check(self.doc, schema.SCENARIO["properties"]["initiators"],
                              base=("initiators",))
            lab = build_config(self.doc, ("lab",))
        except yamlpos.DocError as exc:
            raise ScenarioError(str(exc) + (f" [matrix cell {self.cell_id}]" if self.params else "")) from None
        self.lab = lab
        self.targets = {t.name: t for t in lab.targets}
        cell = Cell(scenario=d["name"], params=self.params, description=d.get("description", ""),
                    tags=list(d.get("tags", [])), source=self.doc.source, lab=lab,
                    lab_key=json.dumps(asdict(lab) | {"source": None}, sort_keys=True, default=str),
                    initiators=self.initiators(d.get("initiators")), steps=[],
                    timeout=parse_duration(d.get("timeout", 600)),
                    fresh_lab=d.get("fresh_lab", False),
                    known_kernel_reports=list(d.get("known_kernel_reports", [])))
        for i, known in enumerate(cell.known_kernel_reports):
            try:
                re.compile(known["match"])
            except re.error as exc:
                self.fail(("known_kernel_reports", i, "match"), f"not a regular expression: {exc}")
        self.initiator_ids = [i.id for i in cell.initiators]
        self.labels: set[str] = set()
        self.jobs: dict[str, dict] = {}
        self.sessions: set[str] = set()
        index = 0
        for i, raw in enumerate(d["steps"]):
            step = self.step(raw, ("steps", i), str(index + 1))
            if step is not None:
                cell.steps.append(step)
                index += 1
        if not cell.steps:
            self.fail(("steps",), "steps: no step runs in this cell (check the `when:` conditions)")
        return cell

    # -- initiators
    def initiators(self, raw) -> list[InitiatorSpec]:
        out = []
        for i, item in enumerate(raw or [{}]):
            path = ("initiators", i)
            ident = item.get("id", f"host{i}")
            if ident in [o.id for o in out] or ident == "all":
                self.fail(path + ("id",), f"initiator id {ident!r} used twice" if ident != "all"
                          else "initiator id 'all' is reserved (it means every initiator)")
            spec = InitiatorSpec(id=ident, name=str(item.get("name", DEFAULT_IQN_PREFIX + ident)),
                                 kind=self.params.get("initiator") or item.get("kind", "iscsi-lab"),
                                 isid=None if "isid" not in item else isid_text(item["isid"]))
            for key, value in (item.get("settings") or {}).items():
                canonical, problem = check_setting(key, value)
                if problem:
                    self.fail(path + ("settings", key), f"settings: {problem}", key=canonical is None
                              and problem.startswith("unknown"))
                spec.settings[key] = canonical
            check, problem = check_setting("iface.initiatorname", spec.name)
            if problem:
                self.fail(path + ("name",), f"initiator name: {problem}")
            out.append(spec)
        return out

    # -- steps
    def step(self, raw: dict, path: tuple, index: str) -> Step | None:
        if isinstance(raw, dict) and "when" in raw:
            when = substitute(raw["when"], self.params, self.raw_doc, path + ("when",))
            if not isinstance(when, dict):
                self.fail(path + ("when",), "when: expected a mapping of matrix parameters")
            params = {"initiator": self.kind, **self.params}
            for key in when:
                if key.split(".")[0] not in params:
                    self.fail(path + ("when", key), f"when: no matrix parameter {key!r}", key=True)
            wanted = when.get("initiator", [])
            for kind in wanted if isinstance(wanted, list) else [wanted]:
                if kind not in schema.INITIATOR_KINDS:
                    self.fail(path + ("when", "initiator"), f"when: initiator {kind!r} is not a "
                              f"kind ({', '.join(schema.INITIATOR_KINDS)})")
            if not matches(params, when):
                return None
        if isinstance(raw, dict):
            raw = {k: (v if k == "parallel" else substitute(v, self.params, self.raw_doc, path + (k,)))
                   for k, v in raw.items()}
            self.put(path, raw)   # the schema checks below read the substituted step
        kinds = [k for k in raw if k in schema.STEPS]
        unknown = [k for k in raw if k not in schema.STEPS and k not in schema.STEP_COMMON]
        if unknown:
            self.fail(path + (unknown[0],), f"step {index}: unknown key {unknown[0]!r} (step kinds: "
                      f"{', '.join(schema.STEPS)}; common keys: {', '.join(schema.STEP_COMMON)})",
                      key=True)
        if len(kinds) != 1:
            self.fail(path, f"step {index}: expected exactly one step kind "
                            f"({', '.join(schema.STEPS)}), got {', '.join(kinds) or 'none'}")
        kind = kinds[0]
        common = {k: v for k, v in raw.items() if k in schema.STEP_COMMON}
        try:
            yamlpos.check(self.doc, {"type": "object", "properties": schema.STEP_COMMON},
                          base=path, data=common)
            yamlpos.check(self.doc, schema.STEPS[kind], base=path + (kind,))
        except yamlpos.DocError as exc:
            raise ScenarioError(str(exc) + (f" [matrix cell {self.cell_id}]" if self.params else "")) from None
        step = Step(kind=kind, body=self.expand(kind, raw[kind]), index=index,
                    where=self.doc.where(path), label=raw.get("as"), note=raw.get("note"),
                    session=raw.get("session"))
        step.initiators = self.initiator_refs(raw.get("initiator"), path + ("initiator",))
        step.aimed = "initiator" in raw
        body_path = path + (kind,)
        if kind == "parallel":
            for j, child in enumerate(raw["parallel"]):
                if not isinstance(child, dict):
                    self.fail(body_path + (j,), "parallel: each item is a step (a mapping)")
                c = self.step(child, body_path + (j,), f"{index}.{j + 1}")
                if c is not None:
                    step.children.append(c)
        else:
            getattr(self, "check_" + kind, lambda *a: None)(step, step.body, body_path)
        if step.session and step.session != "all" and step.session not in self.sessions \
                and kind != "login":
            self.fail(path + ("session",), f"step {index}: no session {step.session!r} was logged "
                                           f"in before (sessions so far: "
                                           f"{', '.join(sorted(self.sessions)) or 'none'})")
        if step.label:
            if step.label in self.labels:
                self.fail(path + ("as",), f"label {step.label!r} is used twice")
            self.labels.add(step.label)
        return step

    def put(self, path: tuple, value) -> None:
        node = self.doc.data
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value

    def expand(self, kind: str, body) -> dict:
        """Shorthand scalars as their mapping form."""
        if isinstance(body, dict) or kind == "parallel":
            return dict(body) if isinstance(body, dict) else {"steps": body}
        return {"discover": {"portal": body}, "login": {"target": body},
                "logout": {"all": True}, "stop": {"io": body}, "await": {"io": body},
                "wait": {"for": body}, "iscsiadm": {"args": body},
                "fault": {"clear": True} if body == "clear" else {body: "on"}}[kind]

    def initiator_refs(self, ref, path: tuple) -> list[str]:
        if ref is None:
            return [self.initiator_ids[0]]
        if ref == "all":
            return list(self.initiator_ids)
        refs = ref if isinstance(ref, list) else [ref]
        for r in refs:
            if r not in self.initiator_ids:
                self.fail(path, f"no initiator {r!r} (initiators: {', '.join(self.initiator_ids)})")
        return refs

    def target_ref(self, ref, path: tuple) -> str:
        if ref is None:
            if len(self.targets) != 1:
                self.fail(path[:-1], f"which target? the lab has {len(self.targets)}: "
                                     f"{', '.join(self.targets)} (add `target:`)")
            return next(iter(self.targets))
        return resolve_target(ref, list(self.targets), lambda msg: self.fail(path, msg))

    def nic_ref(self, ref: str | None, path: tuple) -> None:
        if ref is None or ref == "proxy":
            return
        nic = ref.partition(":")[0]
        if nic not in self.lab.nic_names():
            self.fail(path, f"no NIC {nic!r} in this lab (it has {', '.join(self.lab.nic_names())})")

    def from_ref(self, body: dict, path: tuple) -> None:
        if "from" in body:
            label = body["from"].rsplit(".", 1)[0] if body["from"].endswith((".start", ".end")) \
                else body["from"]
            if label not in self.labels:
                self.fail(path + ("from",), f"from: no earlier step is labelled {label!r} "
                          f"(labels so far: {', '.join(sorted(self.labels)) or 'none'})")

    def job_ref(self, name: str, path: tuple) -> None:
        if name not in self.jobs:
            self.fail(path, f"no background io job {name!r} was started before "
                            f"(jobs so far: {', '.join(sorted(self.jobs)) or 'none'})")

    def durations(self, body: dict, path: tuple, keys=("for", "duration", "delay", "jitter")) -> None:
        for k in keys:
            if k in body:
                body[k] = parse_duration(body[k])
        if "within" in body:
            try:
                body["within"] = parse_within(body["within"])
            except ValueError as exc:
                self.fail(path + ("within",), str(exc))

    # -- per kind (check_<kind>): cross references, values parsed in place
    def check_discover(self, step, body, path):
        self.nic_ref(body.get("portal"), path + ("portal",))
        body["finds"] = [self.target_ref(t, path + ("finds", i)) for i, t in enumerate(body.get("finds", []))]
        if "refused" in body:
            body["refused"] = self.status(body["refused"], path + ("refused",))

    def check_login(self, step, body, path):
        body["target"] = self.target_ref(body.get("target"), path + ("target",))
        self.nic_ref(body.get("portal"), path + ("portal",))
        for key in ("refused", "may_be_refused"):
            if key in body:
                body[key] = self.status(body[key], path + (key,))
        if "refused" in body and "may_be_refused" in body:
            self.fail(path, "login: `refused` or `may_be_refused`, not both")
        if "isid" in body:
            body["isid"] = isid_text(body["isid"])
        if "sessions" in body and "session" in body:
            self.fail(path + ("sessions",), "login: `session` names one session; with `sessions: N` "
                                            "they are named <session>0..N-1 -- give one of the two")
        for key, value in (body.get("settings") or {}).items():
            canonical, problem = check_setting(key, value)
            if problem:
                self.fail(path + ("settings", key), f"settings: {problem}")
            body["settings"][key] = canonical
        if "refused" not in body:
            count = body.get("sessions")
            base = body.get("session") or step.session
            if count:
                self.sessions.update(f"{base or 's'}{i}" for i in range(count))
            else:
                self.sessions.add(base or f"s{len(self.sessions)}")
                body["session"] = base

    def check_multipath(self, step, body, path):
        body["target"] = self.target_ref(body.get("target"), path + ("target",))
        if ("paths" in body) == ("sessions" in body):
            self.fail(path, "multipath: `paths:` (portals to log in to) or `sessions:` (logged in "
                            "already), one of the two")
        for i, p in enumerate(body.get("paths", [])):
            self.nic_ref(p, path + ("paths", i))
        for i, name in enumerate(body.get("sessions", [])):
            if name not in self.sessions:
                self.fail(path + ("sessions", i), f"multipath: no session {name!r} was logged in "
                                                  "before")
        from .. import _core
        try:
            _core.mpath_check_settings({k: str(v) for k, v in (body.get("settings") or {}).items()})
        except (ValueError, _core.IscsiError) as exc:
            self.fail(path + ("settings",), f"multipath settings: {exc}")
        for p in body.get("paths", []):
            self.sessions.add(f"{body['name']}-{p.replace(':', '-')}")
        self.sessions.add(body["name"])

    def check_nop(self, step, body, path):
        body.setdefault("count", 1)

    def check_tmf(self, step, body, path):
        if body["function"] == "abort_task":
            if "io" not in body:
                self.fail(path, "tmf abort_task: name the background job (`io:`) whose oldest "
                                "command to abort")
            self.job_ref(body["io"], path + ("io",))

    def check_io(self, step, body, path):
        if "op" not in body:
            self.fail(path, "io: missing key 'op' (read, write, mixed or verify)")
        self.durations(body, path)
        if body.get("background"):
            if "name" not in body:
                self.fail(path, "io: a background job needs a `name` (for stop/await/expect)")
            if body["name"] in self.jobs:
                self.fail(path + ("name",), f"io job name {body['name']!r} is used twice")
            self.jobs[body["name"]] = body
            if body["op"] == "verify":
                self.fail(path + ("background",), "io: verify runs in the foreground")
        if "size" in body and "lbas" in body:
            self.fail(path + ("lbas",), "io: give `size` or `lbas`, not both")
        if "lbas" in body and body["lbas"][0] >= body["lbas"][1]:
            self.fail(path + ("lbas",), "io: lbas is [first, end) with first < end")
        from ..provision.config import parse_size
        for k in ("size", "io_size"):
            if k in body:
                body[k] = parse_size(body[k])
        if body.get("io_size", 4096) % 512:
            self.fail(path + ("io_size",), "io: io_size is a multiple of 512")
        if body["op"] != "verify" and body.get("background") and not (
                "count" in body or "duration" in body):
            pass  # a background job without an end runs until `stop:`

    def check_iscsiadm(self, step, body, path):
        if "golden" in body:
            golden = Path(self.doc.source).parent / body["golden"]
            if not golden.is_file():
                self.fail(path + ("golden",), f"golden: expected a file of expected output, "
                                              f"{golden} does not exist")
            body["golden"] = str(golden)

    def check_stop(self, step, body, path):
        self.job_ref(body["io"], path + ("io",))
        self.durations(body, path)

    def check_await(self, step, body, path):
        self.check_stop(step, body, path)
        job = self.jobs[body["io"]]
        if "count" not in job and "duration" not in job:
            self.fail(path + ("io",), f"await: job {body['io']!r} has no `count` or `duration`, "
                                      "so it never ends by itself; use `stop:`")

    def check_wait(self, step, body, path):
        self.durations(body, path)

    def check_fault(self, step, body, path):
        kinds = [k for k in body if k in schema.FAULT_KINDS or k == "clear"]
        if len(kinds) != 1:
            self.fail(path, f"fault: expected exactly one fault kind ({', '.join(schema.FAULT_KINDS)}, "
                            f"or clear), got {', '.join(kinds) or 'none'}")
        kind = kinds[0]
        body["kind"] = kind
        if kind != "clear":
            state = body[kind]
            body["on"] = state in (True, "on", "down")
            if kind == "link" and state in ("up", "down"):
                body["on"] = state == "down"
        self.nic_ref(body.get("nic"), path + ("nic",))
        if kind in ("portal", "tpg"):
            body["target"] = self.target_ref(body.get("target"), path + ("target",))
        if kind == "netem" and body["on"] and not ("delay" in body or "loss" in body):
            self.fail(path, "fault netem: give `delay:` and/or `loss:`")
        if "loss" in body:
            body["loss"] = float(str(body["loss"]).rstrip("%"))
        if kind == "flap" and body["on"] and "period" not in body:
            self.fail(path, "fault flap: give the `period` (how long down, then how long up)")
        if kind == "alua":
            groups = {bs.name: [g.name for g in bs.alua_groups] for bs in self.lab.backstores()
                      if bs.alua_groups}
            if not groups:
                self.fail(path, "fault alua: no backstore of this lab has ALUA groups "
                                "(`alua_groups:` in the lab block)")
            if "backstore" not in body:
                if len(groups) > 1:
                    self.fail(path, f"fault alua: which backstore? ({', '.join(groups)})")
                body["backstore"] = next(iter(groups))
            if body["backstore"] not in groups:
                self.fail(path + ("backstore",), f"fault alua: backstore {body['backstore']!r} has no "
                                                 f"ALUA groups (these do: {', '.join(groups)})")
            if body.get("group") not in groups[body["backstore"]]:
                self.fail(path + ("group",) if "group" in body else path,
                          f"fault alua: `group:` one of {', '.join(groups[body['backstore']])}")
            if body["on"] and "state" not in body:
                self.fail(path, "fault alua: give the new `state:`")
        where = [k for k in ("pdu", "after_bytes", "data_in_every", "drop_every") if k in body]
        if kind == "corrupt" and body["on"] and len(where) != 1:
            self.fail(path, "fault corrupt: say where to flip, once: `pdu:` (n-th PDU after "
                            "login), `after_bytes:` or `data_in_every:`; or what to leave out: "
                            "`drop_every:` with `drop_pdu:`" +
                            (f" (got {', '.join(where)})" if where else ""))
        if kind == "corrupt" and ("drop_every" in body) != ("drop_pdu" in body):
            self.fail(path, "fault corrupt: `drop_every:` and `drop_pdu:` go together")
        self.durations(body, path, keys=("for", "duration", "delay", "jitter", "period", "transition"))

    def check_lun(self, step, body, path):
        actions = [k for k in ("resize", "add", "remove") if k in body]
        if len(actions) != 1:
            self.fail(path, "lun: expected exactly one of resize, add, remove")
        body["target"] = self.target_ref(body.get("target"), path + ("target",))
        if "resize" in body:
            from ..provision.config import parse_size
            body["resize"]["size"] = parse_size(body["resize"]["size"])
        if "add" in body:    # the lab file's own LUN rules (sizes, names), at this position
            body["add"] = self.wrapped(lambda: build_lun(self.doc, path + ("add",), body["target"],
                                                         body.get("tag", 1)))

    def check_nbd(self, step, body, path):
        body["target"] = self.target_ref(body.get("target"), path + ("target",))
        self.nic_ref(body.get("portal"), path + ("portal",))
        from ..provision.config import parse_size
        for k in ("size", "kernel_size"):
            if k in body:
                body[k] = parse_size(body[k])
        if body.get("kernel_size", 1 << 20) % (1 << 20):
            self.fail(path + ("kernel_size",), "nbd: kernel_size is whole MiB (dd bs=1M)")
        if "kernel_size" in body and not body.get("kernel_client"):
            self.fail(path + ("kernel_size",), "nbd: kernel_size without kernel_client: true")
        for key, value in (body.get("settings") or {}).items():
            canonical, problem = check_setting(key, value)
            if problem:
                self.fail(path + ("settings", key), f"settings: {problem}")
            body["settings"][key] = canonical

    def check_target(self, step, body, path):
        actions = [k for k in ("tpg", "portal", "acl", "attributes", "parameters") if k in body]
        if len(actions) != 1:
            self.fail(path, "target: expected exactly one of tpg, portal, acl, attributes, parameters")
        body["target"] = self.target_ref(body.get("target"), path + ("target",))
        if "portal" in body:
            for k in ("add", "remove"):
                if k in body["portal"]:
                    self.nic_ref(body["portal"][k], path + ("portal", k))
        if "acl" in body and "add" in body["acl"]:
            tag = body.get("tag", 1)
            luns = {l.lun for tpg in self.targets[body["target"]].tpgs if tpg.tag == tag
                    for l in tpg.luns}
            body["acl"]["add"] = self.wrapped(lambda: build_acl(self.doc, path + ("acl", "add"), luns))

    def wrapped(self, build):
        """A lab-file builder's error as this cell's ScenarioError."""
        try:
            return build()
        except LabError as exc:
            raise ScenarioError(str(exc) + (f" [matrix cell {self.cell_id}]" if self.params else "")) from None

    def check_expect(self, step, body, path):
        subjects = [k for k in body if k in schema.EXPECT_SUBJECTS]
        if len(subjects) != 1:
            self.fail(path, f"expect: expected exactly one subject ({', '.join(schema.EXPECT_SUBJECTS)}), "
                            f"got {', '.join(subjects) or 'none'}")
        subject = subjects[0]
        body["subject"] = subject
        self.from_ref(body, path)
        self.durations(body, path)
        if subject == "conn_error":
            body["conn_error"] = self.conn_error(body["conn_error"], path + ("conn_error",))
        if subject in ("io", "io_gap", "io_latency"):
            self.job_ref(body[subject], path + (subject,))
        if subject == "io" and not ({"outcome", "failed", "unit_attention"} & body.keys()):
            self.fail(path, "expect io: say what: `outcome:`, `failed:` or `unit_attention:`")
        if subject == "lio_log":
            try:
                re.compile(body["lio_log"])
            except re.error as exc:
                self.fail(path + ("lio_log",), f"expect lio_log: not a regular expression: {exc}")
        if "count" in body and subject != "event":
            self.fail(path + ("count",), "expect count: only for an event (how often it happens)",
                      key=True)
        if "count" in body and body.get("absent"):
            self.fail(path + ("count",), "expect count: say `count: 0` instead of absent", key=True)
        for k in ("failed", "lio_sessions", "count"):
            if k in body:
                try:
                    body[k] = Comparison.parse(body[k])
                except ValueError as exc:
                    self.fail(path + (k,), f"expect {k}: {exc}")
        if subject == "paths":
            parsed = {}
            for key, value in body["paths"].items():
                if key not in ("active", "failed", "up", "ghost", "serving", "queueing", "failing"):
                    self.fail(path + ("paths", key), "expect paths: count paths by dm state (active, "
                                                     "failed) or path state (up, ghost), or the "
                                                     "no-path state serving, queueing, failing",
                              key=True)
                try:
                    parsed[key] = Comparison.parse(value)
                except ValueError as exc:
                    self.fail(path + ("paths", key), f"expect paths: {exc}")
            body["paths"] = parsed
        if subject == "counters":
            parsed = {}
            for key, value in body["counters"].items():
                if key not in SESSION_COUNTERS:
                    self.fail(path + ("counters", key), f"expect counters: unknown counter "
                                                          f"{key!r} (one of {', '.join(SESSION_COUNTERS)})",
                              key=True)
                try:
                    parsed[key] = Comparison.parse(value, names=SESSION_COUNTERS)
                except ValueError as exc:
                    self.fail(path + ("counters", key), f"expect counters: {exc}")
            body["counters"] = parsed
        if "target" in body or subject == "lio_sessions":
            body["target"] = self.target_ref(body.get("target"), path + ("target",))

    # -- vocabularies from the engine
    def status(self, value, path) -> int:
        from .. import _core
        table = dict(_core.login_statuses())
        if isinstance(value, int):
            if value not in table:
                self.fail(path, f"refused: {value:#06x} is not a login status RFC 7143 defines")
            return value
        text = str(value).strip().lower()
        if re.fullmatch(r"0x[0-9a-f]{4}", text):
            return self.status(int(text, 16), path)
        for code, words in table.items():
            if words == text:
                return code
        self.fail(path, f"refused: unknown status {value!r} (expected a number like 0x0201 or one of: "
                        f"{', '.join(w for c, w in table.items() if c >= 0x0200)})")

    def conn_error(self, value, path) -> int:
        from .. import _core
        rows = _core.conn_errors()
        for number, name, _ in rows:
            if value in (number, name, name.removeprefix("ISCSI_ERR_"), str(number)):
                return number
        self.fail(path, f"conn_error: unknown ISCSI_ERR code {value!r} (expected a number 1-22 or "
                        f"a name such as ISCSI_ERR_NOP_TIMEDOUT)")


def check_setting(key: str, value) -> tuple[str | None, str | None]:
    """The engine's check of one open-iscsi setting; YAML numbers that are not integers are
    taken as written."""
    from .. import _core
    if isinstance(value, float):
        value = repr(value)
    if not isinstance(value, (str, int, bool)):
        return None, f"{key}: expected text, an integer or yes/no"
    return _core.check_setting(key, value)


def resolve_target(ref: str, names: list[str], fail) -> str:
    if ref in names:
        return ref
    short = [n for n in names if n.rsplit(":", 1)[-1] == ref]
    if len(short) == 1:
        return short[0]
    fail(f"no target {ref!r} in the lab (targets: {', '.join(names)})")


def isid_text(value) -> str:
    """ISIDs as 12 hex digits (an integer in YAML is taken as its value, hex text as written)."""
    if isinstance(value, int):
        return f"{value:012x}"
    return str(value).lower().removeprefix("0x")
