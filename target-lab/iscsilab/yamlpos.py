"""YAML documents that remember where every value came from, and JSON Schema checks whose errors
point there: `file:line:column: what: what was expected`.

The lab file and scenario files are both read through here, so both report errors the same way
and both are described by one schema (iscsilab/provision/schema.py for the `lab:` block,
iscsilab/scenario/schema.py around it). PyYAML's SafeLoader gives the values their YAML types
(so `off` is false and `0x0201` is 513, as everywhere else); duplicate keys, which PyYAML
silently lets the last one win, are errors here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import yaml

from .errors import LabError

Path = tuple  # a path into the document: keys and list indexes, e.g. ("lab", "targets", 0, "name")


class DocError(LabError):
    """An error in a YAML file, already prefixed with `file:line:column`."""


@dataclass
class Doc:
    """Plain data (dicts, lists, scalars) plus the position of every value and every key."""
    data: Any
    source: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)   # path -> (line, col)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)     # path -> its key's (line, col)

    def where(self, path: Iterable = (), key: bool = False) -> str:
        """`file:line:col` of the value at `path` (of its key with key=True), or of the nearest
        enclosing value that has a position."""
        path = tuple(path)
        while True:
            table = self.keys if key and path in self.keys else self.values
            if path in table:
                line, col = table[path]
                return f"{self.source}:{line}:{col}"
            if not path:
                return self.source
            path = path[:-1]
            key = False

    def fail(self, path: Iterable, message: str, key: bool = False):
        raise DocError(f"{self.where(path, key)}: {message}")

    def sub(self, path: Iterable) -> "Doc":
        """The part of this document under `path`, with positions relative to it."""
        path = tuple(path)
        n = len(path)
        node = self.data
        for p in path:
            node = node[p]
        return Doc(node, self.source,
                   {k[n:]: v for k, v in self.values.items() if k[:n] == path},
                   {k[n:]: v for k, v in self.keys.items() if k[:n] == path and len(k) > n})


def load(text: str, source: str = "<string>") -> Doc:
    """Parses one YAML document; syntax errors become DocError with the position."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise DocError(f"{where}: {exc.problem or exc.context}") from None
    doc = Doc(None, source)
    if root is not None:
        try:
            doc.data = _Builder(doc).build(root, ())
        except yaml.MarkedYAMLError as exc:   # e.g. an unknown tag: !thing
            mark = exc.problem_mark or exc.context_mark
            where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
            raise DocError(f"{where}: {exc.problem or exc.context}") from None
    return doc


class _Builder:
    def __init__(self, doc: Doc):
        self.doc = doc
        self.constructor = yaml.SafeLoader("")

    def build(self, node, path: Path):
        self.doc.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)  # YAML merge keys (<<: *defaults)
            out = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise DocError(f"{self._at(key_node)}: a key must be a single value")
                # Keys keep their text as written: `on:` stays "on" (YAML 1.1 would make it
                # true) and `0x10:` stays "0x10"; no key of ours is a number or a boolean.
                key = key_node.value
                if key in out:
                    raise DocError(f"{self._at(key_node)}: duplicate key {key!r}")
                self.doc.keys[path + (key,)] = (key_node.start_mark.line + 1,
                                                key_node.start_mark.column + 1)
                out[key] = self.build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.constructor.construct_object(node)

    def _at(self, node) -> str:
        return f"{self.doc.source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


# ------------------------------------------------------------------------ schema checks
TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "text", "integer": "an integer",
              "number": "a number", "boolean": "true or false", "null": "nothing"}


def _type_words(t) -> str:
    types = t if isinstance(t, list) else [t]
    return " or ".join(TYPE_WORDS.get(x, x) for x in types)


def _label(path: Path) -> str:
    """("lab", "targets", 0, "tpgs", 1, "luns") -> "lab.targets[0].tpgs[1].luns"."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "file"


def check(doc: Doc, schema: dict, base: Path = (), data: Any = None) -> None:
    """Validates `data` (default: the doc's data at `base`) against `schema`; raises DocError for
    the first problem in document order, in words, at its position."""
    from jsonschema import Draft202012Validator
    if data is None:
        data = doc.data
        for p in base:
            data = data[p]
    validator = Draft202012Validator(schema)
    errors = list(validator.iter_errors(data))
    if not errors:
        return
    # Most specific first (deepest path), then document order: the error a person fixes first.
    def order(e):
        path = base + tuple(e.absolute_path)
        line, col = doc.values.get(path, (0, 0))
        return (line, col, -len(path))
    errors.sort(key=order)
    error, expected = _innermost(errors[0])
    path = base + tuple(error.absolute_path)
    secret = any(isinstance(p, str) and ("password" in p or "secret" in p) for p in path)
    message, at_key = explain(error, expected, secret)
    raise DocError(f"{doc.where(path if not at_key else path + (at_key,), key=bool(at_key))}: "
                   f"{_label(path)}: {message}")


def _innermost(error):
    """For anyOf/oneOf failures: the alternative the value was meant for (one of its type) names
    the real problem; when no alternative has the value's type, the anyOf itself does. Returns
    the error and the nearest `x-expected` on the way down (the words for a leaf that has none)."""
    expected = _expected(error)
    while error.context:
        # Alternatives that failed on the value's type are not the ones the author meant.
        meant = [e for e in error.context
                 if not (e.validator in ("type", "const", "enum") and
                         len(e.relative_schema_path) <= 2)]
        if not meant:
            break
        deeper = max(meant, key=lambda e: (len(e.absolute_path), -len(e.schema_path)))
        # The anyOf's words describe its own value, not a value further down inside it.
        same_value = len(deeper.absolute_path) == len(error.absolute_path)
        expected = _expected(deeper) or (expected if same_value else None)
        error = deeper
    return error, expected


def _expected(error):
    return error.schema.get("x-expected") if isinstance(error.schema, dict) else None


class _Shown(str):
    """A value as an error message shows it: repr() gives the text itself."""

    def __repr__(self) -> str:
        return str(self)


def shown(value):
    """Scalars as written (cut at 60 characters); a mapping or list only named, never dumped,
    since it may hold secrets and would drown the message."""
    if isinstance(value, dict):
        return _Shown("a mapping")
    if isinstance(value, list):
        return _Shown("a list")
    text = repr(value)
    return _Shown(text if len(text) <= 60 else text[:57] + "...")


def _unknown_key(error, schema: dict, secret: bool) -> tuple[str, Any]:
    props = schema.get("properties", {})
    allowed = sorted(props)
    extra = [k for k in error.instance if k not in props]
    # In a mapping that holds secrets, a mistyped key may be a secret run into its key
    # (`password:s3cret` without a space is one key): say where, not what.
    if secret or any(p.get("x-secret") for p in props.values() if isinstance(p, dict)):
        return ("unknown key (not shown: it may hold a secret; is a space missing after a "
                f"':'?); allowed: {', '.join(allowed)}", extra[0])
    return (f"unknown key {shown(extra[0])}" + (f" (allowed: {', '.join(allowed)})" if allowed else ""),
            extra[0])


def explain(error, expected: str | None = None, secret: bool = False) -> tuple[str, Any]:
    """(message, key) for a jsonschema error: key names the offending mapping key, if any, so
    the position points at it instead of at the mapping. `expected` words what a value should
    look like, when the schema says (x-expected)."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    expected = schema.get("x-expected") or expected
    v, value = error.validator, error.instance
    if v == "additionalProperties" and isinstance(value, dict):
        return _unknown_key(error, schema, secret)
    if secret or schema.get("x-secret"):
        value = "<secret>"   # a secret's value never reaches a message
    value = shown(value)
    if v == "required":
        missing = [k for k in error.validator_value if k not in value]
        return f"missing key {missing[0]!r}", None
    if expected:
        return f"expected {expected}, got {value!r}", None
    if v == "type":
        return f"expected {_type_words(error.validator_value)}, got {value!r}", None
    if v == "enum":
        return f"expected one of {', '.join(map(str, error.validator_value))}, got {value!r}", None
    if v == "const":
        return f"expected {error.validator_value!r}, got {value!r}", None
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if lo is not None and hi is not None:
            return f"expected a value in [{lo}, {hi}], got {value!r}", None
        return f"expected {'at least' if 'inimum' in v else 'at most'} {error.validator_value}, got {value!r}", None
    if v == "pattern":
        return f"{value!r} does not look as expected (pattern {error.validator_value})", None
    if v == "minItems":
        return f"expected at least {error.validator_value} item(s)", None
    if v == "maxItems":
        return f"expected at most {error.validator_value} item(s)", None
    if v == "minProperties":
        return "expected at least one key", None
    if v == "maxProperties":
        return f"expected at most {error.validator_value} key(s)", None
    if v in ("oneOf", "anyOf"):
        return f"does not match any accepted form: {schema.get('description', error.message)}", None
    if v == "uniqueItems":
        return "items must be unique", None
    return error.message, None
