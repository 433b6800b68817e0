"""Shared pytest options and fixtures.

``pytest --update-golden`` rewrites the golden files that tests compare against (error
messages under tests/golden/errors, IR dumps under tests/golden/ir) instead of failing; the
``golden`` fixture is the one place that reads or writes them.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files (tests/golden/**) with the current output instead of comparing")


@pytest.fixture
def golden(request):
    """``golden(path, actual)``: assert ``actual`` equals the text of ``path``, or write it
    there when pytest runs with ``--update-golden``."""
    update = request.config.getoption("--update-golden")

    def check(path: str | Path, actual: str) -> None:
        path = Path(path)
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != actual:
                path.write_text(actual, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"golden file {path} is missing; create it with `pytest --update-golden`")
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"output differs from {path} (regenerate with `pytest --update-golden`)"

    return check
