"""Parse tree -> AST. Each method builds one AST node from the rule of the same name."""

from __future__ import annotations

from lark import Token, Transformer, v_args
from lark.tree import Meta

from genolang.base.errors import Span, SpecSyntaxError
from genolang.base.limits import MAX_INT_DIGITS

from . import syntax as S


def span_of(meta_or_token, file: str) -> Span:
    if isinstance(meta_or_token, Token):
        return Span(file, meta_or_token.line, meta_or_token.column,
                    meta_or_token.end_line or meta_or_token.line,
                    meta_or_token.end_column or meta_or_token.column + len(meta_or_token))
    meta: Meta = meta_or_token
    if getattr(meta, "empty", True):
        return Span(file)
    return Span(file, meta.line, meta.column, meta.end_line, meta.end_column)


def _unquote(token: str) -> str:
    body = token[1:-1]
    return body.replace('\\"', '"').replace("\\\\", "\\")


def _once(items, what: str) -> None:
    """Refuse a name given twice (``max_pool(k=3, k=5)``), which would otherwise keep the last."""
    seen: dict[str, object] = {}
    for item in items:
        if item.name in seen:
            first = seen[item.name].span
            raise SpecSyntaxError(f"{what} `{item.name}` is given twice", item.span,
                                  hint=f"keep one (the first is at line {first.line}, column {first.column})")
        seen[item.name] = item


@v_args(meta=True)
class ToAst(Transformer):
    """Builds :mod:`syntax` nodes; ``file`` names the source for spans."""

    def __init__(self, file: str):
        super().__init__(visit_tokens=False)  # tokens stay tokens; visiting them costs ~30% of parse time
        self.file = file
        # lark's v_args wraps a method anew at every lookup (functools.update_wrapper each
        # time, ~10% of a parse); binding each rule's method once keeps the wrapper
        for name in _RULE_METHODS:
            self.__dict__[name] = getattr(self, name)

    def _s(self, meta) -> Span:
        return span_of(meta, self.file)

    def _tok(self, token: Token) -> Span:
        return span_of(token, self.file)

    # -- file
    def start(self, meta, items):
        return S.Module(tuple(items), file=self.file)

    def use(self, meta, c):
        return S.Use(path=_unquote(c[0]), span=self._s(meta))

    # -- values
    def int_v(self, meta, c):
        return S.Num(self._int(c[0]), span=self._tok(c[0]))

    def _int(self, token: Token, text: str | None = None) -> int:
        """An integer literal (``text``, else the token), refused past MAX_INT_DIGITS: int() of a
        huge literal is slow, and refused by Python past 4300 digits."""
        text = str(token) if text is None else text
        if len(text) > MAX_INT_DIGITS:
            raise SpecSyntaxError(f"this integer has {len(text)} digits; the limit is {MAX_INT_DIGITS}",
                                  self._tok(token), hint="see docs/limits.md")
        return int(text)

    def float_v(self, meta, c):
        return S.Num(float(c[0]), span=self._tok(c[0]))

    def neg_v(self, meta, c):
        inner = c[0]
        if isinstance(inner, S.Num):
            return S.Num(-inner.value, span=self._s(meta))
        return S.Neg(inner, span=self._s(meta))

    def str_v(self, meta, c):
        return S.Str(_unquote(c[0]), span=self._tok(c[0]))

    def name_v(self, meta, c):
        return S.Name(str(c[0]), span=self._tok(c[0]))

    def true_v(self, meta, c):
        return S.Bool(True, span=self._s(meta))

    def false_v(self, meta, c):
        return S.Bool(False, span=self._s(meta))

    def tuple_v(self, meta, c):
        return S.TupleV(tuple(v for v in c if v is not None), span=self._s(meta))

    def list_v(self, meta, c):
        return S.ListV(tuple(v for v in c if v is not None), span=self._s(meta))

    def _bin(op):
        def build(self, meta, c):
            return S.BinOp(op, c[0], c[1], span=self._s(meta))
        return build

    add = _bin("+")
    sub = _bin("-")
    mul = _bin("*")
    floordiv = _bin("//")

    # -- op expressions
    def call(self, meta, c):
        name, args = c
        if args is None:
            return S.Call(str(name), (), False, span=self._s(meta))
        return S.Call(str(name), tuple(args), True, span=self._s(meta))

    def args(self, meta, c):
        args = [a for a in c if a is not None]
        _once([a for a in args if isinstance(a, S.Kwarg)], "argument")
        return args

    def kwarg(self, meta, c):
        return S.Kwarg(str(c[0]), c[1], span=self._s(meta))

    def posarg(self, meta, c):
        return c[0]

    def chain(self, meta, c):
        parts: list = []
        for part in c:
            parts.extend(part.parts if isinstance(part, S.Chain) else [part])
        return S.Chain(tuple(parts), span=self._s(meta))

    def param(self, meta, c):
        return S.Param(str(c[0]), c[1], span=self._s(meta))

    def params(self, meta, c):
        params = tuple(p for p in c if p is not None)
        _once(params, "parameter")
        return params

    def stride2(self, meta, c):
        if self._int(c[0]) != 2:
            raise SpecSyntaxError(f"an op has a stride-1 body and at most an `on stride 2` form, not `on stride {c[0]}`",
                                  self._tok(c[0]), hint="cells use strides 1 and 2 only; write `on stride 2 = ...`")
        return (self._int(c[0]), c[1], self._tok(c[0]))

    def op_def(self, meta, c):
        name, rest = c[0], c[1:]
        params = None
        if rest and isinstance(rest[0], tuple) and (not rest[0] or isinstance(rest[0][0], S.Param)):
            params, rest = rest[0], rest[1:]
        body = rest[0]
        stride2 = rest[1] if len(rest) > 1 else None
        if stride2 is not None:
            stride, expr, _ = stride2
            stride2 = expr
        return S.OpDef(name=str(name), params=params, body=body, stride2=stride2, span=self._s(meta))

    # -- spaces
    def space_def(self, meta, c):
        return S.SpaceDef(name=str(c[0]), expr=c[1], span=self._s(meta))

    def space_lit(self, meta, c):
        return S.SpaceLit(tuple(c), span=self._s(meta))

    def space_entry(self, meta, c):
        return S.SpaceEntry(str(c[0]), c[1], span=self._s(meta))

    def space_ref(self, meta, c):
        return S.SpaceRef(str(c[0]), span=self._tok(c[0]))

    def space_union(self, meta, c):
        return S.SpaceBin("|", c[0], c[1], span=self._s(meta))

    def space_diff(self, meta, c):
        return S.SpaceBin("-", c[0], c[1], span=self._s(meta))

    # -- cells
    def name_list(self, meta, c):
        return tuple(str(t) for t in c)

    def int_list(self, meta, c):
        return tuple(self._int(t) for t in c)

    def inputs(self, meta, c):
        return S.Inputs(names=c[0], span=self._s(meta))

    def nodes(self, meta, c):
        return S.Nodes(count=self._int(c[0]), span=self._s(meta))

    def edges(self, meta, c):
        return S.Edges(node=None if c[0] is None else str(c[0]), space=c[1], span=self._s(meta))

    def select(self, meta, c):
        return S.Select(rule=str(c[0]), k=None if c[1] is None else self._int(c[1]), span=self._s(meta))

    def zero(self, meta, c):
        return S.Zero(config=str(c[0]), span=self._s(meta))

    def reduction(self, meta, c):
        return S.Reduction(span=self._s(meta))

    def output(self, meta, c):
        return S.Output(names=c[0], span=self._s(meta))

    def cell_def(self, meta, c):
        name, like, *body = c
        return S.CellDef(name=str(name), like=None if like is None else str(like),
                         body=tuple(body), span=self._s(meta))

    # -- networks
    def input_shape(self, meta, c):
        shape = tuple(self._int(c[0], p) for p in str(c[0]).split("x"))
        return S.InputShape(shape=shape, span=self._s(meta))

    def classes(self, meta, c):
        return S.Classes(count=self._int(c[0]), span=self._s(meta))

    def channels(self, meta, c):
        return S.Channels(count=self._int(c[0]), span=self._s(meta))

    def stem(self, meta, c):
        return S.Stem(expr=c[0], span=self._s(meta))

    def tail(self, meta, c):
        return S.Tail(expr=c[0], span=self._s(meta))

    def cells(self, meta, c):
        count, reduce_at, cycle = c
        return S.Cells(count=self._int(count), reduce_at=reduce_at or (), cycle=cycle or (), span=self._s(meta))

    def replace(self, meta, c):
        return S.Replace(index=self._int(c[0]), expr=c[1], span=self._s(meta))

    def heads(self, meta, c):
        return S.Heads(after=c[0], span=self._s(meta))

    def no_heads(self, meta, c):
        return S.Heads(after=(), span=self._s(meta))

    def aux(self, meta, c):
        return S.Aux(after=self._int(c[0]), span=self._s(meta))

    def network_def(self, meta, c):
        return S.NetworkDef(name=str(c[0]), body=tuple(c[1:]), span=self._s(meta))

    # -- macros
    def macro_template(self, meta, c):
        return S.MacroTemplate(name=str(c[0]), span=self._s(meta))

    def macro_types(self, meta, c):
        return S.MacroTypes(names=c[0], span=self._s(meta))

    def macro_depth(self, meta, c):
        return S.MacroDepth(depth=self._int(c[0]), span=self._s(meta))

    def macro_def(self, meta, c):
        return S.MacroDef(name=str(c[0]), version=self._int(c[1]), body=tuple(c[2:]), span=self._s(meta))

    # -- experiments
    def block(self, meta, c):
        return tuple(c)

    def setting_entry(self, meta, c):
        return S.Setting(key=str(c[0]), value=c[1], span=self._s(meta))

    def block_entry(self, meta, c):
        return S.Block(key=str(c[0]), entries=c[1], span=self._s(meta))

    def experiment_def(self, meta, c):
        return S.ExperimentDef(name=str(c[0]), entries=c[1], span=self._s(meta))

    # -- genotypes
    def dotted_name(self, meta, c):
        return ".".join(str(t) for t in c)

    def edge(self, meta, c):
        return S.EdgeRef(str(c[0]), str(c[1]), span=self._s(meta))

    def edge_sum(self, meta, c):
        return tuple(c)

    def no_edges(self, meta, c):
        return ()

    def node_def(self, meta, c):
        return S.NodeDef(node=str(c[0]), edges=c[1], span=self._s(meta))

    def geno_cell(self, meta, c):
        return S.GenoCellDef(name=c[0], body=tuple(c[1:]), span=self._s(meta))

    def geno_space(self, meta, c):
        return S.GenoSpace(name=str(c[0]), span=self._s(meta))

    def geno_template(self, meta, c):
        return S.GenoTemplate(name=str(c[0]), span=self._s(meta))

    def provenance(self, meta, c):
        return S.Provenance(entries=c[0], span=self._s(meta))

    def geno_macro(self, meta, c):
        return S.GenoMacro(entries=c[0], span=self._s(meta))

    def genotype_def(self, meta, c):
        return S.GenotypeDef(name=str(c[0]), body=tuple(c[1:]), span=self._s(meta))


# the rule methods of ToAst (every public one), bound once per instance in __init__
_RULE_METHODS = tuple(n for n in vars(ToAst) if not n.startswith("_") and callable(getattr(ToAst, n)))
