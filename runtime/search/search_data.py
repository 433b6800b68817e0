"""What a search reads and what it returns: the two halves of the training set and the test
set on the training device, and the final genotype with its history."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from genolang.compiler.lower.ir import Genotype

__all__ = ["SearchData", "SearchResult"]


@dataclass
class SearchData:
    """The two halves of the training set and the test set, as normalised float tensors on
    the training device (small data sets live whole on the device; no loader processes)."""

    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor | None = None
    test_y: Tensor | None = None
    # The normalised value of a black pixel per channel (-mean/std): what the crop pads with,
    # so that padding happens "before normalisation", as in the DARTS/CDARTS pipeline.
    fill: tuple[float, ...] | None = None

    def augment(self, x: Tensor, pad: int, generator: torch.Generator) -> Tensor:
        """Random crop (zero-padded by ``pad`` pixels, in pixel space) and horizontal flip."""
        from genolang.runtime.data.augment import random_crop, random_flip

        if pad > 0:
            fill = x.new_tensor(self.fill or (0.0,) * x.shape[1]).view(1, -1, 1, 1)
            x = random_crop(x - fill, pad, generator) + fill
        return random_flip(x, generator)

    def to(self, device: torch.device, channels_last: bool = False) -> "SearchData":
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        moved = {}
        for f in dataclasses.fields(self):
            t = getattr(self, f.name)
            if t is None or not isinstance(t, Tensor):
                moved[f.name] = t
            elif t.dim() == 4:
                moved[f.name] = t.to(device).contiguous(memory_format=fmt)
            else:
                moved[f.name] = t.to(device)
        return SearchData(**moved)


@dataclass
class SearchResult:
    genotype: Genotype
    history: list[Genotype] = field(default_factory=list)
    run_dir: Path | None = None
    metrics: list[dict] = field(default_factory=list)
