"""``lens``: the Strong Gravitational Lens Finding Challenge 2.0 (Metcalf et al. 2019), spec §4.7.

The challenge ships four bands per candidate (Euclid VIS 200×200, NISP J, Y, H 66×66) in
layouts that changed between releases, so genolang reads one documented layout that the raw
files are converted to once. ``root`` is either

* a folder with ``vis.npy`` (N×200×200), ``j.npy``, ``y.npy``, ``h.npy`` (N×66×66) and
  ``labels.csv`` with a header that has an ``is_lens`` column (0/1) and usually an ``id``
  column; row *i* of the table labels candidate *i* of the arrays. Any band may instead be a
  FITS cube ``<band>.fits`` (N×H×W) when astropy is installed; or
* an ``.npz`` file with the arrays ``vis``, ``j``, ``y``, ``h`` and ``is_lens``.

Preprocessing: min–max scaling per band (of each candidate by default, ``scaling="per_image"``;
``"per_band"`` uses one min/max per band over the whole set), VIS resized to the NISP size with
area interpolation, then the four bands stacked as channels (VIS, J, Y, H). The test split is
stratified, 20 % by default (the dissertation's "80%" train share).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from genolang.base.errors import ConfigError, DataError

from ._common import channel_stats, check_fraction, check_size, labels_tensor, require_file, require_root, stratified_split
from .dataset import Dataset, register_dataset

BANDS = ("vis", "j", "y", "h")
_LAYOUT_HINT = ("convert the challenge files to vis.npy, j.npy, y.npy, h.npy (N×H×W each) plus labels.csv "
                "(id,is_lens), or one .npz with the keys vis, j, y, h, is_lens")


def _read_band_file(folder: Path, band: str) -> np.ndarray:
    npy, fits = folder / f"{band}.npy", folder / f"{band}.fits"
    if npy.is_file():
        try:
            return np.load(npy, mmap_mode="r", allow_pickle=False)  # memory-mapped: VIS is 16 GB as float32
        except (OSError, ValueError) as err:
            raise DataError(f"lens dataset: {npy} is not a readable .npy array: {err}", hint=_LAYOUT_HINT) from err
    if fits.is_file():
        try:
            from astropy.io import fits as astropy_fits
        except ImportError as err:
            raise DataError(f"lens dataset: reading {fits} needs astropy, which is not installed",
                            hint="pip install astropy, or convert the band to .npy") from err
        return np.asarray(astropy_fits.getdata(fits))
    raise DataError(f"lens dataset: expected {npy} (N×H×W array of the {band.upper()} band)", hint=_LAYOUT_HINT)


def _read_labels_csv(path: Path) -> np.ndarray:
    require_file("lens", path, "CSV with a header and an is_lens column of 0/1", hint=_LAYOUT_HINT)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "is_lens" not in [f.strip() for f in reader.fieldnames]:
            raise DataError(f"lens dataset: {path} needs a header with an `is_lens` column "
                            f"(found: {', '.join(reader.fieldnames or []) or 'an empty file'})", hint=_LAYOUT_HINT)
        values = [{k.strip(): v for k, v in row.items() if k is not None}["is_lens"] for row in reader]
    return _parse_flags(path, values)


def _parse_flags(path: Path, values) -> np.ndarray:
    mapping = {"0": 0, "1": 1, "false": 0, "true": 1, "0.0": 0, "1.0": 1}
    flags = []
    for line, value in enumerate(values, start=2):
        flag = mapping.get(str(value).strip().lower())
        if flag is None:
            raise DataError(f"lens dataset: {path}: is_lens must be 0 or 1, got {value!r} (row {line})")
        flags.append(flag)
    return np.asarray(flags, dtype=np.int64)


def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"lens dataset: {path} is not a readable .npz archive: {err}", hint=_LAYOUT_HINT) from err
    with archive:
        missing = [k for k in (*BANDS, "is_lens") if k not in archive.files]
        if missing:
            raise DataError(f"lens dataset: {path} lacks {', '.join(missing)} "
                            f"(found: {', '.join(archive.files) or 'nothing'})", hint=_LAYOUT_HINT)
        bands = {band: archive[band] for band in BANDS}
        flags = _parse_flags(path, archive["is_lens"].tolist())
    return bands, flags


def _check_shapes(root: Path, bands: dict[str, np.ndarray], n: int) -> None:
    for band, array in bands.items():
        if array.ndim != 3 or array.shape[1] != array.shape[2]:
            raise DataError(f"lens dataset: {root}: band {band} has shape {array.shape}, expected N×S×S "
                            "(VIS 200×200, NISP 66×66)", hint=_LAYOUT_HINT)
        if len(array) != n:
            raise DataError(f"lens dataset: {root}: band {band} has {len(array)} candidates but the labels "
                            f"have {n}", hint="the arrays and the label rows must describe the same candidates, in order")
    nisp = {bands[b].shape[1:] for b in ("j", "y", "h")}
    if len(nisp) != 1:
        raise DataError(f"lens dataset: {root}: the NISP bands J, Y, H differ in size ({sorted(nisp)}); "
                        "expected one size (66×66)")


def _scale(x: torch.Tensor, lo: torch.Tensor | None, hi: torch.Tensor | None) -> torch.Tensor:
    """Min–max per candidate and band, or with the given whole-set per-band ``lo``/``hi``."""
    if lo is None:
        lo = x.amin(dim=(2, 3), keepdim=True)
        hi = x.amax(dim=(2, 3), keepdim=True)
    return ((x - lo) / (hi - lo).clamp_min(1e-12)).clamp_(0.0, 1.0)


def _stack(bands: dict[str, np.ndarray], size: int, scaling: str, chunk: int) -> torch.Tensor:
    """N×4×size×size float32, built chunk by chunk so a memory-mapped VIS never loads whole."""
    import torch.nn.functional as F

    n = len(bands["vis"])
    extremes = {}
    if scaling == "per_band":
        extremes = {b: (float(np.min(a)), float(np.max(a))) for b, a in bands.items()}
    out = torch.empty((n, len(BANDS), size, size), dtype=torch.float32)
    for start in range(0, n, chunk):
        for c, band in enumerate(BANDS):
            x = torch.from_numpy(np.array(bands[band][start:start + chunk], dtype=np.float32)).unsqueeze(1)
            if not torch.isfinite(x).all():
                raise DataError(f"lens dataset: band {band} has NaN or infinite pixels in candidates "
                                f"{start}..{start + len(x) - 1}", hint="replace bad pixels (e.g. with 0) when converting")
            lo_hi = extremes.get(band)
            x = _scale(x, *(torch.tensor(v) for v in lo_hi)) if lo_hi else _scale(x, None, None)
            if x.shape[-1] != size:
                # Scaled before resizing, as in the dissertation (the network stem resizes), so VIS
                # stays within [0, 1] without reaching both ends.
                # Area interpolation averages the VIS pixels that fall into each NISP pixel (§4.7, A22).
                x = F.interpolate(x, size=(size, size), mode="area")
            out[start:start + len(x), c] = x[:, 0]
    return out


@register_dataset("lens")
def load_lens(*, root: str | Path | None = None, size: int | None = None, scaling: str = "per_image",
              test_fraction: float = 0.2, seed: int = 0, limit: int | None = None, chunk: int = 1024) -> Dataset:
    """SGLFC 2.0 candidates as float 4×S×S images (S = NISP size, 66, unless ``size``), 2 classes.

    ``limit`` keeps the first candidates only (quick runs); ``chunk`` bounds peak memory.
    """
    path = require_root("lens", root)
    check_size("size", size)
    if scaling not in ("per_image", "per_band"):
        raise ConfigError(f"`scaling` must be 'per_image' or 'per_band', got {scaling!r}")
    if path.is_dir():
        flags = _read_labels_csv(path / "labels.csv")
        bands = {band: _read_band_file(path, band) for band in BANDS}
    else:
        bands, flags = _read_npz(path)
    _check_shapes(path, bands, len(flags))
    if limit is not None:
        bands, flags = {b: a[:limit] for b, a in bands.items()}, flags[:limit]
    size = size or bands["j"].shape[1]
    images = _stack(bands, size, scaling, max(1, int(chunk)))
    train, test = stratified_split(flags, check_fraction("test_fraction", test_fraction), seed)
    train_x = images[train]
    mean, std = channel_stats(train_x)
    labels = labels_tensor(flags)
    return Dataset(train_x=train_x, train_y=labels[train], test_x=images[test], test_y=labels[test],
                   classes=("non_lens", "lens"), mean=mean, std=std, name="lens", channels=4, size=size)
