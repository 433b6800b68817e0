"""Golden IR dumps (``geno show --ir``): what a spec means, as text, checked line by line.

Regenerate with ``pytest tests/compiler/test_ir_dump.py --update-golden`` after a deliberate
change to lowering or to the dump format, and read the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import genolang
from genolang.compiler.lower.dump import dump_program

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "ir"

CASES = {
    "digits": ROOT / "specs" / "icdarts" / "digits.geno",
    "genotype": GOLDEN / "genotype.geno",
    "reduce_avgpool": ROOT / "specs" / "ablations" / "reduce_avgpool.geno",
    "hierarchical_v2": ROOT / "specs" / "hierarchical" / "v2.geno",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_ir_dump_matches_golden(name, golden):
    golden(GOLDEN / f"{name}.txt", dump_program(genolang.load(CASES[name])))


def test_stdlib_spaces_dump(golden):
    """Every stdlib space with its operations as primitives, stride-2 forms included."""
    program = genolang.load(ROOT / "compiler" / "stdlib" / "spaces.geno")
    golden(GOLDEN / "stdlib_spaces.txt", dump_program(program))


def test_dump_is_deterministic():
    first = dump_program(genolang.load(CASES["genotype"]))
    assert dump_program(genolang.load(CASES["genotype"])) == first
    assert "stage1.normal.n2 = 0" in first
