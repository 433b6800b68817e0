"""DARTS and CDARTS genotype strings in and out of the spec, and the zoo of published genotypes
(grammar/interop/darts.py); Cream's files and NB201 strings are in test_interop_formats.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from genolang.base.errors import SpecSyntaxError, UserError
from genolang.grammar import interop as I, parse, print_module, syntax as S

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "specs" / "zoo"

from published import (AMOEBANET_A, CDARTS, DARTS_V1, DARTS_V2, NASNET_A, NB201, P_DARTS, PC_DARTS,  # noqa: F401
                       canonical_py, round_trip)


def darts(text: str, **kw) -> S.GenotypeDef:
    return I.parse_darts(text, **kw)


# ----------------------------------------------------------------------------- DARTS


def test_darts_v2_imports_to_the_expected_spec():
    text = I.genotype_text(darts("DARTS_V2 = " + DARTS_V2, source="DARTS V2"))
    assert text == """genotype darts_v2 {
  space darts
  provenance {
    format = "darts"
    source = "DARTS V2"
  }
  cell normal {
    inputs c0, c1
    n0 = sep_conv_3(c0) + sep_conv_3(c1)
    n1 = sep_conv_3(c0) + sep_conv_3(c1)
    n2 = sep_conv_3(c1) + skip(c0)
    n3 = skip(c0) + dil_conv_3(n0)
    output concat(n0, n1, n2, n3)
  }
  cell reduce {
    inputs c0, c1
    reduction
    n0 = max_pool_3(c0) + max_pool_3(c1)
    n1 = skip(n0) + max_pool_3(c1)
    n2 = max_pool_3(c0) + skip(n0)
    n3 = skip(n0) + max_pool_3(c1)
    output concat(n0, n1, n2, n3)
  }
}
"""
    assert print_module(parse(text)) == text


@pytest.mark.parametrize("published", [DARTS_V1, DARTS_V2, PC_DARTS, P_DARTS])
def test_flat_export_reproduces_published_strings(published):
    definition = round_trip(darts(published))
    assert I.export_darts(definition) == canonical_py(published.replace("),(", "), (").replace("',0)", "', 0)"))


def test_cdarts_nested_round_trip():
    definition = round_trip(darts(CDARTS, name="cdarts"))
    assert I.export_darts(definition, nested=True) == canonical_py(CDARTS)
    provenance = next(s for s in definition.body if isinstance(s, S.Provenance))
    assert provenance.entries[0].value == S.Str("cdarts")


def test_positional_and_keyword_fields_agree():
    positional = ("Genotype([('skip_connect', 0), ('skip_connect', 1)], [2], "
                  "[('max_pool_3x3', 0), ('max_pool_3x3', 1)], range(2, 3))")
    keyword = ("Genotype(reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], normal_concat=(2,), "
               "normal=[('skip_connect', 0), ('skip_connect', 1)], reduce_concat=list(range(2, 3)))")
    assert darts(positional) == darts(keyword)


def test_missing_concat_means_every_node_and_multiline_input_is_fine():
    text = """
        NET = Genotype(
            normal=[
                ('sep_conv_7x7', 0), ('conv_7x1_1x7', 1),
                ('none', 2), ('weird_op', 0),
            ],
        )
    """
    definition = darts(text)
    assert definition.name == "net"
    cell = next(s for s in definition.body if isinstance(s, S.GenoCellDef))
    nodes = [s for s in cell.body if isinstance(s, S.NodeDef)]
    assert [(e.op, e.src) for e in nodes[0].edges] == [("sep_conv_7", "c0"), ("conv_7x1_1x7", "c1")]
    assert [(e.op, e.src) for e in nodes[1].edges] == [("zero", "n0"), ("weird_op", "c0")]
    assert [s for s in cell.body if isinstance(s, S.Output)][0].names == ("n0", "n1")
    assert not any(isinstance(s, S.GenoCellDef) and s.name == "reduce" for s in definition.body)


def test_nested_form_allows_any_edge_count_and_zero_edge_nodes():
    text = ("Genotype(normal=[[('skip_connect', 0)], [], [('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('skip_connect', 3)]], normal_concat=[2, 4], reduce=[[('max_pool_3x3', 0), ('max_pool_3x3', 1)]], "
            "reduce_concat=[2])")
    definition = round_trip(darts(text))
    spec = I.genotype_text(definition)
    assert "    n1 = 0\n" in spec and "n2 = sep_conv_3(c0) + sep_conv_3(c1) + skip(n1)" in spec
    assert "output concat(n0, n2)" in spec
    assert I.export_darts(definition, nested=True) == text
    with pytest.raises(UserError, match="node `n0` has 1 edge; the flat DARTS form needs exactly 2") as info:
        I.export_darts(definition)
    assert "--nested" in info.value.hint


@pytest.mark.parametrize("name, label", [
    ("none", "zero"), ("skip_connect", "skip"), ("max_pool_3x3", "max_pool_3"), ("avg_pool_3x3", "avg_pool_3"),
    ("sep_conv_3x3", "sep_conv_3"), ("sep_conv_5x5", "sep_conv_5"), ("dil_conv_3x3", "dil_conv_3"),
    ("dil_conv_5x5", "dil_conv_5"), ("conv_7x1_1x7", "conv_7x1_1x7"), ("sep_conv_7x7", "sep_conv_7"),
    ("max_pool_2x2", "max_pool_2"), ("noise", "noise"), ("conv_3x5", "conv_3x5"),
])
def test_op_name_mapping_is_invertible(name, label):
    assert I.darts_label(name) == label
    assert I.darts_op_name(label) == name


@pytest.mark.parametrize("text, message, column", [
    ("Genotype(normal=[('a', 0)])", "2 edges per node, but `normal` has 1 edge", 17),
    ("Genotype(normal=[('a', 0), ('b', 3)])", "node 0 (n0) reads source 3 (n1), which is not computed", 34),
    ("Genotype(normal=[('a', 0), ('b', 1)], foo=[])", "unknown Genotype field `foo`", 39),
    ("Genotype(normal=[('a', 0), ('b', 1)], normal=[])", "field `normal` given twice", 39),
    ("Genotype(normal=[('a', 0), ('b', -1)])", "expected a source index", 34),
    ("Genotype(normal=[('a', 0), ('b', True)])", "expected a source index", 34),
    ("Genotype(normal=[('a', 0), ('b', 1)], normal_concat=[2, 9])", "names state 9", 53),
    ("Genotype(normal=[('a', 0), ('b', 1)], normal_concat=sorted([2]))", "expected a concat list", 53),
    ("Genotype(normal=[('a', 0), ('b', 1)], normal_concat=range(2, 2))", "is empty", 53),
    ("Genotype(normal=[('a', 0), [('b', 1)]])", "mixed flat and nested", 18),
    ("Genotype(normal=[[('a', 0)], 5])", "expected a list of edges", 30),
    ("Genotype(normal=[(1, 0), (2, 1)])", "expected an edge", 19),
    ("Genotype(normal=__import__('os').system('true'))", "expected the `normal` edge list", 17),
    ("Genotype(normal=[('a', 0), ('b', 1)]", "never closed", 9),
    ("Genotype(reduce=[])", "no `normal` field", 1),
    ("lambda: 1", "expected a call", 1),
    ("Genotype(1, 2, 3, 4, 5)", "4 fields, found 5", 22),
    ("Genotype(normal=[]); import os", "exactly one", 22),
    ("del x", "expected `Genotype(...)`", 1),
    ("Genotype(**{'normal': []})", "`**` arguments", 12),
])
def test_malformed_darts_input_is_a_located_syntax_error(text, message, column):
    with pytest.raises(SpecSyntaxError) as info:
        darts(text)
    assert message in info.value.message
    assert info.value.span.column == column, info.value.render()
    rendered = info.value.render()
    assert "^" in rendered and "Traceback" not in rendered


def test_importer_never_evaluates(tmp_path):
    marker = tmp_path / "pwned"
    text = f"Genotype(normal=[(open({str(marker)!r}, 'w').write('x'), 0), ('a', 1)])"
    with pytest.raises(SpecSyntaxError):
        darts(text)
    assert not marker.exists()


def test_empty_and_deep_inputs_are_user_errors():
    with pytest.raises(SpecSyntaxError, match="empty"):
        darts("   ")
    with pytest.raises(SpecSyntaxError):
        darts("Genotype(normal=" + "[" * 5000 + "]" * 5000 + ")")


def test_names_are_checked_and_defaults_sanitized():
    assert darts("Genotype-0 = 1".replace("Genotype-0 = 1", "DARTS = Genotype(normal=[])")).name == "darts"
    assert darts("cell = Genotype(normal=[])").name == "cell_"
    with pytest.raises(UserError, match="reserved word"):
        darts("Genotype(normal=[])", name="genotype")
    with pytest.raises(UserError, match="not a valid"):
        darts("Genotype(normal=[])", name="9lives")


_labels = st.sampled_from(sorted(I.DARTS_TO_LABEL))


@st.composite
def darts_genotypes(draw, nested: bool):
    fields = []
    for cell in ("normal", "reduce"):
        n = draw(st.integers(1, 5))
        nodes = []
        for i in range(n):
            k = draw(st.integers(0, 4)) if nested else 2
            nodes.append([(draw(_labels), draw(st.integers(0, i + 1))) for _ in range(k)])
        concat = draw(st.lists(st.integers(0, n + 1), min_size=1, max_size=4))
        if nested:
            body = "[" + ", ".join("[" + ", ".join(f"({o!r}, {s})" for o, s in node) + "]" for node in nodes) + "]"
        else:
            body = "[" + ", ".join(f"({o!r}, {s})" for node in nodes for o, s in node) + "]"
        fields.append(f"{cell}={body}")
        fields.append(f"{cell}_concat={concat}")
    return "Genotype(" + ", ".join(fields) + ")"


@settings(max_examples=60, deadline=None)
@given(darts_genotypes(nested=False))
def test_flat_strings_round_trip_through_the_spec(text):
    assert I.export_darts(round_trip(darts(text))) == text


@settings(max_examples=60, deadline=None)
@given(darts_genotypes(nested=True))
def test_nested_strings_round_trip_through_the_spec(text):
    assert I.export_darts(round_trip(darts(text)), nested=True) == text


def test_export_errors():
    nb = round_trip(I.parse_nb201(NB201))
    with pytest.raises(UserError, match="has 1 inputs; DARTS cells have 2"):
        I.export_darts(nb)
    only_normal = round_trip(darts("Genotype(normal=[('a', 0), ('b', 1)])"))
    with pytest.raises(UserError, match="no cell `reduce`"):
        I.export_darts(only_normal)
    bad = parse("genotype g { cell normal { n0 = skip(c0) + skip(n5) } cell reduce { n0 = skip(c0) } }")
    with pytest.raises(UserError, match="reads `n5`, which is not computed before it"):
        I.export_darts(bad.items[0])


def test_find_genotype():
    module = parse("genotype a { cell normal { n0 = skip(c0) } } genotype b { cell normal { n0 = skip(c1) } }")
    assert I.find_genotype(module, "b").name == "b"
    with pytest.raises(UserError, match="choose one with --genotype"):
        I.find_genotype(module)
    with pytest.raises(UserError, match="no genotype `c`"):
        I.find_genotype(module, "c")
    with pytest.raises(UserError, match="defines no genotype"):
        I.find_genotype(parse("op a = b"))


# ----------------------------------------------------------------------------- zoo


ZOO_SOURCES = {"darts_v1": DARTS_V1, "darts_v2": DARTS_V2, "pc_darts": PC_DARTS, "p_darts": P_DARTS,
               "cdarts": CDARTS, "nasnet_a": NASNET_A, "amoebanet_a": AMOEBANET_A}


def test_genotypes_outside_the_darts_space_name_the_nasnet_space():
    assert next(s.name for s in darts(DARTS_V2).body if isinstance(s, S.GenoSpace)) == "darts"
    assert next(s.name for s in darts(NASNET_A).body if isinstance(s, S.GenoSpace)) == "nasnet"
    assert next(s.name for s in darts(NASNET_A, space="mine").body if isinstance(s, S.GenoSpace)) == "mine"


@pytest.mark.parametrize("name", sorted(ZOO_SOURCES))
def test_zoo_files_hold_the_published_genotypes(name):
    path = ZOO / f"{name}.geno"
    definition = I.find_genotype(parse(path.read_text(encoding="utf-8"), str(path)))
    assert definition.name == name
    published = I.export_darts(round_trip(darts(ZOO_SOURCES[name])), nested=name == "cdarts")
    assert I.export_darts(definition, nested=name == "cdarts") == published
    provenance = next(s for s in definition.body if isinstance(s, S.Provenance))
    assert any(e.key == "source" for e in provenance.entries)


def test_zoo_genotypes_belong_to_their_stdlib_space(tmp_path):
    api = pytest.importorskip("genolang.api")
    spaces = ROOT / "compiler" / "stdlib" / "spaces.geno"
    if not spaces.exists():
        pytest.skip("no stdlib spaces")
    for name in ZOO_SOURCES:
        text = (ZOO / f"{name}.geno").read_text(encoding="utf-8")
        if not text.startswith("use "):
            text = 'use "spaces.geno"\n\n' + text     # the standard library's
        path = tmp_path / f"{name}.geno"
        path.write_text(text, encoding="utf-8")
        program = api.load(path)
        assert len(program.local("genotype")) == 1
