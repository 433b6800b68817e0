"""`geno diff A.geno B.geno`: what changed in the architecture, one change a line."""

from __future__ import annotations

from pathlib import Path

import typer

from genolang.cli import app
from genolang.grammar import interop, parse_file


@app.command("diff")
def diff(
    a: Path = typer.Argument(..., metavar="A.geno"),
    b: Path = typer.Argument(..., metavar="B.geno"),
) -> None:
    """Compare two spec files at the level of the architecture (cells, nodes, edges, concat),
    ignoring layout, comments, edge order and provenance. Exit 0 if equivalent, 1 if not."""
    from genolang.specname import spec_path

    lines = interop.diff_modules(parse_file(spec_path(a)), parse_file(spec_path(b)))
    for line in lines:
        print(line)
    if lines:
        raise SystemExit(1)
