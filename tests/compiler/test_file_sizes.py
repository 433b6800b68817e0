"""One concept per file, and files a reader can hold: every module of the compiler stays
under 400 lines (generated tables, which live in grammar/, are not compiler modules)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400
MODULES = sorted((ROOT / "compiler").rglob("*.py"))


def test_the_compiler_has_modules():
    assert len(MODULES) > 50


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_under_the_line_limit(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines < LIMIT, f"{path.relative_to(ROOT)} has {lines} lines; split it by concept (limit {LIMIT})"
