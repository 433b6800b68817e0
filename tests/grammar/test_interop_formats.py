"""Cream's CDARTS cell files and NAS-Bench-201 strings in and out of the spec, and the registry's
dispatch (grammar/interop/cream.py, nb201.py, registry.py)."""

from __future__ import annotations

import json

import pytest

from genolang.base.errors import SpecSyntaxError, UserError
from genolang.grammar import interop as I, parse, syntax as S

from published import CDARTS, DARTS_V2, NB201, canonical_py, round_trip


# ----------------------------------------------------------------------------- CDARTS cell files


def test_cdarts_json_with_identical_stages_collapses():
    data = json.dumps({"0": CDARTS, "1": CDARTS, "2": CDARTS})
    definition = I.parse_darts(data, name="cdarts")
    cells = [s.name for s in definition.body if isinstance(s, S.GenoCellDef)]
    assert cells == ["normal", "reduce"]
    assert json.loads(I.export_cdarts_json(round_trip(definition))) == {k: canonical_py(CDARTS) for k in "012"}


def test_cdarts_json_with_different_stages_keeps_one_pair_per_stage():
    other = CDARTS.replace("('skip_connect', 0), ('skip_connect', 2)", "('skip_connect', 1)")
    data = json.dumps({"0": CDARTS, "1": other, "2": CDARTS})
    definition = round_trip(I.parse_cdarts_json(data))
    cells = [s.name for s in definition.body if isinstance(s, S.GenoCellDef)]
    assert cells == ["stage1.normal", "stage1.reduce", "stage2.normal", "stage2.reduce",
                     "stage3.normal", "stage3.reduce"]
    exported = json.loads(I.export_cdarts_json(definition))
    assert exported == {"0": canonical_py(CDARTS), "1": canonical_py(other), "2": canonical_py(CDARTS)}


@pytest.mark.parametrize("text, message", [
    ('{"0": ', "not a CDARTS genotype file"),
    ('{"0": 3}', "maps stage numbers to Genotype strings"),
    ('{"0": "Genotype(normal=[(1, 0)])"}', "expected an edge"),
])
def test_bad_cdarts_files(text, message):
    with pytest.raises(SpecSyntaxError, match=message):
        I.parse_cdarts_json(text)


# ----------------------------------------------------------------------------- NAS-Bench-201


def test_nb201_import_and_export():
    definition = round_trip(I.parse_nb201(NB201, name="cell_a"))
    assert I.genotype_text(definition) == """genotype cell_a {
  space nb201
  provenance {
    format = "nb201"
  }
  cell normal {
    inputs c0
    n0 = nor_conv_3(c0)
    n1 = nor_conv_3(c0) + avg_pool_3(n0)
    n2 = skip(c0) + nor_conv_3(n0) + skip(n1)
    output concat(n2)
  }
}
"""
    assert I.export_nb201(definition) == NB201


def test_nb201_none_edges_are_zero_or_dropped():
    text = "|none~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"
    kept = round_trip(I.parse_nb201(text))
    assert "n0 = zero(c0)" in I.genotype_text(kept)
    assert I.export_nb201(kept) == text
    dropped = round_trip(I.parse_nb201(text, drop_none=True))
    spec = I.genotype_text(dropped)
    assert "n0 = 0" in spec and "n1 = skip(c0)\n" in spec and "n2 = nor_conv_1(n1)" in spec
    assert I.export_nb201(dropped) == text  # missing edges are written back as none


@pytest.mark.parametrize("text, message, column", [
    ("nor_conv_3x3~0|", "expected `|` to start node 1", 1),
    ("|nor_conv_3x3~0|+", "expected `|` to start node 2", 18),
    ("|nor_conv_3x3~0", "expected `|` after `op~source`", 16),
    ("|nor_conv_3x3|", "expected `op~source`", 2),
    ("|conv_3x3~0|", "unknown NAS-Bench-201 operation `conv_3x3`", 2),
    ("|nor_conv_3x3~x|", "expected a source node number", 15),
    ("|nor_conv_3x3~0|+|skip_connect~2|", "node 2 reads node 2", 32),
    ("|nor_conv_3x3~0|\n+|x~0|", "one line", 17),
])
def test_malformed_nb201_is_a_located_syntax_error(text, message, column):
    with pytest.raises(SpecSyntaxError) as info:
        I.parse_nb201(text)
    assert message in info.value.message
    assert info.value.span.column == column, info.value.render()


def test_nb201_export_errors():
    def g(body: str) -> S.GenotypeDef:
        return parse(f"genotype g {{ cell normal {{ inputs c0 {body} }} }}").items[0]

    with pytest.raises(UserError, match="not a NAS-Bench-201 operation"):
        I.export_nb201(g("n0 = sep_conv_3(c0)"))
    with pytest.raises(UserError, match="reads `c0` twice"):
        I.export_nb201(g("n0 = skip(c0) + zero(c0)"))
    with pytest.raises(UserError, match="output only its last node"):
        I.export_nb201(g("n0 = skip(c0) n1 = skip(n0) output concat(n0, n1)"))
    with pytest.raises(UserError, match="NAS-Bench-201 cells have one"):
        I.export_nb201(parse("genotype g { cell normal { n0 = skip(c0) } }").items[0])


def test_import_dispatch():
    assert I.import_genotype("nb201", NB201, drop_none=True).name == "imported"
    assert I.import_genotype("cdarts", CDARTS, drop_none=True).name == "imported"
    with pytest.raises(UserError, match="unknown genotype format `dart`") as info:
        I.import_genotype("dart", DARTS_V2)
    assert "darts" in info.value.hint
