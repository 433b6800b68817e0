"""``digits``: scikit-learn's 1797 real 8×8 handwritten digits, the built-in default dataset.

It ships with scikit-learn, so every example and test runs offline in seconds, while still
being real images that a searched network must learn something about.
"""

from __future__ import annotations

import torch

from ._common import channel_stats, check_fraction, check_size, resize, stratified_split
from .dataset import Dataset, register_dataset


@register_dataset("digits")
def load_digits(*, size: int = 8, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Digits as float images in [0, 1], ``1×size×size`` (bilinear resize from 8×8).

    The test split is stratified and depends only on ``seed``.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    check_size("size", size)
    test_fraction = check_fraction("test_fraction", test_fraction)
    bunch = sklearn_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # pixel values 0..16
    images = resize(images, size).clamp_(0.0, 1.0)
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    train, test = stratified_split(bunch.target, test_fraction, seed)
    train_x = images[train]
    mean, std = channel_stats(train_x)
    return Dataset(train_x=train_x, train_y=labels[train], test_x=images[test], test_y=labels[test],
                   classes=tuple(str(d) for d in range(10)), mean=mean, std=std,
                   name="digits", channels=1, size=size)
