"""Lowering semantics (AST -> IR): spaces, cells, op inlining, networks, genotypes."""

from __future__ import annotations

import pytest

import genolang
from genolang.compiler.lower import ir
from genolang.compiler.lower.program import DEFAULT_STEM
from genolang.base.errors import ErrorGroup, SpecSemanticError


def P(name, **args):
    return ir.Prim(name, tuple(args.items()))


def load(text: str):
    return genolang.loads(text, "<test>")


@pytest.fixture(scope="module")
def stdlib():
    return load('use "spaces.geno"\n')


def error_of(text: str) -> SpecSemanticError:
    with pytest.raises(SpecSemanticError) as info:
        load(text)
    return info.value


# ----------------------------------------------------------------------------- spaces


@pytest.mark.parametrize("space, count", [("basic", 12), ("simple", 9), ("darts", 7), ("mbconv", 6),
                                          ("dynamic", 33), ("dynamic_dw", 35), ("darts_no_pools", 5),
                                          ("darts_no_skip", 6), ("darts_no_dil", 5), ("darts_no_sep", 5)])
def test_stdlib_space_sizes(stdlib, space, count):
    assert len(stdlib.spaces[space]) == count


def test_union_keeps_left_order_then_new_right_labels(stdlib):
    assert stdlib.spaces["darts"].labels == ("skip", "max_pool_3", "avg_pool_3", "sep_conv_3", "sep_conv_5",
                                             "dil_conv_3", "dil_conv_5")
    basic = stdlib.spaces["basic"].labels
    assert basic[:3] == ("skip", "max_pool_3", "avg_pool_3") and basic[3] == "conv_3"
    assert stdlib.spaces["dynamic_dw"].labels[-2:] == ("dw_conv_3", "dw_conv_5")


def test_difference_keeps_order(stdlib):
    assert stdlib.spaces["darts_no_pools"].labels == ("skip", "sep_conv_3", "sep_conv_5", "dil_conv_3", "dil_conv_5")


def test_space_algebra_chains_left_to_right():
    p = load('use "spaces.geno"\nspace s = darts - {skip} | {skip, z = zero} - {max_pool_3}\n')
    assert p.spaces["s"].labels == ("avg_pool_3", "sep_conv_3", "sep_conv_5", "dil_conv_3", "dil_conv_5",
                                    "skip", "z")
    p = load('use "spaces.geno"\nspace s = dynamic - darts\n')
    assert len(p.spaces["s"]) == 26 and "skip" not in p.spaces["s"].labels


def test_removing_a_label_that_is_not_there_is_an_error():
    e = error_of('use "spaces.geno"\nspace s = darts - basic_only\n')
    assert "cannot remove `conv_3`" in e.message


def test_same_label_union_is_idempotent_but_conflicts_are_errors():
    p = load('use "spaces.geno"\nspace s = darts | darts\n')
    assert len(p.spaces["s"]) == 7
    e = error_of('use "spaces.geno"\nspace s = darts | {skip = maxpool(k=5)}\n')
    assert "means different operations" in e.message


def test_space_entries_instantiate_ops(stdlib):
    impl = stdlib.spaces["darts"].impl("sep_conv_5")
    assert impl.name == "sep_conv" and dict(impl.params) == {"k": 5}
    assert impl.body.parts[1] == P("dwconv", k=5, stride=ir.Sym("s"))
    assert impl.body.parts[5] == P("dwconv", k=5)
    assert impl.stride2 is None and impl.supports_stride(2)


def test_duplicate_label_in_literal_is_an_error():
    e = error_of("space s {\n  a = relu\n  a = bn\n}\n")
    assert "appears twice" in e.message and e.span.line == 3


# ----------------------------------------------------------------------------- op inlining


def test_on_stride_2_branch():
    p = load("op skip = identity on stride 2 = factorized_reduce\nspace s { skip }\n")
    impl = p.spaces["s"].impl("skip")
    assert impl.body == P("identity") and impl.stride2 == P("factorized_reduce")
    assert impl.expr_for(1) == P("identity") and impl.expr_for(2) == P("factorized_reduce")


def test_inlined_op_keeps_its_stride_2_branch():
    p = load("op act = relu on stride 2 = subsample >> relu\nop block = act >> bn\nspace s { block }\n")
    impl = p.spaces["s"].impl("block")
    assert impl.body == ir.Seq((P("relu"), P("bn")))
    assert impl.stride2 == ir.Seq((P("subsample"), P("relu"), P("bn")))


def test_stride_binding_s_equals_1():
    p = load("op half(k=3) = relu >> dwconv(k=k, stride=s)\n"
             "op full(k=3) = half(k=k) >> half(k=k, s=1)\n"
             "space s { f = full(k=5) }\n")
    impl = p.spaces["s"].impl("f")
    assert impl.body == ir.Seq((P("relu"), P("dwconv", k=5, stride=ir.Sym("s")), P("relu"), P("dwconv", k=5, stride=1)))
    assert impl.supports_stride(2) and impl.stride2 is None


def test_stride_binding_s_equals_2_selects_the_stride_2_branch():
    p = load("op skip = identity on stride 2 = factorized_reduce\nop down = skip(s=2) >> bn\nspace s { down }\n")
    impl = p.spaces["s"].impl("down")
    assert impl.body == ir.Seq((P("factorized_reduce"), P("bn")))


def test_parameters_defaults_and_arithmetic():
    p = load("op wide(t=6) = pwconv(out=t * C) >> bn\nspace s { a = wide  b = wide(t=2) }\n")
    assert p.spaces["s"].impl("a").body.parts[0] == P("pwconv", out=ir.BinOp("*", 6, ir.Sym("C")))
    assert p.spaces["s"].impl("b").body.parts[0] == P("pwconv", out=ir.BinOp("*", 2, ir.Sym("C")))


def test_literal_arithmetic_is_folded():
    p = load("op c(k=3) = conv(k=k + 2)\nspace s { c }\n")
    assert p.spaces["s"].impl("c").body == P("conv", k=5)


def test_combinators_lower_to_ir():
    p = load("op m = residual(pwconv >> bn)\nop two = sum(relu, bn)\nop cat = concat(identity, identity)\n"
             "space s { m  two  cat }\n")
    assert p.spaces["s"].impl("m").body == ir.Residual(ir.Seq((P("pwconv"), P("bn"))))
    assert p.spaces["s"].impl("two").body == ir.Sum((P("relu"), P("bn")))
    assert p.spaces["s"].impl("cat").body == ir.Concat((P("identity"), P("identity")))


def test_op_without_s_cannot_take_stride_2():
    p = load("op act = relu\nspace s { act }\n")
    assert not p.spaces["s"].impl("act").supports_stride(2)


# ----------------------------------------------------------------------------- cells


def test_cell_defaults():
    p = load('use "spaces.geno"\ncell normal {\n  nodes 3\n  edges from darts\n}\n')
    cell = p.cells["normal"]
    assert cell.inputs == ("c0", "c1") and cell.nodes == ("n0", "n1", "n2")
    assert cell.select == ir.Selection("darts", 2) and cell.zero == "V1" and not cell.reduction
    assert cell.output == ("n0", "n1", "n2")
    assert cell.predecessors("n2") == ("c0", "c1", "n0", "n1")


def test_selection_rules():
    text = 'use "spaces.geno"\ncell a {\n  nodes 4\n  edges from darts\n  select %s\n}\n'
    assert load(text % "idarts").cells["a"].select == ir.Selection("idarts", 2)
    assert load(text % "idarts top 3").cells["a"].select == ir.Selection("idarts", 3)
    xd = load(text % "xdarts").cells["a"].select
    assert xd.rule == "xdarts" and [xd.keep(j) for j in range(4)] == [2, 3, 4, 5]
    assert xd.node_softmax and not ir.Selection().node_softmax
    assert "takes no `top k`" in error_of(text % "xdarts top 2").message


def test_like_inherits_and_later_statements_win():
    p = load('use "spaces.geno"\n'
             'cell normal {\n  nodes 4\n  edges from darts\n  select idarts top 2\n  zero V2\n}\n'
             'cell reduce like normal {\n  reduction\n}\n'
             'cell small like reduce {\n  nodes 2\n  edges from simple\n}\n')
    normal, reduce, small = p.cells["normal"], p.cells["reduce"], p.cells["small"]
    assert reduce.reduction and not normal.reduction
    assert (reduce.nodes, reduce.select, reduce.zero) == (normal.nodes, normal.select, normal.zero)
    assert reduce.candidates == normal.candidates
    assert small.reduction and small.nodes == ("n0", "n1") and small.zero == "V2"
    assert small.space_of("n1").name == "simple"


def test_per_node_edges():
    p = load('use "spaces.geno"\ncell c {\n  nodes 3\n  edges from darts\n  edges n0 from basic\n'
             '  edges n2 from {skip}\n}\n')
    cell = p.cells["c"]
    assert [cell.space_of(n).name for n in cell.nodes] == ["basic", "darts", "<anonymous>"]
    assert [len(cell.space_of(n)) for n in cell.nodes] == [12, 7, 1]


def test_per_node_edges_for_a_missing_node():
    e = error_of('use "spaces.geno"\ncell c {\n  nodes 2\n  edges from darts\n  edges n5 from basic\n}\n')
    assert "has no node `n5`" in e.message


def test_cell_without_edges_or_nodes():
    assert "needs `nodes N`" in error_of('use "spaces.geno"\ncell c {\n  edges from darts\n}\n').message
    assert "no candidate operations" in error_of("cell c {\n  nodes 2\n}\n").message


def test_custom_inputs_and_output():
    p = load('use "spaces.geno"\ncell c {\n  inputs a, x\n  nodes 2\n  edges from darts\n'
             '  output concat(n1, x)\n}\n')
    cell = p.cells["c"]
    assert cell.inputs == ("a", "x") and cell.output == ("n1", "x")
    assert cell.predecessors("n0") == ("a", "x")


@pytest.mark.parametrize("inputs", ["a, b, x", "a, a"])
def test_a_cell_reads_one_or_two_distinct_inputs(inputs):
    e = error_of(f'use "spaces.geno"\ncell c {{\n  inputs {inputs}\n  nodes 2\n  edges from darts\n}}\n')
    assert (e.span.line, e.span.column) == (3, 3) and "input" in e.message


def test_reduction_cell_checks_stride_2():
    e = error_of("op act = relu\ncell r {\n  nodes 1\n  edges from {act}\n  reduction\n}\n")
    assert "cannot take stride 2" in e.message and e.notes[0][1].line == 1
    # the same op is fine in a normal cell
    load("op act = relu\ncell n {\n  nodes 1\n  edges from {act}\n}\n")


# ----------------------------------------------------------------------------- networks


NET = """use "spaces.geno"
cell normal {
  nodes 2
  edges from darts
}
cell reduce like normal {
  reduction
}
cell a like normal {
}
cell b like normal {
}
"""


def test_network_slots_and_reductions():
    p = load(NET + "network n {\n  input 3x32x32\n  classes 10\n  channels 8\n  cells 5 reduce at 1, 3\n"
                   "  heads distill after 1, 3\n}\n")
    t = p.templates["n"]
    assert t.input_shape == (3, 32, 32) and t.classes == 10 and t.channels == 8
    assert [s.cell for s in t.slots] == ["normal", "reduce", "normal", "reduce", "normal"]
    assert t.reduction_indices == (1, 3) and t.distill_after == (1, 3) and t.aux_after is None
    assert t.stem == DEFAULT_STEM


def test_network_cycle_and_stems():
    p = load(NET + "network n {\n  input 3x32x32\n  classes 10\n  channels 8\n  stem identity\n"
                   "  cells 5 reduce at 2 cycle a, b\n  heads none\n  aux after 3\n}\n"
                   "network m {\n  input 1x8x8\n  classes 2\n  channels 4\n  stem conv(k=1, out=2 * C) >> bn\n"
                   "  cells 1\n}\n")
    t = p.templates["n"]
    assert [s.cell for s in t.slots] == ["a", "b", "a", "b", "a"]
    assert [s.reduction for s in t.slots] == [False, False, True, False, False]
    assert t.stem is None and t.distill_after == () and t.aux_after == 3
    assert p.templates["m"].stem == ir.Seq((P("conv", k=1, out=ir.BinOp("*", 2, ir.Sym("C"))), P("bn")))


def test_network_replace():
    p = load(NET + "network n {\n  input 3x32x32\n  classes 10\n  channels 8\n  cells 4 reduce at 1, 2\n"
                   "  replace 1 with avg_pool(k=3, stride=2) >> pwconv(out=4 * C)\n"
                   "  replace 2 with maxpool(k=3) >> pwconv(out=4 * C)\n}\n")
    slots = p.templates["n"].slots
    assert slots[1].cell is None and slots[1].reduction
    assert slots[1].replacement == ir.Seq((P("avg_pool", k=3, stride=2), P("pwconv", out=ir.BinOp("*", 4, ir.Sym("C")))))
    # an op using `s` gets stride 2 at a reduction slot
    assert slots[2].replacement.parts[0] == P("max_pool", k=3, stride=ir.Sym("s"))
    assert slots[0].cell == "normal" and slots[3].cell == "normal"


@pytest.mark.parametrize("stmt, message", [
    ("cells 4 reduce at 4", "outside the 4 cells"),
    ("cells 4\n  replace 7 with bn", "cannot replace cell 7"),
    ("cells 4\n  heads distill after 9", "distill head after cell 9"),
    ("cells 4\n  aux after 4", "auxiliary head after cell 4"),
])
def test_network_index_errors(stmt, message):
    e = error_of(NET + f"network n {{\n  input 3x32x32\n  classes 10\n  channels 8\n  {stmt}\n}}\n")
    assert message in e.message


def test_network_needs_its_parts():
    e = error_of("network n {\n  input 3x32x32\n  classes 10\n  cells 4\n}\n")
    assert "needs `channels`" in e.message


def test_macros():
    p = load(NET + "network n {\n  input 3x32x32\n  classes 10\n  channels 8\n  cells 4 reduce at 1, 2 cycle a, b\n}\n"
                   "macro m1 version 1 {\n  template n\n}\n"
                   "macro m2 version 2 {\n  template n\n  types a, b\n  depth 4\n}\n")
    assert p.macros["m1"] == ir.MacroSpec("m1", 1, "n", (), 20)
    assert p.macros["m2"] == ir.MacroSpec("m2", 2, "n", ("a", "b"), 4)
    assert "at least two cell `types`" in error_of(
        NET + "network n {\n  input 3x32x32\n  classes 10\n  channels 8\n  cells 4\n}\n"
              "macro m version 2 {\n  template n\n  types a\n}\n").message


# ----------------------------------------------------------------------------- genotypes


GENO = 'use "spaces.geno"\nnetwork t {\n  input 3x32x32\n  classes 10\n  channels 8\n  cells 3 reduce at 1\n}\n'


def test_genotype_with_zero_edge_node():
    p = load(GENO + "genotype g {\n  space darts\n  template t\n  cell normal {\n    n0 = sep_conv_3(c0) + skip(c1)\n"
                    "    n1 = skip(n0)\n    n2 = 0\n  }\n}\n")
    g = p.genotypes["g"]
    assert g.space == "darts" and g.template == "t"
    cell = g.cell("normal")
    assert cell.nodes[2] == ("n2", ())
    assert cell.edges_of("n0") == (ir.GenoEdge("sep_conv_3", "c0"), ir.GenoEdge("skip", "c1"))
    assert cell.output == ("n0", "n1", "n2")
    assert [label for label, _ in cell.ops] == ["sep_conv_3", "skip"]
    assert cell.impl("skip") == p.spaces["darts"].impl("skip")


def test_genotype_dotted_cells_zero_and_reduction():
    p = load(GENO + "genotype g {\n  space darts\n"
                    "  cell stage1.normal {\n    n0 = skip(c0)\n  }\n"
                    "  cell stage2.normal {\n    zero V3\n    n0 = sep_conv_5(c1)\n  }\n"
                    "  cell reduce {\n    reduction\n    inputs a, b\n    n0 = max_pool_3(a) + max_pool_3(b)\n"
                    "    output concat(n0)\n  }\n}\n")
    g = p.genotypes["g"]
    assert [key for key, _ in g.cells] == ["stage1.normal", "stage2.normal", "reduce"]
    assert g.cell("stage2.normal").zero == "V3" and g.cell("stage1.normal").zero == "V1"
    assert g.cell("reduce").reduction and g.cell("reduce").inputs == ("a", "b")


def test_genotype_special_ops_and_provenance_and_macro():
    p = load(GENO + "genotype g {\n  space darts\n  provenance {\n    source = \"search\"\n    epoch = 30\n  }\n"
                    "  macro {\n    version = 1\n    skips = [0, -1, 2]\n  }\n"
                    "  cell normal {\n    zero V2\n    n0 = random(c0) + zero(c1)\n  }\n}\n")
    g = p.genotypes["g"]
    assert dict(g.provenance) == {"source": "search", "epoch": "30"}
    assert g.macro == ir.MacroChoice(1, (0, -1, 2), ())
    assert [label for label, _ in g.cell("normal").ops] == ["random", "zero"]
    p = load(GENO + "genotype h {\n  macro {\n    version = 2\n    types = [a, b, a]\n  }\n"
                    "  cell a {\n    n0 = skip(c0)\n  }\n}\n")
    assert p.genotypes["h"].macro == ir.MacroChoice(2, (), ("a", "b", "a"))


def test_genotype_without_space_uses_op_definitions():
    p = load('use "ops.geno"\ngenotype g {\n  cell normal {\n    n0 = sep_conv(c0) + skip(c1)\n  }\n}\n')
    impl = p.genotypes["g"].cell("normal").impl("sep_conv")
    assert impl.name == "sep_conv" and dict(impl.params) == {}
    assert p.genotypes["g"].space is None


@pytest.mark.parametrize("body, message", [
    ("n0 = skip(n0)", "cycle in cell `normal`"),
    ("n0 = skip(c3)", "unknown state `c3`"),
    ("n0 = conv_3(c0)", "does not belong to space `darts`"),
    ("n0 = skip(c0)\n    n0 = skip(c1)", "defined twice"),
    ("n0 = skip(c0)\n    output concat(n1)", "does not define"),
    ("zero V9\n    n0 = skip(c0)", "unknown zero configuration"),
])
def test_genotype_errors(body, message):
    e = error_of(GENO + f"genotype g {{\n  space darts\n  cell normal {{\n    {body}\n  }}\n}}\n")
    assert message in e.message


def test_genotype_reduction_checks_stride_2():
    e = error_of('use "ops.geno"\nop act = relu\ngenotype g {\n  cell r {\n    reduction\n    n0 = act(c0)\n  }\n}\n')
    assert "cannot take stride 2" in e.message


def test_errors_of_independent_definitions_are_all_reported():
    with pytest.raises(ErrorGroup) as info:
        load('use "spaces.geno"\nspace a = drats\nspace b = basik\ncell c {\n  nodes 0\n}\n')
    assert [e.span.line for e in info.value.errors] == [2, 3, 4]


def test_local_names_in_source_order():
    p = load(NET)
    assert p.local("cell") == ["normal", "reduce", "a", "b"]
    assert "darts" in p.spaces and p.local("space") == []
