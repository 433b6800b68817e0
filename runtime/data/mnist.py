"""``fashion_mnist`` and ``mnist``: 28×28 grey images in the IDX format, read from local files.

A folder holds the four standard files, each gzipped or plain: ``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``.
Fashion-MNIST (Zalando, Expat licence) is packaged by Debian (``apt-get install
dataset-fashion-mnist``), which puts it in :data:`FASHION_MNIST_ROOT`, the default ``path`` of
``fashion_mnist``; ``mnist`` reads the same format from a ``path`` the experiment gives.

``train_images`` / ``test_images`` keep a class-stratified subset of that many images (chosen
by ``seed``, in file order), for searches at CPU scale; ``size`` resizes (bilinear, to float
images), else the images stay uint8.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genolang.base.errors import ConfigError, DataError

from ._common import channel_stats, check_size, labels_tensor, resize_images
from .dataset import Dataset, register_dataset
from .idx import read_idx

__all__ = ["FASHION_MNIST_ROOT", "FASHION_MNIST_CLASSES", "IDX_FILES", "stratified_subset"]

FASHION_MNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                         "Bag", "Ankle boot")
# part -> (images, labels), the standard names without the optional .gz
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_CLASSES = 10
_FASHION_HINT = ("apt-get install dataset-fashion-mnist (Debian/Ubuntu) puts the files in "
                 f"{FASHION_MNIST_ROOT}; or set the data block's `path` to a folder with the four IDX files")
_MNIST_HINT = ("set the data block's `path` to a folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, "
               "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each gzipped or plain)")


def stratified_subset(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Sorted indices of ``n`` samples whose class shares match ``labels``' as closely as whole numbers allow.

    Each class gets the floor of its share; the samples left go to the classes with the largest
    remainders (ties to the lower class). Which members of a class are kept depends only on ``seed``.

    Example:
        >>> stratified_subset(np.array([0, 0, 0, 0, 1, 1]), 3, seed=0).size
        3
    """
    if n >= len(labels):
        return np.arange(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * n / len(labels)
    quota = np.floor(exact).astype(int)
    order = sorted(range(len(classes)), key=lambda i: (-(exact[i] - quota[i]), i))
    for i in order[: n - int(quota.sum())]:
        quota[i] += 1
    rng = np.random.default_rng(seed)
    kept = [rng.permutation(np.flatnonzero(labels == c))[:q] for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(kept))


def _file(kind: str, folder: Path, stem: str, hint: str) -> Path:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{kind} dataset: {folder} has no {stem}.gz (nor {stem})", hint=hint)


def _part(kind: str, folder: Path, part: str, hint: str) -> tuple[np.ndarray, np.ndarray]:
    image_path, label_path = (_file(kind, folder, stem, hint) for stem in IDX_FILES[part])
    images, labels = read_idx(image_path, kind=kind), read_idx(label_path, kind=kind)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise DataError(f"{kind} dataset: {image_path}: holds {images.dtype} {'×'.join(map(str, images.shape))}, "
                        "expected uint8 N×H×W square images")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(f"{kind} dataset: {label_path}: holds {labels.dtype} {'×'.join(map(str, labels.shape))}, "
                        "expected N uint8 labels")
    if len(labels) != len(images):
        raise DataError(f"{kind} dataset: {label_path}: {len(labels):,} labels for the {len(images):,} images "
                        f"of {image_path.name}", hint="the two files must come from the same release")
    if labels.size and labels.max() >= _CLASSES:
        raise DataError(f"{kind} dataset: {label_path}: label {int(labels.max())} is outside 0..{_CLASSES - 1}")
    return images, labels.astype(np.int64)


def _subset(kind: str, part: str, option: str, images: np.ndarray, labels: np.ndarray, n: int | None,
            seed: int) -> tuple[np.ndarray, np.ndarray]:
    if n is None:
        return images, labels
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"`{option}` must be a positive whole number of images, got {n!r}")
    if n > len(labels):
        raise ConfigError(f"`{option}` = {n:,} but the {kind} {part} set has {len(labels):,} images",
                          hint=f"leave `{option}` out to use every image")
    keep = stratified_subset(labels, n, seed)
    return images[keep], labels[keep]


def _load(kind: str, folder: Path, hint: str, classes: tuple[str, ...], size: int | None,
          train_images: int | None, test_images: int | None, seed: int) -> Dataset:
    check_size("size", size)
    if not folder.is_dir():
        raise DataError(f"{kind} dataset not found: {folder} is not a folder", hint=hint)
    parts = {}
    for part, option, n in (("train", "train_images", train_images), ("test", "test_images", test_images)):
        images, labels = _part(kind, folder, part, hint)
        parts[part] = _subset(kind, part, option, images, labels, n, seed)
    (train_x, train_y), (test_x, test_y) = parts["train"], parts["test"]
    if train_x.shape[1:] != test_x.shape[1:]:
        raise DataError(f"{kind} dataset: {folder}: training images are {train_x.shape[1]} px, test images "
                        f"{test_x.shape[1]} px; expected the same size")
    train_t = resize_images(torch.from_numpy(np.ascontiguousarray(train_x[:, None])), size)
    test_t = resize_images(torch.from_numpy(np.ascontiguousarray(test_x[:, None])), size)
    mean, std = channel_stats(train_t)
    return Dataset(train_x=train_t, train_y=labels_tensor(train_y), test_x=test_t, test_y=labels_tensor(test_y),
                   classes=classes, mean=mean, std=std, name=kind, channels=1, size=train_t.shape[-1])


@register_dataset("fashion_mnist")
def load_fashion_mnist(*, root: str | Path | None = None, size: int | None = None, train_images: int | None = None,
                       test_images: int | None = None, seed: int = 0) -> Dataset:
    """Fashion-MNIST from ``root`` (default :data:`FASHION_MNIST_ROOT`): 60,000 + 10,000 images, 10 classes."""
    folder = Path(root).expanduser() if root is not None else FASHION_MNIST_ROOT
    return _load("fashion_mnist", folder, _FASHION_HINT, FASHION_MNIST_CLASSES, size, train_images, test_images, seed)


@register_dataset("mnist")
def load_mnist(*, root: str | Path | None = None, size: int | None = None, train_images: int | None = None,
               test_images: int | None = None, seed: int = 0) -> Dataset:
    """MNIST (or any ten-class set in its IDX layout) from ``root``, which is required."""
    if root is None:
        raise ConfigError("dataset `mnist` needs `path`, the folder of its IDX files", hint=_MNIST_HINT)
    classes = tuple(str(d) for d in range(_CLASSES))
    return _load("mnist", Path(root).expanduser(), _MNIST_HINT, classes, size, train_images, test_images, seed)
