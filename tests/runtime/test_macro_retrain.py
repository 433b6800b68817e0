"""A genotype carrying macro choices (from hierarchical search) builds its macro network."""

import dataclasses

import torch

import genolang
from genolang.compiler.build.macro import MacroEvalNetworkV1, MacroEvalNetworkV2
from genolang.compiler.lower.ir import MacroChoice, NetworkTemplate, Slot

SPEC = '''
use "spaces.geno"

network tiny {
  input 3x16x16
  classes 4
  channels 4
  cells 5 reduce at 1, 3
}

genotype g {
  space darts
  template tiny
  macro {
    version = 1
    skips = [-1, -1, 0, 1, 2]
  }
  cell normal {
    n0 = sep_conv_3(c0) + skip(c1)
    n1 = max_pool_3(n0) + skip(c1)
  }
  cell other {
    n0 = skip(c0) + sep_conv_3(c1)
    n1 = skip(n0) + dil_conv_3(c1)
  }
  cell reduce {
    reduction
    n0 = max_pool_3(c0) + skip(c1)
    n1 = avg_pool_3(n0) + skip(c1)
  }
}
'''


def test_macro_genotype_compiles_to_its_macro_network(tmp_path):
    path = tmp_path / "g.geno"
    path.write_text(SPEC)
    program = genolang.load(path)
    genotype = program.genotypes["g"]
    assert genotype.macro == MacroChoice(1, skips=(-1, -1, 0, 1, 2))
    net = genolang.compile_eval(program, "g")
    assert isinstance(net, MacroEvalNetworkV1)
    assert list(net.skips) == [-1, -1, 0, 1, 2]
    out = net(torch.randn(2, 3, 16, 16))
    out.logits.sum().backward()
    assert out.logits.shape == (2, 4)


def test_version2_choice_builds_one_type_per_depth(tmp_path):
    path = tmp_path / "g.geno"
    path.write_text(SPEC)
    program = genolang.load(path)
    genotype = dataclasses.replace(program.genotypes["g"],
                                   macro=MacroChoice(2, types=("normal", "other", "other", "normal", "other")))
    net = genolang.compile_eval(program, genotype)
    assert isinstance(net, MacroEvalNetworkV2)
    assert net(torch.randn(2, 3, 16, 16)).logits.shape == (2, 4)
