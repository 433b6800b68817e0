"""A network's `tail` (before the global pool and classifier) and the pools' `pad`."""

from __future__ import annotations

import pytest
import torch

from genolang.api import compile_eval, loads
from genolang.compiler.lower.ir import Prim
from genolang.compiler.lower.primitives import expr_shape
from genolang.base.errors import GenolangError

SPEC = """use "spaces.geno"

network net {{
  input 3x16x16
  classes 5
  channels 8
  stem conv(k=3) >> bn
  cells 2
  heads none
  {tail}
}}

genotype g {{
  space darts
  template net
  cell normal {{
    n0 = {op}(c0) + skip(c1)
  }}
}}
"""


def build(tail: str = "", op: str = "avg_pool_3"):
    return compile_eval(loads(SPEC.format(tail=tail, op=op), "<tail test>"))


def test_tail_runs_before_the_pool_and_sets_the_classifier_width():
    plain, tailed = build(), build("tail pwconv(out=24) >> bn >> relu")
    assert plain.classifier.linear.in_features == 8 and tailed.classifier.linear.in_features == 24
    extra = sum(p.numel() for p in tailed.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == 8 * 24 + 2 * 24 + (24 - 8) * 5            # 1x1 conv, BN, wider linear
    assert list(dict(plain.named_parameters())) == [n for n in dict(plain.named_parameters())
                                                   if not n.startswith("classifier.tail")]
    x = torch.randn(2, 3, 16, 16)
    tailed.eval()
    features = tailed.cells[-1](tailed.stem(x), tailed.cells[0](tailed.stem(x), tailed.stem(x)))
    expected = tailed.classifier.linear(tailed.classifier.tail(features).mean((2, 3)))
    torch.testing.assert_close(tailed(x).logits, expected)


def test_a_tail_that_cannot_apply_is_an_error_naming_it():
    with pytest.raises(GenolangError, match="network `net`, tail: .*groups=3 must divide"):
        build("tail conv(k=1, groups=3)")


def test_pool_pad():
    assert expr_shape(Prim("avg_pool", (("k", 2), ("stride", 2), ("pad", 0))), (4, 16, 16), {}) == (4, 8, 8)
    assert expr_shape(Prim("avg_pool", (("k", 2), ("stride", 2))), (4, 16, 16), {}) == (4, 9, 9)   # k//2 = 1
    with pytest.raises(GenolangError, match=r"pool `pad` must be an integer from 0 to k//2 = 1, got 2"):
        expr_shape(Prim("max_pool", (("k", 3), ("pad", 2))), (4, 16, 16), {})
