"""Edge weights from α that are sampled: GDAS's Gumbel hard one-hot and DrNAS's Dirichlet.

``relax = gumbel`` (GDAS, Dong & Yang 2019): per edge, ``p = softmax((log_softmax(α) + g) / τ)``
with Gumbel noise ``g``; the forward weight is the one-hot of ``argmax p`` and the backward
is ``p``'s (``one_hot - p.detach() + p``, straight through). Only the sampled op runs
(:meth:`~.supernet.MixedNode.sampled_mix`). A whole cell's rows are drawn at once, normal
before reduce, and a draw with an infinite or NaN entry is drawn again, as there.

``relax = dirichlet`` (DrNAS, Chen et al. 2021): per edge, a reparameterised sample of
``Dir(elu(α) + 1)``, one edge at a time in the cell's row order; the KL to ``Dir(1)`` is an
α regulariser (:func:`dirichlet_kl`).

Both draw from torch's global generator, which a run's checkpoint saves and restores.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch.distributions import Dirichlet, kl_divergence

__all__ = ["Sampled", "gumbel_hard", "dirichlet_rows", "dirichlet_concentration", "dirichlet_kl", "RELAXATIONS"]

RELAXATIONS = ("softmax", "gumbel", "dirichlet")


class Sampled(NamedTuple):
    """A node's GDAS weights: ``weights`` (rows, ops) one-hot in value, ``chosen`` the sampled
    column of each row (host ints: the forward runs only those ops)."""

    weights: torch.Tensor
    chosen: list[int]


def gumbel_hard(alpha: torch.Tensor, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Straight-through hard Gumbel-softmax of each row of ``alpha``: (weights, argmax index)."""
    while True:
        gumbels = -torch.empty_like(alpha).exponential_().log()
        logits = (alpha.log_softmax(dim=1) + gumbels) / tau
        probs = F.softmax(logits, dim=1)
        index = probs.max(-1, keepdim=True)[1]
        one_hot = torch.zeros_like(logits).scatter_(-1, index, 1.0)
        hard = one_hot - probs.detach() + probs
        if not (torch.isinf(gumbels).any() or torch.isinf(probs).any() or torch.isnan(probs).any()):
            return hard, index.squeeze(-1)


def dirichlet_concentration(alpha: torch.Tensor) -> torch.Tensor:
    return F.elu(alpha) + 1


def dirichlet_rows(alpha: torch.Tensor) -> torch.Tensor:
    """One reparameterised Dirichlet sample per row of ``alpha``, drawn row by row."""
    return torch.stack([Dirichlet(dirichlet_concentration(row)).rsample() for row in alpha])


def dirichlet_kl(alpha: torch.Tensor) -> torch.Tensor:
    """Σ over rows of KL(Dir(elu(α)+1) ‖ Dir(1)) (DrNAS's regulariser, before its weight)."""
    conc = dirichlet_concentration(alpha)
    return kl_divergence(Dirichlet(conc), Dirichlet(torch.ones_like(conc))).sum()
