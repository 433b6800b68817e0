"""The architecture diff of two genotype files (compiler/genotype/diff.py)."""

from __future__ import annotations

from genolang.compiler.genotype.diff import diff_modules
from genolang.grammar import parse, syntax as S


# ----------------------------------------------------------------------------- diff


def g(text: str) -> S.Module:
    return parse(text)


BASE = """genotype a {
  space darts
  provenance { source = "x" }
  cell normal {
    n0 = sep_conv_3(c0) + skip(c1)
    n1 = sep_conv_3(c1) + max_pool_3(n0)
    output concat(n0, n1)
  }
}
"""


def test_diff_identical_and_cosmetic_changes():
    assert diff_modules(g(BASE), g(BASE)) == []
    cosmetic = BASE.replace("sep_conv_3(c0) + skip(c1)", "skip(c1) + sep_conv_3(c0)  # swapped") \
                   .replace('source = "x"', 'source = "y"')
    assert diff_modules(g(BASE), g("# comment\n" + cosmetic)) == []


def test_diff_reports_edges_nodes_and_concat():
    changed = BASE.replace("sep_conv_3(c1) + max_pool_3(n0)", "dil_conv_5(c1) + skip(c0)") \
                  .replace("output concat(n0, n1)", "n2 = 0\n    output concat(n1, n2)")
    assert diff_modules(g(BASE), g(changed)) == [
        "normal.n1: sep_conv_3(c1) -> dil_conv_5(c1)",
        "normal.n1: - max_pool_3(n0)",
        "normal.n1: + skip(c0)",
        "normal.n2: + node (0)",
        "normal.output: - n0",
        "normal.output: + n2",
    ]


def test_diff_pairs_same_op_moved_to_another_source():
    changed = BASE.replace("max_pool_3(n0)", "max_pool_3(c0)")
    assert diff_modules(g(BASE), g(changed)) == ["normal.n1: max_pool_3(n0) -> max_pool_3(c0)"]


def test_diff_cells_settings_and_other_definitions():
    b = BASE.replace("genotype a", "genotype b").replace("space darts", "space nb201") \
            .replace("output concat(n0, n1)", "output concat(n1, n0)") \
        + "cell reduce_x {}\n"
    b = b.replace("  }\n}\n", "  }\n  cell reduce {\n    reduction\n    n0 = skip(c0)\n  }\n}\n", 1)
    lines = diff_modules(g(BASE + "op x = relu\n"), g(b))
    assert lines == [
        "genotype: a -> b",
        "space: darts -> nb201",
        "normal.output: concat(n0, n1) -> concat(n1, n0)",
        "reduce: + cell",
        "- op x",
        "+ cell reduce_x",
    ]


def test_diff_several_genotypes_matched_by_name():
    two = BASE + BASE.replace("genotype a", "genotype c")
    other = BASE + BASE.replace("genotype a", "genotype d").replace("skip(c1)", "skip(c0)")
    assert diff_modules(g(two), g(other)) == ["- genotype c", "+ genotype d"]
    changed = BASE + BASE.replace("genotype a", "genotype c").replace("skip(c1)", "skip(c0)")
    assert diff_modules(g(two), g(changed)) == ["c.normal.n0: skip(c1) -> skip(c0)"]


def test_diff_cell_attributes():
    a = g("genotype a { cell n { inputs c0, c1 n0 = skip(c0) } }")
    b = g("genotype a { macro { version = 1 } cell n { inputs c0 reduction zero V2 n0 = skip(c0) } }")
    assert diff_modules(a, b) == [
        "macro.version: (none) -> 1",
        "n.inputs: c0, c1 -> c0",
        "n: + reduction",
        "n.zero: (default) -> V2",
    ]
