"""Text -> AST, with syntax errors a person can act on.

``parse(text, file)`` returns a :class:`syntax.Module`. Comments are collected by the lexer
and attached to the statement that follows them (or to the statement whose first line they
end), so the printer can put them back.
"""

from __future__ import annotations

import dataclasses
import gc
from bisect import bisect_left
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.exceptions import VisitError

from genolang.base.errors import ErrorGroup, GenolangError, Span, SpecSyntaxError, remember_source
from genolang.base.limits import MAX_SYNTAX_DEPTH

from . import syntax as S
from .parse_tables import GRAMMAR, load_parser
from .printer import COMMENT_GAP
from .reading import read_spec, strip_bom
from .transform import ToAst

_comments: list[Token] = []


@lru_cache(maxsize=1)
def _parser() -> Lark:
    # the pre-generated tables (see .parse_tables): building them from the grammar is slow
    return load_parser(lexer_callbacks={"COMMENT": _comments.append})


@lru_cache(maxsize=1)
def _transformer() -> ToAst:
    return ToAst("<string>")


def _to_ast(file: str) -> ToAst:
    """The one transformer of the process, naming ``file`` (its methods are bound once; parsing
    is not reentrant anyway: the lexer's comments go to one list)."""
    transformer = _transformer()
    transformer.file = file
    return transformer


TOP_LEVEL = ("use", "op", "space", "cell", "network", "macro", "experiment", "genotype")
MAX_SYNTAX_ERRORS = 5


def parse(text: str, file: str = "<string>") -> S.Module:
    """Parse .geno source text into an AST; raise :class:`SpecSyntaxError` (or a group).

    After a syntax error the parser resumes at the next top-level definition, so each broken
    definition is reported once and no error is a knock-on effect of an earlier one.
    """
    text = strip_bom(text)
    remember_source(file, text)
    # The parse allocates many small objects and frees none: pausing the cyclic GC keeps the
    # time linear in the file size (otherwise each GC pass rescans the growing tree).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse(text, file)
    finally:
        if was_enabled:
            gc.enable()


def _parse(text: str, file: str) -> S.Module:
    errors: list[GenolangError] = []
    tree = None
    remaining = text
    while True:
        _comments.clear()
        try:
            tree = _parser().parse(remaining)
            break
        except UnexpectedInput as exc:
            errors.append(_syntax_error(exc, file, remaining))
            line = getattr(exc, "line", 0) or 0
            if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
                break
            remaining = _blank_until_next_definition(remaining, line)
            if remaining is None or len(errors) >= MAX_SYNTAX_ERRORS:
                break
    if errors:
        raise errors[0] if len(errors) == 1 else ErrorGroup(_dedupe(errors))
    comments = sorted(_comments, key=lambda t: (t.line, t.column))
    _check_depth(tree, file)
    try:
        module = _to_ast(file).transform(tree)
    except VisitError as exc:
        raise exc.orig_exc from None
    return _attach_comments(module, comments, text)


def _check_depth(tree: Tree, file: str) -> None:
    """Refuse a syntax tree deeper than MAX_SYNTAX_DEPTH (walked without recursion), at the
    first place that is too deep: every later pass recurses over the tree."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_SYNTAX_DEPTH:
            meta = node.meta
            line = getattr(meta, "line", 0) or 0
            column = getattr(meta, "column", 0) or 0
            raise SpecSyntaxError(f"this is nested too deeply (more than {MAX_SYNTAX_DEPTH} levels)",
                                  Span(file, line, column, line, column + 1),
                                  hint="split the expression: define the inner part as its own `op` "
                                       "(see docs/limits.md)")
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _blank_until_next_definition(text: str, error_line: int) -> str | None:
    """The text with every line up to the next top-level definition after ``error_line``
    blanked (line numbers stay true), or None when no definition follows."""
    lines = text.split("\n")
    for index in range(max(error_line, 1), len(lines)):
        word = lines[index].split(" ", 1)[0]
        if word in TOP_LEVEL and not lines[index].startswith((" ", "\t")):
            return "\n" * index + "\n".join(lines[index:])
    return None


def _unclosed_brace(text: str) -> tuple[int, int] | None:
    """Line and column of the last `{` that is never closed (comments and strings skipped)."""
    stack: list[tuple[int, int]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        in_string = False
        for column, char in enumerate(line, start=1):
            if char == '"':
                in_string = not in_string
            elif in_string:
                continue
            elif char == "#":
                break
            elif char == "{":
                stack.append((number, column))
            elif char == "}" and stack:
                stack.pop()
    return stack[-1] if stack else None


# Parsed files by (path, mtime, size): an AST is immutable, so a file imported by many specs
# (the stdlib) is parsed once per process.
_FILE_CACHE: dict[tuple[str, int, int], S.Module] = {}


def parse_file(path: str | Path) -> S.Module:
    """Parse a spec file (see :func:`.reading.read_spec` for what is refused before reading)."""
    path = Path(path)
    try:
        info = path.stat()
        key = (str(path), info.st_mtime_ns, info.st_size)
    except (OSError, ValueError):
        key = None
    if key is not None and key in _FILE_CACHE:
        if str(path) not in _sources():
            remember_source(str(path), read_spec(path))
        return _FILE_CACHE[key]
    module = parse(read_spec(path), str(path))
    if key is not None:
        if len(_FILE_CACHE) > 512:
            _FILE_CACHE.clear()
        _FILE_CACHE[key] = module
    return module


def _sources() -> dict[str, str]:
    from genolang.base.errors import SOURCES

    return SOURCES


def _dedupe(errors: list[GenolangError]) -> list[GenolangError]:
    seen, out = set(), []
    for e in errors:
        key = (e.span.line if e.span else 0)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


# ----------------------------------------------------------------------------- error text

# Friendly names for the terminals a person sees in "expected ..." lists.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": 'a string in "quotes"',
    "SHAPE": "a shape like 3x32x32",
    "$END": "the end of the file",
}

# Hints for the mistakes people make most, keyed by (what was found, what the parser wanted).
_HINTS = [
    (lambda found, exp: found == "INT" and "RPAR" in exp,
     "arguments are passed by name, e.g. `max_pool(k=3)`"),
    (lambda found, exp: found == "INT" and "NAME" in exp,
     "arguments are passed by name, e.g. `max_pool(k=3)`"),
    (lambda found, exp: "RBRACE" in exp and found == "$END",
     "a `{` block is not closed; add the missing `}`"),
    (lambda found, exp: found == "EQUAL" and "LPAR" in exp,
     "an op definition reads `op name(param=default) = body`"),
    (lambda found, exp: found == "NAME" and "EQUAL" in exp,
     "an assignment needs `=`, e.g. `n0 = sep_conv_3(c0) + skip(c1)`"),
]


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[terminal]
    try:
        pattern = _parser().get_terminal(terminal).pattern
    except KeyError:
        return terminal
    if pattern.type == "str":
        return f"`{pattern.value}`"
    return terminal.lower()


def _syntax_error(exc: UnexpectedInput, file: str, text: str = "") -> SpecSyntaxError:
    line = getattr(exc, "line", 0) or 0
    column = getattr(exc, "column", 0) or 0
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        expected = sorted(exc.expected)
        if token.type == "$END":
            found = "the end of the file"
            line, column = _last_position(exc)
            opened = _unclosed_brace(text)
            if opened is not None and "RBRACE" in expected:
                span = Span(file, opened[0], opened[1], opened[0], opened[1] + 1)
                return SpecSyntaxError("this `{` is never closed", span,
                                       hint="add the missing `}` (the file ends inside this block)")
        else:
            found = f"`{token}`"
        wanted = ", ".join(_describe(t) for t in expected[:8])
        more = " ..." if len(expected) > 8 else ""
        message = f"unexpected {found}; expected {wanted}{more}"
        hint = next((h for test, h in _HINTS if test(token.type, expected)), None)
        width = max(1, len(str(token))) if token.type != "$END" else 1
        span = Span(file, line, column, line, column + width)
        return SpecSyntaxError(message, span, hint)
    if isinstance(exc, UnexpectedCharacters):
        char = exc.char
        message = f"unexpected character `{char}`"
        hint = "names use letters, digits and `_`; comments start with `#`"
        if char in "'":
            hint = 'strings use double quotes: "like this"'
        return SpecSyntaxError(message, Span(file, line, column, line, column + 1), hint)
    if isinstance(exc, UnexpectedEOF):
        return SpecSyntaxError("unexpected end of file", Span(file, line, column), "a block is not closed")
    return SpecSyntaxError(str(exc), Span(file, line, column))


def _last_position(exc: UnexpectedToken) -> tuple[int, int]:
    state = getattr(exc, "state", None)
    token = getattr(exc, "token", None)
    line = getattr(token, "line", None) or getattr(exc, "line", 1) or 1
    column = getattr(token, "column", None) or getattr(exc, "column", 1) or 1
    del state
    return line, column


# ----------------------------------------------------------------------------- comments


class _Comments:
    """Hands out comments in source order to the statements that claim them.

    A blank line between two comments, or between the last comment and its statement, is kept
    as a :data:`COMMENT_GAP` entry so that ``geno fmt`` keeps comment paragraphs apart."""

    def __init__(self, tokens: list[Token], text: str = ""):
        self.items = [(t.line, str(t)[1:].strip()) for t in tokens]
        self.lines = [line for line, _ in self.items]
        self.taken = [False] * len(self.items)
        self.first = 0          # every comment before this index is taken: statements come in line order
        self.blank = {i for i, line in enumerate(text.split("\n"), start=1) if not line.strip()}

    def _gap(self, a: int, b: int) -> bool:
        return any(n in self.blank for n in range(a + 1, b))

    def _advance(self) -> None:
        while self.first < len(self.items) and self.taken[self.first]:
            self.first += 1

    def before(self, line: int) -> tuple[str, ...]:
        out: list[str] = []
        prev = None
        i = self.first
        while i < len(self.items) and self.items[i][0] < line:
            if not self.taken[i]:
                cline, text = self.items[i]
                self.taken[i] = True
                if prev is not None and self._gap(prev, cline):
                    out.append(COMMENT_GAP)
                out.append(text)
                prev = cline
            i += 1
        self._advance()
        if prev is not None and self._gap(prev, line):
            out.append(COMMENT_GAP)
        return tuple(out)

    def on(self, line: int) -> str | None:
        i = bisect_left(self.lines, line, self.first)
        while i < len(self.items) and self.items[i][0] == line:
            if not self.taken[i]:
                self.taken[i] = True
                self._advance()
                return self.items[i][1]
            i += 1
        return None

    def rest(self) -> tuple[str, ...]:
        out: list[str] = []
        prev = None
        for i, (cline, text) in enumerate(self.items):
            if not self.taken[i]:
                if prev is not None and self._gap(prev, cline):
                    out.append(COMMENT_GAP)
                out.append(text)
                prev = cline
        self.taken = [True] * len(self.items)
        return tuple(out)


_BODY_FIELDS = ("body", "entries")


def _attach(stmt: S.Stmt, pool: _Comments) -> S.Stmt:
    line = stmt.span.line
    changes: dict = {}
    if line:
        comments, note = pool.before(line), pool.on(line)
        if comments:
            changes["comments"] = comments
        if note is not None:
            changes["note"] = note
    for name in _BODY_FIELDS:
        children = getattr(stmt, name, None)
        if isinstance(children, tuple) and children and isinstance(children[0], S.Stmt):
            attached = tuple(_attach(child, pool) for child in children)
            if any(a is not c for a, c in zip(attached, children)):
                changes[name] = attached
    if isinstance(stmt, S.SpaceDef) and isinstance(stmt.expr, S.SpaceLit):
        # a space block prints one entry per line, so its entries keep their own comments
        entries = tuple(_attach_entry(e, pool) for e in stmt.expr.entries)
        if any(a is not e for a, e in zip(entries, stmt.expr.entries)):
            changes["expr"] = dataclasses.replace(stmt.expr, entries=entries)
    # a statement without comments is returned as it is (most are: rebuilding each was slow)
    return dataclasses.replace(stmt, **changes) if changes else stmt


def _attach_entry(entry, pool: _Comments):
    if not entry.span.line:
        return entry
    comments, note = pool.before(entry.span.line), pool.on(entry.span.line)
    return dataclasses.replace(entry, comments=comments, note=note) if comments or note is not None else entry


def _attach_comments(module: S.Module, tokens: list[Token], text: str = "") -> S.Module:
    if not tokens:
        return module
    pool = _Comments(tokens, text)
    items = tuple(_attach(item, pool) for item in module.items)
    return S.Module(items, pool.rest(), file=module.file)
