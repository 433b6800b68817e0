"""`geno import`, `geno export` and `geno diff` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from genolang.cli import app
from genolang.grammar import interop, parse

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "specs" / "zoo"
runner = CliRunner()

DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
NESTED = "Genotype(normal=[[('skip_connect', 0)], [('sep_conv_3x3', 1), ('sep_conv_3x3', 2), ('skip_connect', 0)]], normal_concat=[2, 3], reduce=[[('max_pool_3x3', 0), ('max_pool_3x3', 1)]], reduce_concat=[2])"


def test_import_darts_prints_the_canonical_spec():
    result = runner.invoke(app, ["import", "darts", DARTS_V2, "--name", "v2", "--source", "DARTS V2"])
    assert result.exit_code == 0, result.output
    expected = interop.standalone_text(interop.parse_darts(DARTS_V2, name="v2", source="DARTS V2"),
                                       ("spaces.geno", "cifar.geno"), "retrain_net")
    assert result.stdout == expected
    assert result.stdout.startswith('use "spaces.geno"\nuse "cifar.geno"\n\ngenotype v2 {\n  space darts\n'
                                    "  template retrain_net\n")


def test_import_from_file_stdin_and_to_out(tmp_path):
    src = tmp_path / "g.py"
    src.write_text("MY_GENO = " + DARTS_V2 + "\n")
    out = tmp_path / "out" / "g.geno"
    result = runner.invoke(app, ["import", "darts", "--file", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert 'use "cifar.geno"\n\ngenotype my_geno {' in out.read_text()
    piped = runner.invoke(app, ["import", "darts", "-"], input=DARTS_V2)
    assert piped.exit_code == 0 and "\ngenotype imported {\n" in piped.stdout


def test_import_nb201_and_cdarts_json(tmp_path):
    result = runner.invoke(app, ["import", "nb201", NB201, "--drop-none"])
    assert result.exit_code == 0, result.output
    assert "space nb201" in result.stdout and "n2 = skip(c0) + nor_conv_3(n0) + skip(n1)" in result.stdout
    cells = tmp_path / "cifar_genotype.json"
    cells.write_text(json.dumps({str(i): NESTED for i in range(3)}))
    result = runner.invoke(app, ["import", "cdarts", "-f", str(cells), "-n", "cd"])
    assert result.exit_code == 0, result.output
    assert 'format = "cdarts"' in result.stdout and "cell stage" not in result.stdout


def test_export_darts_flat_nested_cdarts_and_nb201(tmp_path):
    result = runner.invoke(app, ["export", "darts", str(ZOO / "darts_v2.geno")])
    assert result.exit_code == 0, result.output
    assert result.stdout == DARTS_V2 + "\n"

    nested = tmp_path / "nested.geno"
    nested.write_text(interop.genotype_text(interop.parse_darts(NESTED)))
    result = runner.invoke(app, ["export", "darts", str(nested), "--nested"])
    assert result.stdout == NESTED + "\n"
    result = runner.invoke(app, ["export", "cdarts", str(nested)])
    assert json.loads(result.stdout) == {"0": NESTED, "1": NESTED, "2": NESTED}

    cell = tmp_path / "nb.geno"
    cell.write_text(interop.genotype_text(interop.parse_nb201(NB201, name="a"))
                    + "\n" + interop.genotype_text(interop.parse_nb201(NB201, name="b", drop_none=True)))
    result = runner.invoke(app, ["export", "nb201", str(cell), "--genotype", "b"])
    assert result.exit_code == 0, result.output
    assert result.stdout == NB201 + "\n"


def test_diff_exit_codes(tmp_path):
    same = runner.invoke(app, ["diff", str(ZOO / "darts_v2.geno"), str(ZOO / "darts_v2.geno")])
    assert same.exit_code == 0 and same.stdout.startswith("same architecture (")
    other = runner.invoke(app, ["diff", str(ZOO / "darts_v1.geno"), str(ZOO / "darts_v2.geno")])
    assert other.exit_code == 1
    lines = other.stdout.splitlines()
    assert lines[0] == "genotype: darts_v1 -> darts_v2"
    assert "normal.n1: skip(c0) -> sep_conv_3(c0)" in lines
    assert "reduce.n1: max_pool_3(c0) -> max_pool_3(c1)" in lines
    assert lines[-2:] == ["reduce.n3: - avg_pool_3(c0)", "reduce.n3: + max_pool_3(c1)"]


def test_errors_are_rendered_with_exit_2_through_main(tmp_path, geno):
    bad = geno("import", "darts", "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 5)])")
    assert bad.returncode == 2
    assert "reads source 5" in bad.stderr and "^" in bad.stderr and "Traceback" not in bad.stderr

    nested = tmp_path / "nested.geno"
    nested.write_text(interop.genotype_text(interop.parse_darts(NESTED)))
    flat = geno("export", "darts", str(nested))
    assert flat.returncode == 2 and "--nested" in flat.stderr and "has 1 edge" in flat.stderr

    unknown = geno("import", "dartz", DARTS_V2)
    assert unknown.returncode == 2 and "did you mean `darts`" in unknown.stderr

    diff = geno("diff", str(ZOO / "darts_v1.geno"), str(ZOO / "darts_v2.geno"))
    assert diff.returncode == 1 and diff.stdout.startswith("genotype: darts_v1 -> darts_v2")


def test_imported_spec_round_trips_through_export():
    imported = runner.invoke(app, ["import", "nb201", NB201]).stdout
    definition = interop.find_genotype(parse(imported))
    assert interop.export_nb201(definition) == NB201
