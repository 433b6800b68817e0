"""The data layer: datasets as in-memory tensors, the search split, device-side batches and
augmentation.

>>> from genolang.runtime.data import load_dataset, split_half, search_stream, Augment
>>> ds = load_dataset("digits", size=16)
>>> train, val = split_half(ds)
>>> stream = search_stream(train, val, batch_size=64, seed=0,
...                        transform=Augment.for_dataset(ds, cutout=0))
>>> (tx, ty), (vx, vy) = next(iter(stream))
"""

# Importing the loader modules registers their dataset kinds.
from . import cifar, digits, em, image_folder, lens, mnist, npz  # noqa: F401
from .augment import Augment, cutout, normalise, random_crop, random_flip, to_float
from .dataset import Dataset, available_datasets, load_dataset, register_dataset
from .seeding import derive_seed, generator_for
from .split import Part, split_half
from .stream import BatchStream, PairedStream, search_stream

__all__ = [
    "Augment", "BatchStream", "Dataset", "PairedStream", "Part", "available_datasets", "cutout",
    "derive_seed", "generator_for", "load_dataset", "normalise", "random_crop", "random_flip",
    "register_dataset", "search_stream", "split_half", "to_float",
]
