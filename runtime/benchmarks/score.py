"""Scores: a genotype's cell looked up in a benchmark table, with its rank among all cells."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from genolang.base.errors import UserError
from genolang.base.safe_files import received_spec
from genolang.grammar import parse_file
from genolang.grammar import syntax as S

from .nb201 import SPACE, arch_of_genotype
from .table import BenchmarkTable

__all__ = ["Score", "score_genotype", "score_paths", "genotype_file"]


@dataclass(frozen=True)
class Score:
    """One genotype's table accuracy (%), its rank (1 = best) and the share (%) of cells below it."""

    where: str
    genotype: str
    cell: str
    accuracy: float
    rank: int
    percentile: float
    cells: int
    table: str


def score_genotype(table: BenchmarkTable, definition: S.GenotypeDef, where: str = "") -> Score:
    """The table's verdict on a genotype of the table's space (a located UserError otherwise).

    Example:
        >>> score_genotype(load_table("analognas"), genotype).rank     # doctest: +SKIP
        3
    """
    if table.source.space != SPACE:   # only NAS-Bench-201 cells can be mapped so far
        raise UserError(f"benchmark table `{table.source.name}` scores space `{table.source.space}`, "
                        f"which genolang cannot map genotypes onto yet")
    cell = arch_of_genotype(definition)
    accuracy = table.accuracy(cell)
    return Score(where, definition.name, cell, accuracy, table.rank(accuracy), table.percentile(accuracy),
                 len(table), table.source.name)


def genotype_file(path: Path) -> Path:
    """``path`` itself for a file, ``path/genotype.geno`` for a run directory (a received
    directory: its genotype is read only as a plain file inside it, never through a link)."""
    if path.is_dir():
        if os.path.lexists(path / "genotype.geno"):
            return received_spec(path, "genotype.geno")
        raise UserError(f"{path} is a folder without genotype.geno",
                        hint="give a genotype .geno file or a run directory that `geno search` or `geno train` wrote")
    if not path.is_file():
        raise UserError(f"no such file or run directory: {path}", hint="check the path")
    return path


def score_paths(table: BenchmarkTable, paths: list[Path]) -> list[Score]:
    """Every genotype of every given .geno file or run directory, scored in order."""
    scores = []
    for path in paths:
        file = genotype_file(Path(path))
        genotypes = [i for i in parse_file(file).items if isinstance(i, S.GenotypeDef)]
        if not genotypes:
            raise UserError(f"{file} defines no genotype", hint="score reads `genotype NAME { ... }` blocks")
        scores += [score_genotype(table, g, str(path)) for g in genotypes]
    return scores
