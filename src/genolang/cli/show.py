"""`geno show`: print a spec's AST or IR."""

from __future__ import annotations

import pprint
from pathlib import Path
from typing import List

import typer

from genolang.cli import app


@app.command()
def show(paths: List[Path] = typer.Argument(..., help=".geno files, or packaged specs by name (zoo/darts_v2)."),
         ast: bool = typer.Option(False, "--ast", help="Print the syntax tree."),
         ir: bool = typer.Option(True, "--ir/--no-ir", help="Print the lowered IR (the default)."),
         all_: bool = typer.Option(False, "--all", help="Include definitions imported with `use`."),
         hash_: bool = typer.Option(False, "--hash", help="Print each genotype's architecture hash and its cells'.")) -> None:
    """Show what a spec means: the IR (spaces with each op spelled out in primitives, cells as
    graphs with stable ids like `normal.n2`, networks slot by slot, genotypes), or the AST.
    Given several files, each one's output follows a `# FILE` line."""
    from genolang.api import load
    from genolang.compiler.lower.dump import dump_program
    from genolang.grammar import parse_file

    from genolang.specname import spec_path

    for path in paths:
        path = spec_path(path)
        if len(paths) > 1:
            typer.echo(f"# {path}")
        if hash_:
            from genolang.compiler.genotype.hash import hash_lines

            typer.echo("\n".join(hash_lines(load(path), only_local=not all_)))
        elif ast:
            for item in parse_file(path).items:
                typer.echo(pprint.pformat(item, width=110, sort_dicts=False))
        else:
            typer.echo(dump_program(load(path), only_local=not all_), nl=False)
