"""AST -> canonical .geno text: the inverse of the parser.

Canonical means deterministic: two-space indentation, one statement per line, one genotype
node per line, single spaces around ``>>``, ``=`` and ``+``, no trailing whitespace, one
blank line between top-level definitions (none between consecutive one-line ``use`` or
``op`` statements), comments kept where they were attached. ``print(parse(t))`` is a fixed
point: ``geno fmt`` is idempotent, and ``parse(print(ast)) == ast`` for every AST.
"""

from __future__ import annotations

from functools import singledispatch

from . import syntax as S

INDENT = "  "

COMMENT_GAP = "\n"
"""A comment entry that stands for a blank line between comment paragraphs (or between the
comments and their statement). Real comments never contain a newline."""

__all__ = ["print_module", "print_stmt", "print_expr", "print_value"]


def print_module(module: S.Module) -> str:
    out: list[str] = []
    previous: S.Stmt | None = None
    for item in module.items:
        if previous is not None and not _stays_together(previous, item):
            out.append("")
        out.extend(print_stmt(item, 0))
        previous = item
    if module.trailing:
        if out:
            out.append("")
        out.extend(_comment(c, "") for c in module.trailing)
    return "\n".join(out) + "\n" if out else ""


def _stays_together(a: S.Stmt, b: S.Stmt) -> bool:
    one_liners = (S.Use, S.OpDef)
    return isinstance(a, one_liners) and type(a) is type(b) and not b.comments


def _comment(text: str, pad: str) -> str:
    return "" if text == COMMENT_GAP else f"{pad}# {text}".rstrip()


def print_stmt(stmt: S.Stmt, depth: int) -> list[str]:
    pad = INDENT * depth
    lines = [_comment(c, pad) for c in stmt.comments]
    head, body = _render(stmt)
    note = f"  # {stmt.note}".rstrip() if stmt.note else ""
    if body is None:
        lines.append(f"{pad}{head}{note}")
        return lines
    if not body:
        lines.append(f"{pad}{head} {{}}{note}")
        return lines
    lines.append(f"{pad}{head} {{{note}")
    for child in body:
        lines.extend(print_stmt(child, depth + 1))
    lines.append(f"{pad}}}")
    return lines


# ----------------------------------------------------------------------------- statements
# _render returns (header text, children or None for a one-line statement)


@singledispatch
def _render(stmt) -> tuple[str, tuple | None]:
    raise TypeError(f"cannot print {type(stmt).__name__}")


@_render.register
def _(s: S.Use):
    return f"use {_string(s.path)}", None


@_render.register
def _(s: S.OpDef):
    params = ""
    if s.params is not None:
        params = "(" + ", ".join(_param(p) for p in s.params) + ")"
    text = f"op {s.name}{params} = {print_expr(s.body)}"
    if s.stride2 is not None:
        text += f" on stride 2 = {print_expr(s.stride2)}"
    return text, None


def _param(p: S.Param) -> str:
    return p.name if p.default is None else f"{p.name}={print_value(p.default)}"


@_render.register
def _(s: S.SpaceDef):
    if isinstance(s.expr, S.SpaceLit):
        return f"space {s.name}", tuple(_EntryLine(e) for e in s.expr.entries)
    return f"space {s.name} = {print_space(s.expr)}", None


class _EntryLine(S.Stmt):
    """A space entry printed as a line of a space block, with its comments."""

    def __init__(self, entry: S.SpaceEntry):
        object.__setattr__(self, "entry", entry)
        object.__setattr__(self, "comments", entry.comments)
        object.__setattr__(self, "note", entry.note)


@_render.register
def _(s: _EntryLine):
    return _entry(s.entry), None


def _entry(e: S.SpaceEntry) -> str:
    return e.label if e.op is None else f"{e.label} = {print_expr(e.op)}"


def print_space(expr: S.SpaceExpr) -> str:
    if isinstance(expr, S.SpaceRef):
        return expr.name
    if isinstance(expr, S.SpaceLit):
        return "{" + ", ".join(_entry(e) for e in expr.entries) + "}"
    right = print_space(expr.right)
    if isinstance(expr.right, S.SpaceBin):
        right = f"({right})"  # pragma: no cover - the grammar is left-associative
    return f"{print_space(expr.left)} {expr.op} {right}"


@_render.register
def _(s: S.CellDef):
    like = f" like {s.like}" if s.like else ""
    return f"cell {s.name}{like}", s.body


@_render.register
def _(s: S.Inputs):
    return "inputs " + ", ".join(s.names), None


@_render.register
def _(s: S.Nodes):
    return f"nodes {s.count}", None


@_render.register
def _(s: S.Edges):
    node = f" {s.node}" if s.node else ""
    return f"edges{node} from {print_space(s.space)}", None


@_render.register
def _(s: S.Select):
    top = f" top {s.k}" if s.k is not None else ""
    return f"select {s.rule}{top}", None


@_render.register
def _(s: S.Zero):
    return f"zero {s.config}", None


@_render.register
def _(s: S.Reduction):
    return "reduction", None


@_render.register
def _(s: S.Output):
    return "output concat(" + ", ".join(s.names) + ")", None


@_render.register
def _(s: S.NetworkDef):
    return f"network {s.name}", s.body


@_render.register
def _(s: S.InputShape):
    return "input " + "x".join(str(d) for d in s.shape), None


@_render.register
def _(s: S.Classes):
    return f"classes {s.count}", None


@_render.register
def _(s: S.Channels):
    return f"channels {s.count}", None


@_render.register
def _(s: S.Stem):
    return f"stem {print_expr(s.expr)}", None


@_render.register
def _(s: S.Tail):
    return f"tail {print_expr(s.expr)}", None


@_render.register
def _(s: S.Cells):
    text = f"cells {s.count}"
    if s.reduce_at:
        text += " reduce at " + ", ".join(str(i) for i in s.reduce_at)
    if s.cycle:
        text += " cycle " + ", ".join(s.cycle)
    return text, None


@_render.register
def _(s: S.Replace):
    return f"replace {s.index} with {print_expr(s.expr)}", None


@_render.register
def _(s: S.Heads):
    if not s.after:
        return "heads none", None
    return "heads distill after " + ", ".join(str(i) for i in s.after), None


@_render.register
def _(s: S.Aux):
    return f"aux after {s.after}", None


@_render.register
def _(s: S.MacroDef):
    return f"macro {s.name} version {s.version}", s.body


@_render.register
def _(s: S.MacroTemplate):
    return f"template {s.name}", None


@_render.register
def _(s: S.MacroTypes):
    return "types " + ", ".join(s.names), None


@_render.register
def _(s: S.MacroDepth):
    return f"depth {s.depth}", None


@_render.register
def _(s: S.ExperimentDef):
    return f"experiment {s.name}", s.entries


@_render.register
def _(s: S.Setting):
    return f"{s.key} = {print_value(s.value)}", None


@_render.register
def _(s: S.Block):
    return s.key, s.entries


@_render.register
def _(s: S.GenotypeDef):
    return f"genotype {s.name}", s.body


@_render.register
def _(s: S.GenoSpace):
    return f"space {s.name}", None


@_render.register
def _(s: S.GenoTemplate):
    return f"template {s.name}", None


@_render.register
def _(s: S.Provenance):
    return "provenance", s.entries


@_render.register
def _(s: S.GenoMacro):
    return "macro", s.entries


@_render.register
def _(s: S.GenoCellDef):
    return f"cell {s.name}", s.body


@_render.register
def _(s: S.NodeDef):
    if not s.edges:
        return f"{s.node} = 0", None
    return f"{s.node} = " + " + ".join(f"{e.op}({e.src})" for e in s.edges), None


# ----------------------------------------------------------------------------- expressions


def print_expr(expr: S.Expr) -> str:
    if isinstance(expr, S.Chain):
        return " >> ".join(print_expr(p) for p in expr.parts)
    if not expr.has_parens:
        return expr.name
    args = []
    for arg in expr.args:
        if isinstance(arg, S.Kwarg):
            args.append(f"{arg.name}={print_value(arg.value)}")
        else:
            args.append(print_expr(arg))
    return f"{expr.name}(" + ", ".join(args) + ")"


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "//": 2}


def print_value(value: S.Value, parent: int = 0, right: bool = False) -> str:
    if isinstance(value, S.Num):
        text = _number(value.value)
        return f"({text})" if parent and text.startswith("-") else text
    if isinstance(value, S.Str):
        return _string(value.value)
    if isinstance(value, S.Bool):
        return "true" if value.value else "false"
    if isinstance(value, S.Name):
        return value.id
    if isinstance(value, S.Neg):
        return "-" + print_value(value.operand, 3)
    if isinstance(value, S.TupleV):
        items = [print_value(v) for v in value.items]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, S.ListV):
        return "[" + ", ".join(print_value(v) for v in value.items) + "]"
    if isinstance(value, S.BinOp):
        level = _PRECEDENCE[value.op]
        text = f"{print_value(value.left, level)} {value.op} {print_value(value.right, level, True)}"
        if level < parent or (right and level == parent):
            return f"({text})"
        return text
    raise TypeError(f"cannot print value {value!r}")


def _number(v: int | float) -> str:
    if isinstance(v, bool):  # pragma: no cover - bools are Bool nodes
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    text = repr(float(v))
    if "e" not in text and "." not in text:  # pragma: no cover - repr always has one
        text += ".0"
    return text


def _string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
