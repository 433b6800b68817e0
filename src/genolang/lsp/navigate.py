"""Go to definition, find references and the outline (document symbols).

A name is looked up in the symbol table of the file (its own definitions and what it `use`s:
other files, the standard library, the spec library). References are the name's uses in the
files that see that same definition: the file and what it reads, and every open or workspace
file whose last check read the defining file.
"""

from __future__ import annotations

from typing import Callable, Iterable

from lsprotocol import types as T

from genolang.base.errors import Span
from genolang.grammar import syntax as S

from .check import Analysis, to_range
from .lookup import KIND_ORDER, Definition, find_definition, name_span, names_a_definition, occurrences, word_at

__all__ = ["definition_at", "definition_location", "references", "outline"]


def definition_at(analysis: Analysis, text: str, line: int, column: int) -> Definition | None:
    lines = text.split("\n")
    found = word_at(lines[line], column) if line < len(lines) else None
    if found is None or not names_a_definition(lines[line], found[1]):
        return None
    return find_definition(analysis.table, found[0])


def definition_location(definition: Definition, lines_of: Callable[[str], list[str]], uri_of) -> T.Location:
    number, start, end = name_span(definition.stmt, definition.name, lines_of(definition.file))
    return T.Location(uri_of(definition.file), T.Range(T.Position(number, start), T.Position(number, end)))


def references(definition: Definition, files: Iterable[str], text_of: Callable[[str], str | None], uri_of,
               include_declaration: bool) -> list[T.Location]:
    out = []
    declaration = None
    if not include_declaration:
        lines = (text_of(definition.file) or "").split("\n")
        declaration = name_span(definition.stmt, definition.name, lines)
    for path in sorted(set(files) | {definition.file}):
        text = text_of(path)
        if text is None:
            continue
        for number, start, end in occurrences(text, definition.name):
            if path == definition.file and (number, start, end) == declaration:
                continue
            out.append(T.Location(uri_of(path), T.Range(T.Position(number, start), T.Position(number, end))))
    return out


SYMBOL_KIND = {"op": T.SymbolKind.Function, "space": T.SymbolKind.Enum, "cell": T.SymbolKind.Class,
               "network": T.SymbolKind.Struct, "macro": T.SymbolKind.Namespace, "experiment": T.SymbolKind.Object,
               "genotype": T.SymbolKind.Module}
assert set(SYMBOL_KIND) == set(KIND_ORDER)


def _range(stmt_span: Span, lines: list[str]) -> T.Range:
    return to_range(stmt_span, lines)


def outline(module: S.Module, lines: list[str]) -> list[T.DocumentSymbol]:
    """One symbol per definition, with its space entries, cell and genotype cells, and
    experiment settings as children."""
    from .lookup import definitions_in

    out = []
    for kind, stmt in definitions_in(module):
        out.append(_symbol(stmt.name, SYMBOL_KIND[kind], kind, stmt, lines, _children(stmt, lines)))
    return out


def _symbol(name: str, kind: T.SymbolKind, detail: str, stmt, lines: list[str], children=None) -> T.DocumentSymbol:
    full = _range(stmt.span, lines)
    number, start, end = name_span(stmt, name, lines) if isinstance(stmt, S.Stmt) else (full.start.line, 0, 0)
    selection = T.Range(T.Position(number, start), T.Position(number, end))
    if not (full.start.line <= number <= full.end.line):
        selection = T.Range(full.start, full.start)
    return T.DocumentSymbol(name=name or "?", kind=kind, range=full, selection_range=selection, detail=detail,
                            children=children or None)


def _children(stmt: S.Stmt, lines: list[str]) -> list[T.DocumentSymbol]:
    children = []
    if isinstance(stmt, S.SpaceDef) and isinstance(stmt.expr, S.SpaceLit):
        for entry in stmt.expr.entries:
            r = _range(entry.span, lines)
            children.append(T.DocumentSymbol(name=entry.label, kind=T.SymbolKind.EnumMember, range=r, selection_range=r))
    elif isinstance(stmt, (S.ExperimentDef, S.Block)):
        for entry in stmt.entries:
            kind = T.SymbolKind.Object if isinstance(entry, S.Block) else T.SymbolKind.Property
            children.append(_symbol(entry.key, kind, "", entry, lines, _children(entry, lines)))
    elif isinstance(stmt, S.GenotypeDef):
        for item in stmt.body:
            if isinstance(item, S.GenoCellDef):
                children.append(_symbol(item.name.split(".")[-1], T.SymbolKind.Class, "cell", item, lines))
    return children

