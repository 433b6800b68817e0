"""What the run commands print: each result once, and under torchrun only on rank 0."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

from tiny_macro import MACRO_PROGRAM

SPEC = MACRO_PROGRAM + """experiment tiny_digits {
  data {
    kind = digits
    size = 16
    limit = 16
    test_limit = 4
  }
  templates {
    search = tiny
    eval = tiny
  }
  search {
    epochs = 1
    pretrain_epochs = 0
    batch = 8
    steps_per_epoch = 1
  }
  device = "cpu"
}
"""


def test_macro_search_prints_its_summary_once(geno, tmp_path):
    spec = tmp_path / "hier.geno"
    spec.write_text(SPEC)
    result = geno("macro-search", str(spec), "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).count("macro v1 skips:") == 1
    assert "genotype: " in result.stdout
    quiet = geno("macro-search", str(spec), "--out", str(tmp_path / "runs"), "-q")
    assert quiet.stdout.count("macro v1 skips:") == 1 and not quiet.stderr
    # the macro genotype file reads back on its own too, and the moved run retrains
    run = tmp_path / "runs" / "tiny_digits-skips"
    assert geno("check", str(run / "genotype.geno"), str(run / "genotypes.geno")).returncode == 0
    moved = tmp_path / "moved"
    shutil.copytree(run, moved)
    trained = geno("train", str(moved), "-o", str(tmp_path / "out"), "-q", "--epochs", "1", "--steps-per-epoch", "1",
                   "--batch", "8")
    assert trained.returncode == 0 and "test accuracy" in trained.stdout, trained.stderr


def test_only_rank_zero_prints_the_genotype(geno, tmp_path, monkeypatch):
    import genolang.runtime.jobs.driver as driver

    finished = SimpleNamespace(run_dir=Path(tmp_path) / "run", genotype=None)
    monkeypatch.setattr(driver, "start_search", lambda *a, **k: finished)
    spec = tmp_path / "s.geno"
    spec.write_text(SPEC)
    printed = {}
    for rank in ("0", "1", "2"):
        monkeypatch.setenv("RANK", rank)
        result = geno("search", str(spec), "-q")
        assert result.returncode == 0, result.stderr
        printed[rank] = result.stdout
    assert printed["0"].count("genotype:") == 1
    assert printed["1"] == printed["2"] == ""
