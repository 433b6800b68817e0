"""Completion: what may be written at the cursor, judged from the text before it.

The grammar decides what a place takes; the symbol table of the last text that parsed says
which names are in scope; the experiment models say which settings a block takes and which
values a setting has.
"""

from __future__ import annotations

import re

from lsprotocol import types as T

from genolang.compiler.lower.ir import ZERO_CONFIGS
from genolang.compiler.lower.program import SELECT_RULES
from genolang.compiler.lower.lower_ops import COMBINATORS, SPECIAL_OPS
from genolang.compiler.lower.primitives import PRIMITIVES, REQUIRED

from .check import Analysis
from .lookup import Context, code_of, context_at
from .settings import enum_values, keys

__all__ = ["completions"]

K = T.CompletionItemKind
TOP_LEVEL = ("use", "op", "space", "cell", "network", "macro", "experiment", "genotype")
BODY = {
    "cell": ("inputs", "nodes", "edges", "select", "zero", "reduction", "output concat"),
    "network": ("input", "classes", "channels", "stem", "tail", "cells", "replace", "heads distill after",
                "heads none", "aux after"),
    "macro": ("template", "types", "depth"),
    "genotype": ("space", "template", "provenance", "macro", "cell"),
}
OP_PLACE = re.compile(r"(>>|\bstem|\btail|\bwith|\bop\s+\w+(\([^)]*\))?\s*=|\bon\s+stride\s+\d+\s*=|[(,]|=)\s*\w*$")


def _names(analysis: Analysis, kind: str) -> list[str]:
    return list(analysis.table.defs[kind]) if analysis.table is not None else []


def _items(names, kind: T.CompletionItemKind, detail: str) -> list[T.CompletionItem]:
    return [T.CompletionItem(label=n, kind=kind, detail=detail) for n in names]


def _ops(analysis: Analysis) -> list[T.CompletionItem]:
    return (_items(_names(analysis, "op"), K.Function, "op")
            + _items(PRIMITIVES, K.Constructor, "primitive")
            + _items(COMBINATORS, K.Operator, "combinator")
            + _items([n for n in SPECIAL_OPS if n not in PRIMITIVES], K.Constructor, "special op"))


def _kwargs(analysis: Analysis, callee: str) -> list[T.CompletionItem]:
    if analysis.table is not None and callee in analysis.table.defs["op"]:
        params = [(p.name, p.default is None) for p in analysis.table.defs["op"][callee].params or ()]
    elif callee in PRIMITIVES:
        params = [(k, v is REQUIRED) for k, v in PRIMITIVES[callee].params]
    else:
        return []
    return [T.CompletionItem(label=name, kind=K.Field, detail="required" if required else "parameter",
                             insert_text=f"{name}=") for name, required in params]


def _open_call(before: str) -> str | None:
    """The name of the call whose parentheses the cursor is inside, at a keyword's place."""
    depth = 0
    for index in range(len(before) - 1, -1, -1):
        char = before[index]
        if char == ")":
            depth += 1
        elif char == "(":
            if depth == 0:
                match = re.search(r"([A-Za-z_]\w*)\s*$", before[:index])
                return match.group(1) if match else None
            depth -= 1
    return None


def completions(analysis: Analysis, text: str, line: int, column: int) -> list[T.CompletionItem]:
    context = context_at(text, line, column)
    before = code_of(context.before)
    if context.top == "experiment":
        return _experiment(analysis, context, before)
    if re.search(r"\bedges(\s+\w+)?\s+from\s+[\w\s|\-]*$", before) or re.search(r"\bspace\s+\w+\s*=\s*[\w\s|\-]*$", before):
        return _items(_names(analysis, "space"), K.Module, "space")
    if re.search(r"\b(like|cycle\s+[\w,\s]*)\s*\w*$", before) or re.search(r"\btypes\s+[\w,\s]*$", before):
        return _items(_names(analysis, "cell"), K.Class, "cell")
    if re.search(r"\bselect\s+\w*$", before):
        return _items(SELECT_RULES, K.EnumMember, "selection rule")
    if re.search(r"\bzero\s+\w*$", before):
        return _items(ZERO_CONFIGS, K.EnumMember, "zero configuration")
    if re.search(r"^\s*template\s+\w*$", before):
        return _items(_names(analysis, "network"), K.Struct, "network")
    if context.top == "genotype" and re.search(r"^\s*space\s+\w*$", before):
        return _items(_names(analysis, "space"), K.Module, "space")
    callee = _open_call(before)
    if callee is not None and callee not in COMBINATORS and re.search(r"[(,]\s*\w*$", before):
        return _kwargs(analysis, callee)
    if OP_PLACE.search(before) or (context.blocks and context.blocks[-1] == ["{"]):
        return _ops(analysis)
    if re.fullmatch(r"\s*\w*", before):
        words = TOP_LEVEL if not context.blocks else BODY.get(context.top or "", ())
        return _items(words, K.Keyword, "keyword")
    return []


def _experiment(analysis: Analysis, context: Context, before: str) -> list[T.CompletionItem]:
    path = context.setting_path()
    value = re.search(r"^\s*(\w+)\s*=\s*\[?[\w\s,]*$", before)
    if value:
        key = value.group(1)
        full = path + (key,)
        if full in (("templates", "search"), ("templates", "eval"), ("templates", "retrain")):
            return _items(_names(analysis, "network"), K.Struct, "network")
        if full == ("templates", "cells"):
            return _items(_names(analysis, "cell"), K.Class, "cell")
        if full == ("templates", "space"):
            return _items(_names(analysis, "space"), K.Module, "space")
        if full == ("data", "kind"):
            from genolang.compiler.passes.data_kinds import DATA_KINDS

            return _items(DATA_KINDS, K.EnumMember, "dataset kind")
        return _items(enum_values(full), K.EnumMember, ".".join(full))
    if re.fullmatch(r"\s*\w*", before):
        return [T.CompletionItem(label=key, kind=K.Module if block else K.Property,
                                 detail=".".join(path + (key,)) + (" block" if block else ""),
                                 insert_text=f"{key} {{" if block else f"{key} = ")
                for key, block in keys(path)]
    return []

