"""The dataset kinds an experiment may name, and the loader options each accepts (no torch).

The loaders live in :mod:`genolang.runtime.data`; this table lets ``geno check`` verify an
experiment's ``data`` block without importing them. tests/compiler/test_data_kinds.py keeps
it equal to the runtime's registry.
"""

from __future__ import annotations

__all__ = ["DATA_KINDS"]

# kind -> the keyword options of its loader (``path`` and ``size`` of an experiment's data
# block arrive as ``root`` and ``size``)
DATA_KINDS: dict[str, tuple[str, ...]] = {
    "cifar10": ("root", "size"),
    "cifar100": ("root", "size"),
    "digits": ("size", "test_fraction", "seed"),
    "em": ("root", "crops_per_slice", "size", "min_positive", "scaling", "seed"),
    "fashion_mnist": ("root", "size", "train_images", "test_images", "seed"),
    "image_folder": ("root", "size", "channels", "test_fraction", "seed"),
    "lens": ("root", "size", "scaling", "test_fraction", "seed", "limit", "chunk"),
    "mnist": ("root", "size", "train_images", "test_images", "seed"),
    "npz": ("root", "size", "layout", "name"),
}
