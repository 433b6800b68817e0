"""``cifar10`` / ``cifar100``: the standard python-pickle releases, read from a local folder.

Layouts (``root`` may be the extracted folder itself or the folder that contains it):

* ``cifar-10-batches-py/``: ``data_batch_1`` … ``data_batch_5``, ``test_batch``, ``batches.meta``
* ``cifar-100-python/``: ``train``, ``test``, ``meta`` (fine labels are used)

Each batch is a pickled dict with ``b"data"`` (uint8, N×3072, channel-major 32×32 planes) and
``b"labels"`` (CIFAR-10) or ``b"fine_labels"`` (CIFAR-100). Images stay uint8 (150 MB for
CIFAR-10 training) and are scaled when normalised on the device.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genolang.base.errors import DataError

from ._common import check_size, labels_tensor, require_file, require_root, resize_images
from ._pickle import load_pickled_dict
from .dataset import Dataset, register_dataset

# Published per-channel statistics of the training sets (the CDARTS/DARTS normalisation).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

_DOWNLOAD_HINT = ("download the python version from https://www.cs.toronto.edu/~kriz/cifar.html, "
                  "extract it, and point `root` at the extracted folder or its parent")


def _locate(kind: str, root: Path, folder: str, first_file: str) -> Path:
    """The extracted folder: ``root`` itself or ``root/folder``."""
    if (root / first_file).is_file():
        return root
    if (root / folder / first_file).is_file():
        return root / folder
    raise DataError(f"{kind} dataset: expected {root / folder / first_file} (python pickle)",
                    hint=_DOWNLOAD_HINT)


def _read_batch(kind: str, path: Path, label_key: bytes, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    require_file(kind, path, "a CIFAR batch, python pickle", hint=_DOWNLOAD_HINT)
    batch = load_pickled_dict(kind, path)
    if b"data" not in batch or label_key not in batch:
        found = ", ".join(repr(k) for k in batch)
        raise DataError(f"{kind} dataset: {path} lacks b'data' or {label_key!r} (found keys: {found})",
                        hint="is this the right CIFAR variant? CIFAR-10 uses b'labels', "
                             "CIFAR-100 b'fine_labels'")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[label_key])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{kind} dataset: {path} b'data' is {data.dtype} {data.shape}, "
                        "expected uint8 N×3072 (3×32×32 images, channel-major)")
    if labels.shape != (data.shape[0],):
        raise DataError(f"{kind} dataset: {path} has {data.shape[0]} images but {labels.size} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(f"{kind} dataset: {path} has labels outside 0..{num_classes - 1}")
    return data.reshape(-1, 3, 32, 32), labels


def _class_names(kind: str, path: Path, key: bytes, fallback: tuple[str, ...]) -> tuple[str, ...]:
    """Class names from the meta file; the meta file is optional because nothing else needs it."""
    if not path.is_file():
        return fallback
    names = load_pickled_dict(kind, path).get(key)
    if names is None or len(names) != len(fallback):
        raise DataError(f"{kind} dataset: {path} should list {len(fallback)} class names under {key!r}")
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)


def _build(kind: str, train: list[tuple[np.ndarray, np.ndarray]], test: tuple[np.ndarray, np.ndarray],
           classes: tuple[str, ...], mean: tuple[float, ...], std: tuple[float, ...], size: int) -> Dataset:
    train_x = torch.from_numpy(np.ascontiguousarray(np.concatenate([x for x, _ in train])))
    train_y = np.concatenate([y for _, y in train])
    test_x = torch.from_numpy(np.ascontiguousarray(test[0]))
    # Another size (e.g. 16 px for quick searches) gives float images; the published statistics
    # still apply, since bilinear resizing barely changes a channel's mean and spread.
    return Dataset(train_x=resize_images(train_x, size), train_y=labels_tensor(train_y),
                   test_x=resize_images(test_x, size), test_y=labels_tensor(test[1]),
                   classes=classes, mean=mean, std=std, name=kind, channels=3, size=size)


@register_dataset("cifar10")
def load_cifar10(*, root: str | Path | None = None, size: int = 32) -> Dataset:
    """CIFAR-10 from ``cifar-10-batches-py`` (uint8 images, published mean/std; float if resized)."""
    check_size("size", size)
    folder = _locate("cifar10", require_root("cifar10", root), "cifar-10-batches-py", "data_batch_1")
    train = [_read_batch("cifar10", folder / f"data_batch_{i}", b"labels", 10) for i in range(1, 6)]
    test = _read_batch("cifar10", folder / "test_batch", b"labels", 10)
    classes = _class_names("cifar10", folder / "batches.meta", b"label_names", CIFAR10_CLASSES)
    return _build("cifar10", train, test, classes, CIFAR10_MEAN, CIFAR10_STD, size)


@register_dataset("cifar100")
def load_cifar100(*, root: str | Path | None = None, size: int = 32) -> Dataset:
    """CIFAR-100 (fine labels) from ``cifar-100-python`` (uint8 images, published mean/std; float if resized)."""
    check_size("size", size)
    folder = _locate("cifar100", require_root("cifar100", root), "cifar-100-python", "train")
    train = [_read_batch("cifar100", folder / "train", b"fine_labels", 100)]
    test = _read_batch("cifar100", folder / "test", b"fine_labels", 100)
    fallback = tuple(f"class_{i}" for i in range(100))
    classes = _class_names("cifar100", folder / "meta", b"fine_label_names", fallback)
    return _build("cifar100", train, test, classes, CIFAR100_MEAN, CIFAR100_STD, size)
