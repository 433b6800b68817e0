"""Golden tests of the canonical layout, and `fmt` idempotency over every shipped spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from genolang.grammar import parse, parse_file, print_module, print_value, syntax as S

ROOT = Path(__file__).resolve().parents[2]
SPEC_FILES = sorted(p for d in ("specs", "compiler/stdlib") for p in (ROOT / d).rglob("*.geno"))


def fmt(text: str) -> str:
    return print_module(parse(text))


def test_messy_genotype_becomes_canonical():
    messy = """genotype   g{space darts cell normal{inputs c0,c1
    n0=sep_conv_3(c0)+skip( c1 )   n1 = 0
    output concat( n0 ,n1 )}  cell stage1.reduce { reduction n0 = max_pool_3(c0) } }"""
    assert fmt(messy) == """genotype g {
  space darts
  cell normal {
    inputs c0, c1
    n0 = sep_conv_3(c0) + skip(c1)
    n1 = 0
    output concat(n0, n1)
  }
  cell stage1.reduce {
    reduction
    n0 = max_pool_3(c0)
  }
}
"""


def test_one_blank_line_between_definitions_none_between_ops_and_uses():
    text = 'use "a.geno"\nuse "b.geno"\nop x = relu\nop y(k=3) = conv(k=k)\nspace s {\nskip\n}\ncell c {}\n'
    assert fmt(text) == (
        'use "a.geno"\nuse "b.geno"\n\n'
        "op x = relu\nop y(k=3) = conv(k=k)\n\n"
        "space s {\n  skip\n}\n\n"
        "cell c {}\n"
    )


def test_a_commented_op_gets_a_blank_line_before_it():
    text = "op a = relu\n# the second\nop b = bn\n"
    assert fmt(text) == "op a = relu\n\n# the second\nop b = bn\n"


def test_comments_and_notes_are_kept_in_place():
    text = """# header

# about g
genotype g {   # a note
  # the normal cell
  cell normal {
    n0 = skip(c0)   # identity
  }
}
# the end
"""
    assert fmt(text) == """# header

# about g
genotype g {  # a note
  # the normal cell
  cell normal {
    n0 = skip(c0)  # identity
  }
}

# the end
"""


def test_blank_line_between_comment_and_statement_is_kept():
    text = "# section\n\nop a = relu\n"
    assert fmt(text) == text
    assert fmt("# a\n\n\n\n# b\nop x = y\n") == "# a\n\n# b\nop x = y\n"


def test_space_forms():
    assert fmt("space s = {a, b = f(k=3)}") == "space s {\n  a\n  b = f(k=3)\n}\n"
    assert fmt("space t = darts - {zero,skip}|extra") == "space t = darts - {zero, skip} | extra\n"
    assert fmt("space e {}") == "space e {}\n"


def test_op_definitions():
    text = "op sep(k=3,s=1)=relu>>dwconv(k=k,stride=s)>>pwconv>>bn on stride 2=factorized_reduce"
    assert fmt(text) == ("op sep(k=3, s=1) = relu >> dwconv(k=k, stride=s) >> pwconv >> bn "
                         "on stride 2 = factorized_reduce\n")
    assert fmt("op r = residual((a >> b), sum(c, d()))") == "op r = residual(a >> b, sum(c, d()))\n"
    assert fmt("op n() = x") == "op n() = x\n"


def test_network_and_macro_statements():
    text = """network net { input 3x32x32 classes 10 channels 16 stem conv(k=3, out=3*C) >> bn
    cells 8 reduce at 2,5 cycle normal, reduce  replace 0 with stem_cell heads distill after 2, 5 aux after 5 }
    network plain { heads none }
    macro m version 2 { template net types a, b depth 3 }"""
    assert fmt(text) == """network net {
  input 3x32x32
  classes 10
  channels 16
  stem conv(k=3, out=3 * C) >> bn
  cells 8 reduce at 2, 5 cycle normal, reduce
  replace 0 with stem_cell
  heads distill after 2, 5
  aux after 5
}

network plain {
  heads none
}

macro m version 2 {
  template net
  types a, b
  depth 3
}
"""


def test_experiment_blocks_and_values():
    text = 'experiment e { data { kind = digits, split = (0.5, 0.5) } seeds = [0, 1,2] lr = 0.025 name = "x\\"y" on = true }'
    assert fmt(text) == """experiment e {
  data {
    kind = digits
    split = (0.5, 0.5)
  }
  seeds = [0, 1, 2]
  lr = 0.025
  name = "x\\"y"
  on = true
}
"""


@pytest.mark.parametrize("value, text", [
    (S.Num(-3), "-3"),
    (S.BinOp("-", S.Name("a"), S.BinOp("-", S.Name("b"), S.Name("c"))), "a - (b - c)"),
    (S.BinOp("-", S.BinOp("-", S.Name("a"), S.Name("b")), S.Name("c")), "a - b - c"),
    (S.BinOp("*", S.BinOp("+", S.Name("a"), S.Num(1)), S.Num(2)), "(a + 1) * 2"),
    (S.BinOp("+", S.Num(-1), S.Num(2)), "(-1) + 2"),
    (S.Neg(S.BinOp("+", S.Name("a"), S.Name("b"))), "-(a + b)"),
    (S.Neg(S.Name("k")), "-k"),
    (S.TupleV((S.Num(1),)), "(1,)"),
    (S.Num(1e-05), "1e-05"),
    (S.Num(2.0), "2.0"),
    (S.Str('a"b\\c'), '"a\\"b\\\\c"'),
])
def test_values(value, text):
    assert print_value(value) == text
    assert parse(f"experiment e {{ v = {text} }}").items[0].entries[0].value == value


def test_negative_literal_folds_into_the_number():
    value = parse("experiment e { v = -3 w = -(2) }").items[0].entries
    assert value[0].value == S.Num(-3) and value[1].value == S.Num(-2)


def test_empty_module_prints_nothing():
    assert print_module(S.Module(())) == ""
    assert fmt("# only a comment\n") == "# only a comment\n"


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fmt_is_idempotent_on_shipped_specs(path):
    once = print_module(parse_file(path))
    assert print_module(parse(once, str(path))) == once
    assert parse(once, str(path)) == parse_file(path)


@pytest.mark.parametrize("path", sorted((ROOT / "specs" / "zoo").glob("*.geno")), ids=lambda p: p.name)
def test_zoo_files_are_canonical(path):
    text = path.read_text(encoding="utf-8")
    assert print_module(parse(text, str(path))) == text


def test_comments_on_space_block_entries_stay_with_their_entry():
    from genolang.grammar import parse, print_module

    text = (
        "space s {\n"
        "  # the pools\n"
        "  max_pool_3 = maxpool(k=3)  # cheap\n"
        "  avg_pool_3 = avgpool(k=3)\n"
        "  # convolutions\n"
        "  sep_conv_3 = sep_conv(k=3)\n"
        "}\n"
    )
    module = parse(text)
    entries = module.items[0].expr.entries
    assert entries[0].comments == ("the pools",) and entries[0].note == "cheap"
    assert entries[2].comments == ("convolutions",)
    assert print_module(module) == text
    assert parse(print_module(module)) == module
