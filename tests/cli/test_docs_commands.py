"""The README and docs/ name exactly the commands `geno` has: each named one answers --help,
and each registered one is in the README's command table."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `geno NAME` as a command (not the `.geno` suffix); a line that says "planned" names a
# command that is not built yet, on purpose.
COMMAND = re.compile(r"(?<![.\w/])geno ([a-z][a-z-]+)")


def documented() -> dict[str, str]:
    found: dict[str, str] = {}
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            if "planned" in line.lower():
                continue
            for name in COMMAND.findall(line):
                found.setdefault(name, f"{doc.name}:{number}")
    return found


def registered() -> set[str]:
    import typer

    from genolang.cli import app

    return set(typer.main.get_command(app).commands)


def test_every_documented_command_answers_help(geno):
    named = documented()
    assert {"check", "search", "train", "macro-search"} <= set(named)
    for name, where in named.items():
        result = geno(name, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, f"`geno {name}` ({where}): {result.stderr}"


def test_every_registered_command_is_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = {m for m in re.findall(r"^\| `geno ([a-z-]+)", readme, re.M)}
    table |= set(re.findall(r"`geno ([a-z-]+) ", readme))
    assert registered() - table == set(), "commands missing from the README's command table"
