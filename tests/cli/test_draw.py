"""`geno draw`: SVG through graphviz, DOT text where `dot` is missing, α as edge colour."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genolang.cli import app
from genolang.compiler.genotype.draw import alpha_colour

ZOO = Path(__file__).resolve().parents[2] / "specs" / "zoo"
runner = CliRunner()


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's `dot` is not installed (.ci/run installs it with apt-get)")
def test_draws_an_svg_cell_with_dot(tmp_path):
    out = tmp_path / "normal.svg"
    result = runner.invoke(app, ["draw", str(ZOO / "darts_v2.geno"), "--cell", "normal", "--out", str(out)])
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert svg.count(">sep_conv_3</text>") == 5 and ">dil_conv_3</text>" in svg and "c_{k}" in svg


def test_without_dot_writes_dot_text_and_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "cells.svg"
    result = runner.invoke(app, ["draw", str(ZOO / "darts_v2.geno"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not out.exists()
    text = (tmp_path / "cells.dot").read_text()
    assert text.startswith('digraph "darts_v2" {') and '"cluster_normal"' in text and '"cluster_reduce"' in text
    assert '"normal.c1" -> "normal.n0" [label="sep_conv_3"' in text
    assert "graphviz's `dot` program was not found" in result.stderr and "apt-get install graphviz" in result.stderr


def test_network_template_and_dot_output(tmp_path):
    out = tmp_path / "net.dot"
    result = runner.invoke(app, ["draw", "icdarts/digits", "--network", "digits_search", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert 'cell1 [label="1: reduce (reduce)"' in text and 'cell4 [label="4: normal"' in text
    assert "cell1 -> head1 [style=dashed];" in text and "cell4 -> classifier;" in text


def test_macro_genotype_draws_its_skip_choice(tmp_path):
    spec = tmp_path / "macro.geno"
    spec.write_text('use "icdarts/templates.geno"\nuse "zoo/darts_v2.geno"\n\n'
                    + (ZOO / "darts_v2.geno").read_text().split('use "cifar.geno"', 1)[1]
                    .replace("genotype darts_v2 {", "genotype m {\n  macro {\n    version = 1\n"
                             "    skips = [-1, 0, 0, 1, 2, 3, 4, 5]\n  }", 1)
                    .replace("template retrain_net", "template search_net"))
    result = runner.invoke(app, ["draw", str(spec), "--out", str(tmp_path / "m.dot")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "m.dot").read_text()
    assert "stem -> cell0 [color=crimson" in text and "cell5 -> cell7 [color=crimson" in text


def test_run_alpha_colours_the_edges(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(ZOO / "darts_v2.geno", run / "genotype.geno")
    ops = ["skip", "sep_conv_3", "dil_conv_3"]
    alpha = {"normal": {"n0": {"from": ["c0", "c1"], "ops": ops, "softmax": [[0.1, 0.6, 0.3], [0.2, 0.7, 0.1]]}}}
    (run / "metrics.jsonl").write_text(json.dumps({"phase": "search", "alpha_softmax": alpha}) + "\n"
                                       + json.dumps({"phase": "final"}) + "\n")
    result = runner.invoke(app, ["draw", str(ZOO / "darts_v2.geno"), "--run", str(run), "--cell", "normal",
                                 "--out", str(tmp_path / "a.dot")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "a.dot").read_text()
    # the drawn weights (0.60 and 0.70) span the whole scale, and the legend says so (issue 22)
    assert f'"normal.c0" -> "normal.n0" [label="sep_conv_3 0.60", fontsize=10, color="{alpha_colour(0.0)}", penwidth=1.00]' in text
    assert f'label="sep_conv_3 0.70", fontsize=10, color="{alpha_colour(1.0)}", penwidth=4.00' in text
    assert "softmax(α) of the kept operation, grey = 0.60 to red = 0.70" in text
    assert '"normal.c0" -> "normal.n2"' in text and 'label="skip"' in text   # no α entry: plain
    assert alpha_colour(0.0) == "#aaaaaa" and alpha_colour(1.0) == "#d62728"


def test_unknown_format_is_a_user_error(tmp_path):
    from genolang.base.errors import ConfigError

    result = runner.invoke(app, ["draw", str(ZOO / "darts_v2.geno"), "--out", str(tmp_path / "x.jpeg")])
    assert isinstance(result.exception, ConfigError)


def test_a_run_directory_draws_to_a_picture_named_after_the_run(tmp_path, monkeypatch):
    """`geno draw RUN` wrote ./genotype.svg for every run: drawings overwrote each other."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(shutil, "which", lambda name: None)     # no graphviz: the DOT text is written
    alpha = {"normal": {"n0": {"from": ["c0", "c1"], "ops": ["sep_conv_3"], "softmax": [[0.5], [0.5]]}}}
    for name in ("mine", "mine-2"):
        (tmp_path / "runs" / name).mkdir(parents=True)
        shutil.copy(ZOO / "darts_v2.geno", tmp_path / "runs" / name / "genotype.geno")
        (tmp_path / "runs" / name / "metrics.jsonl").write_text(json.dumps({"phase": "search", "alpha_softmax": alpha}))
    for target in ("runs/mine", "runs/mine-2/genotype.geno"):
        result = runner.invoke(app, ["draw", target])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("*.dot")) == ["mine-2.dot", "mine.dot"]


def test_a_network_is_drawn_in_rows(tmp_path):
    """A 20-cell network was one left-to-right strip (3283 x 150 px): now rows of 6 cells."""
    from genolang.compiler.genotype.draw import network_dot
    from genolang.compiler.lower.program import load

    template = load(ZOO.parent / "icdarts" / "templates.geno").templates["eval_net"]
    text = network_dot(template)
    assert "rankdir=TB;" in text
    rows = [line for line in text.splitlines() if "rank=same" in line]
    assert len(rows) == -(-len(template.slots) // 6) and "cell0; cell1; cell2; cell3; cell4; cell5;" in rows[0]
