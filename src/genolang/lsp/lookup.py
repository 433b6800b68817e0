"""Reading half-typed text: the word under the cursor, the blocks around it, names and where
they are defined and used.

Editor features work on the text as it is now, which seldom parses while it is being typed,
so they scan it as lines (comments and strings left out) and consult the symbol table of the
last text that did parse for what the names mean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from genolang.compiler.lower.load import KINDS, SymbolTable
from genolang.grammar import syntax as S

__all__ = ["code_of", "word_at", "names_a_definition", "Context", "context_at", "Definition", "find_definition", "name_span",
           "occurrences", "KIND_ORDER"]

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KIND_ORDER = ("cell", "space", "op", "network", "macro", "experiment", "genotype")


def code_of(line: str) -> str:
    """``line`` with its comment and the insides of its strings blanked (same length)."""
    out = []
    in_string = False
    for index, char in enumerate(line):
        if in_string:
            out.append(char if char == '"' else " ")
            if char == '"' and line[index - 1] != "\\":
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif char == "#":
            out.append(" " * (len(line) - index))
            break
        else:
            out.append(char)
    return "".join(out)


NOT_NAMES = re.compile(r"\b(select|zero)\s+$")     # `select darts`: a rule, not the space `darts`


def names_a_definition(line: str, start: int) -> bool:
    """Whether the word at ``start`` may name a definition (not a selection rule, say)."""
    return NOT_NAMES.search(code_of(line)[:start]) is None


def word_at(line: str, column: int) -> tuple[str, int, int] | None:
    """(word, start, end) of the name at 0-based ``column`` (or just before it)."""
    code = code_of(line)
    for match in WORD.finditer(code):
        if match.start() <= column <= match.end():
            return match.group(), match.start(), match.end()
    return None


@dataclass
class Context:
    """Where the cursor is: the blocks around it, outermost first, as their header words
    (``[["experiment", "x"], ["search"]]``), and the text of its line before it."""

    blocks: list[list[str]]
    before: str

    @property
    def top(self) -> str | None:
        """The kind of the definition the cursor is in (``cell``, ``experiment``...), if any."""
        return self.blocks[0][0] if self.blocks and self.blocks[0] else None

    def setting_path(self) -> tuple[str, ...]:
        """The experiment block path at the cursor (``("search",)``), or () at its top."""
        return tuple(b[0] for b in self.blocks[1:] if b)


def context_at(text: str, line: int, column: int) -> Context:
    """The :class:`Context` at 0-based ``line`` and code-point ``column`` of ``text``."""
    lines = text.split("\n")
    stack: list[list[str]] = []
    for number, raw in enumerate(lines[: line + 1]):
        code = code_of(raw if number < line else raw[:column])
        start = 0
        for index, char in enumerate(code):
            if char == "{":
                header = WORD.findall(code[start:index])
                # `space x {`, `data {`; a `{` after `=` or `from` opens a space literal
                if re.search(r"(=|from|\||-)\s*$", code[start:index]):
                    header = ["{"]
                stack.append(header)
                start = index + 1
            elif char == "}":
                if stack:
                    stack.pop()
                start = index + 1
    before = lines[line][:column] if line < len(lines) else ""
    return Context(stack, before)


@dataclass
class Definition:
    kind: str
    name: str
    stmt: S.Stmt
    file: str


def find_definition(table: SymbolTable | None, name: str, kinds=KIND_ORDER) -> Definition | None:
    if table is None:
        return None
    for kind in kinds:
        stmt = table.defs[kind].get(name)
        if stmt is not None:
            return Definition(kind, name, stmt, table.origin[(kind, name)])
    return None


def name_span(stmt: S.Stmt, name: str, lines: list[str]) -> tuple[int, int, int]:
    """(0-based line, start, end) of ``name`` in the header of ``stmt`` (after its keyword)."""
    first = max(stmt.span.line, 1) - 1
    for number in range(first, min(first + 4, len(lines))):
        code = code_of(lines[number])
        offset = max(stmt.span.column - 1, 0) if number == first else 0
        keyword = WORD.match(code, offset) if number == first else None
        skip = keyword.end() if keyword else offset
        for match in WORD.finditer(code, skip):
            if match.group() == name:
                return number, match.start(), match.end()
    return first, max(stmt.span.column - 1, 0), max(stmt.span.column - 1, 0) + len(name)


def occurrences(text: str, name: str) -> list[tuple[int, int, int]]:
    """(0-based line, start, end) of every use of ``name`` as a word outside comments and strings."""
    if name not in text:
        return []
    pattern = re.compile(rf"(?<![A-Za-z0-9_.]){re.escape(name)}(?![A-Za-z0-9_])")
    out = []
    for number, line in enumerate(text.split("\n")):
        if name in line:
            out.extend((number, m.start(), m.end()) for m in pattern.finditer(code_of(line)))
    return out


def definitions_in(module: S.Module) -> list[tuple[str, S.Stmt]]:
    """(kind, statement) of each definition of ``module``, in order."""
    return [(KINDS[type(item)], item) for item in module.items if type(item) in KINDS]

