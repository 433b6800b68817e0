"""``image_folder``: one sub-folder per class of image files, read with Pillow.

Layouts under ``root``:

* ``root/train/<class>/*.png|jpg|…`` and ``root/test/<class>/…`` (given split), or
* ``root/<class>/…`` (one pool, split into train/test by ``seed``, stratified).

Class names are the sorted sub-folder names of the training part. Images are converted to RGB
(``channels=3``) or grayscale (``channels=1``) and resized to ``size``×``size``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genolang.base.errors import DataError

from ._common import (channel_stats, check_fraction, check_size, import_pil, labels_tensor,
                      require_root, stratified_split)
from .dataset import Dataset, register_dataset

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _class_dirs(kind: str, folder: Path) -> list[Path]:
    dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not dirs:
        raise DataError(f"{kind} dataset: expected one sub-folder per class in {folder}, found none",
                        hint="lay the images out as <root>/<class>/<image> or "
                             "<root>/train/<class>/<image> and <root>/test/<class>/<image>")
    return dirs


def _list_images(kind: str, folder: Path, classes: list[str]) -> tuple[list[Path], list[int]]:
    files, labels = [], []
    for index, name in enumerate(classes):
        found = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) \
            if (folder / name).is_dir() else []
        files += found
        labels += [index] * len(found)
    if not files:
        raise DataError(f"{kind} dataset: no images ({', '.join(IMAGE_SUFFIXES)}) in the class folders of {folder}")
    return files, labels


def _read_images(kind: str, files: list[Path], size: int, channels: int) -> torch.Tensor:
    Image = import_pil(kind)
    mode = "RGB" if channels == 3 else "L"
    out = np.empty((len(files), size, size, channels), dtype=np.uint8)
    for i, path in enumerate(files):
        try:
            with Image.open(path) as image:
                image = image.convert(mode)
                if image.size != (size, size):
                    image = image.resize((size, size), Image.BILINEAR)
                out[i] = np.asarray(image, dtype=np.uint8).reshape(size, size, channels)
        except OSError as err:
            raise DataError(f"{kind} dataset: cannot read image {path}: {err}",
                            hint="remove or replace the damaged file") from err
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def _first_image_size(kind: str, path: Path) -> int:
    """The side of the first image, used as ``size`` when none is given; must be square."""
    Image = import_pil(kind)
    with Image.open(path) as image:
        width, height = image.size
    if width != height:
        raise DataError(f"{kind} dataset: {path} is {width}×{height}; without `size` the images must be square",
                        hint="give `size` to resize every image to size×size")
    return width


@register_dataset("image_folder")
def load_image_folder(*, root: str | Path | None = None, size: int | None = None, channels: int = 3,
                      test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Class-per-folder images as uint8 tensors; mean/std computed from the training part."""
    kind = "image_folder"
    base = require_root(kind, root)
    check_size("size", size)
    if channels not in (1, 3):
        raise DataError(f"{kind} dataset: `channels` must be 1 (grayscale) or 3 (RGB), got {channels!r}")
    if (base / "train").is_dir():
        classes = [p.name for p in _class_dirs(kind, base / "train")]
        if not (base / "test").is_dir():
            raise DataError(f"{kind} dataset: found {base / 'train'} but expected {base / 'test'} next to it",
                            hint="add a test folder, or put the class folders directly under root "
                                 "to split by seed")
        unknown = sorted({p.name for p in _class_dirs(kind, base / "test")} - set(classes))
        if unknown:
            raise DataError(f"{kind} dataset: {base / 'test'} has classes missing from {base / 'train'}: "
                            f"{', '.join(unknown)}")
        train_files, train_labels = _list_images(kind, base / "train", classes)
        test_files, test_labels = _list_images(kind, base / "test", classes)
    else:
        classes = [p.name for p in _class_dirs(kind, base)]
        files, labels = _list_images(kind, base, classes)
        train_idx, test_idx = stratified_split(np.asarray(labels), check_fraction("test_fraction", test_fraction), seed)
        train_files, train_labels = [files[i] for i in train_idx], [labels[i] for i in train_idx]
        test_files, test_labels = [files[i] for i in test_idx], [labels[i] for i in test_idx]
    size = size or _first_image_size(kind, train_files[0])
    train_x = _read_images(kind, train_files, size, channels)
    test_x = _read_images(kind, test_files, size, channels)
    mean, std = channel_stats(train_x)
    return Dataset(train_x=train_x, train_y=labels_tensor(train_labels), test_x=test_x,
                   test_y=labels_tensor(test_labels), classes=tuple(classes), mean=mean, std=std,
                   name=base.name or kind, channels=channels, size=size)
