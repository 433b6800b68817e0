"""The intermediate representation: what a spec *means*, independent of its syntax.

Lowering (:mod:`genolang.compiler.lower.program`) turns the AST into these objects; the module
builders (:mod:`genolang.compiler.build`) turn them into ``nn.Module`` s; derivation turns α
back into a :class:`Genotype`, which :mod:`genolang.compiler.genotype.raise_` turns back into AST for
the printer. Payloads are frozen dataclasses; graphs are networkx graphs wrapped by
:class:`CellGraph` (never subclassed), with stable path-like node ids such as ``normal.n2``;
networkx is imported only when a graph algorithm runs (it costs ~0.1 s, more than a whole
``geno check``).

Operation expressions keep two free symbols, bound only when a module is built:

* ``C`` -- the channel count the operation must produce (and, for cell edges, receives);
* ``s`` -- the stride of the edge (1, or 2 on the input edges of a reduction cell).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping, Union

from genolang.base.errors import CompileError, Span
from genolang.base.limits import MAX_NUMBER, MAX_STRING_CHARS

__all__ = [
    "Sym", "Num", "BinOp", "Value", "evaluate", "free_symbols",
    "Prim", "Seq", "Residual", "Sum", "Concat", "OpExpr",
    "OpImpl", "OpSpace", "Selection", "CellSpec", "CellGraph",
    "GenoEdge", "GenoCell", "MacroChoice", "Genotype",
    "Slot", "NetworkTemplate", "MacroSpec", "ZERO_CONFIGS",
]

NO_SPAN = Span()

# ----------------------------------------------------------------------------- values


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


def free_symbols(obj: object) -> set[str]:
    """Names of the free symbols used anywhere inside a value or op expression."""
    if isinstance(obj, Sym):
        return {obj.name}
    if isinstance(obj, BinOp):
        return free_symbols(obj.left) | free_symbols(obj.right)
    if isinstance(obj, tuple):
        out: set[str] = set()
        for item in obj:
            out |= free_symbols(item)
        return out
    if isinstance(obj, Prim):
        return free_symbols(tuple(v for _, v in obj.args))
    if isinstance(obj, (Seq, Sum, Concat)):
        return free_symbols(obj.parts)
    if isinstance(obj, Residual):
        return free_symbols(obj.body)
    return set()


# ----------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Prim:
    """A primitive layer, e.g. ``Prim("dwconv", (("k", 3), ("stride", Sym("s"))))``.

    The catalogue of primitive names, their parameters, shape rules and builders is
    :mod:`genolang.compiler.lower.primitives`.
    """

    name: str
    args: tuple[tuple[str, Value], ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)

    def arg(self, key: str, default: Value | None = None) -> Value | None:
        for k, v in self.args:
            if k == key:
                return v
        return default


@dataclass(frozen=True)
class Seq:
    """``a >> b >> c``: apply in order."""

    parts: tuple["OpExpr", ...]


@dataclass(frozen=True)
class Residual:
    """``residual(body)``: ``x + body(x)`` when the shapes agree (stride 1, same channels),
    otherwise ``body(x)`` alone -- the MBConv convention."""

    body: "OpExpr"


@dataclass(frozen=True)
class Sum:
    """``sum(a, b, ...)``: branches on the same input, added."""

    parts: tuple["OpExpr", ...]


@dataclass(frozen=True)
class Concat:
    """``concat(a, b, ...)``: branches on the same input, concatenated on channels."""

    parts: tuple["OpExpr", ...]


OpExpr = Union[Prim, Seq, Residual, Sum, Concat]


@dataclass(frozen=True)
class OpImpl:
    """A fully instantiated operation (op definition with its parameters substituted).

    ``body`` serves stride 1, and stride 2 too when it uses the symbol ``s``;
    ``stride2`` (from a ``stride 2:`` branch) overrides it for stride 2. An op whose body
    does not use ``s`` and has no ``stride 2:`` branch cannot sit on a reducing edge.
    """

    name: str                      # the definition's name, e.g. "sep_conv"
    body: OpExpr
    stride2: OpExpr | None = None
    params: tuple[tuple[str, Value], ...] = ()   # the arguments it was instantiated with
    span: Span = field(default=NO_SPAN, compare=False)

    @cached_property
    def _body_uses_stride(self) -> bool:
        # asked for every edge of every cell: walking the body each time was the shape
        # pass's largest cost (the dataclass is frozen, so the answer never changes)
        return "s" in free_symbols(self.body)

    def supports_stride(self, stride: int) -> bool:
        if stride == 1:
            return True
        return self.stride2 is not None or self._body_uses_stride

    def expr_for(self, stride: int) -> OpExpr:
        if stride != 1 and self.stride2 is not None:
            return self.stride2
        if not self.supports_stride(stride):
            raise CompileError(
                f"operation `{self.name}` cannot take stride {stride}", self.span,
                hint="use the symbol `s` as a stride in its body, or add a `stride 2:` branch",
            )
        return self.body


@dataclass(frozen=True)
class OpSpace:
    """An ordered set of labelled operations, e.g. ``sep_conv_3 -> sep_conv(k=3)``."""

    name: str
    ops: tuple[tuple[str, OpImpl], ...]
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.ops)

    def impl(self, label: str) -> OpImpl:
        for name, impl in self.ops:
            if name == label:
                return impl
        raise KeyError(label)

    def __len__(self) -> int:
        return len(self.ops)


# ----------------------------------------------------------------------------- cells

# Zero-operation configurations of ICDARTS (Table 3.1): which special op the search network
# gets, and what a `random` edge becomes in the search-phase evaluation network and at
# retraining. V1 is the ICDARTS default.
ZERO_CONFIGS: dict[str, dict[str, str | None]] = {
    "V0": {"search_op": "zero", "eval": "exclude", "retrain": "exclude"},
    "V1": {"search_op": None, "eval": "keep", "retrain": "keep"},
    "V2": {"search_op": "random", "eval": "keep", "retrain": "keep"},
    "V3": {"search_op": "random", "eval": "keep", "retrain": "zero"},
    "V4": {"search_op": "random", "eval": "zero", "retrain": "zero"},
}


@dataclass(frozen=True)
class Selection:
    """How α is discretised: ``darts`` (top-k edges, k=2), ``idarts`` (top-k (source, op)
    pairs under a node-level softmax) or ``xdarts`` (top j+2 pairs for node j)."""

    rule: str = "darts"
    k: int = 2

    @property
    def node_softmax(self) -> bool:
        return self.rule in ("idarts", "xdarts")

    def keep(self, node_index: int) -> int:
        return node_index + 2 if self.rule == "xdarts" else self.k


@dataclass(frozen=True)
class CellSpec:
    """A cell of a search space: every earlier state feeds every node through a mixed edge.

    ``candidates[node]`` is the op space of the edges entering ``node`` (heterogeneous
    candidate lists per node are allowed; the dynamic-space tournament uses them). The
    special op of the zero configuration is *not* in ``candidates``; the supernet builder
    appends it (see :data:`ZERO_CONFIGS`).
    """

    name: str
    inputs: tuple[str, ...]
    nodes: tuple[str, ...]
    candidates: tuple[tuple[str, OpSpace], ...]
    select: Selection = Selection()
    zero: str = "V1"
    reduction: bool = False
    output: tuple[str, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)

    def space_of(self, node: str) -> OpSpace:
        return dict(self.candidates)[node]

    def predecessors(self, node: str) -> tuple[str, ...]:
        """States that may feed ``node``: the inputs and every earlier node, in order."""
        index = self.nodes.index(node)
        return self.inputs + self.nodes[:index]

    def graph(self) -> "CellGraph":
        g = CellGraph(self.name, self.inputs, self.nodes, self.output)
        for node in self.nodes:
            for src in self.predecessors(node):
                for label in self.space_of(node).labels:
                    g.add_edge(src, node, label)
        return g


class CellGraph:
    """A cell as a networkx multigraph with stable ids ``<cell>.<state>``.

    Parallel edges between the same two states carry different operations (I-DARTS may keep
    two operations from one predecessor). ``steps()`` flattens the graph for ``forward()``.
    """

    def __init__(self, name: str, inputs, nodes, output):
        self.name = name
        self.inputs = tuple(inputs)
        self.nodes = tuple(nodes)
        self.output = tuple(output)
        self._edges: dict[tuple[str, str, str], None] = {}   # (src, dst, op) states, insertion order
        self._nx = None

    def node_id(self, state: str) -> str:
        return f"{self.name}.{state}"

    def add_edge(self, src: str, dst: str, op: str) -> None:
        self._edges[(src, dst, op)] = None                 # keyed by op, as the multigraph was
        self._nx = None

    def in_edges(self, dst: str) -> list[tuple[str, str]]:
        """(source state, op) pairs entering ``dst``, in insertion order."""
        return [(src, op) for src, d, op in self._edges if d == dst]

    @property
    def _g(self):
        if self._nx is None:
            import networkx as nx

            g = nx.MultiDiGraph(name=self.name)
            for state in self.inputs + self.nodes:
                g.add_node(self.node_id(state), state=state, kind="input" if state in self.inputs else "node")
            for src, dst, op in self._edges:
                g.add_edge(self.node_id(src), self.node_id(dst), key=op, op=op)
            self._nx = g
        return self._nx

    def find_cycle(self) -> list[str] | None:
        import networkx as nx

        try:
            return [u for u, _, *_ in nx.find_cycle(self._g)]
        except nx.NetworkXNoCycle:
            return None

    def unreachable_outputs(self) -> list[str]:
        """Output states that no cell input reaches (a node with no path from the inputs)."""
        import networkx as nx

        sources = {self.node_id(i) for i in self.inputs}
        reach: set[str] = set(sources)
        for s in sources:
            reach |= nx.descendants(self._g, s)
        return [o for o in self.output if self.node_id(o) not in reach and o not in self.inputs]

    def to_networkx(self):
        """A copy of the cell as a ``networkx.MultiDiGraph``."""
        return self._g.copy()


# ----------------------------------------------------------------------------- genotypes


@dataclass(frozen=True)
class GenoEdge:
    op: str          # label within the cell's op table, e.g. "sep_conv_3"
    src: str         # a cell input ("c0", "c1") or an earlier node ("n1")


@dataclass(frozen=True)
class GenoCell:
    """A discrete cell: each node sums ``op(src)`` over its edges (any number, zero allowed)."""

    name: str
    inputs: tuple[str, ...]
    nodes: tuple[tuple[str, tuple[GenoEdge, ...]], ...]
    output: tuple[str, ...]
    ops: tuple[tuple[str, OpImpl], ...]      # label -> implementation, for building
    reduction: bool = False
    zero: str = "V1"
    span: Span = field(default=NO_SPAN, compare=False)

    def edges_of(self, node: str) -> tuple[GenoEdge, ...]:
        return dict(self.nodes)[node]

    def impl(self, label: str) -> OpImpl:
        return dict(self.ops)[label]

    def graph(self) -> CellGraph:
        g = CellGraph(self.name, self.inputs, tuple(n for n, _ in self.nodes), self.output)
        for node, edges in self.nodes:
            for e in edges:
                g.add_edge(e.src, node, e.op)
        return g


@dataclass(frozen=True)
class MacroChoice:
    """Decisions of a hierarchical search: version 1 keeps one skip source per cell
    (``skips[k]`` = index of the earlier cell output, -1 = stem); version 2 keeps one cell
    type per depth (``types[d]``)."""

    version: int
    skips: tuple[int, ...] = ()
    types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Genotype:
    """One operation per kept edge, one cell per cell type (and per stage when the
    template has stages, keyed ``stage1.normal``), plus macro choices and provenance."""

    name: str
    cells: tuple[tuple[str, GenoCell], ...]
    space: str | None = None
    template: str | None = None
    macro: MacroChoice | None = None
    provenance: tuple[tuple[str, str], ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)

    def cell(self, name: str) -> GenoCell:
        return dict(self.cells)[name]

    def __str__(self) -> str:
        """The genotype as .geno text, as a search writes it (``print(result.genotype)``)."""
        # a backward edge (tests/test_layering.py): the printer lives on the genotype floor
        from genolang.compiler.genotype.raise_ import genotype_text

        return genotype_text(self)

    def __repr__(self) -> str:
        # the dataclass repr spells out every operation's IR and span: kilobytes per genotype
        return f"<Genotype {self.name!r}: cells {', '.join(k for k, _ in self.cells)}; print() shows its text>"


# ----------------------------------------------------------------------------- networks


@dataclass(frozen=True)
class Slot:
    """One position of a network's cell sequence: a searched cell type, or a fixed
    replacement operation (the reduction ablations of Table 3.5)."""

    cell: str | None = None
    replacement: OpExpr | None = None
    reduction: bool = False


@dataclass(frozen=True)
class NetworkTemplate:
    """Stem, cell sequence, heads and classifier of a search or evaluation network.

    ``stem`` is an op expression built with ``C`` bound to the initial channel count;
    ``None`` means the identity stem (cells see the raw image). ``distill_after`` lists the
    cell indices after which CDARTS distill heads sit (empty: no heads, KD on the final
    logits); ``aux_after`` the cell index of the DARTS auxiliary head used in retraining.
    """

    name: str
    input_shape: tuple[int, int, int]     # (channels, height, width)
    classes: int
    channels: int
    stem: OpExpr | None
    slots: tuple[Slot, ...]
    distill_after: tuple[int, ...] = ()
    aux_after: int | None = None
    stem_concat_input: bool = False       # the "concatenate inputs" stem ablation
    drop_path: float = 0.0
    tail: OpExpr | None = None            # before the global pool and classifier (NB201: bn >> relu)
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def reduction_indices(self) -> tuple[int, ...]:
        return tuple(i for i, s in enumerate(self.slots) if s.reduction)


@dataclass(frozen=True)
class MacroSpec:
    """A hierarchical macro graph (chapter 6).

    version 1: each cell's second input is searched over all earlier cell outputs (and the
    stem); version 2: at every depth each of ``cell_types`` runs in parallel and γ picks one.
    """

    name: str
    version: int
    template: str
    cell_types: tuple[str, ...] = ()
    depth: int = 20
    span: Span = field(default=NO_SPAN, compare=False)
