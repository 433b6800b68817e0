"""`geno fmt`: rewrite .geno files in canonical form (in place), or check that they are."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Iterator, List

import typer

from genolang.cli import app
from genolang.base.errors import GenolangError, UserError
from genolang.grammar import parse, print_module


def geno_files(paths: List[Path]) -> Iterator[Path]:
    """The files named, and the *.geno files under the folders named (sorted, recursively)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.geno") if p.is_file())
        elif path.exists():
            yield path
        else:
            raise UserError(f"no such file or folder: {path}", hint="check the path")


def format_text(text: str, file: str = "<string>") -> str:
    """Canonical text of a spec (raises the parser's errors)."""
    return print_module(parse(text, file))


@app.command("fmt")
def fmt(
    paths: List[Path] = typer.Argument(..., metavar="PATH...", help="Spec files, or folders to search for *.geno; `-` formats stdin to stdout."),
    check: bool = typer.Option(False, "--check", help="Change nothing; exit 1 if a file is not canonical."),
    diff: bool = typer.Option(False, "--diff", help="Show what would change (implies --check)."),
) -> None:
    """Format spec files canonically. Exit 0 when done (or all canonical), 1 when --check finds
    files to change, 2 on syntax errors."""
    if [str(p) for p in paths] == ["-"]:
        sys.stdout.write(format_text(sys.stdin.read(), "<stdin>"))
        return
    check = check or diff
    changed, failed = [], 0
    for path in geno_files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            print(f"{path}: error: not UTF-8 text", file=sys.stderr)
            failed += 1
            continue
        try:
            new = format_text(text, str(path))
        except GenolangError as exc:
            print(exc.render(), file=sys.stderr)
            failed += 1
            continue
        if new == text:
            continue
        changed.append(path)
        if diff:
            sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True),
                                                       f"{path}", f"{path} (formatted)"))
        if check:
            if not diff:
                print(f"would reformat {path}")
        else:
            path.write_text(new, encoding="utf-8")
            print(f"reformatted {path}")
    if failed:
        raise SystemExit(2)
    if check and changed:
        noun = "file" if len(changed) == 1 else "files"
        print(f"{len(changed)} {noun} would be reformatted", file=sys.stderr)
        raise SystemExit(1)
