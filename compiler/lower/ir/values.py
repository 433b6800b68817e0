"""Values inside the IR: symbols (``C``, ``s``), numbers and arithmetic on them, bounded
like the spec's own numbers, and evaluation once the symbols are bound."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Union

from genolang.base.errors import CompileError, Span
from genolang.base.limits import MAX_NUMBER, MAX_STRING_CHARS

__all__ = ["NO_SPAN", "Sym", "Num", "BinOp", "Value", "arith", "evaluate"]


NO_SPAN = Span()


@dataclass(frozen=True)
class Sym:
    """A free symbol in an argument: ``C`` or ``s`` (after op parameters are substituted)."""

    name: str


@dataclass(frozen=True)
class Num:
    value: int | float


@dataclass(frozen=True)
class BinOp:
    """``left op right`` with op in ``+ - * //``."""

    op: str
    left: "Value"
    right: "Value"


# A primitive argument: a literal, a tuple of ints (kernel 1x7), a name of a mode, or an
# arithmetic expression over the free symbols.
Value = Union[int, float, bool, str, tuple, Sym, BinOp, Num]

def arith(op: str, a: object, b: object) -> object:
    """``a op b`` for op in ``+ - * //``, bounded: an error (not a crash, not gigabytes) for a
    division by zero, mixed types, a string longer than MAX_STRING_CHARS or a number beyond
    MAX_NUMBER."""
    if op == "//" and isinstance(b, (int, float)) and not isinstance(b, bool) and b == 0:
        raise CompileError("division by zero", hint="`//` needs a non-zero right-hand side")
    if op == "*" and (isinstance(a, str) or isinstance(b, str)):
        text, count = (a, b) if isinstance(a, str) else (b, a)
        if not isinstance(count, int) or isinstance(count, bool) or isinstance(text, bool):
            raise CompileError(f"cannot multiply {_kind(a)} by {_kind(b)}")
        if len(text) * max(count, 0) > MAX_STRING_CHARS:
            raise CompileError(f"this string would have {len(text) * count:,} characters; the limit is "
                               f"{MAX_STRING_CHARS:,}", hint="see docs/limits.md")
        return text * count
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool) and op in _ARITH:
        result = _ARITH[op](a, b)
        if isinstance(result, int) and abs(result) > MAX_NUMBER:
            raise CompileError(f"this number is larger than {MAX_NUMBER:,}, the limit", hint="see docs/limits.md")
        if isinstance(result, float) and not math.isfinite(result):
            raise CompileError("this arithmetic overflows (the result is not a finite number)")
        return result
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        if len(a) + len(b) > MAX_STRING_CHARS:
            raise CompileError(f"this string would be longer than {MAX_STRING_CHARS:,} characters, the limit")
        return a + b
    raise CompileError(f"cannot apply `{op}` to {_kind(a)} and {_kind(b)}")


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (tuple, list)):
        return "a list"
    return "an expression"


_ARITH = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "//": lambda a, b: a // b,
}


def evaluate(value: Value, env: Mapping[str, int]) -> object:
    """Evaluate an argument with the free symbols bound by ``env`` (``{"C": 16, "s": 2}``)."""
    if isinstance(value, Sym):
        if value.name not in env:
            raise CompileError(f"symbol `{value.name}` is not bound here")
        return env[value.name]
    if isinstance(value, Num):
        return value.value
    if isinstance(value, BinOp):
        return arith(value.op, evaluate(value.left, env), evaluate(value.right, env))
    if isinstance(value, tuple):
        return tuple(evaluate(v, env) for v in value)
    return value
