"""CPU-sized search and evaluation networks, data and configs for the runtime tests."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compiler"))
import irfix  # noqa: E402

from genolang.compiler.experiment import ExperimentConfig  # noqa: E402
from genolang.compiler.ir import Selection  # noqa: E402
from genolang.runtime.search import SearchData  # noqa: E402

SIZE = 16


def templates(search_cells: int = 5, eval_cells: int = 6, heads: bool = True, classes: int = 10):
    """Search net: 5 cells (reductions 1, 3); eval net: 6 cells (reductions 2, 4); C=4, 16×16.

    Distill heads need an 8×8 input, so each net has one, after its first reduction."""
    s = irfix.tiny_template(cells=search_cells, input_shape=(3, SIZE, SIZE), classes=classes)
    e = irfix.tiny_template(cells=eval_cells, input_shape=(3, SIZE, SIZE), classes=classes)
    s = dataclasses.replace(s, name="tiny_search", distill_after=(s.reduction_indices[0],) if heads else ())
    e = dataclasses.replace(e, name="tiny_eval", distill_after=(e.reduction_indices[0],) if heads else ())
    return s, e


def cells(rule: str = "darts", zero: str = "V1", nodes: int = 2):
    return irfix.darts_cells(nodes=nodes, select=Selection(rule), zero=zero)


def data(n: int = 32, classes: int = 10, seed: int = 0, test: int = 8) -> SearchData:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n + test, 3, SIZE, SIZE, generator=g)
    y = torch.randint(0, classes, (n + test,), generator=g)
    h = n // 2
    return SearchData(x[:h], y[:h], x[h:n], y[h:n], x[n:], y[n:])


def config(**sections) -> ExperimentConfig:
    """Two full cycles at tiny size: 1 pre-training epoch, 2 search epochs, batch 16."""
    base = {"search": {"epochs": 2, "pretrain_epochs": 1, "batch": 16}, "device": "cpu"}
    for key, value in sections.items():
        if isinstance(value, dict):
            base.setdefault(key, {}).update(value)
        else:
            base[key] = value
    return ExperimentConfig.model_validate(base)
