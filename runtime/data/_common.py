"""Helpers shared by the loaders: splits, statistics, scaling, resizing, path checks."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from genolang.base.errors import ConfigError, DataError


def require_root(kind: str, root: str | Path | None) -> Path:
    """The ``root`` option as a Path that exists; a loader of local files cannot guess it."""
    if root is None:
        raise ConfigError(f"dataset `{kind}` needs `data.path` (the loader's `root`), the path of its files",
                          hint=f'set `path = "data/{kind}"` in the experiment\'s data block '
                               f"(load_dataset({kind!r}, root='data/{kind}') in Python)")
    path = Path(root).expanduser()
    if not path.exists():
        raise DataError(f"{kind} dataset not found: {path} does not exist",
                        hint="check the experiment's `data.path` (the loader's `root`); in a spec, a "
                             "relative path is read from the spec file's folder")
    return path


def require_file(kind: str, path: Path, expected: str, hint: str | None = None) -> Path:
    """``path`` if it is a file, else a DataError saying what file was expected there."""
    if not path.is_file():
        raise DataError(f"{kind} dataset: expected {path} ({expected})", hint=hint)
    return path


def check_fraction(name: str, value: float) -> float:
    if not 0.0 < float(value) < 1.0:
        raise ConfigError(f"`{name}` must be between 0 and 1 (exclusive), got {value}")
    return float(value)


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a deterministic split that keeps each class's share in both parts.

    Every class with at least two samples puts at least one in each part, so a tiny test dataset
    still has every class on both sides. The result depends only on the labels and ``seed``.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        members = members[rng.permutation(len(members))]
        n_test = int(round(len(members) * test_fraction))
        if len(members) >= 2:
            n_test = min(max(n_test, 1), len(members) - 1)
        test.append(members[:n_test])
        train.append(members[n_test:])
    # Sorted indices keep the original sample order inside each part, which makes the
    # "first half of the indices" search split (CDARTS) meaningful for split data too.
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of ``N×C×H×W`` images in the [0, 1] scale."""
    x = images.to(torch.float64)
    if images.dtype == torch.uint8:
        x = x / 255.0
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3)).clamp_min(1e-6)  # a constant channel must not divide by zero
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


def minmax_per_image(x: torch.Tensor) -> torch.Tensor:
    """Scale each image and channel of ``N×C×H×W`` to [0, 1]; a constant image becomes 0."""
    x = x.to(torch.float32)
    lo = x.amin(dim=(2, 3), keepdim=True)
    hi = x.amax(dim=(2, 3), keepdim=True)
    return (x - lo) / (hi - lo).clamp_min(torch.finfo(torch.float32).tiny)


def resize(x: torch.Tensor, size: int, mode: str = "bilinear") -> torch.Tensor:
    """Float ``N×C×size×size``; a no-op when the images already have that size."""
    x = x.to(torch.float32)
    if x.shape[-2:] == (size, size):
        return x
    if mode in ("bilinear", "bicubic"):
        return F.interpolate(x, size=(size, size), mode=mode, align_corners=False, antialias=True)
    return F.interpolate(x, size=(size, size), mode=mode)


def resize_images(x: torch.Tensor, size: int | None) -> torch.Tensor:
    """``x`` unchanged when ``size`` is None or already its size, else float [0, 1] resized bilinearly."""
    if size is None or x.shape[-2:] == (size, size):
        return x
    scaled = x.to(torch.float32) / 255.0 if x.dtype == torch.uint8 else x
    return resize(scaled, size).clamp_(0.0, 1.0)


def check_size(name: str, size: int | None) -> int | None:
    if size is not None and (not isinstance(size, int) or size < 1):
        raise ConfigError(f"`{name}` must be a positive integer (pixels), got {size!r}")
    return size


def default_class_names(n: int) -> tuple[str, ...]:
    return tuple(str(i) for i in range(n))


def labels_tensor(labels: Sequence[int] | np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(labels), dtype=torch.int64)


def import_pil(kind: str):
    """PIL.Image, or a DataError that says how to get it (it is only needed for image files)."""
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise DataError(f"the {kind} dataset reads image files with Pillow, which is not installed",
                        hint="pip install pillow") from err
    return Image
