"""One check of one file, as `geno check` does it, and its errors as LSP diagnostics.

:func:`analyse` parses the buffer, loads what it `use`s (through the other open buffers),
lowers and verifies it, and keeps what the editor features need besides the errors: the
syntax tree and the symbol table of the last text that parsed (half-typed text usually does
not), and the files the check read, so that an edit to one of them re-checks this file.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types as T

from genolang.compiler.lower.load import SymbolTable, load_table
from genolang.compiler.lower.program import lower
from genolang.compiler.passes.shapes import plan_network
from genolang.compiler.passes.pipeline import pipeline
from genolang.base.errors import ErrorGroup, GenolangError, Span
from genolang.grammar import syntax as S

from .documents import FRONT_END, Buffer, Documents, lsp_column

__all__ = ["Analysis", "analyse", "diagnostics", "to_range", "SOURCE"]

SOURCE = "geno"


@dataclass
class Analysis:
    path: str
    version: int | None
    text: str
    errors: list[GenolangError]
    module: S.Module | None = None          # of this text, or of the last text that parsed
    table: SymbolTable | None = None        # likewise
    files: set[str] = field(default_factory=set)   # the files the check read, this one excluded
    current: bool = True                    # False: module/table are of an earlier text


def _flatten(exc: GenolangError) -> list[GenolangError]:
    return list(exc.errors) if isinstance(exc, ErrorGroup) else [exc]


def analyse(docs: Documents, buffer: Buffer, previous: Analysis | None = None) -> Analysis:
    """Check ``buffer`` as `geno check` would; never raises (a bug becomes a diagnostic)."""
    analysis = Analysis(buffer.path, buffer.version, buffer.text, [])
    with FRONT_END:
        try:
            analysis.module = docs.parse(buffer)
        except GenolangError as exc:
            analysis.errors = _flatten(exc)
        except Exception as exc:            # noqa: BLE001 -- an editor must keep working
            analysis.errors = [_internal(exc, buffer.path)]
        if analysis.module is None:
            if previous is not None and previous.module is not None:
                analysis.module, analysis.table, analysis.files = previous.module, previous.table, previous.files
                analysis.current = False
            return analysis
        try:
            analysis.table = load_table(analysis.module, read=docs.read)
            analysis.files = {f for f in analysis.table.modules if f != buffer.path}
            analysis.errors = pipeline(plan=CLEAN_PLANS).errors(lower(analysis.table))
        except GenolangError as exc:
            analysis.errors = _flatten(exc)
        except Exception as exc:            # noqa: BLE001
            analysis.errors = [_internal(exc, buffer.path)]
    return analysis


class CleanPlans:
    """A shape planner that remembers the networks that planned cleanly.

    The shape plan is most of a check's time, and most edits leave most networks as they were:
    a network whose template and cells are equal (as IR, places aside) to one that planned
    without error plans without error again, so it is not planned again. Errors are not
    remembered: their places move with the text.
    """

    def __init__(self, size: int = 1024):
        self._clean: OrderedDict = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __call__(self, template, cells):
        try:
            used = {slot.cell for slot in template.slots if slot.cell is not None}
            key = (template, tuple(sorted((k, cells[k]) for k in cells
                                          if k in used or k.rsplit(".", 1)[-1] in used)))
            hash(key)
        except Exception:                   # noqa: BLE001 -- plan it, and let the planner report
            return plan_network(template, cells)
        with self._lock:
            if key in self._clean:
                self._clean.move_to_end(key)
                return None
        plan_network(template, cells)
        with self._lock:
            self._clean[key] = True
            if len(self._clean) > self._size:
                self._clean.popitem(last=False)
        return None


CLEAN_PLANS = CleanPlans()


def _internal(exc: Exception, path: str) -> GenolangError:
    return GenolangError(f"internal error while checking: {type(exc).__name__}: {exc}", Span(path, 1, 1, 1, 1),
                         hint="this is a genolang bug; `geno check --debug` shows the traceback")


# ----------------------------------------------------------------------------- diagnostics


def to_range(span: Span, lines: list[str]) -> T.Range:
    def line_text(n: int) -> str | None:
        return lines[n - 1] if 0 < n <= len(lines) else None

    start_line = max(span.line, 1)
    start = T.Position(start_line - 1, lsp_column(line_text(start_line), span.column))
    if span.end_line > span.line or (span.end_line == span.line and span.end_column > span.column):
        end = T.Position(span.end_line - 1, lsp_column(line_text(span.end_line), span.end_column))
    else:                                   # a point: underline the word that starts there
        text = line_text(start_line) or ""
        index = max(span.column - 1, 0)
        stop = index
        while stop < len(text) and (text[stop].isalnum() or text[stop] == "_"):
            stop += 1
        end = T.Position(start_line - 1, lsp_column(text, max(stop, index + 1) + 1))
    return T.Range(start, end)


def _location(span: Span, uri_of, lines_of) -> T.Location:
    return T.Location(uri_of(span.file), to_range(span, lines_of(span.file)))


def diagnostics(analysis: Analysis, uri_of, lines_of) -> list[T.Diagnostic]:
    """The errors of ``analysis`` as diagnostics of its file. An error located in another file
    (a file it `use`s) is shown on the `use` line that leads there, and points at its place."""
    lines = analysis.text.split("\n")
    out = []
    for error in analysis.errors:
        span = error.span if error.span is not None and error.span.known else Span(analysis.path, 1, 1)
        related = []
        message = error.message
        if span.file != analysis.path:
            related.append(T.DiagnosticRelatedInformation(_location(span, uri_of, lines_of), error.message))
            message = f"in {Path(span.file).name}:{span.line}:{span.column}: {error.message}"
            span = _use_span(analysis, span.file)
        for note, where in error.notes:
            if where is not None and where.known:
                related.append(T.DiagnosticRelatedInformation(_location(where, uri_of, lines_of), note))
        if error.hint:
            related.append(T.DiagnosticRelatedInformation(T.Location(uri_of(analysis.path), to_range(span, lines)),
                                                          f"hint: {error.hint}"))
        out.append(T.Diagnostic(to_range(span, lines), message, severity=T.DiagnosticSeverity.Error,
                                source=SOURCE, code=error.kind, related_information=related or None))
    return out


def _use_span(analysis: Analysis, file: str) -> Span:
    """The `use` line of ``analysis`` that reads ``file`` (or the first `use` line)."""
    uses = [item for item in (analysis.module.items if analysis.module else ()) if isinstance(item, S.Use)]
    for item in uses:
        if Path(item.path).name == Path(file).name:
            return item.span
    return uses[0].span if uses else Span(analysis.path, 1, 1)
