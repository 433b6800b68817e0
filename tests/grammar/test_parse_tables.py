"""The pre-generated LALR tables: current with the grammar, used, and parsing as the grammar does."""

from pathlib import Path

import lark
import pytest

from genolang.grammar import _parse_tables as tables
from genolang.grammar import parse_tables
from genolang.grammar.parser import _parser

ROOT = Path(__file__).resolve().parents[2]


def test_tables_are_generated_from_this_grammar():
    assert tables.GRAMMAR_SHA256 == parse_tables.grammar_hash(), \
        "geno.lark changed: run `python -m genolang.grammar.parse_tables` and commit grammar/_parse_tables.py"
    assert tables.LARK_VERSION == lark.__version__, "lark changed version: regenerate the tables"


def test_the_parser_comes_from_the_tables():
    assert _parser().source_path == "<deserialized>"     # lark's mark of a parser loaded, not built


def test_a_changed_grammar_falls_back_to_building(monkeypatch):
    monkeypatch.setattr(parse_tables, "grammar_hash", lambda text=None: "edited")
    assert parse_tables.load_parser().source_path != "<deserialized>"


@pytest.mark.parametrize("path", sorted((ROOT / "specs").rglob("*.geno"))[:12], ids=lambda p: p.name)
def test_loaded_and_built_parsers_give_the_same_tree(path):
    text = path.read_text(encoding="utf-8")
    assert parse_tables.load_parser().parse(text) == parse_tables.build_parser().parse(text)
