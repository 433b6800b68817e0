"""Packaged specs by name: CLI arguments and `use` lines find the spec library."""

from __future__ import annotations


def test_a_name_finds_the_packaged_spec(geno, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = geno("check", "icdarts/digits", "zoo/darts_v2")
    assert result.returncode == 0, result.stderr
    assert "specs/icdarts/digits.geno: ok" in result.stdout
    assert "parameters" in geno("compile", "zoo/darts_v2.geno").stdout


def test_a_file_of_that_name_comes_first(geno, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "icdarts").mkdir()
    (tmp_path / "icdarts" / "digits").write_text('use "spaces.geno"\n')
    result = geno("check", "icdarts/digits")
    assert result.returncode == 0 and "nothing defined" in result.stdout, result.stdout


def test_an_unknown_name_suggests_packaged_ones(geno, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = geno("search", "icdarts/digts")
    assert result.returncode == 2
    assert "no packaged spec" in result.stderr and "`icdarts/digits`" in result.stderr


def test_use_reaches_the_library_from_anywhere(geno, tmp_path):
    spec = tmp_path / "mine.geno"
    spec.write_text('use "zoo/darts_v2.geno"\nuse "icdarts/templates.geno"\n')
    result = geno("check", str(spec))
    assert result.returncode == 0, result.stderr
    assert geno("compile", str(spec), "--genotype", "darts_v2").returncode == 0
