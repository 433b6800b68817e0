"""Imports only go forward along the pipeline: grammar -> compiler -> runtime -> package face.

`genolang.base.errors` is shared by every stage. The test reads the source of each stage's modules
and fails on any import of a later stage (at module level or inside a function).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# stage folder -> the genolang modules it must never import
FORBIDDEN = {
    "grammar": ("genolang.compiler", "genolang.runtime", "genolang.cli", "genolang.api"),
    "compiler": ("genolang.runtime", "genolang.cli", "genolang.api"),
    "runtime": ("genolang.cli", "genolang.api"),
}


def imported_modules(path: Path, package: str) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the file's package
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.append((name, node.lineno))
    return found


def stage_files():
    for stage in FORBIDDEN:
        for path in sorted((ROOT / stage).rglob("*.py")):
            rel = path.relative_to(ROOT / stage).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            package = ".".join(["genolang", stage] + parts[:-1] if path.name != "__init__.py" else ["genolang", stage] + parts)
            yield stage, path, package


@pytest.mark.parametrize("stage,path,package", list(stage_files()), ids=lambda v: str(v)[-40:] if isinstance(v, Path) else None)
def test_no_backward_imports(stage, path, package):
    bad = [(name, line) for name, line in imported_modules(path, package)
           if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[stage])]
    assert not bad, f"{path.relative_to(ROOT)} imports a later stage: {bad}"
