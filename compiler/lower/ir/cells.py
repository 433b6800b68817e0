"""Search cells: the zero configurations, the selection rule, :class:`CellSpec` (every
earlier state into every node through a mixed edge) and the graph view of a cell."""

from __future__ import annotations

from dataclasses import dataclass, field

from genolang.base.errors import Span

from genolang.compiler.lower.ir.ops import OpSpace
from genolang.compiler.lower.ir.values import NO_SPAN

__all__ = ["ZERO_CONFIGS", "Selection", "CellSpec", "CellGraph"]


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
