"""Geometry of the side heads (no torch): their pools and the smallest input they accept.

The shape pass checks a head's input against :data:`HEAD_MIN_RESOLUTION`; the modules are
built in :mod:`.build.heads` from the same :data:`POOL` table.
"""

from __future__ import annotations

__all__ = ["POOL", "HEAD_MIN_RESOLUTION", "head_resolution_ok"]

POOL = {"distill": (6, 2), "aux": (5, 3)}           # (kernel, stride)


def _pooled(kind: str, size: int) -> int:
    k, s = POOL[kind]
    return (size - k) // s + 1


# Smallest input size at which the pooled map still fits the 2x2 conv.
HEAD_MIN_RESOLUTION = {kind: next(n for n in range(1, 64) if _pooled(kind, n) >= 2) for kind in POOL}


def head_resolution_ok(kind: str, hw: tuple[int, int]) -> bool:
    return min(hw) >= HEAD_MIN_RESOLUTION[kind]
