"""The discrete network: DARTS_V2 parameter count, heads, drop path, zero configurations,
nodes without edges, stage-specific cells, stable parameter names."""

import dataclasses

import pytest
import torch

import irfix
from genolang.compiler.build import EvalNetwork, load_matching
from genolang.compiler.build.discrete import apply_phase
from genolang.compiler.lower.ir import Genotype
from genolang.base.errors import CompileError

B = 2


def tiny(**kw):
    t = irfix.tiny_template(**kw)
    return dataclasses.replace(t, aux_after=t.reduction_indices[0])


def test_darts_v2_parameter_count():
    """Reference (DARTS paper / train.py): 3.35 M without the aux head, 3.83 M with it."""
    net = EvalNetwork(irfix.retrain_template(), irfix.darts_v2())
    total = sum(p.numel() for p in net.parameters())
    without_aux = total - sum(p.numel() for p in net.aux_head.parameters())
    assert abs(without_aux - 3.35e6) / 3.35e6 < 0.01
    assert abs(total - 3.83e6) / 3.83e6 < 0.01
    assert net.plan.classifier_in == 576
    assert net.plan.heads[0].hw == (8, 8) and net.plan.heads[0].after == 13


def test_train_and_eval_outputs():
    net = EvalNetwork(tiny(), irfix.darts_v2())
    x = torch.randn(B, 3, 16, 16)
    out = net.train()(x)
    assert out.logits.shape == out.aux.shape == (B, 10)
    assert out.ensemble is out.logits
    (out.logits.sum() + 0.4 * out.aux.sum()).backward()
    assert net.eval()(x).aux is None


def test_drop_path_in_training_only():
    net = EvalNetwork(tiny(), irfix.darts_v2())
    net.drop_path_prob = 0.5
    x = torch.randn(4, 3, 16, 16)
    net.eval()
    torch.testing.assert_close(net(x).logits, net(x).logits)
    net.train()
    torch.manual_seed(0)
    a = net(x).logits
    torch.manual_seed(1)
    assert not torch.allclose(a, net(x).logits)
    a.sum().backward()
    with pytest.raises(ValueError):
        net.drop_path_prob = 1.0


def test_drop_path_default_from_template():
    net = EvalNetwork(dataclasses.replace(tiny(), drop_path=0.2), irfix.darts_v2())
    assert net.drop_path_prob == 0.2


def _cells_with(normal_nodes, zero, extra=None):
    normal = irfix.geno_cell("normal", normal_nodes, zero=zero, extra_ops=extra)
    reduce = irfix.darts_v2().cell("reduce")
    return Genotype("g", (("normal", normal), ("reduce", dataclasses.replace(reduce, zero=zero))))


RANDOM_NODES = [[("random", "c0"), ("sep_conv_3", "c1")], [("zero", "n0"), ("skip", "c1")]]


@pytest.mark.parametrize("zero, phase, n0_ops, n1_ops", [
    ("V0", "eval", ["random", "sep_conv_3"], ["skip"]),          # zero edges excluded
    ("V2", "retrain", ["random", "sep_conv_3"], ["zero", "skip"]),
    ("V3", "eval", ["random", "sep_conv_3"], ["zero", "skip"]),
    ("V3", "retrain", ["zero", "sep_conv_3"], ["zero", "skip"]),   # random -> zero at retraining
    ("V4", "eval", ["zero", "sep_conv_3"], ["zero", "skip"]),
])
def test_zero_configurations(zero, phase, n0_ops, n1_ops):
    genotype = _cells_with(RANDOM_NODES, zero)
    cell = apply_phase(genotype.cell("normal"), phase)
    assert [e.op for e in cell.edges_of("n0")] == n0_ops
    assert [e.op for e in cell.edges_of("n1")] == n1_ops
    net = EvalNetwork(tiny(), genotype, phase=phase)
    net(torch.randn(B, 3, 16, 16)).logits.sum().backward()


def test_node_without_edges_is_zeros():
    genotype = _cells_with([[("sep_conv_3", "c0")], [], [("skip", "n1")]], "V1")
    net = EvalNetwork(tiny(), genotype)
    states = []
    cell = net.cells[0]
    cell.n1.register_forward_hook(lambda m, i, o: states.append(o))
    net(torch.randn(B, 3, 16, 16))
    assert states[0].shape == (B, 4, 16, 16) and not states[0].any()


def test_stage_specific_cells_are_looked_up_first():
    g = irfix.darts_v2()
    special = irfix.geno_cell("normal", [[("max_pool_3", "c0"), ("avg_pool_3", "c1")]] * 4)
    genotype = dataclasses.replace(g, cells=g.cells + (("stage3.normal", special),))
    net = EvalNetwork(irfix.tiny_template(), genotype)
    stages = [(r.stage, r.key) for r in net.plan.cells]
    assert stages == [(1, "normal"), (1, "reduce"), (2, "normal"), (2, "reduce"), (3, "stage3.normal")]
    assert not any(p.numel() for p in net.cells[4].n0.parameters())


def test_weights_persist_by_name_across_regenerated_networks():
    first = EvalNetwork(tiny(), irfix.darts_v2(), affine=False)
    second_geno = _cells_with([[("sep_conv_3", "c0"), ("dil_conv_5", "c1")]] * 4, "V1")
    second = EvalNetwork(tiny(), second_geno, affine=False)
    missing = load_matching(second, first.state_dict())
    assert "cells.0.n0.c0.sep_conv_3.body.1.weight" not in missing
    assert "cells.0.n0.c1.dil_conv_5.body.1.weight" in missing
    torch.testing.assert_close(second.state_dict()["cells.0.n0.c0.sep_conv_3.body.1.weight"],
                               first.state_dict()["cells.0.n0.c0.sep_conv_3.body.1.weight"])


def test_unknown_op_and_source_in_genotype():
    with pytest.raises(CompileError, match="unknown operation `sep_conv_9`"):
        EvalNetwork(tiny(), _cells_with([[("sep_conv_9", "c0")]], "V1"))
    with pytest.raises(CompileError, match="`n3` is not an input or an earlier node"):
        EvalNetwork(tiny(), _cells_with([[("skip", "n3")]], "V1"))


def test_unknown_phase():
    with pytest.raises(CompileError, match="unknown phase"):
        EvalNetwork(tiny(), irfix.darts_v2(), phase="search")
