"""The in-memory dataset every loader produces, and the registry that names the loaders.

Datasets in this project are small enough (CIFAR is 150 MB as uint8) to live as whole tensors,
which lets batching and augmentation run as tensor operations on the training device instead of
through a per-sample DataLoader pipeline.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import Callable

import torch

from genolang.base.errors import ConfigError, did_you_mean

__all__ = ["Dataset", "register_dataset", "load_dataset", "available_datasets"]


@dataclass
class Dataset:
    """Images and labels of one dataset, already split into train and test.

    Images are ``N×C×H×W`` tensors, either ``uint8`` (0–255, e.g. CIFAR) or ``float32`` scaled
    to [0, 1]; labels are ``int64`` class indices. ``mean``/``std`` are per-channel statistics
    in the [0, 1] scale, used by :class:`~genolang.runtime.data.augment.Augment` to normalise.
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    name: str
    channels: int
    size: int

    def __post_init__(self) -> None:
        for part, x, y in (("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)):
            # These are programming errors of a loader, not user errors: a loader must validate
            # user files and raise DataError before it builds a Dataset.
            if x.dim() != 4 or x.shape[1:] != (self.channels, self.size, self.size):
                raise ValueError(f"{self.name} {part} images have shape {tuple(x.shape)}, "
                                 f"expected N×{self.channels}×{self.size}×{self.size}")
            if y.dtype != torch.int64 or y.shape != (x.shape[0],):
                raise ValueError(f"{self.name} {part} labels must be int64 of shape ({x.shape[0]},)")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError(f"{self.name}: mean/std need one value per channel ({self.channels})")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def shape(self) -> tuple[int, int, int]:
        """The shape of one image, ``(C, H, W)``."""
        return (self.channels, self.size, self.size)

    def take(self, train: int | None = None, test: int | None = None) -> "Dataset":
        """The first ``train`` training and ``test`` test samples (for quick runs and tests)."""
        return replace(self, train_x=self.train_x[:train], train_y=self.train_y[:train],
                       test_x=self.test_x[:test], test_y=self.test_y[:test])

    def summary(self) -> str:
        return (f"{self.name}: {len(self.train_y)} train / {len(self.test_y)} test, "
                f"{self.channels}×{self.size}×{self.size} {str(self.train_x.dtype).removeprefix('torch.')}, "
                f"{self.num_classes} classes")


Loader = Callable[..., Dataset]
_LOADERS: dict[str, Loader] = {}


def register_dataset(kind: str) -> Callable[[Loader], Loader]:
    """Decorator that makes a loader function available to :func:`load_dataset` as ``kind``."""

    def register(loader: Loader) -> Loader:
        _LOADERS[kind] = loader
        return loader

    return register


def available_datasets() -> list[str]:
    return sorted(_LOADERS)


def load_dataset(kind: str, **options: object) -> Dataset:
    """Load the dataset ``kind`` (``digits``, ``cifar10``, ``npz``, ...) with loader ``options``.

    Unknown kinds and options are reported as :class:`ConfigError` with a did-you-mean hint,
    because they come from an experiment spec, not from the data files.
    """
    loader = _LOADERS.get(kind)
    if loader is None:
        raise ConfigError(f"unknown dataset kind `{kind}`; known kinds: {', '.join(available_datasets())}",
                          hint=did_you_mean(kind, _LOADERS))
    accepted = [name for name, p in inspect.signature(loader).parameters.items()
                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for option in options:
        if option not in accepted:
            raise ConfigError(f"dataset `{kind}` has no option `{option}`; options: {', '.join(accepted)}",
                              hint=did_you_mean(option, accepted))
    return loader(**options)

