"""Batched augmentation on the training device: random crop, flip, normalise, cutout.

It reproduces the DARTS/CDARTS CIFAR pipeline (RandomCrop(32, padding=4) → RandomHorizontalFlip
→ ToTensor → Normalize → Cutout) without torchvision and without a per-sample Python loop:
every random choice is drawn per sample from one ``torch.Generator``, on the CPU, so the same
seed gives the same augmentation on any device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from .dataset import Dataset


def to_float(x: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1]: uint8 pixels are divided by 255, float images are kept."""
    return x.to(torch.float32).div_(255.0) if x.dtype == torch.uint8 else x.to(torch.float32)


def _draw(generator: torch.Generator | None, high: int, n: int, device: torch.device) -> torch.Tensor:
    gen_device = generator.device if generator is not None else torch.device("cpu")
    return torch.randint(0, high, (n,), generator=generator, device=gen_device).to(device)


def random_crop(x: torch.Tensor, pad: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero-pad by ``pad`` and cut each sample's H×W window at its own random offset."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    width = w + 2 * pad
    top = _draw(generator, 2 * pad + 1, n, x.device)
    left = _draw(generator, 2 * pad + 1, n, x.device)
    # One gather over the flattened padded planes: the window of sample i starts at flat index
    # top·width + left and its pixel (r, k) sits r·width + k further on.
    window = (torch.arange(h, device=x.device)[:, None] * width + torch.arange(w, device=x.device)).view(-1)
    index = (top * width + left)[:, None] + window
    flat = padded.reshape(n, c, -1)
    return flat.gather(2, index[:, None, :].expand(n, c, h * w)).view(n, c, h, w)


def random_flip(x: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.5) -> torch.Tensor:
    """Mirror each sample left–right with probability ``p``."""
    gen_device = generator.device if generator is not None else torch.device("cpu")
    flip = (torch.rand(len(x), generator=generator, device=gen_device) < p).to(x.device)
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)


def cutout(x: torch.Tensor, length: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero one ``length``×``length`` square per sample (DARTS ``Cutout``).

    As in DARTS, the centre is uniform over the whole image and the square is clipped at the
    border, so a square near an edge covers less than length² pixels.
    """
    n, _, h, w = x.shape
    cy = _draw(generator, h, n, x.device)
    cx = _draw(generator, w, n, x.device)
    y0, y1 = (cy - length // 2).clamp(0, h), (cy + length // 2).clamp(0, h)
    x0, x1 = (cx - length // 2).clamp(0, w), (cx + length // 2).clamp(0, w)
    rows = torch.arange(h, device=x.device)
    cols = torch.arange(w, device=x.device)
    in_rows = (rows >= y0[:, None]) & (rows < y1[:, None])  # n×h
    in_cols = (cols >= x0[:, None]) & (cols < x1[:, None])  # n×w
    inside = in_rows[:, :, None] & in_cols[:, None, :]
    return x.masked_fill(inside.unsqueeze(1), 0.0)


def normalise(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    shape = (1, len(mean), 1, 1)
    mean_t = torch.tensor(mean, dtype=x.dtype, device=x.device).view(shape)
    std_t = torch.tensor(std, dtype=x.dtype, device=x.device).view(shape)
    return (x - mean_t) / std_t


@dataclass(frozen=True)
class Augment:
    """The whole pipeline as one callable: ``Augment(...)(x, generator) -> float x``.

    Order as in DARTS: crop (zero padding, i.e. black pixels, before normalisation), flip,
    normalise, cutout (zeros after normalisation, i.e. mean-coloured). With every option off it
    only converts to float and normalises, which is the test-time transform.
    """

    crop_pad: int = 0
    flip: bool = False
    cutout: int = 0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)

    @classmethod
    def for_dataset(cls, dataset: Dataset, *, train: bool = True, crop_pad: int = 4, flip: bool = True,
                    cutout: int = 0) -> "Augment":
        """Training (crop, flip, optional cutout) or test (normalise only) augmentation of ``dataset``."""
        if not train:
            return cls(mean=dataset.mean, std=dataset.std)
        return cls(crop_pad=crop_pad, flip=flip, cutout=cutout, mean=dataset.mean, std=dataset.std)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.augment(x, generator)

    def augment(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        x = to_float(x)
        if self.crop_pad > 0:
            x = random_crop(x, self.crop_pad, generator)
        if self.flip:
            x = random_flip(x, generator)
        x = normalise(x, self.mean, self.std)
        if self.cutout > 0:
            x = cutout(x, self.cutout, generator)
        return x
