"""DARTS's bilevel step over an explicit state: α on a val batch, then w on a train batch.

First order (``order = 1``): α's gradient is ∇_α L_val(w, α) at the current weights.

Second order (``order = 2``, DARTS's ``architect.py``): with the weights' SGD at learning
rate η, momentum μ (buffer m) and weight decay λ, the unrolled weights are

    w' = w − η (μ·m + ∇_w L_train(w, α) + λ·w)

(m taken as zero until every weight has a momentum buffer), and α's gradient is

    ∇_α L_val(w', α) − η · [∇_α L_train(w⁺, α) − ∇_α L_train(w⁻, α)] / (2ε),
    w± = w ± ε·v,  v = ∇_{w'} L_val(w', α),  ε = 0.01 / ‖v‖,

the central difference standing for η·∇²_{α,w} L_train · v. The forward at w' runs on the
network itself with its weights swapped in and its buffers (BN running statistics) restored
afterwards, so that, as with DARTS's throw-away copy of the model, only the forwards at w,
w± and the weight step's touch them; the weights themselves are restored exactly.

The α objective gets the configured α regularisers (:mod:`.regularizers`); ``alpha_step =
last`` runs the weight step first (GDAS). Every backward names what it differentiates, so
no optimiser steps a group on another group's loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genolang.runtime.runs.meter import Meter
from genolang.runtime.search.distributed import average_gradients
from genolang.runtime.search.grads import clip, frozen, zero

__all__ = ["DartsState", "darts_step", "unrolled_alpha_grads"]


@dataclass
class DartsState:
    """What one DARTS step reads and changes: the supernet (as the step calls it), α and the
    weights with their optimisers, the clip norm, the order and the α regulariser."""

    net: Callable
    module: nn.Module               # the supernet itself (its buffers)
    arch: list[nn.Parameter]
    weights: list[nn.Parameter]
    opt_arch: torch.optim.Optimizer
    opt_w: torch.optim.Optimizer
    grad_clip: float
    order: int = 1
    alpha_last: bool = False
    penalty: Callable[[], Tensor | None] = lambda: None


@torch.no_grad()
def _set(params: list[nn.Parameter], values: list[Tensor]) -> None:
    for p, v in zip(params, values):
        p.copy_(v)


def _ce(net: Callable, x: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(net(x).logits, y)


def _grad(loss: Tensor, params: list[nn.Parameter]) -> list[Tensor]:
    return [g if g is not None else torch.zeros_like(p)
            for g, p in zip(torch.autograd.grad(loss, params, allow_unused=True), params)]


def _frozen_forward(held: list[nn.Parameter], net: Callable, x: Tensor, y: Tensor) -> Tensor:
    with frozen(held):
        return _ce(net, x, y)


def unrolled_alpha_grads(s: DartsState, x_t: Tensor, y_t: Tensor, x_v: Tensor, y_v: Tensor,
                         meter: Meter | None = None) -> list[Tensor]:
    """α's second-order gradient (module docstring), leaving weights and buffers as found."""
    group = s.opt_w.param_groups[0]
    eta, mu, wd = group["lr"], group.get("momentum", 0.0), group.get("weight_decay", 0.0)
    w = [p.detach().clone() for p in s.weights]
    # ∇_w L_train(w, α), α held fixed
    g_train = _grad(_frozen_forward(s.arch, s.net, x_t, y_t), s.weights)
    buffers = [s.opt_w.state.get(p, {}).get("momentum_buffer") for p in s.weights]
    moment = [b * mu if b is not None and all(q is not None for q in buffers) else torch.zeros_like(p)
              for b, p in zip(buffers, w)]
    unrolled = [p - eta * (m + g + wd * p) for p, m, g in zip(w, moment, g_train)]
    saved = [b.detach().clone() for b in s.module.buffers()]
    _set(s.weights, unrolled)
    loss_v = _ce(s.net, x_v, y_v)
    extra = s.penalty()
    objective = loss_v if extra is None else loss_v + extra
    grads = _grad(objective, s.arch + s.weights)
    d_alpha, v = grads[:len(s.arch)], grads[len(s.arch):]
    _set(list(s.module.buffers()), saved)
    eps = 0.01 / torch.cat([t.flatten() for t in v]).norm()
    _set(s.weights, [p + eps * t for p, t in zip(w, v)])
    g_plus = _grad(_frozen_forward(s.weights, s.net, x_t, y_t), s.arch)
    _set(s.weights, [p - eps * t for p, t in zip(w, v)])
    g_minus = _grad(_frozen_forward(s.weights, s.net, x_t, y_t), s.arch)
    _set(s.weights, w)
    if meter is not None:
        meter.add("loss_alpha", loss_v)
    return [d - eta * (gp - gm) / (2 * eps) for d, gp, gm in zip(d_alpha, g_plus, g_minus)]


def _alpha_step(s: DartsState, x_t, y_t, x_v, y_v, meter: Meter) -> None:
    zero(s.arch)
    if s.order == 2:
        for p, g in zip(s.arch, unrolled_alpha_grads(s, x_t, y_t, x_v, y_v, meter)):
            p.grad = g
    else:
        loss = _frozen_forward(s.weights, s.net, x_v, y_v)
        extra = s.penalty()
        (loss if extra is None else loss + extra).backward(inputs=s.arch)
        meter.add("loss_alpha", loss)
    average_gradients(s.arch)
    s.opt_arch.step()


def _weight_step(s: DartsState, x_t, y_t, meter: Meter) -> None:
    with frozen(s.arch):
        out = s.net(x_t)
    loss = F.cross_entropy(out.logits, y_t)
    zero(s.weights)
    loss.backward(inputs=s.weights)
    clip(s.weights, s.grad_clip)
    s.opt_w.step()
    meter.add("loss_S", loss)
    meter.add_correct("acc_S", out.logits, y_t)


def darts_step(s: DartsState, x_t: Tensor, y_t: Tensor, x_v: Tensor, y_v: Tensor, meter: Meter) -> None:
    """One DARTS step: α on (x_v, y_v), w on (x_t, y_t); GDAS's order with ``alpha_last``."""
    if s.alpha_last:
        _weight_step(s, x_t, y_t, meter)
        _alpha_step(s, x_t, y_t, x_v, y_v, meter)
    else:
        _alpha_step(s, x_t, y_t, x_v, y_v, meter)
        _weight_step(s, x_t, y_t, meter)
