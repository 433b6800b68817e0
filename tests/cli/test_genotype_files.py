"""Every genotype file a run writes reads back on its own: a search of a user's own space
(ops and `space mine` defined in the spec's own files) checks, compiles and retrains from the
run directory alone, also after the run directory has been moved."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

OPS = """
use "spaces.geno"

# A 3x3 conv with squeeze-excitation, and an inverted bottleneck.
op conv3_se = relu >> conv(k=3, stride=s) >> bn >> se(ratio=0.25)
op inv_bottleneck(t=2) = pwconv(out=t * C) >> bn >> relu6 >> dwconv(k=3, stride=s) >> bn >> pwconv >> bn

space mine {
  conv3_se
  ib = inv_bottleneck(t=2)
  max_pool_3 = maxpool(k=3)
}
"""

NETWORK = """
network %s {
  input 1x16x16
  classes 10
  channels 4
  stem conv(k=3, out=3 * C) >> bn
  cells 3 reduce at 1
  heads distill after 1
}
"""

SPEC = """
use "lib/mine_ops.geno"

cell normal {
  nodes 2
  edges from mine
}

cell reduce like normal {
  reduction
}
""" + NETWORK % "mine_search" + NETWORK % "mine_eval" + """
experiment mine {
  data {
    kind = digits
    size = 16
    limit = 24
    test_limit = 8
  }
  templates {
    search = mine_search
    eval = mine_eval
  }
  search {
    epochs = 2
    pretrain_epochs = 0
    batch = 12
    steps_per_epoch = 1
  }
  retrain {
    epochs = 1
    batch = 12
    steps_per_epoch = 1
    cutout = 0
  }
  device = "cpu"
}
"""


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A finished search of the user-space spec; the project folder is gone afterwards."""
    from genolang.runtime.jobs.driver import start_search

    root = tmp_path_factory.mktemp("user_space")
    project = root / "project"
    (project / "lib").mkdir(parents=True)
    (project / "lib" / "mine_ops.geno").write_text(OPS)
    (project / "mine.geno").write_text(SPEC)
    result = start_search(project / "mine.geno", out=root / "runs", progress=False)
    shutil.rmtree(project)          # from here on, only the run directory is left
    return result.run_dir


def _genotype_files(run: Path) -> list[Path]:
    return [run / "genotype.geno", run / "genotypes.geno", *sorted((run / "genotypes").glob("*.geno"))]


def test_every_genotype_file_checks_and_compiles_alone(searched, geno):
    from genolang.api import compile_eval, load

    files = _genotype_files(searched)
    assert len(files) == 4                       # final, history, two epochs
    result = geno("check", *map(str, files))
    assert result.returncode == 0, result.stderr
    for path in files:
        program = load(path)
        for name, genotype in program.genotypes.items():
            assert genotype.space == "mine" and genotype.template == "mine_eval"
            labels = {e.op for _, cell in genotype.cells for _, edges in cell.nodes for e in edges}
            assert labels <= {"conv3_se", "ib", "max_pool_3"}
            compile_eval(program, name)
    assert geno("compile", str(searched / "genotype.geno")).returncode == 0
    # the run's spec copy took its `use`d file along, at the same relative place
    assert (searched / "lib" / "mine_ops.geno").read_text() == OPS
    assert geno("check", str(searched / "spec.geno")).returncode == 0


def test_retrain_from_the_run_directory_alone(searched, geno, tmp_path):
    result = geno("train", str(searched), "-o", str(tmp_path), "-q")
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout
    retrained = next(tmp_path.glob("*-retrain"))
    assert geno("check", str(retrained / "genotype.geno")).returncode == 0


def test_retrain_after_moving_the_run_directory(searched, geno, tmp_path):
    moved = tmp_path / "elsewhere" / "found"
    shutil.copytree(searched, moved)
    result = geno("train", str(moved), "-o", str(tmp_path / "out"), "-q")
    assert result.returncode == 0, result.stderr
    # the genotype file also retrains against an explicitly named spec
    result = geno("train", str(moved / "genotype.geno"), "--spec", str(moved / "spec.geno"),
                  "-o", str(tmp_path / "out"), "-q")
    assert result.returncode == 0, result.stderr
    assert geno("check", *map(str, _genotype_files(moved))).returncode == 0


def test_a_spec_file_named_like_a_run_file_is_refused(tmp_path):
    from genolang.base.errors import ConfigError
    from genolang.runtime.runs.rundir import RunDir

    (tmp_path / "genotype.geno").write_text(OPS)
    spec = tmp_path / "spec_src.geno"
    spec.write_text('use "genotype.geno"\n')
    with pytest.raises(ConfigError, match="keeps for itself"):
        RunDir(tmp_path / "run").save_spec(spec)


def test_sampled_genotype_files_stand_alone(searched, geno, tmp_path):
    result = geno("sample", str(searched / "spec.geno"), "--seed", "4", "-n", "2", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    files = sorted(tmp_path.glob("random_*.geno"))
    assert len(files) == 2
    assert geno("check", *map(str, files)).returncode == 0
    assert geno("compile", str(files[0])).returncode == 0
