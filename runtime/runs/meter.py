"""Epoch sums of per-step scalars, kept on the device, and watched for divergence.

Adding a loss or a count never synchronises with the host; :meth:`Meter.means` does, once,
at the end of an epoch (per-step ``.item()`` calls stall a GPU pipeline every step). Every
value added also goes through a :class:`~genolang.runtime.runs.finite.FiniteWatch`, so a loss that
becomes NaN or infinite stops the run at its step (on the CPU) or within a few steps of it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genolang.runtime.runs.finite import FiniteWatch

__all__ = ["Meter"]


class Meter:
    """Sums of detached scalars; synchronised with the host once, at the end of an epoch."""

    def __init__(self, eager: bool | None = None) -> None:
        """``eager``: look at every loss as it is added (default: on the CPU, where it costs
        nothing); ``False`` keeps the step free of host reads (CUDA graphs, the sync test)."""
        self.sums: dict[str, Tensor] = {}
        self.counts: dict[str, int] = {}
        self.adds: dict[str, int] = {}
        self.watch = FiniteWatch(eager)

    def add(self, key: str, value: Tensor, count: int = 1) -> None:
        value = value.detach()
        self.watch.add(key, value, self.adds.get(key, 0))
        self.adds[key] = self.adds.get(key, 0) + 1
        self.sums[key] = self.sums[key] + value if key in self.sums else value.clone()
        self.counts[key] = self.counts.get(key, 0) + count

    def add_correct(self, key: str, logits: Tensor, y: Tensor) -> None:
        self.add(key, (logits.detach().argmax(1) == y).sum(), len(y))

    def means(self) -> dict[str, float]:
        if not self.sums:
            return {}
        self.watch.check()
        keys = list(self.sums)
        values = torch.stack([self.sums[k].float() for k in keys]).tolist()  # one sync
        return {k: v / max(self.counts[k], 1) for k, v in zip(keys, values)}
