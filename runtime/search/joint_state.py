"""The explicit state of the update schemes with two networks: ICDARTS's cycle
(:mod:`.icdarts_step`) and Cream's CDARTS step (:mod:`.cream_step`).

The loop builds one per step from what it holds (the networks as the step calls them, under
bf16 autocast where asked; the groups and their optimisers, which a regeneration of E
replaces), so a step reads nothing but this object and its batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from genolang.runtime.search.grads import all_params
from genolang.runtime.search.losses import Route

__all__ = ["JointState"]


@dataclass
class JointState:
    """S and E, the three parameter groups (architecture, w_S, w_E) with their optimisers, the
    route of the objectives, the clip norm, whether S and E share their stem and heads, the
    architecture objective's extra terms and the metrics' name of that objective."""

    S: Callable
    E: Callable
    route: Route
    arch: list[nn.Parameter]
    w_search: list[nn.Parameter]
    w_eval: list[nn.Parameter]
    opt_arch: torch.optim.Optimizer
    opt_w: torch.optim.Optimizer
    opt_e: torch.optim.Optimizer
    grad_clip: float
    shared: bool
    penalty: Callable[[], Tensor | None]
    arch_loss: str = "loss_alpha"

    def everything(self) -> list[nn.Parameter]:
        """Every trainable parameter of S, E and the architecture, once each (Cream's
        ``controller.parameters()``, over which its gradient clipping runs)."""
        return all_params(self.w_search, self.arch, self.w_eval)
