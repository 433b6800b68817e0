"""The summary from shapes (compiler/passes/cost.py, no torch) equals what the built modules measure.

Parameters and α: every zoo genotype and every network the spec library plans (each distinct
one once; building the large supernets -- search cells on the 20-cell evaluation and
retraining templates, up to 900 M weights -- takes minutes, so those run with GENO_SLOW=1). Multiply-adds (forward hooks on Conv2d/Linear, the same definition) and the
activation memory (autograd's saved tensors): a set of networks that covers every cell kind,
zero configuration, side head and primitive family; they agree exactly, and the test allows
0.5 % on activations for the per-channel vectors of a future batch-norm kernel.
"""

import os
from pathlib import Path

import pytest

import genolang
from genolang.compiler.build.measure import build_network, measure_network
from genolang.compiler.build.measure import summarize
from genolang.compiler.passes.verify import planned_networks
from genolang.base.errors import GenolangError

ROOT = Path(__file__).resolve().parents[2]
ACTIVATION_TOLERANCE = 0.005
LARGE = 3_000_000               # weights above which building is slow (see the module docstring)


def _used_cells(template, cells):
    """The cells a template's slots use (plain or per stage): a program's other cells do not
    change the network, so two files that differ only there plan the same one."""
    if not isinstance(cells, dict) or not all(hasattr(c, "select") for c in cells.values()):
        return cells
    names = {slot.cell for slot in template.slots if slot.cell is not None}
    return {k: c for k, c in cells.items() if k in names or k.split(".", 1)[-1] in names}


def library_networks():
    seen, out = set(), []
    for path in sorted((ROOT / "specs").rglob("*.geno")):
        try:
            program = genolang.load(path)
        except GenolangError:
            continue
        for template, cells, _ in planned_networks(program):
            cells = _used_cells(template, cells)
            key = (template, tuple(sorted(cells.items())))
            if key not in seen:
                seen.add(key)
                out.append((f"{path.relative_to(ROOT / 'specs')}:{template.name}", template, cells))
    return out


NETWORKS = library_networks()
_SLOW = pytest.mark.skipif(os.environ.get("GENO_SLOW") != "1", reason="a large supernet: GENO_SLOW=1 builds it")


def _param(where, template, cells):
    large = summarize(template, cells, activations=False).params_with_heads > LARGE and not where.startswith("zoo/")
    return pytest.param(where, template, cells, id=where, marks=[_SLOW] if large else [])


@pytest.fixture
def no_weight_init(monkeypatch):
    """Counting needs the shapes of the weights, not their values: skip the random init
    (a quarter of the build time)."""
    import torch

    for name in ("kaiming_uniform_", "uniform_"):
        monkeypatch.setattr(torch.nn.init, name, lambda tensor, *args, **kwargs: tensor)


@pytest.mark.parametrize("where,template,cells", [_param(*n) for n in NETWORKS])
def test_parameters_equal_the_built_modules(where, template, cells, no_weight_init):
    static = summarize(template, cells, activations=False)
    net = build_network(template, cells)
    arch = {id(p) for p in getattr(net, "arch_parameters", lambda: [])()}
    weights = [(n, p) for n, p in net.named_parameters() if id(p) not in arch]
    assert static.params_with_heads == sum(p.numel() for _, p in weights)
    assert static.params == sum(p.numel() for n, p in weights if not n.startswith(("aux_head.", "distill_heads.")))
    assert static.arch_params == sum(p.numel() for p in net.parameters() if id(p) in arch)


def test_the_library_and_zoo_are_covered():
    names = {n for n, _, _ in NETWORKS}
    assert {f"zoo/{z}.geno:retrain_net" for z in ("darts_v1", "darts_v2", "pc_darts", "p_darts", "cdarts")} <= names
    assert len(NETWORKS) > 20


NB201 = ('use "nb201.geno"\n\nnetwork small {\n  input 3x16x16\n  classes 10\n  channels 8\n'
         "  stem conv(k=3) >> bn\n  cells 3 reduce at 1\n  replace 1 with nb201_resblock\n  heads none\n"
         "  tail bn >> relu\n}\n\ngenotype g {\n  space nb201\n  template small\n  cell normal {\n"
         "    inputs c0\n    n0 = nor_conv_3(c0)\n    n1 = zero(c0) + avg_pool_3(n0)\n"
         "    n2 = skip(c0) + nor_conv_1(n0) + skip(n1)\n    output concat(n2)\n  }\n}\n")


def _digits_with(cells_file: str):
    """The small digits search network with the search cells of another spec."""
    digits = genolang.load(ROOT / "specs" / "icdarts" / "digits.geno")
    cells = genolang.load(ROOT / "specs" / cells_file).cells
    return digits.templates["digits_search"], {k: cells[k] for k in ("normal", "reduce")}


def _measured_cases():
    darts = genolang.load(ROOT / "specs" / "zoo" / "darts_v2.geno")
    nb201 = genolang.loads(NB201, "<nb201>")
    digits = genolang.load(ROOT / "specs" / "icdarts" / "digits.geno")
    return {
        "darts_v2": (darts.templates["retrain_net"], darts.genotypes["darts_v2"], 4),
        "nb201": (nb201.templates["small"], nb201.genotypes["g"], 1),
        "digits_search": (digits.templates["digits_search"], {k: digits.cells[k] for k in ("normal", "reduce")}, 4),
        "digits_retrain": (digits.templates["digits_retrain"], {k: digits.cells[k] for k in ("normal", "reduce")}, 3),
        "zero_v2_random": (*_digits_with("zero_configs/v2.geno"), 4),
        "idarts": (*_digits_with("cell_types/idarts.geno"), 4),
    }


@pytest.mark.parametrize("case", ["darts_v2", "nb201", "digits_search", "digits_retrain", "zero_v2_random", "idarts"])
def test_mult_adds_and_activations_equal_the_measured(case):
    template, cells, batch = _measured_cases()[case]
    static = summarize(template, cells, batch=batch)
    measured = measure_network(template, cells, batch=batch)
    assert (static.params, static.params_with_heads, static.arch_params, static.mult_adds) == \
        (measured.params, measured.params_with_heads, measured.arch_params, measured.mult_adds)
    assert abs(static.activation_bytes - measured.activation_bytes) <= ACTIVATION_TOLERANCE * measured.activation_bytes


def test_a_primitive_without_a_cost_rule_is_measured(monkeypatch):
    """A primitive with its own builder has no cost rule: the summary builds and measures."""
    from genolang.compiler.build import measure
    from genolang.compiler.passes import cost

    monkeypatch.delitem(cost._RULES, "max_pool")
    template, cells, _ = _measured_cases()["darts_v2"]
    calls = []
    real = measure.measure_network
    monkeypatch.setattr("genolang.compiler.build.measure.measure_network",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    assert summarize(template, cells, activations=False).params == 3_349_342
    assert calls == [1]
