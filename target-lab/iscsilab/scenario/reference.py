"""The reference page of scenario files (scenarios/REFERENCE.md), made from the schema so that it
can never disagree with what the loader accepts: `iscsilab schema --markdown`."""
from __future__ import annotations

from ..provision import schema as lab_schema
from . import schema

HEADER = """# Scenario file reference

Made by `iscsilab schema --markdown` from the schema the loader checks files against
(`target-lab/iscsilab/scenario/schema.py`, with the `lab:` block from
`target-lab/iscsilab/provision/schema.py`); a unit test keeps this page equal to it. The JSON
Schema itself, for editors (yaml-language-server: `# yaml-language-server: $schema=...`), is
`scenarios/schema.json` (`iscsilab schema`).

Values: a **duration** is seconds or text (`500ms`, `2s`, `1.5min`); **within** is a duration
(the maximum) or `[min, max]`; a **size** is bytes or text (`4KiB`, `64MiB`, `1G`). Anywhere in a
file, `${name}` is a matrix parameter's value (`${name.field}` for a mapping value).
"""


def type_text(s: dict) -> str:
    if s is schema.DURATION or s.get("x-expected", "").startswith("a duration"):
        return "duration"
    if s is schema.WITHIN or s.get("x-expected", "").startswith("a duration, or"):
        return "within"
    if s.get("x-expected", "").startswith("a size"):
        return "size"
    if "const" in s:
        return f"`{s['const']}`"
    if "enum" in s:
        return " \\| ".join(f"`{v}`" if not isinstance(v, bool) else f"`{str(v).lower()}`"
                            for v in s["enum"])
    if "anyOf" in s:
        return " or ".join(type_text(x) for x in s["anyOf"])
    t = s.get("type")
    if isinstance(t, list):
        return " or ".join(t)
    if t == "array":
        items = s.get("items", {})
        return f"list of {items.get('title') or type_text(items)}"
    if t == "object" and s.get("title"):
        return f"[{s['title']}](#{s['title'].replace(' ', '-')})"
    return t or "any"


def table(s: dict, required=()) -> list[str]:
    props = s.get("properties", {})
    if not props and "anyOf" in s:
        obj = next((x for x in s["anyOf"] if x.get("type") == "object"), {})
        props, required = obj.get("properties", {}), obj.get("required", [])
    required = set(required or s.get("required", []))
    lines = ["| key | value | description |", "|---|---|---|"]
    for k, v in props.items():
        desc = (v.get("description") or "").replace("|", "\\|").replace("\n", " ")
        req = " **(required)**" if k in required else ""
        lines.append(f"| `{k}` | {type_text(v)} | {desc}{req} |")
    return lines


def section(title: str, s: dict, level: str = "##") -> list[str]:
    out = [f"{level} {title}", ""]
    if s.get("description"):
        out += [s["description"], ""]
    out += table(s) + [""]
    return out


def markdown() -> str:
    out = [HEADER]
    out += section("scenario file", schema.SCENARIO)
    out += section("lab", lab_schema.LAB)
    for s in (lab_schema.TARGET, lab_schema.TPG, lab_schema.LUN, lab_schema.BACKSTORE,
              lab_schema.ACL, lab_schema.MAPPED_LUN, lab_schema.AUTH):
        out += section(s["title"], s, "###")
    out += section("initiator", schema.INITIATOR)
    out += ["## matrix", "", schema.MATRIX["description"], "",
            "```yaml", "matrix:", "  digest: [None, CRC32C]", "  auth:",
            "    - {name: none}", "    - {name: chap, userid: u, password: chap-secret-01}",
            "  exclude: [{digest: None, auth: chap}]", "```", ""]
    out += ["## steps", "",
            "Each step is a mapping with exactly one step kind key and, optionally, the common "
            "keys below. Steps run in order; a failed action stops the scenario, a failed "
            "`expect` does not (later steps still run and measure).", ""]
    out += ["### common keys", ""] + table({"properties": schema.STEP_COMMON}) + [""]
    out += ["Labels (`as:`) mark when the step took effect: a fault when it was asked for (what "
            "it causes can be seen before the lab's call returns), a LUN or target change when "
            "it was applied, an `expect` at the moment it measured, any other step at its start. "
            "`from: label.start` / `label.end` pick the step's start or end instead.", ""]
    for kind, s in schema.STEPS.items():
        out += [f"### {kind}", ""]
        if s.get("description"):
            out += [s["description"], ""]
        if "anyOf" in s:
            short = next(x for x in s["anyOf"] if x.get("type") != "object")
            out += [f"Short form: `{kind}: <{type_text(short)}>`.", ""]
        if kind == "parallel":
            out += ["The value is a list of steps.", ""]
            continue
        out += table(s) + [""]
    return "\n".join(out)
