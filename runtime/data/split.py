"""The search split: the training set halved into ``train`` (weights) and ``val`` (architecture)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from genolang.base.errors import ConfigError, DataError

from ._common import stratified_split
from .dataset import Dataset

# The kinds whose files are not in class order, so that the first and second half of the
# indices (CDARTS's split, spec §4.1.1) each hold every class. Every other source (an image
# folder lists class after class; an npz or a science set is whatever its author saved) is
# split per class.
INDEX_SAFE = frozenset({"cifar10", "cifar100", "digits"})
ORDERS = ("auto", "index", "shuffled", "stratified")
CHANCE = 24


@dataclass
class Part:
    """Images and labels of one part of a split."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)


def resolve_order(order: str, kind: str) -> str:
    """``auto``: ``index`` for the kinds in :data:`INDEX_SAFE`, else ``stratified``."""
    if order not in ORDERS:
        raise ConfigError(f"split order must be one of {', '.join(ORDERS)}, got {order!r}")
    if order == "auto":
        return "index" if kind in INDEX_SAFE else "stratified"
    return order


def take(dataset: Dataset, train: int | None, test: int | None, kind: str, seed: int = 0) -> Dataset:
    """``train`` training and ``test`` test samples: the first ones of a kind in
    :data:`INDEX_SAFE`, else a subset drawn with ``seed`` (kept in file order), so that a limit
    on a folder sorted by class keeps every class."""
    if kind in INDEX_SAFE:
        return dataset.take(train, test)
    generator = torch.Generator().manual_seed(seed)

    def pick(n: int, limit: int | None) -> torch.Tensor | slice:
        if limit is None or limit >= n:
            return slice(None)
        return torch.randperm(n, generator=generator)[:limit].sort().values

    keep, keep_test = pick(len(dataset.train_y), train), pick(len(dataset.test_y), test)
    return replace(dataset, train_x=dataset.train_x[keep], train_y=dataset.train_y[keep],
                   test_x=dataset.test_x[keep_test], test_y=dataset.test_y[keep_test])


def split_half(dataset: Dataset, seed: int = 0, order: str = "index", kind: str | None = None) -> tuple[Part, Part]:
    """``(train, val)``, each half of ``dataset``'s training set (``train`` gets the odd sample).

    ``order="index"`` takes the first and second half of the sample indices, as the CDARTS code
    does (spec §4.1.1); ``order="shuffled"`` halves a permutation drawn from ``seed``;
    ``order="stratified"`` halves every class (a permutation drawn from ``seed``), keeping the
    sample order inside each half; ``"auto"`` picks by ``kind`` (:func:`resolve_order`; default:
    the dataset's name).
    The two parts are always disjoint. A split that leaves a class of two or more samples
    out of either half is a :class:`DataError` (the search would learn α on other classes than
    its weights); for the kinds of :data:`INDEX_SAFE`, a class of :data:`CHANCE` or more.
    """
    order = resolve_order(order, kind or dataset.name)
    n = len(dataset.train_y)
    if order == "index":
        indices = torch.arange(n)
    elif order == "shuffled":
        indices = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    else:
        val, train = stratified_split(dataset.train_y.numpy(), 0.5, seed)
        indices = torch.from_numpy(np.concatenate([train, val]))
    cut = (n + 1) // 2 if order != "stratified" else n - len(val)
    first, second = indices[:cut], indices[cut:]
    # In a file without class order a small class can miss a half by chance (a 32-sample quick
    # run of digits does); a class of CHANCE samples all in one half is 2 ** -CHANCE likely.
    least = CHANCE if (kind or dataset.name) in INDEX_SAFE and order != "stratified" else 2
    _check_classes(dataset, dataset.train_y[first], dataset.train_y[second], order, least)
    return (Part(dataset.train_x[first], dataset.train_y[first]),
            Part(dataset.train_x[second], dataset.train_y[second]))


def _check_classes(dataset: Dataset, train_y: torch.Tensor, val_y: torch.Tensor, order: str, least: int) -> None:
    counts = torch.bincount(dataset.train_y, minlength=dataset.num_classes)
    for part, y in (("search-train", train_y), ("search-val", val_y)):
        seen = torch.bincount(y, minlength=dataset.num_classes) > 0
        missing = [c for c in range(len(counts)) if counts[c] >= least and not seen[c]]
        if missing:
            names = ", ".join(str(dataset.classes[c]) if c < len(dataset.classes) else str(c) for c in missing[:5])
            raise DataError(f"{dataset.name}: the `{order}` split leaves class(es) {names} out of the "
                            f"{part} half ({len(missing)} of {int((counts >= least).sum())} classes)",
                            hint="set data.split_order = stratified (each class halved), or shuffled")
