"""Parallel identical edges: legal in a discrete genotype (each copy has its own weights),
an error in a search network (one α entry per (source, operation) pair)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genolang.api import compile_eval, compile_search, load, loads
from genolang.base.errors import CompileError

ROOT = Path(__file__).resolve().parents[2]

SPEC = """use "spaces.geno"

network tiny {
  input 3x16x16
  classes 10
  channels 8
  cells 3 reduce at 1
  heads none
}

cell normal {
  nodes 2
  edges from darts
}

cell reduce like normal {
  reduction
}

genotype twice {
  space darts
  cell normal {
    n0 = sep_conv_3(c0) + sep_conv_3(c0)
    n1 = skip(n0) + skip(n0)
  }
  cell reduce {
    reduction
    n0 = sep_conv_3(c0) + sep_conv_3(c1)
    n1 = max_pool_3(c1) + max_pool_3(c1)
  }
}

genotype once {
  space darts
  cell normal {
    n0 = sep_conv_3(c0) + sep_conv_3(c1)
    n1 = skip(n0) + skip(c1)
  }
  cell reduce {
    reduction
    n0 = sep_conv_3(c0) + sep_conv_3(c1)
    n1 = max_pool_3(c1) + max_pool_3(c0)
  }
}
"""


def test_each_copy_of_a_repeated_edge_has_its_own_weights():
    program = loads(SPEC, "<parallel>")
    twice, once = compile_eval(program, "twice", "tiny"), compile_eval(program, "once", "tiny")
    assert sum(p.numel() for p in twice.parameters()) == sum(p.numel() for p in once.parameters())
    node = twice.cells[0].n0["c0"]
    assert list(node) == ["sep_conv_3", "sep_conv_3__2"]
    first, second = node["sep_conv_3"], node["sep_conv_3__2"]
    assert first is not second and all(a.data_ptr() != b.data_ptr()
                                       for a, b in zip(first.parameters(), second.parameters()))
    x = torch.randn(2, 8, 16, 16)
    states = [x, x]
    torch.testing.assert_close(twice.cells[0].n0.eval()(states), first(x) + second(x))
    assert twice.eval()(torch.randn(2, 3, 16, 16)).logits.shape == (2, 10)


def test_a_repeated_edge_cannot_select_a_search_edge_twice():
    program = loads(SPEC, "<parallel>")
    supernet = compile_search(program, "tiny")
    supernet.hard_weights(program.genotypes["once"])
    with pytest.raises(CompileError, match=r"c0 -> n0 \(`sep_conv_3`\) appears twice; in the search network") as info:
        supernet.hard_weights(program.genotypes["twice"])
    assert "discrete network" in info.value.hint


@pytest.mark.parametrize("name", ["nasnet_a", "amoebanet_a"])
def test_nasnet_and_amoebanet_compile(name):
    net = compile_eval(load(ROOT / "specs" / "zoo" / f"{name}.geno")).eval()
    assert net(torch.randn(1, 3, 32, 32)).logits.shape == (1, 10)
    if name == "nasnet_a":                      # n3 = avg_pool_3(c0) + avg_pool_3(c0)
        assert list(net.cells[0].n3["c0"]) == ["avg_pool_3", "avg_pool_3__2"]
