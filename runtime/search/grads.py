"""Gradient bookkeeping shared by the update schemes: which parameters a pass differentiates,
and how a group's gradients are averaged over the ranks and clipped before its optimiser steps.

Every ICDARTS and DARTS backward names the parameters it differentiates, and a forward whose
graph into a group is not wanted runs with that group frozen: no optimiser can step a group
on another group's loss (tests/runtime/test_gradient_ownership.py). Cream's own bookkeeping,
which lets gradients accumulate, is :func:`genolang.runtime.search.cream_step.cream_update`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn

from genolang.runtime.search.distributed import average_gradients

__all__ = ["zero", "clip", "frozen", "all_params"]


def zero(params: list[nn.Parameter]) -> None:
    for p in params:
        p.grad = None


def clip(params: list[nn.Parameter], max_norm: float) -> None:
    """Average the group's gradients over the ranks (a no-op in one process), then clip."""
    average_gradients(params)
    if params:
        nn.utils.clip_grad_norm_(params, max_norm, foreach=True)


@contextmanager
def frozen(params: list[nn.Parameter]) -> Iterator[None]:
    """Record a forward pass without the graph of ``params`` (their gradients are not
    wanted in the pass's backward): no weight gradients in the α step, no saved op outputs
    for α's gradient in the weight steps. Values and the other gradients are unchanged."""
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


def all_params(*groups: list[nn.Parameter]) -> list[nn.Parameter]:
    """The parameters of ``groups`` in order, each once (a shared stem is in two groups)."""
    seen, out = set(), []
    for group in groups:
        for p in group:
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out
