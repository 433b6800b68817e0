"""`geno import` and `geno export`: genotypes from and to DARTS, CDARTS and NAS-Bench-201 text."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from genolang.cli import app
from genolang.errors import UserError
from genolang.grammar import interop, parse_file

_EXPORT_FORMATS = ("darts", "cdarts", "nb201")


def _read(text: Optional[str], file: Optional[Path]) -> tuple[str, str]:
    if file is not None and text is not None:
        raise UserError("give the genotype either as text or with --file, not both")
    if file is not None:
        if str(file) == "-":
            return sys.stdin.read(), "<stdin>"
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


@app.command("import")
def import_(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="darts (flat or nested, or a CDARTS cell JSON), cdarts, nb201."),
    text: Optional[str] = typer.Argument(None, help="The genotype text; `-` or nothing reads stdin."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="Read the genotype text from a file."),
    name: Optional[str] = typer.Option(None, "--name", "-n", help="Genotype name (default: the Python variable, else `imported`)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the spec here instead of stdout."),
    source: Optional[str] = typer.Option(None, "--source", help="Provenance: where the genotype comes from."),
    space: Optional[str] = typer.Option(None, "--space", help="Space the labels belong to (darts / nb201)."),
    drop_none: bool = typer.Option(False, "--drop-none", help="NB201: leave `none` edges out instead of writing `zero`."),
) -> None:
    """Turn a DARTS/CDARTS genotype repr or a NAS-Bench-201 string into genotype spec text (no eval)."""
    body, origin = _read(text, file)
    options = {"name": name, "source": source}
    if space:
        options["space"] = space
    if fmt == "nb201":
        options["drop_none"] = drop_none
    definition = interop.import_genotype(fmt, body, file=f"<{fmt} genotype>" if origin.startswith("<") else origin,
                                         **options)
    spec = interop.genotype_text(definition)
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
    if fmt not in _EXPORT_FORMATS:
        from genolang.errors import did_you_mean

        raise UserError(f"unknown export format `{fmt}`",
                        hint=did_you_mean(fmt, _EXPORT_FORMATS) or "formats: " + ", ".join(_EXPORT_FORMATS))
    definition = interop.find_genotype(parse_file(path), genotype)
    if fmt == "darts":
        text = interop.export_darts(definition, nested=nested)
    elif fmt == "cdarts":
        text = interop.export_cdarts_json(definition)
    else:
        text = interop.export_nb201(definition)
    print(text)
