"""target-lab/iscsilab/_core.pyi names exactly what the compiled module exports."""
import ast
import builtins
from pathlib import Path

from _core_testlib import core

STUB = Path(__file__).resolve().parents[3] / "target-lab" / "iscsilab" / "_core.pyi"


def _stub_tree():
    return ast.parse(STUB.read_text())


def _public(names):
    return {n for n in names if not n.startswith("_")}


def test_every_module_name_is_in_the_stub_and_back():
    c = core()
    tree = _stub_tree()
    stub_names = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    stub_names |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    # Type aliases of the stub (Settings) are not module attributes.
    aliases = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets}
    module_names = _public(dir(c))
    assert module_names - stub_names == set(), "in the module, missing from _core.pyi"
    assert stub_names - module_names == set(), "in _core.pyi, missing from the module"
    assert aliases <= {"Settings"}


def test_every_class_member_matches():
    c = core()
    tree = _stub_tree()
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        obj = getattr(c, cls.name)
        if issubclass(obj, BaseException):
            continue  # attributes set per instance; checked in test_core_errors.py
        stub_members = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
        stub_members |= {t.id for n in cls.body if isinstance(n, ast.Assign) for t in n.targets}
        stub_members = {m for m in stub_members if not m.startswith("_") or m in
                        ("__enter__", "__exit__", "__init__")}
        members = {m for m in vars(obj) if not m.startswith("_") or m in ("__enter__", "__exit__")}
        if cls.name == "TmfResponse":
            members = set(obj.__members__) | {"words"}
        assert members - stub_members == set(), f"{cls.name}: missing from _core.pyi"
        assert stub_members - members - {"__init__"} == set(), f"{cls.name}: not in the module"


def test_exception_hierarchy_matches_the_stub():
    c = core()
    for cls in (n for n in _stub_tree().body if isinstance(n, ast.ClassDef)):
        bases = [b.id for b in cls.bases if isinstance(b, ast.Name)]
        obj = getattr(c, cls.name)
        for base in bases:
            expected = getattr(c, base, None) or getattr(builtins, base)
            assert issubclass(obj, expected), f"{cls.name} should derive from {base}"
