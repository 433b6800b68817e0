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


# A spec program for the macro phase (hierarchical ICDARTS): micro cells, a 5-cell template
# with one distill head, a skip-connection macro (v1) and a placement macro (v2), a genotype.
# MACRO_NETWORK takes the input shape (``MACRO_NETWORK % "3x16x16"``).
MACRO_CELLS = """
use "spaces.geno"

cell normal {
  nodes 2
  edges from darts
  select darts top 2
}
cell reduce like normal {
  reduction
}
cell a like normal {}
cell b like normal {}
"""

MACRO_NETWORK = """
network tiny {
  input %s
  classes 10
  channels 4
  stem conv(k=3, out=3 * C) >> bn
  cells 5 reduce at 1, 3
  heads distill after 1
}

macro skips version 1 {
  template tiny
  depth 5
}

macro place version 2 {
  template tiny
  types a, b
  depth 5
}
"""

MACRO_GENOTYPE = """
genotype micro {
  space darts
  cell normal {
    n0 = sep_conv_3(c0) + skip(c1)
    n1 = max_pool_3(n0) + skip(c0)
  }
  cell reduce {
    reduction
    n0 = max_pool_3(c0) + sep_conv_3(c1)
    n1 = skip(n0) + avg_pool_3(c1)
  }
  cell a {
    n0 = sep_conv_3(c0) + skip(c1)
    n1 = max_pool_3(n0) + skip(c0)
  }
  cell b {
    n0 = dil_conv_3(c0) + avg_pool_3(c1)
    n1 = skip(n0) + sep_conv_3(c1)
  }
}
"""


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
