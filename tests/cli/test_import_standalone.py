"""`geno import` writes a spec that checks and compiles by itself, in an empty folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from genolang.api import compile_eval, load
from genolang.grammar import interop, parse_file

ROOT = Path(__file__).resolve().parents[2]
ZOO = sorted((ROOT / "specs" / "zoo").glob("*.geno"))
SIDE_HEADS = ("aux_head.", "distill_heads.")


def _params(summary: str) -> int:
    match = re.search(r"^  parameters .*\(([\d,]+)\)$", summary, re.M)
    assert match, summary
    return int(match.group(1).replace(",", ""))


def _zoo_params(path: Path) -> int:
    net = compile_eval(load(path))
    return sum(p.numel() for n, p in net.named_parameters() if not n.startswith(SIDE_HEADS))


@pytest.mark.parametrize("path", ZOO, ids=lambda p: p.stem)
def test_each_zoo_string_imports_to_a_spec_that_compiles_alone(path, tmp_path, monkeypatch, geno):
    definition = interop.find_genotype(parse_file(path))
    string = interop.export_darts(definition, nested='format = "cdarts"' in path.read_text())
    monkeypatch.chdir(tmp_path)                     # nothing here but what import writes
    ran = geno("import", "darts", string, "--out", "g.geno")
    assert ran.returncode == 0, ran.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.geno"]
    assert geno("check", "g.geno").returncode == 0
    compiled = geno("compile", "g.geno", "--summary", "--batch", "1")
    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stdout.startswith("network retrain_net (discrete)")
    assert _params(compiled.stdout) == _zoo_params(path)


def test_template_option_and_use_files(tmp_path, monkeypatch, geno):
    monkeypatch.chdir(tmp_path)
    nb201 = "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|"
    ran = geno("import", "nb201", nb201, "--template", "nb201_net_c100")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith('use "nb201.geno"\n\ngenotype imported {\n  space nb201\n  template nb201_net_c100\n')
    wrong = geno("import", "nb201", nb201, "--template", "nb201_net_c10")
    assert wrong.returncode == 2 and "no network `nb201_net_c10` in the standard library" in wrong.stderr
    assert "nb201_net_c100" in wrong.stderr                  # did you mean
    # a template of the user's own, from a --use file
    (tmp_path / "mine.geno").write_text('use "nb201.geno"\n\nnetwork small {\n  input 3x16x16\n  classes 4\n'
                                        "  channels 8\n  stem conv(k=3) >> bn\n  cells 2\n  heads none\n}\n")
    ran = geno("import", "nb201", nb201, "--template", "small", "--use", "mine.geno", "-o", "g.geno")
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "g.geno").read_text().startswith('use "mine.geno"\nuse "nb201.geno"\n')
    compiled = geno("compile", "g.geno")
    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stdout.startswith("network small (discrete)")
    missing = geno("import", "nb201", nb201, "--use", "nope.geno")
    assert missing.returncode == 2 and "--use nope.geno: no such file" in missing.stderr


def test_import_pipes_into_compile_from_stdin(tmp_path, monkeypatch, geno):
    import io
    import sys

    monkeypatch.chdir(tmp_path)
    ran = geno("import", "nb201", "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|"
               "skip_connect~1|skip_connect~2|")
    monkeypatch.setattr(sys, "stdin", io.StringIO(ran.stdout))
    compiled = geno("compile", "-")
    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stdout.startswith("network nb201_net (discrete)")


def test_a_cdarts_cell_file_with_different_stages_compiles_stage_by_stage(tmp_path, monkeypatch, geno):
    import json

    first = ("Genotype(normal=[[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], [('sep_conv_3x3', 1), ('skip_connect', 2)]],"
             " normal_concat=range(2, 4), reduce=[[('max_pool_3x3', 0), ('max_pool_3x3', 1)],"
             " [('skip_connect', 2), ('max_pool_3x3', 1)]], reduce_concat=range(2, 4))")
    second = first.replace("('sep_conv_3x3', 1), ('skip_connect', 2)", "('sep_conv_3x3', 1), ('dil_conv_3x3', 2)")
    assert second != first
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cells.json").write_text(json.dumps({"0": first, "1": second, "2": first}))
    assert geno("import", "cdarts", "-f", "cells.json", "-o", "g.geno").returncode == 0
    definition = interop.find_genotype(parse_file(tmp_path / "g.geno"))
    program = load(tmp_path / "g.geno")
    net = compile_eval(program)
    keys = [row.key for row in net.plan.cells]
    # the file's stages 0, 1, 2 are the network's stages 1, 2, 3 (each closed by its reduction cell)
    assert keys[:7] == ["stage1.normal"] * 6 + ["stage1.reduce"]
    assert keys[7:14] == ["stage2.normal"] * 6 + ["stage2.reduce"] and keys[14:] == ["stage3.normal"] * 6
    assert json.loads(interop.export_cdarts_json(definition)) == {
        k: interop.export_darts(interop.parse_darts(v), nested=True) for k, v in (("0", first), ("1", second), ("2", first))}
