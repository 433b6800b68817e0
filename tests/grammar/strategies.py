"""Hypothesis strategies for random .geno ASTs of every statement kind.

The ASTs are the ones the parser can produce: names avoid every reserved word of the grammar,
``-3`` is a ``Num(-3)`` (never ``Neg(Num(3))``), chains hold calls (the parser flattens nested
chains), a space difference/union has a literal or a name on its right, lists appear only as
setting values, and comments are single stripped lines (with :data:`COMMENT_GAP` for a blank
line between comment paragraphs, never first and never twice in a row).
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import strategies as st

from genolang.grammar import syntax as S
from genolang.grammar.printer import COMMENT_GAP

GRAMMAR = Path(__file__).resolve().parents[2] / "grammar" / "geno.lark"
KEYWORDS = frozenset(
    w for w in re.findall(r'"([^"\\]*)"', GRAMMAR.read_text(encoding="utf-8"))
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", w)
)

# ----------------------------------------------------------------------------- atoms

names = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(lambda n: n not in KEYWORDS)
small_ints = st.integers(min_value=0, max_value=10_000)

_text_chars = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\n\r")
line_text = st.text(_text_chars, max_size=20)
comment_text = line_text.map(str.strip).filter(bool)


@st.composite
def comment_block(draw, trailing_gap: bool = True) -> tuple[str, ...]:
    """Comment lines with optional paragraph gaps: never first, never doubled, last only if allowed."""
    texts = draw(st.lists(comment_text, max_size=3))
    out: list[str] = []
    for i, text in enumerate(texts):
        if i and draw(st.booleans()):
            out.append(COMMENT_GAP)
        out.append(text)
    if out and trailing_gap and draw(st.integers(0, 3)) == 0:
        out.append(COMMENT_GAP)
    return tuple(out)


comments = st.one_of(st.just(()), comment_block())
notes = st.one_of(st.none(), comment_text)


def stmt(cls, **fields):
    """A statement with random comments and note."""
    return st.builds(cls, comments=comments, note=notes, **fields)


# ----------------------------------------------------------------------------- values

finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
nums = st.one_of(st.integers(min_value=-10**12, max_value=10**12), finite_floats).map(S.Num)
strs = line_text.map(S.Str)
bools = st.booleans().map(S.Bool)
name_values = names.map(S.Name)
leaves = st.one_of(nums, strs, bools, name_values)


def _grow(children):
    non_num = children.filter(lambda v: not isinstance(v, S.Num))
    return st.one_of(
        non_num.map(S.Neg),
        st.builds(S.BinOp, st.sampled_from(["+", "-", "*", "//"]), children, children),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: S.TupleV(tuple(xs))),
    )


values = st.recursive(leaves, _grow, max_leaves=6)
setting_values = st.one_of(values, st.lists(values, max_size=3).map(lambda xs: S.ListV(tuple(xs))))

# ----------------------------------------------------------------------------- op expressions

kwargs = st.builds(S.Kwarg, names, values)
bare_calls = st.builds(S.Call, names)


def _kwargs_once(args) -> bool:
    """A keyword argument given twice is a syntax error (issue 22)."""
    keys = [a.name for a in args if isinstance(a, S.Kwarg)]
    return len(keys) == len(set(keys))


def _grow_expr(children):
    calls = children.filter(lambda e: isinstance(e, S.Call))
    call_with_args = st.builds(
        S.Call, names, st.lists(st.one_of(kwargs, children), max_size=3).filter(_kwargs_once).map(tuple),
        st.just(True))
    chains = st.lists(st.one_of(calls, call_with_args), min_size=2, max_size=3).map(lambda ps: S.Chain(tuple(ps)))
    return st.one_of(call_with_args, chains)


exprs = st.recursive(bare_calls, _grow_expr, max_leaves=5)

# ----------------------------------------------------------------------------- definitions

params = st.one_of(st.none(), st.lists(st.builds(S.Param, names, st.one_of(st.none(), values)),
                                       max_size=3, unique_by=lambda p: p.name).map(tuple))
op_defs = stmt(S.OpDef, name=names, params=params, body=exprs, stride2=st.one_of(st.none(), exprs))
uses = stmt(S.Use, path=line_text)

space_entries = st.builds(S.SpaceEntry, names, st.one_of(st.none(), exprs))
space_lits = st.lists(space_entries, max_size=3).map(lambda es: S.SpaceLit(tuple(es)))
space_atoms = st.one_of(names.map(S.SpaceRef), space_lits)
space_exprs = st.recursive(
    space_atoms, lambda left: st.builds(S.SpaceBin, st.sampled_from(["|", "-"]), left, space_atoms),
    max_leaves=3)
space_defs = stmt(S.SpaceDef, name=names, expr=space_exprs)

name_tuples = st.lists(names, min_size=1, max_size=3).map(tuple)
int_tuples = st.lists(small_ints, min_size=1, max_size=3).map(tuple)

cell_stmts = st.one_of(
    stmt(S.Inputs, names=name_tuples),
    stmt(S.Nodes, count=small_ints),
    stmt(S.Edges, node=st.one_of(st.none(), names), space=space_exprs),
    stmt(S.Select, rule=names, k=st.one_of(st.none(), small_ints)),
    stmt(S.Zero, config=names),
    stmt(S.Reduction),
    stmt(S.Output, names=name_tuples),
)
cell_defs = stmt(S.CellDef, name=names, like=st.one_of(st.none(), names),
                 body=st.lists(cell_stmts, max_size=4).map(tuple))

net_stmts = st.one_of(
    stmt(S.InputShape, shape=st.tuples(small_ints, small_ints, small_ints)),
    stmt(S.Classes, count=small_ints),
    stmt(S.Channels, count=small_ints),
    stmt(S.Stem, expr=exprs),
    stmt(S.Tail, expr=exprs),
    stmt(S.Cells, count=small_ints, reduce_at=st.one_of(st.just(()), int_tuples),
         cycle=st.one_of(st.just(()), name_tuples)),
    stmt(S.Replace, index=small_ints, expr=exprs),
    stmt(S.Heads, after=st.one_of(st.just(()), int_tuples)),
    stmt(S.Aux, after=small_ints),
)
network_defs = stmt(S.NetworkDef, name=names, body=st.lists(net_stmts, max_size=4).map(tuple))

macro_stmts = st.one_of(
    stmt(S.MacroTemplate, name=names),
    stmt(S.MacroTypes, names=name_tuples),
    stmt(S.MacroDepth, depth=small_ints),
)
macro_defs = stmt(S.MacroDef, name=names, version=small_ints, body=st.lists(macro_stmts, max_size=3).map(tuple))

settings = stmt(S.Setting, key=names, value=setting_values)
entries = st.recursive(
    settings,
    lambda children: stmt(S.Block, key=names, entries=st.lists(children, max_size=3).map(tuple)),
    max_leaves=6,
)
entry_lists = st.lists(entries, max_size=4).map(tuple)
experiment_defs = stmt(S.ExperimentDef, name=names, entries=entry_lists)

edges = st.builds(S.EdgeRef, names, names)
dotted = st.lists(names, min_size=1, max_size=3).map(".".join)
gcell_stmts = st.one_of(
    stmt(S.Inputs, names=name_tuples),
    stmt(S.Reduction),
    stmt(S.Zero, config=names),
    stmt(S.NodeDef, node=names, edges=st.lists(edges, max_size=4).map(tuple)),  # 0 edges: `n = 0`
    stmt(S.Output, names=name_tuples),
)
geno_stmts = st.one_of(
    stmt(S.GenoSpace, name=names),
    stmt(S.GenoTemplate, name=names),
    stmt(S.Provenance, entries=entry_lists),
    stmt(S.GenoMacro, entries=entry_lists),
    stmt(S.GenoCellDef, name=dotted, body=st.lists(gcell_stmts, max_size=5).map(tuple)),
)
genotype_defs = stmt(S.GenotypeDef, name=names, body=st.lists(geno_stmts, max_size=4).map(tuple))

definitions = st.one_of(uses, op_defs, space_defs, cell_defs, network_defs, macro_defs, experiment_defs,
                        genotype_defs)

modules = st.builds(
    S.Module,
    st.lists(definitions, max_size=4).map(tuple),
    st.one_of(st.just(()), comment_block(trailing_gap=False)),
)
