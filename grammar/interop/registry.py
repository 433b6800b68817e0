"""The foreign formats by name: what `geno import` reads and `geno export` writes.

A new format is one module beside this one (a reader and a writer over the neutral cells of
:mod:`.common`) and one :func:`register_format` call below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from genolang.base.errors import UserError, did_you_mean
from genolang.base.limits import MAX_FILE_BYTES

from genolang.grammar import syntax as S
from genolang.grammar.interop.cream import export_cdarts_json, parse_cdarts_json
from genolang.grammar.interop.darts import export_darts, parse_darts_repr
from genolang.grammar.interop.nb201 import export_nb201, parse_nb201

__all__ = ["Format", "REGISTRY", "FORMATS", "USUAL_TEMPLATE", "register_format", "format_named", "parse_darts",
           "import_genotype"]


@dataclass(frozen=True)
class Format:
    """One foreign format: its reader ``(text, *, name, source, space, file, ...) -> genotype``, its
    writer ``(genotype, *, nested) -> text``, and the network its genotypes are usually evaluated on
    (the standard library defines it)."""

    name: str
    read: Callable[..., S.GenotypeDef]
    write: Callable[..., str]
    usual_template: str
    read_options: tuple[str, ...] = ()      # options of `geno import` that only this reader takes


REGISTRY: dict[str, Format] = {}


def register_format(fmt: Format) -> Format:
    REGISTRY[fmt.name] = fmt
    return fmt


def format_named(name: str, what: str = "genotype") -> Format:
    if name not in REGISTRY:
        raise UserError(f"unknown {what} format `{name}`",
                        hint=did_you_mean(name, REGISTRY) or "formats: " + ", ".join(REGISTRY))
    return REGISTRY[name]


def parse_darts(text: str, *, name: str | None = None, source: str | None = None, space: str | None = None,
                file: str = "<darts genotype>") -> S.GenotypeDef:
    """A DARTS (flat) or CDARTS (nested) ``Genotype(...)`` repr -> a genotype definition.

    A text that starts with ``{`` is read as a CDARTS cell file (see :func:`parse_cdarts_json`).
    """
    if text.lstrip().startswith("{"):
        return parse_cdarts_json(text, name=name, source=source, space=space, file=file)
    return parse_darts_repr(text, name=name, source=source, space=space, file=file)


def _write_darts(definition: S.GenotypeDef, nested: bool = False) -> str:
    return export_darts(definition, nested=nested)


def _write_cdarts(definition: S.GenotypeDef, nested: bool = False) -> str:
    return export_cdarts_json(definition)


def _write_nb201(definition: S.GenotypeDef, nested: bool = False) -> str:
    return export_nb201(definition)


# DARTS and CDARTS cells: the CIFAR retraining network of DARTS; NAS-Bench-201: its CIFAR-10 network
register_format(Format("darts", parse_darts, _write_darts, "retrain_net"))
register_format(Format("cdarts", parse_darts, _write_cdarts, "retrain_net"))
register_format(Format("nb201", parse_nb201, _write_nb201, "nb201_net", read_options=("drop_none",)))

FORMATS = tuple(REGISTRY)
USUAL_TEMPLATE = {fmt.name: fmt.usual_template for fmt in REGISTRY.values()}
_READ_OPTIONS = {option for fmt in REGISTRY.values() for option in fmt.read_options}


def import_genotype(fmt: str, text: str, **options) -> S.GenotypeDef:
    """Dispatch on the format name: ``darts`` (flat or nested, or a CDARTS JSON), ``cdarts``, ``nb201``.
    Imported text is data from anyone: its size, its ranges and its names are bounded and
    checked before anything is built from it or printed into spec text."""
    if len(text) > MAX_FILE_BYTES:
        raise UserError(f"the {fmt} genotype text is {len(text):,} characters; at most {MAX_FILE_BYTES:,} are read")
    entry = format_named(fmt)
    for option in _READ_OPTIONS - set(entry.read_options):
        options.pop(option, None)
    return entry.read(text, **options)
