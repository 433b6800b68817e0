"""The search supernet: mixed edges weighted by relaxed α (DARTS / I-DARTS / XDARTS).

α: one tensor per (cell, node) of shape ``(n_predecessors, n_ops_of_node)``, rows in
:meth:`CellSpec.predecessors` order and columns in :func:`candidate_ops` order (the zero
configuration's special op last), registered as ``alphas.<cell>.<node>`` (a ``.`` in a
stage-specific cell key becomes ``_``: ``alphas.stage2_normal.n0``). Every slot using a
cell shares its α.

Relaxation: ``darts`` cells softmax each row (edge); ``idarts`` / ``xdarts`` cells softmax
all ``(predecessor, op)`` entries of a node together. A node is ``Σ w[i, o] · o(x_i)``.

Edge weights (``edge_weights``): ``none`` sums the edges of a node (DARTS, NNI, ICDARTS);
``fixed`` scales row i by softmax(β)_i with β = 0.1 fixed, i.e. 1/n_predecessors, as the
official CDARTS code does with ``use_beta`` off; ``learnable`` makes β an architecture
parameter (``betas.<cell>.<node>``, init 1e-3·randn, PC-DARTS's edge normalisation, Cream's
``--use_beta``). Derivation ranks edges by the β-scaled weights, as Cream's ``parse`` does.

The forward pass can be given explicit weights instead (``arch_weights``):
:meth:`SearchNetwork.hard_weights` gives the 0/1 weights of a genotype, at which the
supernet computes exactly the discrete network of that genotype (the discrete cell sums
its kept edges, so this is the vertex of the relaxation the genotype names; for I-DARTS a
one-hot α would give each kept pair 1/k instead).
"""

from __future__ import annotations

from typing import Iterator, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from genolang.compiler.build.cells import CellNetwork, build_node_edges
from genolang.compiler.build.ops import candidate_ops
from genolang.compiler.build.recompute import recomputed
from genolang.compiler.lower.ir import CellSpec, Genotype, NetworkTemplate
from genolang.compiler.build.layers import RandomOp, strided_shape
from genolang.compiler.passes.shapes import CellPlan, EdgePlan, plan_network
from genolang.base.errors import CompileError, did_you_mean

__all__ = ["SearchNetwork", "MixedNode", "relax", "alpha_shape", "EDGE_WEIGHTS", "MEMORY_MODES"]

EDGE_WEIGHTS = ("none", "fixed", "learnable")
# How mixed nodes keep what the backward needs: ``plain`` saves every candidate's
# activations, ``recompute`` saves the node's inputs and recomputes them (same numbers).
MEMORY_MODES = ("plain", "recompute")

ArchWeights = Mapping[str, Mapping[str, torch.Tensor]]


def alpha_shape(cell: CellSpec, node: str) -> tuple[int, int]:
    return len(cell.predecessors(node)), len(candidate_ops(cell, node))


def relax(cell: CellSpec, alpha: torch.Tensor) -> torch.Tensor:
    """Relaxed weights of one node: per-row softmax (darts) or one node-level softmax."""
    if cell.select.node_softmax:
        return torch.softmax(alpha.flatten(), dim=0).view_as(alpha)
    return torch.softmax(alpha, dim=-1)


class MixedNode(nn.ModuleDict):
    """``Σ_{i,o} w[i, o] · o(x_i)`` over every (predecessor, candidate) pair of a node.

    Work skipped or shared: ``zero`` ops are never run (they add nothing), and a ReLU that
    starts several ops of one predecessor is computed once. With ``memory="recompute"`` the
    candidates' activations are not kept for the backward but recomputed in it
    (:mod:`.recompute`).
    """

    def __init__(self, row: CellPlan, node: str, edges: Sequence[EdgePlan], state_index: dict[str, int],
                 affine: bool, memory: str = "plain"):
        super().__init__(build_node_edges(row, edges, affine))
        cell = row.cell
        labels = [label for label, _ in candidate_ops(cell, node)]
        self._plan = []
        columns = []          # the flat weight index of every term, in run order
        for row_index, src in enumerate(cell.predecessors(node)):
            kept = [(label, op) for label, op in self[src].items() if not op.zero]
            columns += [row_index * len(labels) + labels.index(label) for label, _ in kept]
            self._plan.append((state_index[src], [op for _, op in kept]))
        self._all_columns = columns == list(range(len(cell.predecessors(node)) * len(labels)))
        self.register_buffer("_columns", torch.tensor(columns, dtype=torch.long), persistent=False)
        self.stride = 2 if row.reduction else 1
        self.reference = len(cell.inputs) - 1
        self.memory = memory
        self._draws_random = any(isinstance(m, RandomOp) for m in self.modules())

    def candidate_outputs(self, x: torch.Tensor, ops: Sequence[nn.Module]) -> Iterator[torch.Tensor]:
        """The outputs of one predecessor's non-zero candidates, one at a time."""
        x_relu = None
        for op in ops:
            if op.starts_with_relu:
                if x_relu is None:
                    x_relu = F.relu(x)
                yield op.after_relu(x_relu)
            else:
                yield op(x)

    def mix(self, states: Sequence[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
        flat = weights.flatten()
        w = (flat if self._all_columns else flat[self._columns]).unbind(0)
        out, k = None, 0
        for index, ops in self._plan:
            # one addcmul right after each term: autograd then frees (forward) and back-
            # propagates (backward) one term at a time. A fused sum (one autograd node,
            # or stack + mv) has fewer ops but raised the peak RSS of a b16 step by 12 %
            # (and the stacked mv is 3x slower at b64).
            for y in self.candidate_outputs(states[index], ops):
                out = w[k] * y if out is None else torch.addcmul(out, w[k], y)
                k += 1
        return out

    def forward(self, states: list[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
        if not len(self._columns):        # only zero ops: zeros of the node's shape
            x = states[self.reference]
            return x.new_zeros(strided_shape(x, self.stride))
        if self.memory == "recompute" and torch.is_grad_enabled():
            return recomputed(self.mix, states, weights, self, self._draws_random)
        return self.mix(states, weights)


class SearchNetwork(CellNetwork):
    """The supernet of a template whose slots name search cells.

    Example:
        >>> net = SearchNetwork(template, {"normal": normal, "reduce": reduce},
        ...                     generator=torch.Generator().manual_seed(0))
        >>> out = net(images)            # NetOutput(logits, ensemble, aux=None)
        >>> net.genotype()               # Genotype derived from α

    ``memory``: one of :data:`MEMORY_MODES`.
    """

    def __init__(self, template: NetworkTemplate, cells: Mapping[str, CellSpec], *,
                 generator: torch.Generator | None = None, affine: bool = False,
                 trainable_ensemble: bool = False, edge_weights: str = "none", memory: str = "plain"):
        if edge_weights not in EDGE_WEIGHTS:
            raise CompileError(f"edge_weights must be one of {', '.join(EDGE_WEIGHTS)}, got {edge_weights!r}")
        if memory not in MEMORY_MODES:
            raise CompileError(f"memory must be one of {', '.join(MEMORY_MODES)}, got {memory!r}")
        for key, cell in cells.items():
            if not isinstance(cell, CellSpec):
                raise CompileError(f"cell `{key}` is a discrete cell; a search network needs search cells",
                                   getattr(cell, "span", None))
        plan = plan_network(template, cells)

        def node_builder(row, node, edges, state_index):
            return MixedNode(row, node, edges, state_index, affine, memory)

        super().__init__(plan, node_builder, affine=affine, trainable_ensemble=trainable_ensemble)
        self.cell_specs: dict[str, CellSpec] = {}
        for row in plan.cells:
            if row.cell is not None and row.key not in self.cell_specs:
                self.cell_specs[row.key] = row.cell
        self.alphas = nn.ModuleDict()
        for key, cell in self.cell_specs.items():
            self.alphas[_param_key(key)] = nn.ParameterDict({
                node: nn.Parameter(1e-3 * torch.randn(alpha_shape(cell, node), generator=generator))
                for node in cell.nodes})
        # β after α, so that α's initial values do not depend on the edge weighting.
        self.edge_weighting = edge_weights
        self.betas = nn.ModuleDict()
        for key, cell in self.cell_specs.items():
            betas = nn.ParameterDict()
            for node in cell.nodes:
                n = len(cell.predecessors(node))
                if edge_weights == "learnable":
                    betas[node] = nn.Parameter(1e-3 * torch.randn(n, generator=generator))
                elif edge_weights == "fixed":
                    betas[node] = nn.Parameter(torch.full((n,), 0.1), requires_grad=False)
            self.betas[_param_key(key)] = betas

    # ------------------------------------------------------------------ α

    def alpha(self, key: str) -> dict[str, torch.Tensor]:
        """α of one cell (by cells-mapping key), node -> tensor."""
        return dict(self.alphas[_param_key(key)].items())

    def edge_weight(self, key: str, node: str) -> torch.Tensor | None:
        """softmax(β) of one node's incoming edges, or None when edges are summed."""
        betas = self.betas[_param_key(key)]
        return torch.softmax(betas[node], dim=0) if node in betas else None

    def arch_parameters(self) -> list[nn.Parameter]:
        """α, and β when it is learnable (a fixed β is a constant, not a parameter)."""
        return list(self.alphas.parameters()) + [p for p in self.betas.parameters() if p.requires_grad]

    def weight_parameters(self) -> list[nn.Parameter]:
        arch = {id(p) for p in self.alphas.parameters()} | {id(p) for p in self.betas.parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    def relaxed_weights(self) -> dict[str, dict[str, torch.Tensor]]:
        """The relaxed edge weights of every cell, computed from α (and β)."""
        out = {}
        for key, cell in self.cell_specs.items():
            out[key] = {}
            for node, alpha in self.alpha(key).items():
                w = relax(cell, alpha)
                edge = self.edge_weight(key, node)
                out[key][node] = w if edge is None else w * edge[:, None]
            # a node's weights sum to 1 per edge (darts) or per node (idarts); β rescales rows
        return out

    def hard_weights(self, genotype: Genotype) -> dict[str, dict[str, torch.Tensor]]:
        """0/1 weights selecting exactly the edges of ``genotype`` (see the module docstring)."""
        out = {}
        for key, cell in self.cell_specs.items():
            geno = _geno_cell(genotype, key, cell)
            out[key] = {}
            for node, edges in geno.nodes:
                if node not in cell.nodes:
                    raise CompileError(f"genotype cell `{geno.name}` has node `{node}`, the search cell has not",
                                       geno.span, hint=did_you_mean(node, cell.nodes))
                preds = cell.predecessors(node)
                labels = [label for label, _ in candidate_ops(cell, node)]
                w = torch.zeros(len(preds), len(labels))
                for edge in edges:
                    if edge.src not in preds or edge.op not in labels:
                        raise CompileError(f"genotype edge {edge.src} -> {node} (`{edge.op}`) is not in the "
                                           f"search cell `{cell.name}`", geno.span)
                    if w[preds.index(edge.src), labels.index(edge.op)]:
                        raise CompileError(
                            f"genotype edge {edge.src} -> {node} (`{edge.op}`) appears twice; in the search "
                            f"network `{cell.name}` has one weight per (source, operation) pair, so it cannot "
                            "select an edge twice", geno.span,
                            hint="build the genotype as a discrete network, where each copy has its own weights")
                    w[preds.index(edge.src), labels.index(edge.op)] = 1.0
                out[key][node] = w
        return out

    def genotype(self, name: str = "searched") -> Genotype:
        """Discretise α with each cell's selection rule (:mod:`genolang.compiler.genotype.derive`)."""
        from genolang.compiler.genotype.derive import derive_genotype

        alphas = {key: {n: a.detach() for n, a in self.alpha(key).items()} for key in self.cell_specs}
        edges = {key: {n: w.detach() for n in self.alpha(key) if (w := self.edge_weight(key, n)) is not None}
                 for key in self.cell_specs}
        return derive_genotype(self.cell_specs, alphas, name=name, template=self.plan.template.name,
                               edge_weights=edges if self.edge_weighting != "none" else None)

    # ------------------------------------------------------------------ forward

    def cell_weights(self, arch_weights: ArchWeights | None = None) -> list:
        weights = self.relaxed_weights() if arch_weights is None else arch_weights
        per_cell = []
        for row in self.plan.cells:
            if row.cell is None:
                per_cell.append(None)
                continue
            w = weights[row.key]
            per_cell.append([w[node].to(self.ensemble_logits.device) for node in row.cell.nodes])
        return per_cell

    def forward(self, x: torch.Tensor, arch_weights: ArchWeights | None = None):
        """Run the supernet; ``arch_weights`` (cell key -> node -> weights) overrides α."""
        return super().forward(x, self.cell_weights(arch_weights))


def _param_key(key: str) -> str:
    return key.replace(".", "_")


def _geno_cell(genotype: Genotype, key: str, cell: CellSpec):
    cells = dict(genotype.cells)
    for name in (key, cell.name):
        if name in cells:
            return cells[name]
    raise CompileError(f"genotype `{genotype.name}` has no cell `{key}`", genotype.span,
                       hint=did_you_mean(key, cells))
