"""`geno fmt`: in place, --check, --diff, folders, stdin, syntax errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from genolang.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

MESSY = "genotype g{cell normal{n0=skip(c0)+sep_conv_3( c1 )   output concat(n0)}}"
CANONICAL = """genotype g {
  cell normal {
    n0 = skip(c0) + sep_conv_3(c1)
    output concat(n0)
  }
}
"""


def test_formats_files_in_place(tmp_path):
    path = tmp_path / "a.geno"
    path.write_text(MESSY)
    result = runner.invoke(app, ["fmt", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_text() == CANONICAL
    assert f"reformatted {path}" in result.stdout
    again = runner.invoke(app, ["fmt", str(path)])
    assert again.exit_code == 0 and again.stdout == ""


def test_folders_are_searched_recursively_for_geno_files(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    files = [tmp_path / "x.geno", tmp_path / "sub" / "deeper" / "y.geno"]
    for f in files:
        f.write_text(MESSY)
    other = tmp_path / "sub" / "notes.txt"
    other.write_text(MESSY)
    result = runner.invoke(app, ["fmt", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert all(f.read_text() == CANONICAL for f in files)
    assert other.read_text() == MESSY


def test_check_lists_files_that_would_change_and_changes_nothing(tmp_path):
    messy, clean = tmp_path / "messy.geno", tmp_path / "clean.geno"
    messy.write_text(MESSY)
    clean.write_text(CANONICAL)
    result = runner.invoke(app, ["fmt", "--check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"would reformat {messy}" in result.stdout and str(clean) not in result.stdout
    assert messy.read_text() == MESSY
    ok = runner.invoke(app, ["fmt", "--check", str(clean)])
    assert ok.exit_code == 0 and ok.stdout == ""


def test_diff_shows_the_change(tmp_path):
    path = tmp_path / "a.geno"
    path.write_text(MESSY)
    result = runner.invoke(app, ["fmt", "--diff", str(path)])
    assert result.exit_code == 1
    assert "+    n0 = skip(c0) + sep_conv_3(c1)" in result.stdout
    assert path.read_text() == MESSY


def test_syntax_errors_exit_2_and_the_other_files_are_still_formatted(tmp_path):
    bad, good = tmp_path / "a_bad.geno", tmp_path / "b_good.geno"
    bad.write_text("genotype g {\n  cell normal {\n    n0 = skip(c0\n  }\n}\n")
    good.write_text(MESSY)
    result = runner.invoke(app, ["fmt", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{bad}:4:3: syntax error" in result.stderr and "^" in result.stderr
    assert good.read_text() == CANONICAL


def test_stdin_to_stdout():
    result = runner.invoke(app, ["fmt", "-"], input=MESSY)
    assert result.exit_code == 0
    assert result.stdout == CANONICAL


def test_shipped_zoo_is_canonical():
    result = runner.invoke(app, ["fmt", "--check", str(ROOT / "specs" / "zoo")])
    assert result.exit_code == 0, result.output


def test_cli_exit_codes_through_main(tmp_path, geno):
    missing = geno("fmt", str(tmp_path / "nope.geno"))
    assert missing.returncode == 2
    assert "no such file or folder" in missing.stderr and "Traceback" not in missing.stderr
    path = tmp_path / "a.geno"
    path.write_text(MESSY)
    check = geno("fmt", "--check", str(path))
    assert check.returncode == 1 and "would reformat" in check.stdout
