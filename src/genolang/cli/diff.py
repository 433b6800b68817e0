"""`geno diff A.geno B.geno`: what changed in the architecture, one change a line."""

from __future__ import annotations

from pathlib import Path

import typer

from genolang.cli import app
from genolang.compiler.genotype.diff import diff_modules
from genolang.grammar import parse_file


@app.command("diff")
def diff(
    a: Path = typer.Argument(..., metavar="A.geno"),
    b: Path = typer.Argument(..., metavar="B.geno"),
) -> None:
    """Compare two spec files at the level of the architecture (cells, nodes, edges, concat),
    ignoring layout, comments, edge order and provenance. Two genotypes that differ only in
    writing (sum operands, node numbering, concat order) are the "same architecture" (equal
    `geno show --hash`). Exit 0 if equivalent, 1 if not."""
    from genolang.compiler.genotype.hash import same_architecture
    from genolang.specname import spec_path

    ma, mb = parse_file(spec_path(a)), parse_file(spec_path(b))
    lines = diff_modules(ma, mb)
    same = same_architecture(ma, mb)
    if same is not None:
        print(f"same architecture ({same})")
        return
    for line in lines:
        print(line)
    if lines:
        raise SystemExit(1)
