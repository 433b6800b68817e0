"""Derived seeds: one independent, reproducible random stream per (seed, epoch, step, ...)."""

from __future__ import annotations

import numpy as np
import torch


def derive_seed(*keys: int) -> int:
    """A 63-bit seed mixed from ``keys``; nearby keys give unrelated streams (unlike ``seed + epoch``)."""
    return int(np.random.SeedSequence([int(k) & 0xFFFFFFFFFFFFFFFF for k in keys]).generate_state(2, np.uint64)[0]
               >> np.uint64(1))


def generator_for(*keys: int) -> torch.Generator:
    """A CPU generator seeded from ``keys``; CPU so that a run draws the same numbers on any device."""
    return torch.Generator().manual_seed(derive_seed(*keys))
