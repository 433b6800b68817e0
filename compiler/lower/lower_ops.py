"""Operation definitions -> :class:`ir.OpImpl`: argument binding, inlining, checks.

``op sep_conv(k=3) = relu >> dwconv(k=k, stride=s) >> ...`` is a template; a call
``sep_conv(k=5)`` instantiates it by substituting its parameters. Calls to other user ops are
inlined (an inlined call may bind the stride: ``half(k=k, s=1)``). The remaining free symbols
are ``C`` and ``s`` (see :mod:`ir`). Each op is lowered twice, for stride 1 and for stride 2,
so that an inlined op's ``on stride 2`` branch is honoured inside the op that uses it.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

from genolang.base.errors import GenolangError, Span, SpecSemanticError, did_you_mean
from genolang.grammar import syntax as S

from genolang.base.limits import MAX_REFERENCE_DEPTH

from genolang.compiler.lower import ir
from genolang.compiler.lower.primitives import PRIMITIVES, REQUIRED

COMBINATORS = {"residual": 1, "sum": None, "concat": None}
FREE_SYMBOLS = ("C", "s")

# The special operations every space and genotype may use (zero configurations V0, V2-V4).
SPECIAL_OPS = {
    "zero": ir.OpImpl("zero", ir.Prim("zero", (("stride", ir.Sym("s")),))),
    "random": ir.OpImpl("random", ir.Prim("random", (("stride", ir.Sym("s")),))),
}


# Instantiated ops by (op-table fingerprint, call): specs that import the same library files
# share their (immutable, parse-cached) op definitions, so `sep_conv(k=3)` is lowered once per
# process rather than once per file.
_INSTANCES: dict[tuple, ir.OpImpl] = {}


class OpLowering:
    """Instantiates op calls against the op definitions of a program."""

    def __init__(self, ops: Mapping[str, S.OpDef]):
        self.ops = ops
        self._fingerprint = tuple(sorted((name, id(d)) for name, d in ops.items()))
        self._depths: dict[str, int] = {}

    # -- public
    def instantiate(self, call: S.Expr, label: str | None = None) -> ir.OpImpl:
        """Lower an op expression used as a space entry, stem or replacement."""
        key = (self._fingerprint, call, label)
        cached = _INSTANCES.get(key)
        if cached is not None:
            return dataclasses.replace(cached, span=call.span)
        impl = self._instantiate(call, label)
        if len(_INSTANCES) > 4096:
            _INSTANCES.clear()
        _INSTANCES[key] = impl
        return impl

    def _instantiate(self, call: S.Expr, label: str | None) -> ir.OpImpl:
        name = call.name if isinstance(call, S.Call) else (label or "op")
        body = self._expr(call, {}, stride_mode=1, stack=())
        body2 = self._expr(call, {}, stride_mode=2, stack=())
        params = ()
        if isinstance(call, S.Call) and call.name in self.ops:
            params = tuple((k.name, _literal(k.value)) for k in call.kwargs)
        return ir.OpImpl(name, body, None if body2 == body else body2, params, span=call.span)

    def check_definition(self, op: S.OpDef) -> None:
        """Lower an op definition with its defaults, to report errors in its body early."""
        env = {}
        for p in op.params or ():
            if p.default is None:
                env[p.name] = ir.Sym(p.name)   # required: keep symbolic for the check
            else:
                env[p.name] = self._value(p.default, {}, op.name)
        self._body(op, env, 1, (op.name,))
        self._body(op, env, 2, (op.name,))

    def depth(self, name: str, visiting: frozenset = frozenset()) -> int:
        """How many levels of ops calling ops inlining ``name`` takes (1: it calls none),
        memoised and cut off past the limit, so that a long chain costs linear time."""
        if name in self._depths:
            return self._depths[name]
        if name in visiting or len(visiting) > MAX_REFERENCE_DEPTH:
            return len(visiting)        # a cycle is reported by _inline with its path
        op = self.ops[name]
        callees = {c for c in _called(op.body) | (_called(op.stride2) if op.stride2 is not None else set())
                   if c in self.ops}
        depth = 1 + max((self.depth(c, visiting | {name}) for c in callees), default=0)
        if not visiting or depth > MAX_REFERENCE_DEPTH:
            self._depths[name] = depth
        return depth

    # -- expressions
    def _body(self, op: S.OpDef, env: dict, stride_mode: int, stack: tuple[str, ...]) -> ir.OpExpr:
        if stride_mode == 2 and op.stride2 is not None:
            return self._expr(op.stride2, env, stride_mode, stack)
        return self._expr(op.body, env, stride_mode, stack)

    def _expr(self, expr: S.Expr, env: dict, stride_mode: int, stack: tuple[str, ...]) -> ir.OpExpr:
        if isinstance(expr, S.Chain):
            parts = []
            for part in expr.parts:
                lowered = self._expr(part, env, stride_mode, stack)
                parts.extend(lowered.parts if isinstance(lowered, ir.Seq) else [lowered])
            return ir.Seq(tuple(parts))
        return self._call(expr, env, stride_mode, stack)

    def _call(self, call: S.Call, env: dict, stride_mode: int, stack: tuple[str, ...]) -> ir.OpExpr:
        name = call.name
        if name in COMBINATORS:
            return self._combinator(call, env, stride_mode, stack)
        if call.positional:
            raise SpecSemanticError(
                f"`{name}` takes arguments by name only", call.positional[0].span,
                hint=f"write e.g. `{name}(k=3)`; only residual/sum/concat take operations")
        if name in self.ops:
            return self._inline(call, env, stride_mode, stack)
        if name in PRIMITIVES:
            return self._primitive(call, env)
        if name in SPECIAL_OPS and not call.has_parens:
            return SPECIAL_OPS[name].body
        known = list(self.ops) + list(PRIMITIVES) + list(COMBINATORS)
        raise SpecSemanticError(f"unknown operation `{name}`", call.span,
                                hint=did_you_mean(name, known) or "define it with `op " + name + " = ...`")

    def _combinator(self, call: S.Call, env, stride_mode, stack) -> ir.OpExpr:
        branches = call.positional
        if call.kwargs:
            raise SpecSemanticError(f"`{call.name}` takes operations, not named arguments",
                                    call.kwargs[0].span, hint=f"write `{call.name}(a >> b)`")
        arity = COMBINATORS[call.name]
        if arity is not None and len(branches) != arity:
            raise SpecSemanticError(f"`{call.name}` takes exactly {arity} operation, got {len(branches)}",
                                    call.span, hint=f"write `{call.name}(a >> b)`")
        if arity is None and len(branches) < 2:
            raise SpecSemanticError(f"`{call.name}` needs at least 2 branches, got {len(branches)}",
                                    call.span, hint=f"write `{call.name}(a, b)`")
        parts = tuple(self._expr(b, env, stride_mode, stack) for b in branches)
        if call.name == "residual":
            return ir.Residual(parts[0])
        return ir.Sum(parts) if call.name == "sum" else ir.Concat(parts)

    def _inline(self, call: S.Call, env: dict, stride_mode: int, stack: tuple[str, ...]) -> ir.OpExpr:
        op = self.ops[call.name]
        if call.name in stack:
            path = " -> ".join(stack[stack.index(call.name):] + (call.name,))
            error = SpecSemanticError(f"operation `{call.name}` is defined in terms of itself: {path}",
                                      call.span, hint="an op body cannot call itself, directly or through other ops",
                                      notes=[(f"`{call.name}` is defined here", op.span)])
            error.cycle = ("op", frozenset(stack[stack.index(call.name):]))   # reported once per cycle
            raise error
        if len(stack) + self.depth(call.name) > MAX_REFERENCE_DEPTH:
            top_name = stack[0] if stack else call.name
            top = self.ops.get(top_name)
            raise SpecSemanticError(f"operation `{top_name}` calls ops through more than {MAX_REFERENCE_DEPTH} "
                                    "levels", _header(top.span) if top is not None else call.span,
                                    hint="define it from fewer intermediate ops (see docs/limits.md)")
        params = {p.name: p for p in op.params or ()}
        bound: dict[str, object] = {}
        stride_binding = None
        for kw in call.kwargs:
            if kw.name == "s":
                stride_binding = self._value(kw.value, env, call.name)
                continue
            if kw.name not in params:
                hint = did_you_mean(kw.name, params) or (
                    f"`{call.name}` takes " + (", ".join(params) if params else "no parameters"))
                raise SpecSemanticError(f"`{call.name}` has no parameter `{kw.name}`", kw.span, hint=hint)
            value = self._value(kw.value, env, call.name)
            default = params[kw.name].default
            if default is not None:
                _check_type(kw, value, self._value(default, {}, call.name), call.name)
            bound[kw.name] = value
        for name, param in params.items():
            if name in bound:
                continue
            if param.default is None:
                raise SpecSemanticError(f"`{call.name}` needs the parameter `{name}`", call.span,
                                        hint=f"write `{call.name}({name}=...)`",
                                        notes=[(f"`{call.name}` is defined here", op.span)])
            bound[name] = self._value(param.default, {}, call.name)
        mode = stride_mode if stride_binding is None else (2 if stride_binding == 2 else 1)
        body = self._body(op, bound, mode, stack + (call.name,))
        if stride_binding is not None:
            body = _bind_symbol(body, "s", stride_binding)
        return body

    def _primitive(self, call: S.Call, env: dict) -> ir.Prim:
        definition = PRIMITIVES[call.name]
        accepted = dict(definition.params)
        args = []
        for kw in call.kwargs:
            if kw.name not in accepted:
                hint = did_you_mean(kw.name, accepted) or (
                    f"`{call.name}` takes " + (", ".join(accepted) if accepted else "no parameters"))
                raise SpecSemanticError(f"primitive `{call.name}` has no parameter `{kw.name}`", kw.span, hint=hint)
            value = self._value(kw.value, env, call.name)
            default = accepted[kw.name]
            if default is not REQUIRED and default is not None:
                _check_type(kw, value, default, call.name)
            args.append((kw.name, value))
        given = {k for k, _ in args}
        for name, default in accepted.items():
            if default is REQUIRED and name not in given:
                raise SpecSemanticError(f"primitive `{call.name}` needs the parameter `{name}`", call.span,
                                        hint=f"write `{call.name}({name}=...)`")
        return ir.Prim(call.name, tuple(args), span=call.span)

    # -- values
    def _value(self, value: S.Value, env: Mapping[str, object], where: str) -> ir.Value:
        if isinstance(value, S.Num):
            return value.value
        if isinstance(value, (S.Str, S.Bool)):
            return value.value
        if isinstance(value, S.Name):
            if value.id in env:
                return env[value.id]
            if value.id in FREE_SYMBOLS:
                return ir.Sym(value.id)
            raise SpecSemanticError(f"unknown name `{value.id}` in `{where}`", value.span,
                                    hint=did_you_mean(value.id, list(env) + list(FREE_SYMBOLS))
                                    or "names in arguments are the op's parameters, `C` (channels) and `s` (stride)")
        if isinstance(value, S.Neg):
            return _fold(ir.BinOp("-", 0, self._value(value.operand, env, where)), value.span)
        if isinstance(value, S.BinOp):
            return _fold(ir.BinOp(value.op, self._value(value.left, env, where),
                                  self._value(value.right, env, where)), value.span)
        if isinstance(value, (S.TupleV, S.ListV)):
            return tuple(self._value(v, env, where) for v in value.items)
        raise SpecSemanticError(f"unsupported value in `{where}`", getattr(value, "span", None))


def _called(expr: S.Expr) -> set[str]:
    """Names of every op an expression calls (combinator branches included)."""
    out: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, S.Chain):
            stack.extend(node.parts)
        elif isinstance(node, S.Call):
            out.add(node.name)
            stack.extend(a for a in node.args if isinstance(a, (S.Call, S.Chain)))
    return out


def _header(span: Span) -> Span:
    """The first line of a definition's span (the caret then underlines `op name = ...`)."""
    if span is None or not span.known or span.end_line == span.line:
        return span
    return Span(span.file, span.line, span.column, span.line, span.column + 2)


def _fold(expr: ir.BinOp, span: Span | None = None) -> ir.Value:
    """Constant-fold arithmetic on literals; keep it symbolic when a free symbol is involved.
    A fold that fails (division by zero, a string too long) is an error at ``span``."""
    if isinstance(expr.left, (ir.Sym, ir.BinOp)) or isinstance(expr.right, (ir.Sym, ir.BinOp)):
        return expr
    if isinstance(expr.left, tuple) or isinstance(expr.right, tuple):
        return expr
    try:
        return ir.evaluate(expr, {})
    except GenolangError as exc:
        raise SpecSemanticError(exc.message, span, hint=exc.hint) from None


def _literal(value: S.Value) -> object:
    if isinstance(value, (S.Num, S.Str, S.Bool)):
        return value.value
    return repr(value)


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, tuple):
        return "a tuple"
    return "an expression"


def _check_type(kw: S.Kwarg, value: object, default: object, where: str) -> None:
    """A literal argument must have the type of the parameter's default."""
    if isinstance(value, (ir.Sym, ir.BinOp)) or isinstance(default, (ir.Sym, ir.BinOp)):
        return
    if default is None or default is REQUIRED:
        return
    ok = type(value) is type(default)
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, tuple):
        ok = all(isinstance(v, (int, ir.Sym, ir.BinOp)) for v in value)  # pairs: k=(1, 7), stride=(1, s)
    if isinstance(default, tuple) and isinstance(value, int):
        ok = True
    if not ok:
        raise SpecSemanticError(
            f"parameter `{kw.name}` of `{where}` expects {_type_name(default)}, got {_type_name(value)}",
            kw.value.span if hasattr(kw.value, "span") else kw.span,
            hint=f"the default is {default!r}")


def _bind_symbol(expr: object, name: str, value: object) -> object:
    """Substitute a free symbol everywhere inside an op expression."""
    if isinstance(expr, ir.Sym):
        return value if expr.name == name else expr
    if isinstance(expr, ir.BinOp):
        return _fold(ir.BinOp(expr.op, _bind_symbol(expr.left, name, value), _bind_symbol(expr.right, name, value)))
    if isinstance(expr, tuple):
        return tuple(_bind_symbol(v, name, value) for v in expr)
    if isinstance(expr, ir.Prim):
        return ir.Prim(expr.name, tuple((k, _bind_symbol(v, name, value)) for k, v in expr.args), span=expr.span)
    if isinstance(expr, ir.Seq):
        return ir.Seq(tuple(_bind_symbol(p, name, value) for p in expr.parts))
    if isinstance(expr, ir.Sum):
        return ir.Sum(tuple(_bind_symbol(p, name, value) for p in expr.parts))
    if isinstance(expr, ir.Concat):
        return ir.Concat(tuple(_bind_symbol(p, name, value) for p in expr.parts))
    if isinstance(expr, ir.Residual):
        return ir.Residual(_bind_symbol(expr.body, name, value))
    return expr


def lower_errors(fn, errors: list[GenolangError]):
    """Run ``fn`` and record a genolang error instead of raising it; return its result or None."""
    try:
        return fn()
    except GenolangError as exc:
        errors.append(exc)
        return None


__all__ = ["OpLowering", "SPECIAL_OPS", "COMBINATORS", "lower_errors", "Span"]
