"""The α-weighted sum of a mixed node's candidate outputs, as one matrix-vector product.

A node of the DARTS space mixes up to 5 x 7 candidate outputs. Summed one ``addcmul`` at a
time, every term costs a forward op, a select of its weight and three or four backward ops
(about 10 ATen ops per term, ~1 000 per cell). Stacked, the sum is one ``stack`` and one
``mv`` forward and two ops backward, and the stack holds what the ``addcmul`` chain saved
(each term's output, for its weight's gradient), so memory stays the same.

The stack keeps the terms' memory format (``torch.stack`` of channels-last tensors is
channels-last per slice), so the product runs on a view ordered by stride and the result
has the terms' layout: channels-last stays channels-last with no copy.
"""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["weighted_sum"]


def weighted_sum(weights: torch.Tensor, terms: Sequence[torch.Tensor]) -> torch.Tensor:
    """``Σ_k weights[k] · terms[k]`` for same-shaped ``terms`` (``weights`` 1-D, one per term)."""
    if len(terms) == 1:
        return weights[0] * terms[0]
    stacked = torch.stack(list(terms))
    # dims of one term from the outermost in memory to the innermost (NCHW: 0,1,2,3;
    # channels-last: 0,2,3,1), so the flattening below is a view, not a copy
    order = sorted(range(terms[0].dim()), key=lambda d: -stacked.stride(d + 1))
    physical = stacked.permute(0, *(d + 1 for d in order))
    mixed = weights @ physical.reshape(len(terms), -1)
    shape = [terms[0].shape[d] for d in order]
    return mixed.view(shape).permute(*(order.index(d) for d in range(len(order))))
