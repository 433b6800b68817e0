"""Property tests: the printer and the parser are inverses on every AST the parser can make."""

from __future__ import annotations


from hypothesis import HealthCheck, given, settings

import strategies as gs

from genolang.grammar import parse, print_module, syntax as S

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _module(item) -> S.Module:
    return S.Module((item,))


@FAST
@given(gs.modules)
def test_parse_inverts_print(module):
    text = print_module(module)
    assert parse(text) == module, text


@FAST
@given(gs.modules)
def test_print_is_a_fixed_point(module):
    text = print_module(module)
    assert print_module(parse(text)) == text


@settings(max_examples=60, deadline=None)
@given(gs.genotype_defs)
def test_genotypes_round_trip(genotype):
    text = print_module(_module(genotype))
    assert parse(text) == _module(genotype), text


@settings(max_examples=60, deadline=None)
@given(gs.experiment_defs)
def test_experiments_round_trip(experiment):
    text = print_module(_module(experiment))
    assert parse(text) == _module(experiment), text


@settings(max_examples=80, deadline=None)
@given(gs.values)
def test_values_round_trip(value):
    item = S.ExperimentDef(name="e", entries=(S.Setting(key="v", value=value),))
    text = print_module(_module(item))
    assert parse(text) == _module(item), text


def test_keywords_are_collected():
    assert {"genotype", "cell", "op", "space", "reduction", "true", "none", "from"} <= gs.KEYWORDS
