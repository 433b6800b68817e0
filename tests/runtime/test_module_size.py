"""The runtime's modules stay small: every .py file under runtime/ is under 400 lines (one
concept a file; the house rule of issue 20). A file that grows past it is split by concept."""

from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
LIMIT = 400


def test_the_runtime_has_modules_to_measure():
    assert len(list(RUNTIME.rglob("*.py"))) > 30


@pytest.mark.parametrize("path", sorted(RUNTIME.rglob("*.py")), ids=lambda p: str(p.relative_to(RUNTIME)))
def test_every_runtime_module_is_under_400_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines < LIMIT, f"runtime/{path.relative_to(RUNTIME)} has {lines} lines: split it by concept"
