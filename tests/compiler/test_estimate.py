"""The memory estimate from shapes alone is what the built networks hold."""

import pytest

import genolang
from genolang.compiler.passes.estimate import estimate_network
from genolang.compiler.passes.shapes import plan_network
from genolang.compiler.build.measure import measure_network as summarize

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", ["discrete", "search"])
def test_parameters_and_activations_equal_the_built_networks(kind):
    if kind == "discrete":
        program = genolang.load(ROOT / "specs" / "zoo" / "darts_v2.geno")
        genotype = program.genotypes["darts_v2"]
        template, cells = program.templates[genotype.template], dict(genotype.cells)
        built = summarize(template, genotype, batch=4)
        actual = built.params_with_heads
    else:
        program = genolang.load(ROOT / "specs" / "icdarts" / "digits.geno")
        template = program.templates["digits_search"]
        cells = program.cells
        built = summarize(template, {k: program.cells[k] for k in ("normal", "reduce")}, batch=4)
        actual = built.params_with_heads + built.arch_params
    estimate = estimate_network(plan_network(template, cells), batch=4)
    assert estimate.params == actual
    assert estimate.activations * 4 == built.activation_bytes           # measured at batch 4 itself
    assert "parameters" in estimate.describe()
