"""Every public module of llvscan lists exactly what it defines publicly in ``__all__``, and the
packages' imports form layers: no cycle anywhere, light modules stay light.

The modules are found by walking the package (``pkgutil``) and read with ``ast``, so a new module is
checked the day it lands; nothing here is a hand-kept list.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import llvscan

ROOT = Path(llvscan.__file__).parent


def _all_modules() -> list[str]:
    names = ["llvscan"]
    for info in pkgutil.walk_packages([str(ROOT)], prefix="llvscan."):
        names.append(info.name)
    return sorted(names)


MODULES = _all_modules()
PUBLIC_MODULES = [m for m in MODULES if not any(part.startswith("_") for part in m.split(".")[1:])]


def _source(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, name
    return Path(spec.origin)


def _defined_publicly(tree: ast.Module) -> set[str]:
    """Top-level functions, classes and assignments whose names do not start with ``_``."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        names.add(leaf.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")} - {"log"}


def test_the_walk_finds_the_layers():
    assert {"llvscan.mesh.core.types", "llvscan.mesh.io.registry", "llvscan.mesh.simplify.decimate",
            "llvscan.mesh.lod.build", "llvscan.mesh.render.renderer", "llvscan.cli.run"} <= set(MODULES)


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_matches_what_the_module_defines(name):
    tree = ast.parse(_source(name).read_text(encoding="utf-8"))
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    declared = set(module.__all__)
    assert len(declared) == len(module.__all__), f"{name}.__all__ lists a name twice"
    missing = _defined_publicly(tree) - declared
    assert not missing, f"{name} defines {sorted(missing)} but its __all__ does not list them"
    unresolved = [n for n in module.__all__ if not hasattr(module, n)]
    assert not unresolved, f"{name}.__all__ lists {unresolved}, which it does not provide"


def _imports(name: str) -> set[str]:
    """llvscan modules that ``name`` imports anywhere in its source (module level or inside functions)."""
    path = _source(name)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_anywhere():
    graph = {name: _imports(name) for name in MODULES}
    assert graph["llvscan.mesh.simplify.decimate"] >= {"llvscan.mesh.core.types", "llvscan.mesh.topology"}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_mesh_core_imports_nothing_else_of_the_mesh_package():
    for name in MODULES:
        if name.startswith("llvscan.mesh.core."):
            outside = {m for m in _imports(name) if m.startswith("llvscan.mesh") and
                       not m.startswith("llvscan.mesh.core")}
            assert not outside, f"{name} imports {outside}"


def test_readers_and_writers_never_import_the_registry():
    for name in MODULES:
        if name.startswith("llvscan.mesh.io.") and name != "llvscan.mesh.io.registry":
            assert "llvscan.mesh.io.registry" not in _imports(name), name


@pytest.mark.parametrize("name", ["llvscan.collection.recipe", "llvscan.mesh", "llvscan.cli"])
def test_light_modules_stay_light(name):
    code = (f"import sys, {name}\n"
            "print(','.join(m for m in ('numpy', 'numba', 'pyvips', 'trimesh', 'open3d') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing {name} loads {out}"


# inputs that hold arrays or a task, not results: they never reach JSON
_NOT_RESULTS = {"llvscan.mesh.core.types.Mesh", "llvscan.mesh.topology.Topology", "llvscan.collection.process.AssetJob"}


def test_every_public_dataclass_has_the_one_json_form():
    import dataclasses

    from llvscan._json import JsonResult

    plain = []
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for attribute in module.__all__:
            value = getattr(module, attribute)
            if (isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == name
                    and f"{name}.{attribute}" not in _NOT_RESULTS and not issubclass(value, JsonResult)):
                plain.append(f"{name}.{attribute}")
    assert plain == [], f"serialise these with llvscan._json.JsonResult (to_dict): {plain}"
