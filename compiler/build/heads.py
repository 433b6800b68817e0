"""Classifier heads: the CDARTS distill head, the DARTS auxiliary head, the final classifier.

Both side heads are ReLU -> AvgPool -> 1x1 conv to 128 -> BN -> ReLU -> 2x2 conv to 768 ->
BN -> ReLU -> Linear, and differ in the pool: 6x6 stride 2 (distill, icdarts-spec §1.1,
followed by a global average pool) and 5x5 stride 3 (auxiliary, §1.2, used on 8x8 maps).
"""

from __future__ import annotations

import torch
from torch import nn

from genolang.compiler.passes.head_geometry import HEAD_MIN_RESOLUTION, POOL as _POOL, head_resolution_ok

__all__ = ["SideHead", "distill_head", "aux_head", "Classifier", "head_resolution_ok", "HEAD_MIN_RESOLUTION"]


class SideHead(nn.Module):
    def __init__(self, kind: str, channels: int, classes: int, affine: bool):
        super().__init__()
        k, s = _POOL[kind]
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(k, stride=s, padding=0, count_include_pad=False),
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768, affine=affine),
            nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        return self.classifier(x.mean((2, 3)))


def distill_head(channels: int, classes: int, affine: bool) -> SideHead:
    """CDARTS DistillHeadCIFAR (size 6); BN affine=False in the search phase."""
    return SideHead("distill", channels, classes, affine)


def aux_head(channels: int, classes: int) -> SideHead:
    """DARTS AuxiliaryHeadCIFAR (used on the 8x8 output of cell 2L/3)."""
    return SideHead("aux", channels, classes, affine=True)


class Classifier(nn.Module):
    """The template's tail (NAS-Bench-201: BN, ReLU) if it has one, global average pool, Linear."""

    def __init__(self, channels: int, classes: int, tail: nn.Module | None = None):
        super().__init__()
        self.tail = nn.Identity() if tail is None else tail    # no parameters: names stay as before
        self.linear = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.tail(x).mean((2, 3)))
