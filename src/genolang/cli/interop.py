"""`geno import` and `geno export`: genotypes from and to DARTS, CDARTS and NAS-Bench-201 text."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from genolang.cli import app
from genolang.base.errors import UserError, did_you_mean
from genolang.grammar import interop, parse_file, syntax as S

def _read(text: Optional[str], file: Optional[Path]) -> tuple[str, str]:
    if file is not None and text is not None:
        raise UserError("give the genotype either as text or with --file, not both")
    if file is not None:
        if str(file) == "-":
            return sys.stdin.read(), "<stdin>"
        from genolang.base.limits import MAX_FILE_BYTES

        if file.exists() and (not file.is_file() or file.stat().st_size > MAX_FILE_BYTES):
            raise UserError(f"{file} is not a plain file of at most {MAX_FILE_BYTES:,} bytes; not read")
        try:
            return file.read_text(encoding="utf-8"), str(file)
        except FileNotFoundError:
            raise UserError(f"no such file: {file}", hint="check the path") from None
        except (IsADirectoryError, UnicodeDecodeError):
            raise UserError(f"{file} is not a UTF-8 text file") from None
    if text is None or text == "-":
        if text is None and sys.stdin.isatty():
            raise UserError("no genotype given", hint='pass it as an argument: geno import darts "Genotype(...)"')
        return sys.stdin.read(), "<stdin>"
    return text, "<argument>"


def _defined_in(paths: list[tuple[str, Path]]) -> dict[tuple[str, str], str]:
    """(kind, name) -> the `use` path of the first file that defines it."""
    found: dict[tuple[str, str], str] = {}
    for use_path, path in paths:
        for item in parse_file(path).items:
            if isinstance(item, (S.SpaceDef, S.NetworkDef)):
                kind = "space" if isinstance(item, S.SpaceDef) else "network"
                found.setdefault((kind, item.name), use_path)
    return found


def _standalone(definition: S.GenotypeDef, fmt: str, template: Optional[str], uses: list[str],
                where: Path) -> str:
    """The genotype with the `use` lines and the template it needs to compile on its own.

    The space and the template are looked up in the ``--use`` files (resolved from ``where``,
    the folder the spec is written to, as its `use` lines will be) and the standard library."""
    from genolang.compiler.lower.load import STDLIB

    files = []
    for use in uses:
        path = where / use
        if not path.is_file():
            raise UserError(f"--use {use}: no such file (from {where})",
                            hint="`use` paths are relative to the written spec's folder")
        files.append((use, path))
    files += [(p.name, p) for p in sorted(STDLIB.glob("*.geno"))]
    known = _defined_in(files)
    template = template or interop.USUAL_TEMPLATE.get(fmt)
    space = next((s.name for s in definition.body if isinstance(s, S.GenoSpace)), None)
    needed = []
    for kind, name in (("space", space), ("network", template)):
        if name is None:
            continue
        if (kind, name) not in known:
            names = [n for k, n in known if k == kind]
            raise UserError(f"no {kind} `{name}` in the standard library" + (" or the --use files" if uses else ""),
                            hint=did_you_mean(name, names) or f"pass --use FILE for the file that defines `{name}`")
        needed.append(known[(kind, name)])
    return interop.standalone_text(definition, tuple(uses) + tuple(needed), template)


@app.command("import")
def import_(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="darts (flat or nested, or a CDARTS cell JSON), cdarts, nb201."),
    text: Optional[str] = typer.Argument(None, help="The genotype text; `-` or nothing reads stdin."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="Read the genotype text from a file."),
    name: Optional[str] = typer.Option(None, "--name", "-n", help="Genotype name (default: the Python variable, else `imported`)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the spec here instead of stdout."),
    source: Optional[str] = typer.Option(None, "--source", help="Provenance: where the genotype comes from."),
    space: Optional[str] = typer.Option(None, "--space", help="Space the labels belong to (default: darts, nasnet for NASNet-A/AmoebaNet ops, nb201)."),
    drop_none: bool = typer.Option(False, "--drop-none", help="NB201: leave `none` edges out instead of writing `zero`."),
    template: Optional[str] = typer.Option(
        None, "--template", "-t",
        help="Network to compile on (default: darts/cdarts retrain_net, nb201 nb201_net; e.g. retrain_net_c100, nb201_net_c100)."),
    use: list[str] = typer.Option([], "--use", help="Also `use` this spec file (for a space or template of your own)."),
) -> None:
    """Turn a DARTS/CDARTS genotype repr or a NAS-Bench-201 string into a spec that checks and
    compiles by itself (its `use` lines and template included; parsed without eval)."""
    body, origin = _read(text, file)
    options = {"name": name, "source": source}
    if space:
        options["space"] = space
    if fmt == "nb201":
        options["drop_none"] = drop_none
    definition = interop.import_genotype(fmt, body, file=f"<{fmt} genotype>" if origin.startswith("<") else origin,
                                         **options)
    spec = _standalone(definition, fmt, template, use, Path.cwd() if out is None else out.parent)
    if out is None:
        sys.stdout.write(spec)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(spec, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)


@app.command("export")
def export(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="darts, cdarts (JSON cell file) or nb201."),
    path: Path = typer.Argument(..., metavar="FILE.geno"),
    genotype: Optional[str] = typer.Option(None, "--genotype", "-g", help="Which genotype, if the file has several."),
    nested: bool = typer.Option(False, "--nested", help="darts: the CDARTS per-node form (any edge count)."),
) -> None:
    """Write a genotype of a spec file in another tool's format."""
    writer = interop.format_named(fmt, "export").write
    definition = interop.find_genotype(parse_file(path), genotype)
    print(writer(definition, nested=nested))
