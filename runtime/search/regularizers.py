"""α regularisers: terms added to the architecture objective, each a function of α alone.

* ``latency_delta`` — δ·P(α), the expected latency of the cells (§4.4, :mod:`.latency`);
* ``regular_coeff`` — NNI's α-L1 on the parametric ops, its weight decaying to 0 (A25);
* ``beta_decay`` — β-DARTS (Ye et al. 2022): λ_k · Σ_cell mean over the cell's softmax groups
  of logsumexp(α_group), with λ_k = beta_decay · k at search epoch k; its gradient is
  softmax(α), so it pulls every α of a group down by its share (the "beta decay");
* ``kl_weight`` — DrNAS (Chen et al. 2021): kl_weight · Σ over edges of
  KL(Dir(elu(α)+1) ‖ Dir(1)).

The search adds their sum to the α loss (with the darts update, to the unrolled loss of a
second-order step too; none of them depends on the weights).
"""

from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor

from genolang.compiler.build.sampling import dirichlet_kl
from genolang.compiler.lower.ir import CellSpec
from genolang.runtime.runs.meter import Meter
from genolang.runtime.search.netlink import regularizer_loss

__all__ = ["beta_decay_loss", "dirichlet_kl_loss", "arch_regularizers"]


def beta_decay_loss(cells: Mapping[str, CellSpec], alphas: Mapping[str, Mapping[str, Tensor]]) -> Tensor:
    """Σ over cell types of the mean over softmax groups (edges, or nodes for a node-level
    softmax) of logsumexp(α_group)."""
    total = None
    for key, cell in cells.items():
        groups = [a.flatten()[None] if cell.select.node_softmax else a for a in alphas[key].values()]
        term = torch.logsumexp(torch.cat(groups), dim=-1).mean()
        total = term if total is None else total + term
    return total


def dirichlet_kl_loss(alphas: Mapping[str, Mapping[str, Tensor]]) -> Tensor:
    """Σ over cell types and edges of KL(Dir(elu(α)+1) ‖ Dir(1))."""
    total = None
    for nodes in alphas.values():
        term = dirichlet_kl(torch.cat(list(nodes.values())))
        total = term if total is None else total + term
    return total


def arch_regularizers(searcher, meter: Meter, regular_weight: float) -> Tensor | None:
    """The sum of the configured regularisers at the searcher's current search epoch."""
    a, net = searcher.algo, searcher.search_net
    terms = []
    if a.latency_delta > 0:
        penalty = searcher.latency_penalty()
        meter.add("latency_P", penalty)
        if a.latency_mode == "alpha":
            terms.append(a.latency_delta * penalty)
    if regular_weight > 0:
        terms.append(regular_weight * regularizer_loss(searcher.alpha_layout()))
    alphas = {key: net.alpha(key) for key in net.cell_specs}
    weight = a.beta_decay * searcher.current_search_epoch
    if weight > 0:
        term = beta_decay_loss(net.cell_specs, alphas)
        meter.add("beta_decay", term)
        terms.append(weight * term)
    if a.kl_weight > 0:
        term = dirichlet_kl_loss(alphas)
        meter.add("kl", term)
        terms.append(a.kl_weight * term)
    return sum(terms[1:], terms[0]) if terms else None
