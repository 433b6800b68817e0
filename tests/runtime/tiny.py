"""CPU-sized search and evaluation networks, data and configs for the runtime tests."""

from __future__ import annotations

import dataclasses

import torch

import irfix

from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.compiler.lower.ir import Selection
from genolang.runtime.search.loop import SearchData

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


# the macro phase's spec program is compiler-level text: it lives beside the IR fixtures
MACRO_CELLS, MACRO_NETWORK, MACRO_GENOTYPE = irfix.MACRO_CELLS, irfix.MACRO_NETWORK, irfix.MACRO_GENOTYPE


# A tiny study spec (digits at 16x16, 48 images, 3 search epochs of one step, 2 retraining
# epochs): what `geno repeat` tests run; TOURNAMENT adds a 2-tier tournament experiment.
STUDY_SPEC = '''use "spaces.geno"

cell normal {
  nodes 2
  edges from darts
  select darts top 2
  zero V1
}

cell reduce like normal {
  reduction
}

network tiny_search {
  input 1x16x16
  classes 10
  channels 4
  stem conv(k=3, out=3 * C) >> bn
  cells 3 reduce at 1
  heads distill after 1
}

network tiny_retrain {
  input 1x16x16
  classes 10
  channels 4
  stem conv(k=3, out=3 * C) >> bn
  cells 3 reduce at 1
  heads none
}

experiment tiny {
  data {
    kind = digits
    size = 16
    limit = 48
    test_limit = 16
  }
  templates {
    search = tiny_search
    eval = tiny_search
    retrain = tiny_retrain
    cells = [normal, reduce]
    space = darts
  }
  algorithm {
    name = icdarts
  }
  search {
    epochs = 3
    pretrain_epochs = 0
    batch = 16
    steps_per_epoch = 1
  }
  retrain {
    epochs = 2
    batch = 16
    steps_per_epoch = 1
    cutout = 0
  }
  device = "cpu"
  seed = 0
}
'''

TOURNAMENT = STUDY_SPEC.replace("experiment tiny {", "experiment tiny_tournament {").replace(
    "  seed = 0\n}", "  tournament {\n    tiers = 2\n    o_max = 3\n    pool = darts\n  }\n  seed = 0\n}")
