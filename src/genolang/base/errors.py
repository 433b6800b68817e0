"""The genolang error hierarchy and how errors are shown to a person.

Every error a user can cause is a :class:`GenolangError`. Errors that come from a spec file
carry a :class:`Span` and render as ``file:line:col: error: message``, the source line with a
caret under the offending text, and a hint. The CLI maps :class:`UserError` to exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from typing import Iterable, Sequence

__all__ = [
    "Span",
    "GenolangError",
    "UserError",
    "SpecSyntaxError",
    "SpecSemanticError",
    "SpecWarning",
    "CompileError",
    "ConfigError",
    "DataError",
    "RunError",
    "ErrorGroup",
    "did_you_mean",
]


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file: 1-based line and column, end exclusive."""

    file: str = "<string>"
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    @property
    def known(self) -> bool:
        return self.line > 0


# Source text of every file the parser has seen, so that an error raised in a late stage
# can still show the line it points at. Filled by genolang.grammar.parse. Only these texts
# are ever quoted: an error about a file that is not a spec never shows its contents.
SOURCES: dict[str, str] = {}
# Line start offsets of each remembered text, computed once, so that rendering n errors
# costs O(n) and not O(n x file size).
_LINE_STARTS: dict[str, tuple[str, list[int]]] = {}


def remember_source(file: str, text: str) -> None:
    SOURCES[file] = text
    _LINE_STARTS.pop(file, None)


def source_line(file: str, line: int) -> str | None:
    """Line ``line`` (1-based) of a remembered source text, or None."""
    text = SOURCES.get(file)
    if text is None:
        return None
    cached = _LINE_STARTS.get(file)
    if cached is None or cached[0] is not text:
        starts = [0]
        find = text.find
        position = find("\n")
        while position != -1:
            starts.append(position + 1)
            position = find("\n", position + 1)
        cached = (text, starts)
        _LINE_STARTS[file] = cached
    starts = cached[1]
    if not 0 < line <= len(starts):
        return None
    start = starts[line - 1]
    end = starts[line] - 1 if line < len(starts) else len(text)
    if start >= len(text) and line > 1:
        return None
    return text[start:end].rstrip("\r")


def _source_line(span: Span) -> str | None:
    return source_line(span.file, span.line)


class GenolangError(Exception):
    """Base of every error genolang raises on purpose."""

    kind = "error"
    # the static pass that found it (compiler/passes/pipeline.py sets it), None outside the passes
    pass_name: str | None = None

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None,
                 notes: Sequence[tuple[str, Span]] = ()):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.notes = tuple(notes)

    def render(self) -> str:
        """Human-readable report: location, message, source line with caret, notes, hint."""
        out = []
        where = f"{self.span}: " if self.span is not None and self.span.known else ""
        out.append(f"{where}{self.kind}: {self.message}")
        if self.span is not None and self.span.known:
            out.extend(_excerpt(self.span))
        for note, span in self.notes:
            out.append(f"{span}: note: {note}")
            out.extend(_excerpt(span))
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.render()


# Longest source line quoted whole; a longer one is shown as a window around the caret, so an
# error in a one-line, megabyte-long spec prints a line, not the file.
EXCERPT_WIDTH = 120


def _excerpt(span: Span) -> list[str]:
    line = _source_line(span)
    if line is None:
        return []
    width = 1
    if span.end_line == span.line and span.end_column > span.column:
        width = span.end_column - span.column
    column = max(span.column, 1)
    if len(line) > EXCERPT_WIDTH:
        start = max(0, column - 1 - EXCERPT_WIDTH // 2)
        shown = line[start:start + EXCERPT_WIDTH]
        prefix = "..." if start > 0 else ""
        suffix = "..." if start + EXCERPT_WIDTH < len(line) else ""
        line = prefix + shown + suffix
        column = column - start + len(prefix)
        width = max(1, min(width, len(shown) - (column - len(prefix) - 1)))
    gutter = f"{span.line:>4} | "
    caret = " " * (len(gutter) - 2) + "| " + " " * (column - 1) + "^" * width
    return [gutter + line, caret]


class UserError(GenolangError):
    """An error the user can fix: bad spec, bad config, missing file. Exit code 2."""


class SpecSyntaxError(UserError):
    kind = "syntax error"


class SpecSemanticError(UserError):
    kind = "error"


class CompileError(UserError):
    kind = "compile error"


class ConfigError(UserError):
    kind = "config error"


class DataError(UserError):
    kind = "data error"


class SpecWarning(UserError):
    """Something that may be fine where the spec runs but is not here (a data folder that
    does not exist): `geno check` prints it, and refuses it with --strict."""

    kind = "warning"


class RunError(GenolangError):
    """A failure while running (not the user's spec): exit code 1."""

    kind = "run error"


class ErrorGroup(UserError):
    """Several user errors reported at once (a group inside a group is flattened, so the
    count at the end is the number of errors)."""

    def __init__(self, errors: Iterable[GenolangError]):
        self.errors = []
        for error in errors:
            self.errors.extend(error.errors if isinstance(error, ErrorGroup) else [error])
        first = self.errors[0]
        super().__init__(first.message, first.span, first.hint)

    def render(self) -> str:
        from genolang.base.limits import MAX_REPORTED_ERRORS

        shown = self.errors[:MAX_REPORTED_ERRORS]
        body = "\n\n".join(e.render() for e in shown)
        count = len(self.errors)
        if count > len(shown):
            body += f"\n\n... and {count - len(shown)} more"
        return f"{body}\n\n{count} error{'s' if count != 1 else ''} found"


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest known names, or None."""
    matches = get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(f"`{m}`" for m in matches) + "?"
