"""Benchmark tables with ground truth: score a genotype without training it (no torch).

>>> from genolang.runtime.benchmarks import load_table, default_table
>>> table = load_table(default_table("nb201").name)      # doctest: +SKIP
>>> table.summary().median                               # doctest: +SKIP
90.4064

Each table module registers its :class:`TableSource` when imported; add NAS-Bench-201's own
files, NATS-Bench or NAS-Bench-301 the same way, as a module imported here.
"""

from . import analognas  # noqa: F401  (registers the table)
from .nb201 import arch_of_genotype
from .score import Score, score_genotype, score_paths
from .table import BenchmarkTable, Summary, TableSource, default_table, load_table, register_table, table_sources

__all__ = ["BenchmarkTable", "Score", "Summary", "TableSource", "arch_of_genotype", "default_table", "load_table",
           "register_table", "score_genotype", "score_paths", "table_sources"]
