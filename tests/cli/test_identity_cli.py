"""`geno show --hash` and `geno diff`'s "same architecture"."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from genolang.cli import app

ZOO = Path(__file__).resolve().parents[2] / "specs" / "zoo"
runner = CliRunner()

# darts_v2 rewritten: nodes renumbered (n0 <-> n1, n2 <-> n3 with references renamed), sum
# operands swapped, concat reordered, another name, layout and comments.
REWRITTEN = '''use "spaces.geno"
use "cifar.geno"

genotype renamed {
  space darts
  template retrain_net
  cell normal {
    inputs c0, c1
    n1 = sep_conv_3(c1) + sep_conv_3(c0)   # was n0
    n0 = sep_conv_3(c0) + sep_conv_3(c1)
    n3 = skip(c0) + sep_conv_3(c1)
    n2 = dil_conv_3(n1) + skip(c0)
    output concat(n3, n2, n1, n0)
  }
  cell reduce {
    inputs c0, c1
    reduction
    n0 = max_pool_3(c1) + max_pool_3(c0)
    n1 = max_pool_3(c1) + skip(n0)
    n2 = skip(n0) + max_pool_3(c0)
    n3 = max_pool_3(c1) + skip(n0)
    output concat(n0, n1, n2, n3)
  }
}
'''


def test_show_hash_lists_genotype_and_cells():
    out = runner.invoke(app, ["show", "--hash", str(ZOO / "darts_v2.geno")])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0].startswith("genotype darts_v2 ") and len(lines[0].split()[2]) == 16
    assert [line.split()[:2] for line in lines[1:]] == [["cell", "normal"], ["cell", "reduce"]]
    other = runner.invoke(app, ["show", "--hash", str(ZOO / "darts_v1.geno")])
    assert other.stdout.splitlines()[0].split()[2] != lines[0].split()[2]


def test_show_hash_of_a_file_without_genotypes_is_a_user_error():
    out = runner.invoke(app, ["show", "--hash", "icdarts/digits"])
    assert out.exit_code != 0


def test_diff_says_same_architecture_for_a_rewritten_file(tmp_path):
    path = tmp_path / "renamed.geno"
    path.write_text(REWRITTEN)
    out = runner.invoke(app, ["diff", str(ZOO / "darts_v2.geno"), str(path)])
    assert out.exit_code == 0, out.output
    expected = runner.invoke(app, ["show", "--hash", str(ZOO / "darts_v2.geno")]).stdout.splitlines()[0].split()[2]
    assert out.stdout == f"same architecture ({expected})\n"
    changed = tmp_path / "changed.geno"
    changed.write_text(REWRITTEN.replace("n3 = skip(c0)", "n3 = skip(c1)"))
    out = runner.invoke(app, ["diff", str(ZOO / "darts_v2.geno"), str(changed)])
    assert out.exit_code == 1 and "same architecture" not in out.stdout


def test_diff_is_not_fooled_by_a_different_template(tmp_path):
    path = tmp_path / "other_template.geno"
    path.write_text(REWRITTEN.replace("template retrain_net", "template eval_net"))
    out = runner.invoke(app, ["diff", str(ZOO / "darts_v2.geno"), str(path)])
    assert out.exit_code == 1 and "template: retrain_net -> eval_net" in out.stdout


def test_show_takes_several_files(geno):
    """Issue 22, item 11: `geno show --hash A B` used to refuse the second file."""
    ran = geno("show", "--hash", "zoo/darts_v1", "zoo/darts_v2")
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("# ") and lines[0].endswith("darts_v1.geno")
    assert any(line.startswith("genotype darts_v1 ") for line in lines)
    assert any(line.startswith("genotype darts_v2 ") for line in lines)
    single = geno("show", "--hash", "zoo/darts_v2")
    assert not single.stdout.startswith("# ") and single.stdout.startswith("genotype darts_v2 ")
