"""Reading spec files: ``use`` resolution and the table of definitions.

``use "x.geno"`` is resolved relative to the importing file, then in the standard library
shipped inside the package (``compiler/stdlib``), then in the spec library (the repository's
``specs/``, shipped as ``genolang/specs``: ``use "zoo/darts_v2.geno"``), and only to .geno
files inside the spec's project, the libraries and the folders the user allows
(:mod:`.resolve`). Import cycles are
reported with their path; a name defined twice is reported with both places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from genolang.base.errors import GenolangError, Span, SpecSemanticError
from genolang.base.limits import MAX_USE_DEPTH
from genolang.grammar import parse, parse_file, syntax as S

from genolang.compiler.lower.resolve import LIBRARY, LIBRARY_ROOTS, STDLIB, UseRefused, project_root, resolve_use

__all__ = ["SymbolTable", "load_table", "load_path", "load_text", "resolve_use", "STDLIB", "LIBRARY", "KINDS",
           "library_path", "library_spec", "library_names"]

KINDS = {
    S.OpDef: "op",
    S.SpaceDef: "space",
    S.CellDef: "cell",
    S.NetworkDef: "network",
    S.MacroDef: "macro",
    S.ExperimentDef: "experiment",
    S.GenotypeDef: "genotype",
}


@dataclass
class SymbolTable:
    """Every definition visible from the main file, by kind and name."""

    main: str
    root: Path = None                   # the main spec's project root (see .resolve)
    modules: dict[str, S.Module] = field(default_factory=dict)
    defs: dict[str, dict[str, S.Stmt]] = field(default_factory=lambda: {k: {} for k in KINDS.values()})
    origin: dict[tuple[str, str], str] = field(default_factory=dict)   # (kind, name) -> file
    errors: list[GenolangError] = field(default_factory=list)
    # how a `use`d file is read: from disk, or (a language server) from an editor's unsaved buffer
    read: Callable[[Path], S.Module] = field(default=parse_file, repr=False, compare=False)

    def local(self, kind: str) -> list[str]:
        """Names of the given kind defined in the main file itself, in source order."""
        return [n for n, d in self.defs[kind].items() if self.origin[(kind, n)] == self.main]


def library_path(path: str | Path) -> str | None:
    """The name under which a file of the standard or spec library is `use`d from anywhere
    (``spaces.geno``, ``zoo/darts_v2.geno``), or None for a file outside both."""
    resolved = Path(path).resolve()
    for root in LIBRARY_ROOTS:
        if resolved.is_relative_to(root.resolve()):
            return resolved.relative_to(root.resolve()).as_posix()
    return None


def library_spec(name: str) -> Path | None:
    """The packaged spec called ``name`` (``icdarts/digits``, ``zoo/darts_v2.geno``), if any."""
    if Path(name).is_absolute() or ".." in Path(name).parts:
        return None
    for candidate in (LIBRARY / name, LIBRARY / f"{name}.geno"):
        if candidate.suffix == ".geno" and candidate.is_file():
            return candidate
    return None


def library_names() -> list[str]:
    """Every packaged spec, as ``library_spec`` takes it (``icdarts/digits``)."""
    return sorted(p.relative_to(LIBRARY).with_suffix("").as_posix() for p in LIBRARY.rglob("*.geno"))


def load_table(main: S.Module, read: Callable[[Path], S.Module] = parse_file) -> SymbolTable:
    """The definitions visible from ``main``; ``read`` parses each file it `use`s."""
    table = SymbolTable(main.file, project_root(main.file), read=read)
    # imports are keyed by resolved path, so the main file is too: a cycle back to it is then
    # reported as a cycle instead of loading the main file a second time
    key = main.file if main.file.startswith("<") else str(Path(main.file).resolve())
    _collect(main, table, stack=[key])
    return table


def load_path(path: str | Path) -> SymbolTable:
    return load_table(parse_file(path))


def load_text(text: str, file: str = "<string>") -> SymbolTable:
    return load_table(parse(text, file))


def _collect(module: S.Module, table: SymbolTable, stack: list[str]) -> None:
    table.modules[module.file] = module
    for item in module.items:
        if isinstance(item, S.Use):
            _use(item, module.file, table, stack)
            continue
        kind = KINDS[type(item)]
        name = item.name
        previous = table.defs[kind].get(name)
        if previous is not None:
            if previous is item or (previous == item and table.origin[(kind, name)] != module.file
                                    and _same_file_loaded_twice(previous, item)):
                continue
            table.errors.append(SpecSemanticError(
                f"{kind} `{name}` is defined twice", item.span,
                hint=f"rename one of them, or remove the duplicate {kind}",
                notes=[(f"`{name}` was first defined here", previous.span)],
            ))
            continue
        table.defs[kind][name] = item
        table.origin[(kind, name)] = module.file


def _same_file_loaded_twice(a: S.Stmt, b: S.Stmt) -> bool:
    return a.span.file == b.span.file and a.span.line == b.span.line


def _use(item: S.Use, importer: str, table: SymbolTable, stack: list[str]) -> None:
    try:
        path = resolve_use(item.path, importer, table.root)
    except UseRefused as refused:
        table.errors.append(SpecSemanticError(f'cannot use "{item.path}": {refused.reason}', item.span, hint=refused.hint))
        return
    except FileNotFoundError:
        libraries = sorted({p.name for root in LIBRARY_ROOTS for p in root.glob("*.geno")})
        table.errors.append(SpecSemanticError(
            f'cannot find "{item.path}"', item.span,
            hint="paths are relative to the importing file; the standard library has: " + ", ".join(libraries),
        ))
        return
    key = str(path)
    if len(stack) >= MAX_USE_DEPTH:
        table.errors.append(SpecSemanticError(f"`use` chain deeper than {MAX_USE_DEPTH} files", item.span,
                                              hint="a file using a file using a file ...: flatten the chain"))
        return
    if key in stack:
        chain = " -> ".join(Path(p).name for p in stack[stack.index(key):] + [key])
        table.errors.append(SpecSemanticError(f"import cycle: {chain}", item.span,
                                              hint="remove one of the `use` lines in the cycle"))
        return
    if key in table.modules:
        return
    try:
        module = table.read(path)
    except GenolangError as exc:
        if exc.span is None or not exc.span.known:   # the file could not be read: say where it was used
            exc = SpecSemanticError(f'cannot use "{item.path}": {exc.message}', item.span, hint=exc.hint)
        table.errors.append(exc)
        return
    _collect(module, table, stack + [key])


def span_or(stmt: S.Stmt | None, fallback: Span | None = None) -> Span | None:
    return stmt.span if stmt is not None else fallback
