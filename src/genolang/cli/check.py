"""`geno check`: parse, resolve and verify spec files; report every error with its place."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app, report
from genolang.base.errors import GenolangError

ALLOW_PATH_HELP = "Also let `use` read .geno files in this folder (repeatable; see GENOLANG_PATH)."


def spec_files(paths: List[Path]) -> list[Path]:
    from genolang.specname import spec_path

    out: list[Path] = []
    for path in paths:
        path = spec_path(path)
        try:
            folder = path.is_dir()
        except OSError:         # a name too long, say: reading it reports the error
            folder = False
        if folder:
            out.extend(sorted(path.rglob("*.geno")))
        else:
            out.append(path)
    return out


def allow_paths(folders: Optional[List[Path]]) -> None:
    """Apply `--allow-path` options (the folders `use` may read besides the project)."""
    from genolang.compiler.lower.resolve import allow_path

    for folder in folders or ():
        allow_path(folder)


@app.command()
def check(paths: List[Path] = typer.Argument(..., help="Spec files or folders (searched for *.geno), or packaged specs by name (icdarts/digits)."),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing when all is well."),
          allow_path: Optional[List[Path]] = typer.Option(None, "--allow-path", help=ALLOW_PATH_HELP),
          strict: bool = typer.Option(False, "--strict", help="Refuse warnings too (a data.path that does not exist).")) -> None:
    """Parse and verify spec files: syntax, names, cycles, arity, types, strides, genotypes vs
    spaces, and the shapes and data settings `geno compile` and `geno search` would check.

    Exits 0 when every file is clean, 2 when any has an error (each printed as
    file:line:col with the source line, a caret and a hint). Warnings (a `data.path` that
    does not exist here) are printed too, and are errors with --strict. Never builds a network.
    """
    from genolang.api import load
    from genolang.compiler.passes.pipeline import check_program

    allow_paths(allow_path)
    worst = 0
    for path in spec_files(paths):
        try:
            program = load(path)
            warnings = check_program(program)
            for warning in warnings:
                code = report(warning)
                worst = max(worst, code if strict else 0)
            if strict and warnings:
                continue
            if not quiet:
                counts = {k: len(program.local(k)) for k in ("op", "space", "cell", "network", "macro", "experiment", "genotype")}
                summary = ", ".join(f"{v} {k}{'s' if v != 1 else ''}" for k, v in counts.items() if v)
                typer.echo(f"{path}: ok ({summary or 'nothing defined'})")
        except GenolangError as exc:
            worst = max(worst, report(exc))
    if worst:
        raise typer.Exit(worst)
