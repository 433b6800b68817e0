"""``npz``: a NumPy archive with ``x_train``, ``y_train``, ``x_test``, ``y_test``.

Images may be ``N×H×W`` (one channel), ``N×H×W×C`` or ``N×C×H×W``, uint8 (kept as is) or float
(expected in [0, 1]). The layout is inferred from where a 1-, 3- or 4-sized channel axis sits, or
given with ``layout``. An optional ``classes`` array names the classes.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from genolang.base.errors import ConfigError, DataError

from ._common import channel_stats, check_size, default_class_names, labels_tensor, require_root, resize_images
from .dataset import Dataset, register_dataset

REQUIRED_KEYS = ("x_train", "y_train", "x_test", "y_test")
_CHANNEL_COUNTS = (1, 3, 4)


def _to_nchw(kind: str, path: Path, key: str, x: np.ndarray, layout: str) -> np.ndarray:
    if x.ndim == 3:
        return x[:, None]
    if x.ndim != 4:
        raise DataError(f"{kind} dataset: {path}: {key} has shape {x.shape}, expected N×H×W, N×H×W×C or N×C×H×W")
    if layout == "auto":
        last, second = x.shape[3] in _CHANNEL_COUNTS, x.shape[1] in _CHANNEL_COUNTS
        if last == second:
            raise DataError(f"{kind} dataset: {path}: cannot tell whether {key} {x.shape} is NHWC or NCHW",
                            hint="pass layout='nhwc' or layout='nchw'")
        layout = "nhwc" if last else "nchw"
    return x.transpose(0, 3, 1, 2) if layout == "nhwc" else x


def _images(kind: str, path: Path, key: str, x: np.ndarray, layout: str) -> torch.Tensor:
    if x.dtype == np.uint8:
        pass
    elif np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32, copy=False)
        if x.size and not np.isfinite(x).all():
            raise DataError(f"{kind} dataset: {path}: {key} contains NaN or infinite values")
        if x.size and (x.min() < -1e-3 or x.max() > 1 + 1e-3):
            raise DataError(f"{kind} dataset: {path}: float {key} spans {x.min():g}..{x.max():g}, expected [0, 1]",
                            hint="save uint8 pixels, or scale float pixels to [0, 1] (the loader normalises "
                                 "with the training set's mean and std itself)")
    else:
        raise DataError(f"{kind} dataset: {path}: {key} is {x.dtype}, expected uint8 (0–255) or float (0–1)",
                        hint="convert with x.astype(np.uint8) or x.astype(np.float32) / 255")
    x = _to_nchw(kind, path, key, x, layout)
    if x.shape[2] != x.shape[3]:
        raise DataError(f"{kind} dataset: {path}: {key} images are {x.shape[2]}×{x.shape[3]}, expected square images",
                        hint="crop or resize the images to a square size before saving")
    return torch.from_numpy(np.ascontiguousarray(x))


def _labels(kind: str, path: Path, key: str, y: np.ndarray, n: int) -> np.ndarray:
    if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1:
        raise DataError(f"{kind} dataset: {path}: {key} is {y.dtype} {y.shape}, expected 1-D integer class indices")
    if len(y) != n:
        raise DataError(f"{kind} dataset: {path}: {key} has {len(y)} labels for {n} images")
    if y.size and y.min() < 0:
        raise DataError(f"{kind} dataset: {path}: {key} has negative labels; expected 0..classes-1")
    return y


@register_dataset("npz")
def load_npz(*, root: str | Path | None = None, size: int | None = None, layout: str = "auto",
             name: str | None = None) -> Dataset:
    """Images and labels from ``root`` (an ``.npz`` file); mean/std computed from ``x_train``.

    ``size`` resizes (bilinear, to float images) when the stored images have another size.
    """
    kind = "npz"
    path = require_root(kind, root)
    check_size("size", size)
    if layout not in ("auto", "nhwc", "nchw"):
        raise ConfigError(f"`layout` must be 'auto', 'nhwc' or 'nchw', got {layout!r}")
    try:
        archive = np.load(path, allow_pickle=False)  # object arrays could run code: refuse them
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DataError(f"{kind} dataset: {path} is not a readable .npz archive: {err}",
                        hint="save it with np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)") from err
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{kind} dataset: {path} holds a single array, expected an .npz archive "
                        f"with {', '.join(REQUIRED_KEYS)}")
    with archive:
        missing = [k for k in REQUIRED_KEYS if k not in archive.files]
        if missing:
            raise DataError(f"{kind} dataset: {path} lacks {', '.join(missing)} "
                            f"(found: {', '.join(archive.files) or 'nothing'})",
                            hint=f"an npz dataset needs the arrays {', '.join(REQUIRED_KEYS)}")
        try:
            arrays = {k: archive[k] for k in archive.files}
        except ValueError as err:
            raise DataError(f"{kind} dataset: {path} contains object arrays, which are not loaded for safety",
                            hint="store images and labels as numeric arrays and classes as a string array") from err
    train_x = _images(kind, path, "x_train", arrays["x_train"], layout)
    test_x = _images(kind, path, "x_test", arrays["x_test"], layout)
    if train_x.shape[1:] != test_x.shape[1:] or train_x.dtype != test_x.dtype:
        raise DataError(f"{kind} dataset: {path}: x_train is {train_x.dtype} {tuple(train_x.shape[1:])} per image "
                        f"but x_test is {test_x.dtype} {tuple(test_x.shape[1:])}; expected the same")
    train_y = _labels(kind, path, "y_train", arrays["y_train"], len(train_x))
    test_y = _labels(kind, path, "y_test", arrays["y_test"], len(test_x))
    n_classes = int(max(train_y.max(initial=0), test_y.max(initial=0))) + 1
    if "classes" in arrays:
        classes = tuple(str(c) for c in arrays["classes"].tolist())
        if len(classes) < n_classes:
            raise DataError(f"{kind} dataset: {path}: labels go up to {n_classes - 1} but `classes` names "
                            f"only {len(classes)} classes")
    else:
        classes = default_class_names(n_classes)
    train_x, test_x = resize_images(train_x, size), resize_images(test_x, size)
    mean, std = channel_stats(train_x)
    return Dataset(train_x=train_x, train_y=labels_tensor(train_y), test_x=test_x, test_y=labels_tensor(test_y),
                   classes=classes, mean=mean, std=std, name=name or path.stem,
                   channels=train_x.shape[1], size=train_x.shape[2])
