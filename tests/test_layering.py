"""The floor plan: imports only go forward along the pipeline, and no module imports itself back.

    base -> grammar -> compiler.lower -> compiler.passes -> compiler.genotype -> compiler.build
         -> runtime.data -> runtime.runs -> runtime.search -> runtime.retrain -> runtime.jobs
         -> runtime.report -> the face (genolang.api, genolang.cli, ...)

The test reads the source of every genolang module and follows every import, at module level or
inside a function (a function-local import is still an edge: it only hides a cycle from Python's
import machinery). There are no exceptions: any backward edge or cycle fails the test.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"genolang": ROOT / "src" / "genolang", "genolang.grammar": ROOT / "grammar",
           "genolang.compiler": ROOT / "compiler", "genolang.runtime": ROOT / "runtime"}

# the floors, in pipeline order; a module lives on the floor of its longest matching prefix
FLOORS = [
    "genolang.base",
    "genolang.grammar",
    "genolang.compiler", "genolang.compiler.lower", "genolang.compiler.passes", "genolang.compiler.genotype",
    "genolang.compiler.build",
    "genolang.runtime", "genolang.runtime.data", "genolang.runtime.runs", "genolang.runtime.search",
    "genolang.runtime.retrain", "genolang.runtime.jobs", "genolang.runtime.report",
    "genolang",                                   # the face: api, cli, specname, classifier
]
# modules the front end (`geno check`, `fmt`, `show`, `diff`, `import`, `export`, `compile --summary`)
# imports: torch may only be imported inside their functions
FRONT_END = ("genolang.grammar", "genolang.compiler.lower", "genolang.compiler.passes")


def module_name(path: Path) -> str:
    for package, folder in sorted(SOURCES.items(), key=lambda kv: -len(kv[0])):
        if folder in path.parents:
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            return ".".join([package, *parts])
    raise AssertionError(path)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            name = module_name(path)
            if package == "genolang" or name.startswith(package):
                found.setdefault(name, path)
    return found


def floor(name: str) -> int:
    best = max((f for f in FLOORS if name == f or name.startswith(f + ".")), key=len)
    return FLOORS.index(best)


def imports(name: str) -> list[tuple[str, int, bool]]:
    """(imported genolang module, line, at module level) for every import in the module."""
    path = modules()[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules() else base for a in node.names]
        for target in targets:
            while target and target not in modules():
                target = target.rpartition(".")[0]
            if target.startswith("genolang") and target != name:
                found.append((target, node.lineno, id(node) in top))
    return found


def edges() -> dict[str, set[str]]:
    return {name: {t for t, _, _ in imports(name)} for name in modules()}


def cycles() -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    graph, index, low, stack, on, out = edges(), {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(frozenset(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_floor_plan_covers_every_module():
    assert len(modules()) > 100
    assert all(floor(name) >= 0 for name in modules())


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_import_of_a_later_floor(name):
    bad = [(target, line) for target, line, _ in imports(name)
           if floor(target) > floor(name)
           and not (floor(name) == FLOORS.index("genolang") and name == "genolang")]
    assert not bad, f"{modules()[name].relative_to(ROOT)} imports a later floor: {bad}"


def test_the_base_imports_no_stage():
    for name in modules():
        if floor(name) == 0:
            assert all(floor(t) == 0 for t, _, _ in imports(name)), name


def test_no_stage_imports_the_face():
    face = FLOORS.index("genolang")
    for name in modules():
        if floor(name) < face:
            assert all(floor(t) < face for t, _, _ in imports(name)), name


def test_no_import_cycle():
    found = set(cycles())
    assert not found, [sorted(c) for c in found]


def test_the_front_end_imports_no_torch_at_module_level():
    for name, path in modules().items():
        if name.startswith(FRONT_END):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            heavy = [n.lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
                     and any(m.split(".")[0] == "torch" for m in
                             ([a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""]))]
            assert not heavy, f"{path.relative_to(ROOT)} imports torch at module level, lines {heavy}"
