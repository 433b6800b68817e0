"""Imported definitions are lowered on first use; the main file's are verified at load."""

import pytest

import genolang
from genolang.base.errors import GenolangError

LIB = """
op good = relu
op broken = nothing_like_this
space lib {
  good
}
"""


def test_imported_definitions_are_lowered_when_used(tmp_path):
    (tmp_path / "lib.geno").write_text(LIB)
    main = tmp_path / "main.geno"
    main.write_text('use "lib.geno"\n\nspace mine = lib | {skip2 = good}\n')
    program = genolang.load(main)           # the broken op in lib.geno is not used: no error
    assert program.spaces["mine"].labels == ("good", "skip2")
    assert "lib" in program.spaces and program.spaces["lib"].labels == ("good",)
    assert list(program.spaces) == ["lib", "mine"]


def test_checking_the_library_itself_reports_its_errors(tmp_path):
    (tmp_path / "lib.geno").write_text(LIB)
    with pytest.raises(GenolangError, match="unknown operation `nothing_like_this`"):
        genolang.load(tmp_path / "lib.geno")


def test_an_imported_definition_used_by_the_main_file_is_verified(tmp_path):
    (tmp_path / "lib.geno").write_text(LIB + "space bad {\n  broken\n}\n")
    main = tmp_path / "main.geno"
    main.write_text('use "lib.geno"\n\nspace mine = bad\n')
    with pytest.raises(GenolangError, match="nothing_like_this"):
        genolang.load(main)
