"""`geno score GENOTYPE...`: a genotype's accuracy in a benchmark table, its rank and percentile (no torch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app


def _header(table) -> list[str]:
    s = table.summary()
    return [f"table {table.source.name}: {table.source.title}",
            f"  accuracies are {table.source.caveat}",
            f"  all {s.n:,} cells: mean {s.mean:.2f}, sd {s.sd:.2f}, median {s.median:.2f}, "
            f"90th percentile {s.p90:.2f}, max {s.max:.2f}",
            "  rank 1 is the best cell; percentile is the share (%) of all cells that score lower", ""]


def _rows(scores) -> list[str]:
    heads = ("genotype", "accuracy (%)", "rank", "percentile", "cell")
    rows = [(f"{s.where} ({s.genotype})" if s.where else s.genotype, f"{s.accuracy:.2f}",
             f"{s.rank:,} of {s.cells:,}", f"{s.percentile:.2f}", s.cell) for s in scores]
    widths = [max(len(r[i]) for r in [heads, *rows]) for i in range(len(heads) - 1)]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in [heads, *rows]]


@app.command()
def score(
    genotypes: List[Path] = typer.Argument(..., metavar="GENOTYPE...", help="Genotype .geno files or run directories."),
    table_name: Optional[str] = typer.Option(None, "--table", help="Benchmark table (default: the installed table of "
                                                                    "the NAS-Bench-201 space, `analognas`)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per genotype instead of the table."),
) -> None:
    """Look each genotype's cell up in a benchmark table of all NAS-Bench-201 cells: its accuracy,
    its rank (1 = best) and its percentile (the share of all cells that score lower), without
    training. The `analognas` table (pip install 'genolang[bench]') holds AnalogNAS-Bench's
    digital baseline CIFAR-10 accuracies after its own 200-epoch training, not NAS-Bench-201's
    published numbers. A genotype outside the NAS-Bench-201 space is an error (exit 2)."""
    from genolang.runtime.benchmarks import default_table, load_table, score_paths

    table = load_table(table_name or default_table("nb201").name)
    scores = score_paths(table, list(genotypes))
    if as_json:
        for s in scores:
            typer.echo(json.dumps({"genotype": s.genotype, "where": s.where, "cell": s.cell, "accuracy": s.accuracy,
                                   "rank": s.rank, "percentile": s.percentile, "cells": s.cells, "table": s.table,
                                   "caveat": table.source.caveat}))
        return
    typer.echo("\n".join(_header(table) + _rows(scores)))
