"""The search supernet at CPU size: forward/backward for every cell rule and zero
configuration, α layout and names, disjoint parameter sets, template variants, errors."""

import dataclasses

import pytest
import torch

import irfix
from genolang.compiler.build import SearchNetwork
from genolang.compiler.passes.shapes import plan_network
from genolang.compiler.lower.ir import OpSpace, Prim, Selection, Seq, Slot, Sym
from genolang.base.errors import CompileError

B = 2


def tiny(heads=True, **kw):
    t = irfix.tiny_template(**kw)
    return dataclasses.replace(t, distill_after=(t.reduction_indices[0],) if heads else ())


def make(rule="darts", zero="V1", template=None, cells=None, seed=0):
    cells = cells or irfix.darts_cells(select=Selection(rule), zero=zero, nodes=3)
    return SearchNetwork(template or tiny(), cells, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("zero", ["V0", "V1", "V2", "V3", "V4"])
@pytest.mark.parametrize("rule", ["darts", "idarts", "xdarts"])
def test_forward_backward(rule, zero):
    net = make(rule, zero)
    out = net(torch.randn(B, 3, 16, 16))
    assert out.logits.shape == (B, 10)
    assert out.ensemble.shape == (2 * B, 10)           # one distill head + final
    assert out.aux is None
    (out.logits.sum() + out.ensemble.sum()).backward()
    assert all(p.grad is not None for p in net.arch_parameters())
    n_ops = 7 + (zero != "V1")
    assert net.alpha("normal")["n2"].shape == (4, n_ops)
    g = net.genotype()
    expected = {"darts": [2, 2, 2], "idarts": [2, 2, 2], "xdarts": [2, 3, 4]}[rule]
    assert [len(edges) for _, edges in g.cell("normal").nodes] == expected
    if zero == "V0":
        assert all(e.op != "zero" for _, edges in g.cell("reduce").nodes for e in edges)


def test_parameters_disjoint_and_covering():
    net = make()
    arch = {id(p) for p in net.arch_parameters()}
    weights = {id(p) for p in net.weight_parameters()}
    assert not arch & weights
    assert arch | weights == {id(p) for p in net.parameters()}
    names = [n for n, _ in net.named_parameters() if n.startswith("alphas.")]
    assert names == [f"alphas.{c}.n{j}" for c in ("normal", "reduce") for j in range(3)]


def test_alpha_init_is_seedable_and_small():
    a, b, c = make(seed=1), make(seed=1), make(seed=2)
    for pa, pb, pc in zip(a.arch_parameters(), b.arch_parameters(), c.arch_parameters()):
        assert torch.equal(pa, pb) and not torch.equal(pa, pc)
        assert pa.abs().max() < 1e-2


def test_relaxations():
    darts, idarts = make("darts"), make("idarts")
    w = darts.relaxed_weights()["normal"]["n1"]
    torch.testing.assert_close(w.sum(-1), torch.ones(3))
    w = idarts.relaxed_weights()["normal"]["n1"]
    torch.testing.assert_close(w.sum(), torch.tensor(1.0))


def test_parameter_names_follow_the_edges():
    names = {n for n, _ in make().named_parameters()}
    assert "cells.0.n1.c0.sep_conv_3.body.2.weight" in names        # pointwise conv of sep_conv
    assert "cells.0.pre0.1.weight" in names
    assert "cells.2.pre0.conv_1.weight" in names                    # FactorizedReduce after reduction
    assert any(n.startswith("distill_heads.0.") for n in names)


def test_heterogeneous_candidates_per_node():
    space = irfix.darts_space()
    small = OpSpace("small", space.ops[:2])
    dyn = irfix.dynamic_space()
    cells = {}
    for name, red in (("normal", False), ("reduce", True)):
        base = irfix.darts_cell(name, space, reduction=red, nodes=3)
        cells[name] = dataclasses.replace(base, candidates=(("n0", small), ("n1", space), ("n2", dyn)))
    net = make(cells=cells)
    assert [tuple(a.shape) for a in net.alpha("normal").values()] == [(2, 2), (3, 7), (4, 33)]
    net(torch.randn(B, 3, 16, 16)).logits.sum().backward()


def test_identity_stem_and_concat_stem():
    t = dataclasses.replace(tiny(), stem=None)
    net = make(template=t)
    assert net.plan.stem_channels == 3
    net(torch.randn(B, 3, 16, 16))
    t = dataclasses.replace(tiny(), stem=None, stem_concat_input=True)
    net = make(template=t)
    assert net.plan.stem_channels == 6 and net.cells[0].pre0[1].in_channels == 6
    net(torch.randn(B, 3, 16, 16))


def test_reduction_replacement_slot():
    replacement = Seq((Prim("avg_pool", (("k", 3), ("stride", Sym("s")))), Prim("pwconv")))
    t = tiny(heads=False)
    slots = list(t.slots)
    slots[1] = Slot(replacement=replacement, reduction=True)
    net = make(template=dataclasses.replace(t, slots=tuple(slots)))
    row = net.plan.cells[1]
    assert (row.c_out, row.hw_out) == (8, (8, 8))
    assert net.plan.cells[2].reduction_prev
    assert net(torch.randn(B, 3, 16, 16)).logits.shape == (B, 10)


def test_no_heads_ensemble_is_logits():
    out = make(template=tiny(heads=False))(torch.randn(B, 3, 16, 16))
    assert out.ensemble is out.logits


def test_ensemble_weights_are_a_third():
    net = make(template=irfix.template("h", cells=5, channels=4, input_shape=(3, 32, 32), distill=True))
    assert torch.allclose(torch.softmax(net.ensemble_logits, 0), torch.full((3,), 1 / 3))
    assert "ensemble_logits" not in dict(net.named_parameters())


def test_eight_cell_search_network_shapes():
    plan = plan_network(irfix.search_template(), irfix.darts_cells())
    assert [r.c_out for r in plan.cells] == [64, 64, 128, 128, 128, 256, 256, 256]
    assert [r.hw_out[0] for r in plan.cells] == [32, 32, 16, 16, 16, 8, 8, 8]
    assert [h.after for h in plan.heads] == [2, 5]


# ----------------------------------------------------------------------------- errors


def test_stride_incapable_op_on_reduce_cell():
    space = irfix.darts_space()
    fixed = irfix.op("plain_relu", Prim("relu"))           # no `s`, no stride-2 branch
    bad = OpSpace("bad", space.ops + (("plain_relu", fixed),))
    cells = {"normal": irfix.darts_cell("normal", bad), "reduce": irfix.darts_cell("reduce", bad, reduction=True)}
    with pytest.raises(CompileError, match="`plain_relu` cannot take stride 2"):
        make(cells=cells)


def test_wrong_channel_count():
    space = irfix.darts_space()
    wide = irfix.op("wide", Prim("conv", (("k", 3), ("out", 7), ("stride", Sym("s")))))
    bad = OpSpace("bad", space.ops + (("wide", wide),))
    with pytest.raises(CompileError, match=r"produces 7x16x16, the node needs 4x16x16") as info:
        make(cells={"normal": irfix.darts_cell("normal", bad), "reduce": irfix.darts_cell("reduce", bad, reduction=True)})
    assert "out=C" in info.value.hint


def test_head_position_errors():
    with pytest.raises(CompileError, match="cells 0..4"):
        make(template=dataclasses.replace(tiny(), distill_after=(9,)))
    with pytest.raises(CompileError, match="needs at least 8x8"):
        make(template=dataclasses.replace(tiny(), distill_after=(3,)))


def test_unknown_cell_name():
    t = tiny()
    t = dataclasses.replace(t, slots=(Slot("norml"),) + t.slots[1:])
    with pytest.raises(CompileError, match="cell `norml`") as info:
        make(template=t)
    assert "`normal`" in info.value.hint


def test_odd_resolution_before_factorized_reduce():
    with pytest.raises(CompileError, match="even"):
        make(template=irfix.tiny_template(input_shape=(3, 14, 14)))


def test_cells_read_two_inputs_or_one():
    cells = irfix.darts_cells(nodes=2)
    cells["normal"] = dataclasses.replace(cells["normal"], inputs=("c0", "c1", "c2"))
    with pytest.raises(CompileError, match="has 3 inputs; a cell reads two .* or one"):
        make(cells=cells)


def test_stage_specific_cells_get_their_own_alpha():
    cells = irfix.darts_cells(nodes=2)
    cells["stage2.normal"] = cells["normal"]
    net = SearchNetwork(tiny(), cells, trainable_ensemble=True)
    assert [r.key for r in net.plan.cells] == ["normal", "reduce", "stage2.normal", "reduce", "normal"]
    assert "alphas.stage2_normal.n1" in dict(net.named_parameters())
    assert set(dict(net.genotype().cells)) == {"normal", "reduce", "stage2.normal"}
    assert any(p is net.ensemble_logits for p in net.weight_parameters())


def test_channels_last_computes_the_same():
    net = make()
    x = torch.randn(B, 3, 16, 16)
    net.eval()
    expected = net(x).logits
    net.use_channels_last()
    torch.testing.assert_close(net(x).logits, expected, rtol=1e-4, atol=1e-5)
    net.train()(x).logits.sum().backward()
