"""The α-weighted sum of a mixed node's candidate outputs, as one autograd node.

A node of the DARTS space mixes up to 5 x 7 candidate outputs. Summed by autograd one
``addcmul`` at a time, every term costs a select of its weight in the forward and, in the
backward, a product and a reduction for its weight (through a temporary of the node's size),
a product for its input and a select-backward (about 10 ATen ops per term). Here the forward
accumulates in place into one output, and the backward is one product per term input and
one dot product per weight, computed only for what needs a gradient (the α step freezes the
weights' inputs in cell 0, the w step freezes α). Saved, as autograd's ``addcmul`` saves them:
the terms only when the weights need a gradient, the weights only when a term does.

(Stacking the terms and taking one matrix-vector product has fewer ops still, but copies
every term and is 3x slower on CPU at batch 64: a K x 1 by 1 x M product is a poor GEMM.)
"""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["weighted_sum"]


def weighted_sum(weights: torch.Tensor, terms: Sequence[torch.Tensor],
                 partial: torch.Tensor | None = None) -> torch.Tensor:
    """``partial + Σ_k weights[k] · terms[k]`` for same-shaped ``terms`` (``weights`` 1-D, one
    per term; no ``partial``: 0); the result has the first term's memory format.

    Callers sum a node one predecessor at a time (``partial`` = the sum so far), right after
    computing that predecessor's terms: the backward then holds the gradients of one row's
    terms at a time, not of the whole node's (autograd runs the newest node first)."""
    return _WeightedSum.apply(weights, partial, *terms)


class _WeightedSum(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weights: torch.Tensor, partial: torch.Tensor | None, *terms: torch.Tensor) -> torch.Tensor:
        # the terms only for the weights' gradient, the weights only for the terms' (the w
        # step freezes α: its graph keeps no candidate output alive)
        needs = ctx.needs_input_grad
        ctx.save_for_backward(weights if any(needs[2:]) else None, *(terms if needs[0] else ()))
        ctx.term_layout = (terms[0].stride(), _memory_format(terms[0]))
        w = weights.unbind(0)
        out = terms[0] * w[0] if partial is None else torch.addcmul(partial, terms[0], w[0])
        for k in range(1, len(terms)):
            out.addcmul_(terms[k], w[k])
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        weights, *terms = ctx.saved_tensors
        needs = ctx.needs_input_grad
        stride, layout = ctx.term_layout
        grad_partial = grad if needs[1] else None
        if grad.stride() != stride:
            # a channel slice of a cell's concatenated output, or another layout: one copy
            # into the terms' layout makes every product below a dense one
            grad = grad.contiguous(memory_format=layout)
        grad_weights = None
        if needs[0]:
            flat = _flat(grad)
            grad_weights = torch.stack([_dot(grad, flat, t) for t in terms])
        w = weights.unbind(0) if any(needs[2:]) else ()
        grad_terms = [grad * w[k] if needs[k + 2] else None for k in range(len(needs) - 2)]
        return (grad_weights, grad_partial, *grad_terms)


def _memory_format(t: torch.Tensor) -> torch.memory_format:
    channels_last = t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()
    return torch.channels_last if channels_last else torch.contiguous_format


def _flat(t: torch.Tensor) -> torch.Tensor | None:
    """``t``'s elements in memory order as a 1-D view, if it has one dense layout."""
    if t.is_contiguous() or t.is_contiguous(memory_format=torch.channels_last):
        return t.as_strided((t.numel(),), (1,))
    return None


def _dot(a: torch.Tensor, a_flat: torch.Tensor | None, b: torch.Tensor) -> torch.Tensor:
    """``Σ a * b`` without a temporary when both have the same dense layout (the usual case)."""
    if a_flat is not None and a.stride() == b.stride() and a.dtype == b.dtype:
        return torch.dot(a_flat, b.as_strided((b.numel(),), (1,)))
    return (a * b).sum()
