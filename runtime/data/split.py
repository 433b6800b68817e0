"""The search split: the training set halved into ``train`` (weights) and ``val`` (architecture)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genolang.base.errors import ConfigError

from .dataset import Dataset


@dataclass
class Part:
    """Images and labels of one part of a split."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


def split_half(dataset: Dataset, seed: int = 0, order: str = "index") -> tuple[Part, Part]:
    """``(train, val)``, each half of ``dataset``'s training set (``train`` gets the odd sample).

    ``order="index"`` takes the first and second half of the sample indices, as the CDARTS code
    does (spec §4.1.1); ``order="shuffled"`` halves a permutation drawn from ``seed`` instead,
    which matters when the files are sorted by class. The two parts are always disjoint.
    """
    n = len(dataset.train_y)
    if order == "index":
        indices = torch.arange(n)
    elif order == "shuffled":
        indices = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    else:
        raise ConfigError(f"split order must be 'index' or 'shuffled', got {order!r}")
    cut = (n + 1) // 2
    first, second = indices[:cut], indices[cut:]
    return (Part(dataset.train_x[first], dataset.train_y[first]),
            Part(dataset.train_x[second], dataset.train_y[second]))
