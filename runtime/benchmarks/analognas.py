"""AnalogNAS-Bench (IBM, PyPI ``analog-nasbench``): every NAS-Bench-201 cell trained on CIFAR-10.

The package ships ``analognasbench/data.anb``, a pickle of ``{6-tuple of op indices:
analognasbench.data.Architecture}``. Its ``baseline_accuracy`` is the digital CIFAR-10 test
accuracy of the cell after AnalogNAS-Bench's own 200-epoch training -- not the numbers
NAS-Bench-201 published for the same cells. The tuple lists the edges 0→1, 0→2, 0→3, 1→2, 1→3,
2→3 with NASLib's op indices (skip_connect, none, nor_conv_3x3, nor_conv_1x1, avg_pool_3x3).

The package itself is not imported (it needs pandas and pkg_resources) and the pickle is not
trusted: :class:`_Unpickler` maps exactly the two class names it contains to the plain classes
below and refuses every other global, so loading it cannot run code.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

from genolang.base.errors import DataError

from .nb201 import SPACE, arch_string
from .table import TableSource, register_table

__all__ = ["ANB_EDGES", "ANB_OPS", "SOURCE", "read_anb", "locate_anb"]

ANB_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
ANB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
_CELLS = len(ANB_OPS) ** len(ANB_EDGES)
CAVEAT = ("AnalogNAS-Bench's digital baseline CIFAR-10 test accuracy after its own 200-epoch training, "
          "not NAS-Bench-201's published numbers")
_HINT = "pip install 'genolang[bench]' (or pip install analog-nasbench): its data file is read without importing it"


class Architecture:
    """Stands in for ``analognasbench.data.Architecture``: a plain attribute holder."""


class DriftMeasurement:
    """Stands in for ``analognasbench.data.DriftMeasurement``."""


_ALLOWED = {("analognasbench.data", "Architecture"): Architecture,
            ("analognasbench.data", "DriftMeasurement"): DriftMeasurement}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        cls = _ALLOWED.get((module, name))
        if cls is None:
            raise pickle.UnpicklingError(f"refused global {module}.{name}")
        return cls


def locate_anb() -> Path | None:
    """``analognasbench/data.anb`` of the installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec("analognasbench")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data.anb"
        if path.is_file():
            return path
    return None


def _cell(path: Path, key: object, entry: object) -> tuple[str, float]:
    if (not isinstance(key, tuple) or len(key) != len(ANB_EDGES)
            or not all(isinstance(i, int) and 0 <= i < len(ANB_OPS) for i in key)):
        raise DataError(f"analognas table: {path}: key {key!r} is not a 6-tuple of op indices 0..4")
    accuracy = getattr(entry, "baseline_accuracy", None)
    if not isinstance(entry, Architecture) or not isinstance(accuracy, (int, float)) or not 0 <= accuracy <= 100:
        raise DataError(f"analognas table: {path}: the entry of {key} has no baseline_accuracy in [0, 100]")
    return arch_string({edge: ANB_OPS[i] for edge, i in zip(ANB_EDGES, key)}), float(accuracy)


def read_anb(path: Path) -> dict[str, float]:
    """``{NAS-Bench-201 architecture string: baseline accuracy (%)}`` from ``data.anb``.

    Example:
        >>> table = read_anb(locate_anb())                         # doctest: +SKIP
        >>> table["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]  # doctest: +SKIP
        10.0
    """
    try:
        with open(path, "rb") as handle:
            data = _Unpickler(handle).load()
    except (pickle.UnpicklingError, EOFError, OSError, TypeError, ValueError, AttributeError, IndexError,
            KeyError, MemoryError, RecursionError) as err:
        raise DataError(f"analognas table: {path} is not a readable AnalogNAS-Bench file: {err}", hint=_HINT) from err
    if not isinstance(data, dict) or len(data) != _CELLS:
        size = f"{len(data):,} entries" if isinstance(data, dict) else type(data).__name__
        raise DataError(f"analognas table: {path} holds {size}; expected a dict of all {_CELLS:,} NAS-Bench-201 cells",
                        hint=_HINT)
    return dict(_cell(path, key, entry) for key, entry in data.items())


SOURCE = register_table(TableSource(
    name="analognas", space=SPACE, dataset="cifar10",
    title="AnalogNAS-Bench (analog-nasbench), NAS-Bench-201 cells, CIFAR-10",
    caveat=CAVEAT, install_hint=_HINT, locate=locate_anb, read=read_anb))
