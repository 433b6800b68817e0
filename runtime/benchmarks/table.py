"""Benchmark tables: the accuracy of every cell of a search space, and the registry that names them.

A table is ground truth that a search can be scored against without training anything: the
accuracy of each cell, keyed by the space's canonical cell string, and the exact distribution
of all cells (the baseline a random draw has). Tables come from files a user installs; each
registered :class:`TableSource` says where its data lives, how to get it and what its numbers
are (the caveat every display of them repeats).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from genolang.base.errors import ConfigError, DataError, did_you_mean

__all__ = ["TableSource", "BenchmarkTable", "Summary", "register_table", "table_sources", "load_table",
           "default_table"]


@dataclass(frozen=True)
class TableSource:
    """Where a table's data lives and what its numbers mean.

    ``locate`` returns the data file, or None when it is not installed; ``read`` turns that
    file into ``{cell string: accuracy in %}``.
    """

    name: str
    space: str
    dataset: str
    title: str
    caveat: str
    install_hint: str
    locate: Callable[[], Path | None]
    read: Callable[[Path], dict[str, float]]

    def available(self) -> bool:
        return self.locate() is not None


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    sd: float
    median: float
    p90: float
    max: float
    min: float


class BenchmarkTable:
    """The accuracies of all cells of one space, with ranks and percentiles among them."""

    def __init__(self, source: TableSource, accuracies: dict[str, float]):
        if not accuracies:
            raise DataError(f"benchmark table `{source.name}` is empty")
        self.source = source
        self._accuracies = accuracies
        self.values = np.sort(np.fromiter(accuracies.values(), dtype=np.float64, count=len(accuracies)))

    def __len__(self) -> int:
        return len(self._accuracies)

    def __contains__(self, cell: str) -> bool:
        return cell in self._accuracies

    def accuracy(self, cell: str) -> float:
        if cell not in self._accuracies:
            raise DataError(f"benchmark table `{self.source.name}` has no cell {cell}",
                            hint=f"it holds {len(self):,} cells of space `{self.source.space}`")
        return self._accuracies[cell]

    def rank(self, value: float) -> int:
        """1 + the number of cells that score strictly higher (ties share the better rank)."""
        return int(len(self.values) - np.searchsorted(self.values, value, side="right")) + 1

    def percentile(self, value: float) -> float:
        """The share (%) of all cells that score strictly lower."""
        return 100.0 * float(np.searchsorted(self.values, value, side="left")) / len(self.values)

    def summary(self) -> Summary:
        v = self.values
        sd = float(np.std(v, ddof=1)) if len(v) > 1 else math.nan
        return Summary(len(v), float(v.mean()), sd, float(np.median(v)), float(np.percentile(v, 90)),
                       float(v[-1]), float(v[0]))


_SOURCES: dict[str, TableSource] = {}


def register_table(source: TableSource) -> TableSource:
    """Make a table available under ``source.name`` (a second registration of a name is a bug)."""
    if source.name in _SOURCES:
        raise ValueError(f"benchmark table `{source.name}` is registered twice")
    _SOURCES[source.name] = source
    return source


def table_sources(space: str | None = None) -> list[TableSource]:
    """The registered tables, of ``space`` only if given, in registration order."""
    return [s for s in _SOURCES.values() if space is None or s.space == space]


@lru_cache(maxsize=None)
def load_table(name: str) -> BenchmarkTable:
    """The table ``name``, read once per process.

    Example:
        >>> table = load_table("analognas")          # doctest: +SKIP
        >>> table.rank(table.accuracy(cell))         # doctest: +SKIP
    """
    source = _SOURCES.get(name)
    if source is None:
        raise ConfigError(f"unknown benchmark table `{name}`",
                          hint=did_you_mean(name, _SOURCES) or "tables: " + ", ".join(_SOURCES))
    path = source.locate()
    if path is None:
        raise DataError(f"benchmark table `{name}` ({source.title}) is not installed", hint=source.install_hint)
    return BenchmarkTable(source, source.read(path))


def default_table(space: str) -> TableSource:
    """The first registered table of ``space`` whose data is installed (else the first one, whose
    loading then says how to install it)."""
    sources = table_sources(space)
    if not sources:
        raise ConfigError(f"no benchmark table is registered for space `{space}`",
                          hint="tables: " + ", ".join(f"{s.name} ({s.space})" for s in table_sources()))
    return next((s for s in sources if s.available()), sources[0])
