"""bf16 autocast of the search's forward passes (``search.autocast = bf16``).

The networks run under ``torch.autocast`` (convolutions and matmuls in bfloat16 on CUDA and on
the CPU); their outputs come back as float32, so every loss, the distillation's softmaxes and
α's gradient are computed in float32 and α, the weights and the optimiser states stay float32.
bf16 keeps float32's exponent range, so no loss scaling is needed (unlike fp16).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import torch
from torch import nn

from genolang.compiler.build.cells import NetOutput

__all__ = ["autocast_forward", "with_precision"]


def _float(out):
    if isinstance(out, NetOutput):
        return NetOutput(out.logits.float(), out.ensemble.float(), None if out.aux is None else out.aux.float(),
                         tuple(h.float() for h in out.heads))
    return out.float()


def autocast_forward(net: nn.Module, device_type: str, cache: bool, *args, **kwargs):
    """``net(*args)`` under bf16 autocast, its outputs in float32. ``cache``: autocast's cache
    of cast weights, which must be off while a CUDA graph is captured (the cast copies would
    be taken once at capture and never refreshed after the weights change)."""
    with torch.autocast(device_type, dtype=torch.bfloat16, cache_enabled=cache):
        out = net(*args, **kwargs)
    return _float(out)


def with_precision(net: nn.Module, mode: str, device: torch.device, graphs: bool = False) -> Callable:
    """``net`` as the step calls it: itself (``off``), or under bf16 autocast (``bf16``)."""
    if mode == "off":
        return net
    return partial(autocast_forward, net, device.type, not graphs)
