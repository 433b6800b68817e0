"""``em``: EPFL hippocampus electron microscopy with mitochondria labels (Lucchi et al. 2013), §4.7.

``root`` holds the published multi-page TIFF stacks ``training.tif``, ``training_groundtruth.tif``,
``testing.tif`` and ``testing_groundtruth.tif`` (165 slices of 768×1024 each), or ``.npy`` stacks
(S×H×W) with the same names. Any non-zero ground-truth pixel is labelled.

Samples are ``size``×``size`` windows (32) at random positions, alternating between the classes:
*positive* when at least ``min_positive`` (8) of the 16 pixels of the 4×4 centre are labelled,
*negative* when none is. The dissertation re-samples a random window until it has the wanted
class; drawing uniformly among the windows of that class is the same distribution, computed
exactly from a box-sum of the labels, so no attempt limit is needed. A slice without any window
of a class borrows that class's windows from a random slice that has some; a class absent from a
whole stack is a DataError. Pixels are min–max scaled over the whole stack (``scaling="stack"``)
or per crop (``"per_crop"``). Everything depends only on ``seed``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genolang.base.errors import ConfigError, DataError

from ._common import import_pil, minmax_per_image, require_root
from .dataset import Dataset, register_dataset

CENTRE = 4  # the 4×4 centre whose labels decide a crop's class
STACKS = {"train": ("training", "training_groundtruth"), "test": ("testing", "testing_groundtruth")}
_HINT = ("download the EPFL 'Electron Microscopy Dataset' (Lucchi et al.) and put training.tif, "
         "training_groundtruth.tif, testing.tif and testing_groundtruth.tif in `root`")


def _read_stack(folder: Path, stem: str) -> np.ndarray:
    """S×H×W array from ``stem.tif``/``stem.tiff`` (multi-page) or ``stem.npy``."""
    for suffix in (".tif", ".tiff"):
        path = folder / f"{stem}{suffix}"
        if path.is_file():
            Image = import_pil("em")
            from PIL import ImageSequence

            try:
                with Image.open(path) as image:
                    pages = [np.asarray(page.convert("L") if page.mode not in ("L", "I;16", "I", "F", "1")
                                        else page) for page in ImageSequence.Iterator(image)]
            except OSError as err:
                raise DataError(f"em dataset: cannot read {path} as a multi-page TIFF: {err}", hint=_HINT) from err
            if len({p.shape for p in pages}) != 1:
                raise DataError(f"em dataset: {path}: the pages differ in size; expected one S×H×W stack")
            return np.stack(pages)
    npy = folder / f"{stem}.npy"
    if npy.is_file():
        try:
            stack = np.load(npy, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise DataError(f"em dataset: {npy} is not a readable .npy array: {err}", hint=_HINT) from err
        if stack.ndim == 2:
            stack = stack[None]
        return stack
    raise DataError(f"em dataset: expected {folder / (stem + '.tif')} (multi-page TIFF stack) or {stem}.npy",
                    hint=_HINT)


def _centre_counts(labels: np.ndarray, crop: int) -> np.ndarray:
    """For each crop top-left (y, x) of one H×W slice: how many of its 4×4 centre pixels are labelled.

    An integral image turns each count into four lookups, so every window is classified at once.
    """
    h, w = labels.shape
    integral = np.zeros((h + 1, w + 1), dtype=np.int32)
    integral[1:, 1:] = labels.astype(np.int32).cumsum(0).cumsum(1)
    top = (crop - CENTRE) // 2
    ny, nx = h - crop + 1, w - crop + 1
    y0, y1 = slice(top, top + ny), slice(top + CENTRE, top + CENTRE + ny)
    x0, x1 = slice(top, top + nx), slice(top + CENTRE, top + CENTRE + nx)
    return integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]


def _pools(truth_slice: np.ndarray, crop: int, min_positive: int) -> dict[int, np.ndarray]:
    """Flat top-left indices of the windows of each class (1 positive, 0 negative) in one slice."""
    counts = _centre_counts(truth_slice > 0, crop).ravel()
    return {1: np.flatnonzero(counts >= min_positive), 0: np.flatnonzero(counts == 0)}


def _sample_windows(truth: np.ndarray, per_slice: int, crop: int, min_positive: int,
                    rng: np.random.Generator, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slice index, flat top-left index and label of each crop; classes alternate, positive first.

    Slices are visited one at a time so that only one slice's window pools are in memory
    (the pools of all 165 full slices would take about a gigabyte).
    """
    wanted = 1 - np.arange(per_slice) % 2
    slices = np.repeat(np.arange(len(truth)), per_slice)
    labels = np.tile(wanted, len(truth)).astype(np.int64)
    positions = np.full(len(labels), -1, dtype=np.int64)
    having: dict[int, list[int]] = {0: [], 1: []}
    for index in range(len(truth)):
        pools = _pools(truth[index], crop, min_positive)
        for cls, pool in pools.items():
            if len(pool):
                having[cls].append(index)
                slots = index * per_slice + np.flatnonzero(wanted == cls)
                positions[slots] = pool[rng.integers(len(pool), size=len(slots))]
    names = {1: f"positive (at least {min_positive} of the {CENTRE * CENTRE} centre pixels labelled)",
             0: "negative (no centre pixel labelled)"}
    for cls in (1, 0):
        if not having[cls]:
            raise DataError(f"em dataset: {where} has no {names[cls]} {crop}×{crop} window in any slice",
                            hint="check that the ground truth matches the images and marks mitochondria "
                                 "with non-zero pixels, or lower `min_positive`")
    # Slices that lack a class borrow its windows from random slices that have it.
    for slot in np.flatnonzero(positions < 0):
        cls = int(labels[slot])
        source = having[cls][rng.integers(len(having[cls]))]
        pool = _pools(truth[source], crop, min_positive)[cls]
        slices[slot], positions[slot] = source, pool[rng.integers(len(pool))]
    return slices, positions, labels


def _crops(images: np.ndarray, slices: np.ndarray, positions: np.ndarray, crop: int) -> np.ndarray:
    nx = images.shape[2] - crop + 1
    ys, xs = positions // nx, positions % nx
    offsets = np.arange(crop)
    rows = (ys[:, None] + offsets)[:, :, None]
    cols = (xs[:, None] + offsets)[:, None, :]
    return images[slices[:, None, None], rows, cols]


def _load_part(folder: Path, part: str, per_slice: int, crop: int, min_positive: int, scaling: str,
               rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    image_stem, truth_stem = STACKS[part]
    images = _read_stack(folder, image_stem)
    truth = _read_stack(folder, truth_stem)
    if images.shape != truth.shape:
        raise DataError(f"em dataset: {folder / image_stem} is {images.shape} but {folder / truth_stem} is "
                        f"{truth.shape}; expected stacks of the same shape (slices×height×width)")
    if min(images.shape[1:]) < crop:
        raise DataError(f"em dataset: {folder / image_stem} slices are {images.shape[1]}×{images.shape[2]}, "
                        f"smaller than the {crop}×{crop} crops")
    slices, positions, labels = _sample_windows(truth, per_slice, crop, min_positive, rng,
                                                str(folder / truth_stem))
    x = torch.from_numpy(_crops(images, slices, positions, crop).astype(np.float32)).unsqueeze(1)
    if scaling == "stack":
        lo, hi = float(images.min()), float(images.max())
        x = (x - lo) / max(hi - lo, 1e-12)
    else:
        x = minmax_per_image(x)
    return x, torch.from_numpy(labels)


@register_dataset("em")
def load_em(*, root: str | Path | None = None, crops_per_slice: int | tuple[int, int] = (300, 60),
            size: int = 32, min_positive: int = 8, scaling: str = "stack", seed: int = 0) -> Dataset:
    """EM crops as float 1×size×size images in [0, 1]; classes ``background`` (0) and ``mitochondria`` (1).

    ``crops_per_slice`` is ``(train, test)`` or one number for both (spec: 300 and 60).
    """
    folder = require_root("em", root)
    counts = [crops_per_slice] * 2 if isinstance(crops_per_slice, int) else list(crops_per_slice)
    if len(counts) != 2 or not all(isinstance(c, int) and c >= 1 for c in counts):
        raise ConfigError(f"`crops_per_slice` must be a positive integer or a (train, test) pair of them, "
                          f"got {crops_per_slice!r}")
    per_train, per_test = counts
    crop = size
    if not isinstance(crop, int) or crop < CENTRE or (crop - CENTRE) % 2:
        raise ConfigError(f"`size` (the crop side) must be an even number of pixels, at least {CENTRE}; got {crop!r}")
    if not 1 <= min_positive <= CENTRE * CENTRE:
        raise ConfigError(f"`min_positive` must be between 1 and {CENTRE * CENTRE}, got {min_positive}")
    if scaling not in ("stack", "per_crop"):
        raise ConfigError(f"`scaling` must be 'stack' or 'per_crop', got {scaling!r}")
    # Separate streams for train and test, so changing one part's crop count leaves the other as it was.
    train_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    train_x, train_y = _load_part(folder, "train", per_train, crop, min_positive, scaling, train_rng)
    test_x, test_y = _load_part(folder, "test", per_test, crop, min_positive, scaling, test_rng)
    # The dissertation's preprocessing is the min-max scaling alone: a standardisation after it
    # (mean/std of the crops) would undo the scaling, so the normalisation is the identity.
    return Dataset(train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y,
                   classes=("background", "mitochondria"), mean=(0.0,), std=(1.0,), name="em",
                   channels=1, size=crop)
