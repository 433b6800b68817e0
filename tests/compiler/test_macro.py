"""Hierarchical ICDARTS macro networks (icdarts-spec §4.6, A20) and macro derivation."""

from __future__ import annotations

import pytest
import torch

from genolang.compiler.build.macro import (
    MacroEvalNetworkV1, MacroEvalNetworkV2, MacroSearchNetworkV1, MacroSearchNetworkV2, build_macro_eval,
    build_macro_search, macro_template, skip_sources,
)
from genolang.compiler.genotype.derive_macro import (
    attach_macro, check_choice, choice_v1, choice_v2, default_skips, derive_macro, macro_summary,
)
from genolang.compiler.lower.ir import MacroChoice
from genolang.compiler.lower.program import loads
from genolang.compiler.genotype.raise_ import genotype_text
from genolang.base.errors import CompileError

import irfix

# C = 4, 16x16, depth 5 (reductions at 1 and 3), a distill head after cell 1.
SPEC = irfix.MACRO_CELLS + irfix.MACRO_NETWORK % "3x16x16" + irfix.MACRO_GENOTYPE


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def program():
    return loads(SPEC)


@pytest.fixture
def parts(program):
    return program.templates["tiny"], program.genotypes["micro"]


def _x(n: int = 4) -> torch.Tensor:
    return torch.randn(n, 3, 16, 16, generator=torch.Generator().manual_seed(1))


def _check_fwd_bwd(net):
    out = net(_x())
    assert out.logits.shape == (4, 10)
    assert out.ensemble.shape == (8, 10)             # one distill head + the final classifier
    out.ensemble.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.arch_parameters())
    assert any(p.grad is not None for p in net.weight_parameters())


def test_v1_forward_backward(parts):
    net = MacroSearchNetworkV1(*parts, depth=5, generator=torch.Generator().manual_seed(0))
    assert [g is None for g in net.gammas()] == [True, True, False, False, False]
    assert [tuple(g.shape) for g in net.arch_parameters()] == [(2,), (3,), (4,)]
    _check_fwd_bwd(net)


def test_v2_forward_backward(parts):
    net = MacroSearchNetworkV2(*parts, ("a", "b"), depth=5, generator=torch.Generator().manual_seed(0))
    assert tuple(net.gamma.shape) == (5, 2)
    _check_fwd_bwd(net)


@pytest.mark.parametrize("cls,args", [(MacroSearchNetworkV1, ()), (MacroSearchNetworkV2, (("a", "b"),))])
def test_gamma_and_weights_disjoint(parts, cls, args):
    net = cls(*parts, *args)
    arch = {id(p) for p in net.arch_parameters()}
    weights = {id(p) for p in net.weight_parameters()}
    assert arch and weights and not arch & weights
    assert arch | weights == {id(p) for p in net.parameters()}
    names = {n for n, p in net.named_parameters() if id(p) in arch}
    assert all(n.startswith("gamma") for n in names)


def test_v1_gamma_init_favours_nearest_skip(parts):
    net = MacroSearchNetworkV1(*parts, beta=2.0)
    for k, g in enumerate(net.gammas()):
        if g is None:
            continue
        expected = torch.tensor([-2.0 * (k - 2 - m) for m in skip_sources(k)])
        assert torch.allclose(g.detach(), expected, atol=1e-2)
    assert net.choice() == MacroChoice(1, skips=default_skips(5))


def test_v1_one_hot_equals_discrete(parts):
    torch.manual_seed(0)
    search = MacroSearchNetworkV1(*parts, affine=False)
    skips = (-1, -1, -1, 1, 0)
    discrete = MacroEvalNetworkV1(*parts, skips, affine=False)
    result = discrete.load_state_dict(search.state_dict(), strict=False)
    assert result.missing_keys == []                 # every discrete weight comes from the supernet
    assert set(discrete.state_dict()) < set(search.state_dict())
    search.eval(), discrete.eval()
    x = _x()
    a, b = search(x, search.hard_weights(skips)), discrete(x)
    assert torch.equal(a.logits, b.logits) and torch.equal(a.ensemble, b.ensemble)
    # γ made one-hot through its softmax gives the same network
    with torch.no_grad():
        for k, g in enumerate(search.gammas()):
            if g is not None:
                g.fill_(-1e4)
                g[skip_sources(k).index(skips[k])] = 0.0
    assert torch.equal(search(x).logits, b.logits)
    assert search.choice() == MacroChoice(1, skips=skips)


def test_v2_one_hot_equals_discrete(parts):
    torch.manual_seed(0)
    search = MacroSearchNetworkV2(*parts, ("a", "b"), affine=False)
    types = ("b", "a", "a", "b", "b")
    discrete = MacroEvalNetworkV2(*parts, types, affine=False)
    assert discrete.load_state_dict(search.state_dict(), strict=False).missing_keys == []
    search.train(), discrete.train()                 # batch statistics: still the same path
    x = _x()
    a, b = search(x, search.hard_weights(types)), discrete(x)
    assert torch.equal(a.logits, b.logits) and torch.equal(a.ensemble, b.ensemble)
    with torch.no_grad():
        search.gamma.copy_(search.hard_weights(types) * 1e4)
    assert search.choice() == MacroChoice(2, types=types)


def test_discrete_networks_train(parts):
    for net in (MacroEvalNetworkV1(*parts, [-1, -1, 0, -1, 2]), MacroEvalNetworkV2(*parts, ["a"] * 5)):
        net.drop_path_prob = 0.2
        out = net(_x())
        (out.logits.sum() + out.ensemble.sum()).backward()
        assert net.arch_parameters() == []


def test_derivation():
    gammas = [None, None, torch.tensor([0.3, 0.1]), torch.tensor([0.0, 2.0, 1.0]), torch.tensor([1.0, 1.0, 0, 0])]
    assert choice_v1(gammas) == MacroChoice(1, skips=(-1, -1, -1, 0, -1))   # ties: earlier source
    assert derive_macro(1, gammas) == choice_v1(gammas)
    gamma = torch.tensor([[0.0, 1.0], [2.0, 1.0], [0.5, 0.5]])
    assert choice_v2(gamma, ("a", "b")) == MacroChoice(2, types=("b", "a", "a"))
    with pytest.raises(CompileError):
        choice_v1([None, None, torch.zeros(3)])
    with pytest.raises(CompileError):
        choice_v2(gamma, ("a", "b", "c"))
    assert macro_summary(MacroChoice(1, skips=(-1, -1, -1, 0))) == "macro v1 skips: 2<-stem 3<-c0"


def test_check_choice(program):
    spec = program.macros["skips"]
    check_choice(MacroChoice(1, skips=(-1, -1, 0, 1, -1)), spec)
    for bad in (MacroChoice(1, skips=(-1, -1, 1, 1, -1)), MacroChoice(1, skips=(-1, -1)), MacroChoice(2, types=())):
        with pytest.raises(CompileError):
            check_choice(bad, spec)
    place = program.macros["place"]
    check_choice(MacroChoice(2, types=("a", "b", "a", "a", "b")), place)
    with pytest.raises(CompileError):
        check_choice(MacroChoice(2, types=("a", "c", "a", "a", "b")), place)


def test_attach_and_print_round_trip(program):
    micro = program.genotypes["micro"]
    choice = MacroChoice(1, skips=(-1, -1, 0, -1, 2))
    g = attach_macro(micro, choice, name="found", provenance=(("macro", "skips"),))
    assert g.macro == choice and g.name == "found" and dict(g.provenance)["macro"] == "skips"
    assert micro.macro is None
    back = loads(genotype_text(g)).genotypes["found"]
    assert back.macro == choice
    typed = attach_macro(micro, MacroChoice(2, types=("a", "b", "b", "a", "a")))
    assert loads(genotype_text(typed)).genotypes["micro"].macro == typed.macro


def test_factories_and_genotype_choice(program, parts):
    template, micro = parts
    for spec_name, choice in (("skips", MacroChoice(1, skips=(-1, -1, 0, 0, 1))),
                              ("place", MacroChoice(2, types=("a", "a", "b", "b", "a")))):
        spec = program.macros[spec_name]
        search = build_macro_search(spec, template, micro, beta=1.0)
        assert search.version == spec.version
        net = build_macro_eval(spec, template, attach_macro(micro, choice))
        assert net.choice_ == choice
        with pytest.raises(CompileError):
            build_macro_eval(spec, template, micro, MacroChoice(3 - spec.version, (-1,), ("a",)))


def test_depth_rescales_template(parts):
    template, micro = parts
    t8 = macro_template(template, 8)
    assert len(t8.slots) == 8 and t8.reduction_indices == (1, 4) and t8.distill_after == (1,)
    net = MacroSearchNetworkV1(template, micro, depth=8)
    assert len(net.gammas()) == 8
    with pytest.raises(CompileError):
        macro_template(template, 1)


def test_errors(parts):
    template, micro = parts
    with pytest.raises(CompileError, match="no cell type"):
        MacroSearchNetworkV2(template, micro, ("a", "zzz"))
    with pytest.raises(CompileError, match="reduction cell"):
        MacroSearchNetworkV2(template, micro, ("a", "reduce"))
    with pytest.raises(CompileError):
        MacroEvalNetworkV1(template, micro, [-1, -1, 1, 0, 0])     # cell 2 cannot read c1
    with pytest.raises(CompileError):
        MacroEvalNetworkV2(template, micro)                       # no macro block, no types
