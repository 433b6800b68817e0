"""Every shipped spec (specs/**/*.geno and the stdlib) parses, checks, is canonical, and compiles.

The compile tests plan each network template whose cells are defined (the shape pass) at its
real size, then run it as a search supernet, and each genotype as a discrete network, forward
and backward once on a batch of 2 at a reduced size: C = 4 channels, fewer normal cells (see
:func:`shorten`), and a 16x16 input where the template's heads still fit (else the
template's own input). Identical (template, cells) pairs are compiled once; a cell set
already compiled with one template is not compiled again with every other template, and a
template already compiled with one cell set is not compiled again with every other cell set
(each template and each cell set is covered at least once); templates that are the same once
shortened are one case. The shape pass alone runs on every (template, cells) pair at full size.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

import genolang
from genolang.compiler.lower import ir
from genolang.compiler.build import EvalNetwork, SearchNetwork
from genolang.compiler.passes.shapes import plan_network
from genolang.base.errors import CompileError
from genolang.grammar import parse_file, print_module

ROOT = Path(__file__).resolve().parents[1]
# studies/ reuses the cells of the specs it reproduces: last, so that the originals name the cases
SPECS = sorted((ROOT / "specs").rglob("*.geno"), key=lambda p: ("studies" in p.parts, p))
STDLIB = sorted((ROOT / "compiler" / "stdlib").glob("*.geno"))
ALL = SPECS + STDLIB
GENERIC_TEMPLATES = ROOT / "specs" / "icdarts" / "templates.geno"
SMALL_C, SMALL_HW = 4, 16


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_parses(path):
    module = parse_file(path)
    assert module.items


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_checks(path):
    """What `geno check` does: parse, resolve imports, lower and verify."""
    genolang.load(path)


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_canonical(path):
    """`geno fmt --check` is clean."""
    text = path.read_text(encoding="utf-8")
    assert print_module(parse_file(path)) == text, f"run `geno fmt {_id(path)}`"


@pytest.mark.parametrize("path", [p for p in SPECS if "zoo" not in p.parts], ids=_id)
def test_has_header_comment(path):
    """Each spec starts with a comment saying what it reproduces."""
    assert path.read_text(encoding="utf-8").startswith("# ")


# ----------------------------------------------------------------------------- compile cases


def shorten(template: ir.NetworkTemplate) -> ir.NetworkTemplate:
    """The template with fewer normal cells: the first, every reduction and the cell after it,
    and the last; the cells the heads sit after stay. Every kind of slot (and each stage)
    stays, so a 20-cell network becomes 6 cells."""
    n = len(template.slots)
    keep = {0, n - 1} | set(template.distill_after)
    if template.aux_after is not None:
        keep.add(template.aux_after)
    for i in template.reduction_indices:
        keep |= {i, i + 1}
    kept = sorted(i for i in keep if 0 <= i < n)
    if len(kept) == n:
        return template
    new = {old: k for k, old in enumerate(kept)}
    return dataclasses.replace(template, slots=tuple(template.slots[i] for i in kept),
                               distill_after=tuple(new[i] for i in template.distill_after),
                               aux_after=None if template.aux_after is None else new[template.aux_after])


def shrink(template: ir.NetworkTemplate, cells) -> ir.NetworkTemplate:
    """The template at C = 4, shortened, and at 16x16 input when its shapes and heads still plan."""
    small = dataclasses.replace(shorten(template), channels=SMALL_C)
    c, h, w = template.input_shape
    if (h, w) != (SMALL_HW, SMALL_HW):
        candidate = dataclasses.replace(small, input_shape=(c, SMALL_HW, SMALL_HW))
        try:
            plan_network(candidate, cells)
            return candidate
        except CompileError:
            pass
    return small


def _cells_of(program, template: ir.NetworkTemplate):
    names = {slot.cell for slot in template.slots if slot.cell is not None}
    if not names <= set(program.cells):
        return None
    return {name: program.cells[name] for name in sorted(names)}


def _template_key(template: ir.NetworkTemplate):
    """Templates that run the same once shortened and shrunk are one case."""
    return dataclasses.replace(shorten(template), name="", classes=0, channels=SMALL_C)


def _cells_key(cells) -> tuple:
    return tuple(sorted((key, dataclasses.replace(cell, name=key)) for key, cell in cells.items()))


def _genotype_key(genotype: ir.Genotype):
    return dataclasses.replace(genotype, name="", provenance=(), template=None)


def _collect():
    """(id, template, cells) search cases and (id, template, genotype) discrete cases."""
    search, discrete, plans = [], [], []
    seen_pairs, seen_templates, seen_cells, seen_genos = set(), set(), set(), set()
    generic = genolang.load(GENERIC_TEMPLATES).templates["retrain_net"]
    for path in SPECS:
        try:
            program = genolang.load(path)
        except Exception:   # reported by test_checks
            continue
        for name, template in program.templates.items():
            cells = _cells_of(program, template)
            if cells is None:
                continue
            plans.append(pytest.param(template, cells, id=f"{_id(path)}::{name}"))
            t_key, c_key = _template_key(template), _cells_key(cells)
            if (t_key, c_key) in seen_pairs or (t_key in seen_templates and c_key in seen_cells):
                continue
            seen_pairs.add((t_key, c_key))
            seen_templates.add(t_key)
            seen_cells.add(c_key)
            search.append(pytest.param(template, cells, id=f"{_id(path)}::{name}"))
        for name in program.local("genotype"):
            genotype = program.genotypes[name]
            template = program.templates.get(genotype.template) if genotype.template else None
            template = template or generic
            key = (_genotype_key(genotype), _template_key(template))
            if key in seen_genos:
                continue
            seen_genos.add(key)
            discrete.append(pytest.param(template, genotype, id=f"{_id(path)}::{name}"))
    return search, discrete, plans


SEARCH_CASES, GENOTYPE_CASES, PLAN_CASES = _collect()


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny networks run fastest on one thread; on busy shared cores, intra-op threads spin and
    a forward pass takes 50x longer."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _forward_backward(net: torch.nn.Module, template: ir.NetworkTemplate) -> None:
    torch.manual_seed(0)
    net.train()
    x = torch.rand(2, *template.input_shape)
    out = net(x)
    assert out.logits.shape == (2, template.classes)
    loss = out.logits.sum() + out.ensemble.sum()
    if out.aux is not None:
        loss = loss + out.aux.sum()
    loss.backward()
    assert torch.isfinite(loss)


def test_compile_cases_cover_the_specs():
    assert len(SEARCH_CASES) >= 20
    ids = " ".join(p.id for p in SEARCH_CASES)
    for spec in ("op_spaces/dynamic", "ablations/reduce_conv", "ablations/stem_concat", "science/lens",
                 "hierarchical/v2", "zero_configs/v4", "cell_types/xdarts"):
        assert spec in ids


@pytest.mark.parametrize("template, cells", PLAN_CASES)
def test_template_plans_at_full_size(template, cells):
    """The shape pass (channels, strides, resolutions, heads) of every template with its cells."""
    plan = plan_network(template, cells)
    assert len(plan.cells) == len(template.slots)


@pytest.mark.parametrize("template, cells", SEARCH_CASES)
def test_template_compiles_and_runs(template, cells):
    small = shrink(template, cells)
    net = SearchNetwork(small, cells, generator=torch.Generator().manual_seed(0))
    _forward_backward(net, small)
    grads = [p.grad for p in net.arch_parameters()]
    assert grads and all(g is not None for g in grads), "every α gets a gradient"


@pytest.mark.parametrize("template, genotype", GENOTYPE_CASES)
def test_genotype_compiles_and_runs(template, genotype):
    cells = dict(genotype.cells)
    plan_network(template, cells)
    small = shrink(template, cells)
    net = EvalNetwork(small, genotype, phase="retrain")
    _forward_backward(net, small)
