"""The discrete network of a genotype: the search-phase evaluation net and the retraining net.

Each node sums ``op(src)`` over its kept edges (any number; a node without edges is zeros of
the node's shape). In training with ``drop_path_prob > 0`` every non-identity op output
goes through drop path. ``phase`` applies the zero configuration of each cell
(:data:`ZERO_CONFIGS`): ``exclude`` drops ``zero`` edges (V0), ``zero`` turns ``random``
edges into zero edges (V3 at retraining, V4 in both phases).

Parameter names are ``cells.<i>.<node>.<src>.<op>.…``, fixed by (cell index, edge, op), so
the weights of an edge persist by name across regenerated evaluation networks
(:func:`load_matching`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import nn

from genolang.compiler.build.cells import CellNetwork, build_node_edges
from genolang.compiler.build.ops import drop_path
from genolang.compiler.lower.edges import apply_phase  # noqa: F401  (re-exported; torch-free, for the summary)
from genolang.compiler.lower.ir import Genotype, NetworkTemplate
from genolang.compiler.passes.shapes import CellPlan, EdgePlan, plan_network
from genolang.base.errors import CompileError

__all__ = ["DropPathSetting", "DropRate", "EvalNetwork", "SumNode", "apply_phase", "load_matching"]


class DropRate:
    """The network's drop-path probability, shared by reference with every node."""

    def __init__(self, p: float):
        self.p = p


class DropPathSetting:
    """``net.drop_path_prob``, read and set by the retraining schedule: the network's
    :class:`DropRate` (``self._rate``), checked on the way in."""

    _rate: DropRate

    @property
    def drop_path_prob(self) -> float:
        return self._rate.p

    @drop_path_prob.setter
    def drop_path_prob(self, p: float) -> None:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"drop_path_prob must be in [0, 1), got {p}")
        self._rate.p = float(p)


class SumNode(nn.ModuleDict):
    def __init__(self, row: CellPlan, edges: Sequence[EdgePlan], state_index: dict[str, int],
                 affine: bool, rate: DropRate):
        super().__init__(build_node_edges(row, edges, affine))
        self._plan = [(state_index[e.src], self[e.src][e.module_key]) for e in edges]
        self._rate = rate

    def forward(self, states: list[torch.Tensor], weights=None) -> torch.Tensor:
        p = self._rate.p if self.training else 0.0
        out = None
        for index, op in self._plan:
            y = op(states[index])
            if p > 0.0 and not op.identity:
                y = drop_path(y, p)
            out = y if out is None else out + y
        return out


class EvalNetwork(DropPathSetting, CellNetwork):
    """The discrete network of ``genotype`` on ``template``.

    Example:
        >>> net = EvalNetwork(retrain_template, darts_v2, phase="retrain")
        >>> net.drop_path_prob = 0.2
        >>> logits, ensemble, aux, heads = net(images)
    """

    def __init__(self, template: NetworkTemplate, genotype: Genotype, *, phase: str = "retrain",
                 affine: bool = True, trainable_ensemble: bool = False):
        if phase not in ("eval", "retrain"):
            raise CompileError(f"unknown phase `{phase}`", hint="`eval` or `retrain`")
        cells = {key: apply_phase(cell, phase) for key, cell in genotype.cells}
        plan = plan_network(template, cells)
        rate = DropRate(template.drop_path)

        def node_builder(row, node, edges, state_index):
            return SumNode(row, edges, state_index, affine, rate)

        super().__init__(plan, node_builder, affine=affine, trainable_ensemble=trainable_ensemble)
        self.genotype = genotype
        self.phase = phase
        self._rate = rate

def load_matching(net: nn.Module, state: Mapping[str, torch.Tensor]) -> list[str]:
    """Copy every entry of ``state`` whose name and shape match one of ``net``'s; returns the
    names of ``net``'s entries left untouched (ops new to this network, for instance)."""
    own = net.state_dict()
    missing = []
    with torch.no_grad():
        for name, tensor in own.items():
            source = state.get(name)
            if source is not None and source.shape == tensor.shape:
                tensor.copy_(source)
            else:
                missing.append(name)
    return missing
