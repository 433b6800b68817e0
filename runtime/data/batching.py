"""Epoch data order for tensors that live whole on the device.

The order of an epoch is drawn from a generator seeded by (seed, epoch, stream), so it is a
pure function of those keys: an interrupted epoch replays identically after a resume, and a
checkpoint needs no data-loader state beyond the epoch number.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["derive_seed", "epoch_batches"]


def derive_seed(*keys: int) -> int:
    try:
        from genolang.runtime.data.seeding import derive_seed as _derive
    except ImportError:  # pragma: no cover - the data package ships with the runtime
        return hash(tuple(keys)) & (2**63 - 1)
    return _derive(*keys)


def epoch_batches(n: int, batch: int, *keys: int, drop_last: bool = True) -> list[Tensor]:
    """Index batches of one epoch. With ``drop_last`` the last short batch is dropped unless
    it is the only one; a batch of one sample is never made (batch norm needs two)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(derive_seed(*keys)))
    if n <= batch:
        return [order] if n >= 2 else []
    stop = n - batch + 1 if drop_last else n
    out = [order[i:i + batch] for i in range(0, stop, batch)]
    return [b for b in out if len(b) >= 2]
